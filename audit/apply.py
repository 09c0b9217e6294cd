"""Apply a generated role to a live Nexus: each change once, and say exactly what happened.

The steps come from :func:`audit.rolegen.changes`, computed against what was just read, so
running twice changes nothing the second time. A failure stops at once with a message naming
what was changed and what was not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from audit.client import NexusClient
from audit.errors import ApplyError, NexusError
from audit.rolegen import Change


def apply_changes(
    client: NexusClient, steps: Sequence[Change], report: Callable[[str], None]
) -> list[str]:
    """Make each change in order; ``report`` hears of each one done."""
    done: list[str] = []
    for index, step in enumerate(steps):
        try:
            client.send_json(step.method, step.path, step.body)
        except NexusError as exc:
            not_done = "; ".join(s.description for s in steps[index:])
            changed = "; ".join(done) or "nothing"
            raise ApplyError(f"{exc} -- changed: {changed}; not changed: {not_done}") from None
        step.done = True
        done.append(step.description)
        report(step.description)
    return done
