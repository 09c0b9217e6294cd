"""Render the access report document (``nexus_audit_access_report: 1``) as one HTML file.

The file is self-contained: inline CSS and JavaScript, no fonts, images or scripts fetched from
anywhere, and a Content-Security-Policy that forbids every network load, allows exactly the one
inline style sheet and the one inline script (by hash), and nothing else.

Server-side, Jinja renders the header, the summary and the anonymous-exposure panel with
autoescaping on. The document itself is embedded once, as JSON, in
``<script type="application/json" id="data">`` (Jinja's ``tojson`` escapes ``<``, ``>``, ``&``
and ``'``, so a ``</script>`` inside a user id cannot end the element). The script builds the
findings table, the registry posture table and the principal x repository access matrix from that
JSON, a page of rows and a capped number of columns at a time, inserting every value as text:
at 500 repositories x 5,000 users the page never holds more than a few thousand cells.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATE = "access.html.j2"

#: Matrix columns drawn at once; the rest are reachable through the repository filter.
MAX_COLUMNS = 60
#: Matrix rows per page (the reader can pick 50, 100 or 250).
PAGE_SIZE = 100
#: Repositories listed openly in the anonymous panel before the list folds away.
OPEN_LIST_LIMIT = 12

ACTIONS = ("read", "browse", "push", "delete", "admin")
SEVERITIES = ("error", "warning", "info")


def _csp_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script or style text."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("audit", "report_templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Compact JSON: the island is most of the file at scale. Key order kept as the engine wrote it.
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":"), "sort_keys": False}
    env.filters["csp_hash"] = _csp_hash
    return env


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _view(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the server-side part of the template shows, with every section defaulted."""
    nexus = _mapping(document.get("nexus"))
    summary = _mapping(document.get("summary"))
    counts = _mapping(summary.get("findings"))
    anonymous = _mapping(document.get("anonymous"))
    enabled = anonymous.get("enabled")
    if not isinstance(enabled, bool):
        enabled = bool(summary.get("anonymous_enabled", False))
    return {
        "nexus": {key: nexus.get(key) for key in ("url", "server", "captured_at")},
        "summary": {
            "repositories": _int(summary.get("repositories")),
            "users": _int(summary.get("users")),
            "principals_with_access": _int(summary.get("principals_with_access")),
            "anonymous_enabled": bool(summary.get("anonymous_enabled", enabled)),
            "findings": {severity: _int(counts.get(severity)) for severity in SEVERITIES},
            "silenced": _int(summary.get("silenced")),
        },
        "anonymous": {
            "enabled": enabled,
            "userId": anonymous.get("userId"),
            "dockerTokenRealm": anonymous.get("dockerTokenRealm"),
            "canRead": [str(r) for r in _list(anonymous.get("canRead"))],
            "canBrowse": [str(r) for r in _list(anonymous.get("canBrowse"))],
            "pullPossible": [str(r) for r in _list(anonymous.get("pullPossible"))],
        },
    }


def render_html(document: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page."""
    view = _view(document)
    return _environment().get_template(TEMPLATE).render(
        view=view,
        data=dict(document),
        max_columns=MAX_COLUMNS,
        page_size=PAGE_SIZE,
        open_list_limit=OPEN_LIST_LIMIT,
    )
