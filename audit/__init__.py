"""nexus-audit: can this account really pull from and list these Nexus Docker registries?

Where to start reading:

- :mod:`audit.model` parses Nexus's REST JSON (live or from a snapshot) into dataclasses;
- :mod:`audit.permissions` turns roles and privileges into effective permissions, as Nexus does;
- :mod:`audit.checks` runs the preflight and yields findings;
- :mod:`audit.client` and :mod:`audit.snapshot` are where the data comes from;
- :mod:`audit.report` renders results and :mod:`audit.cli` is the command line.
"""

__version__ = "0.1.0"
