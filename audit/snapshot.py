"""Save and load snapshots: one JSON document holding Nexus's REST bodies as it returned them.

A snapshot lets every command run offline with the same answers. It never holds a password or
a token: fields that carry secrets (proxy credentials, capability secrets) are redacted on the
way in, whatever their source.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audit.errors import SnapshotError, UsageError
from audit.files import write_new_file
from audit.model import SNAPSHOT_FORMAT_VERSION

REDACTED = "<redacted>"

#: Keys whose values are secrets wherever they appear in a REST body.
_SECRET_KEY = re.compile(
    r"(password|passcode|secret|apikey|api_key|privatekey|private_key|credentials?$|"
    r"(^|[^a-z])token$|bearertoken|accesskey)",
    re.IGNORECASE,
)

#: Top-level keys a snapshot may have; anything else (e.g. an emulator's login table) is dropped.
SNAPSHOT_KEYS = (
    "nexus_audit_snapshot",
    "captured_at",
    "base_url",
    "server",
    "captured_as",
    "caller",
    "users",
    "roles",
    "privileges",
    "realms_active",
    "anonymous",
    "user_tokens",
    "capabilities",
    "content_selectors",
    "repositories",
    "repositories_browsable",
    "caller_permissions",
    "unavailable",
)


def redact(value: Any) -> Any:
    """A copy of a JSON value with every secret-bearing field replaced by ``<redacted>``."""
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            if (
                _SECRET_KEY.search(str(key))
                and item not in (None, "", [], {})
                and not isinstance(item, bool)
            ):
                cleaned[key] = REDACTED
            else:
                cleaned[key] = redact(item)
        return cleaned
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def prepare(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as it will be written: known keys only, in order, secrets redacted."""
    return {key: redact(document[key]) for key in SNAPSHOT_KEYS if key in document}


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(prepare(document), indent=2, ensure_ascii=False) + "\n"


def save(document: Mapping[str, Any], path: str, force: bool = False) -> None:
    """Write a snapshot; ``-`` is stdout. An existing file is replaced only with ``force``."""
    text = dumps(document)
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        write_new_file(path, text, force)
    except UsageError as exc:
        raise SnapshotError(str(exc)) from None


def loads(text: str, source: str) -> dict[str, Any]:
    """Parse and check a snapshot document's envelope (its sections are parsed by the model)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SnapshotError(f"{source} is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or "nexus_audit_snapshot" not in document:
        raise SnapshotError(
            f"{source} is not a nexus-audit snapshot (no 'nexus_audit_snapshot' key); create "
            "one with 'nexus-audit snapshot'"
        )
    version = document["nexus_audit_snapshot"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise SnapshotError(f"{source}: 'nexus_audit_snapshot' must be a format number")
    if version > SNAPSHOT_FORMAT_VERSION:
        raise SnapshotError(
            f"{source} was written by a newer nexus-audit (snapshot format {version}; this "
            f"version reads format {SNAPSHOT_FORMAT_VERSION}): upgrade nexus-audit"
        )
    if version < SNAPSHOT_FORMAT_VERSION:
        raise SnapshotError(
            f"{source} uses the old snapshot format {version}; capture it again with "
            "'nexus-audit snapshot'"
        )
    return document


def load(path: str) -> dict[str, Any]:
    """Read a snapshot file (``-`` reads standard input)."""
    if path == "-":
        return loads(sys.stdin.read(), "standard input")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {path} does not exist") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path} is a directory, not a snapshot file") from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{path} is not a text (UTF-8 JSON) file") from None
    except OSError as exc:
        raise SnapshotError(f"cannot read {path}: {exc.strerror or exc}") from None
    return loads(text, path)
