"""A Nexus Repository 3 emulator for tests and demos: real HTTP, Nexus's auth rules, no Nexus.

Start here: :class:`NexusEmulator` (the server), :func:`load_dataset` (``"demo"`` is the bundled
"Acme" instance), :class:`Fault` (misbehaviour to inject), and :mod:`audit.emulator.builder`
(how datasets are built). ``python -m audit.emulator`` serves a dataset from the command line.
"""

from audit.emulator.server import Fault, NexusEmulator, RecordedRequest, load_dataset

__all__ = ["Fault", "NexusEmulator", "RecordedRequest", "load_dataset"]
