"""Render the access report document (``nexus_audit_access_report: 1``) as one HTML file.

The file is self-contained: inline CSS and JavaScript, no fonts, images or scripts fetched from
anywhere, and a Content-Security-Policy that forbids every network load, allows exactly the one
inline style sheet and the one inline script (by hash), and nothing else.

Server-side, Jinja renders the header, the summary and the anonymous-exposure panel with
autoescaping on. The data the script needs is embedded once, as JSON, in
``<script type="application/json" id="data">`` (Jinja's ``tojson`` escapes ``<``, ``>``, ``&``
and ``'``, so a ``</script>`` inside a user id cannot end the element). The script builds the
findings table, the registry posture table and the principal x repository access matrix from
that JSON, a page of rows and a capped number of columns at a time, inserting every value as
text: at 500 repositories x 5,000 users the page never holds more than a few thousand cells.

The island is not the report document: embedding the document's per-repository access lists
costs O(repositories x principals) (a holder of ``nx-repository-view-docker-*-read`` appears in
every repository's list, with the same grant path each time), 200 MiB at 500 x 5,000. The
island (:func:`compact_island`) stores each grant path, each per-action grant and each
matrix cell once, and gives every principal a default cell plus the repositories where its
access differs, so a wildcard holder costs O(1) and the island grows with the distinct
access facts, not with the size of the matrix::

    {"island": 1, "nexus_audit_access_report", "generator",
     "nexus", "summary", "anonymous",                      # as in the document
     "steps": [step],                                      # "role:developers", ...
     "paths": [[stepIndex, ...]],                          # one grant path
     "grants": [[total, pathIndex, ...]],                  # all paths counted, the kept listed
     "cells": [[mask, grantIndex, ...]],                   # one grant index per bit in ACTIONS
     "repositories": [[name, type, online, registry, scheme, routing, [posture]]],
     "principals": [[userId, source, status, anonymous, [roles], [externalRoles]]],
     "rows": [[defaultCell, [repositoryIndex, cell, ...]]],  # per principal; cell -1: none
     "findings": [FINDING]}                                # as in the document

``mask`` has bit ``i`` set when the principal may do ``ACTIONS[i]``, and bit ``i + 5`` when
that access is only partial (through a content selector).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import hashlib
import itertools
import operator
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATE = "access.html.j2"

#: Matrix columns drawn at once; the rest are reachable through the repository filter.
MAX_COLUMNS = 60
#: Matrix rows per page (the reader can pick 50, 100 or 250).
PAGE_SIZE = 100
#: Repositories listed openly in the anonymous panel before the list folds away.
OPEN_LIST_LIMIT = 12
#: Version of the embedded island's layout (the script refuses what it does not know).
ISLAND_VERSION = 1

ACTIONS = ("read", "browse", "push", "delete", "admin")
SEVERITIES = ("error", "warning", "info")
#: Bit of an action in a cell's mask; ``<< PARTIAL_SHIFT`` marks it partial.
ACTION_BITS = {action: 1 << i for i, action in enumerate(ACTIONS)}
PARTIAL_SHIFT = len(ACTIONS)
#: Repositories whose shared entries seed the per-action reference (first, middle, last).
REFERENCE_SAMPLES = 3


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
    # Compact JSON: the island is most of the file at scale. Key order kept as written.
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":"), "sort_keys": False}
    env.filters["csp_hash"] = _csp_hash
    return env


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _seq(value: Any) -> Sequence[Any]:
    """``value`` itself when it is a list or tuple (no copy: access lists can be long)."""
    return value if isinstance(value, (list, tuple)) else ()


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str:
    """A value as the script shows it (``null`` as nothing), so keys match on both sides."""
    return "" if value is None else str(value)


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


# --------------------------------------------------------------------------- compact island

#: One action of one cell: (partial, index into the grant table).
_Grant = tuple[bool, int]
#: A decoded entry: (principal index, its grant).
_Decoded = tuple[int, _Grant]
#: A repository where a principal's access differs from its default: (repository index,
#: action, grant there or None). Flat tuples: at 2,000 x 10,000 there are a million of them.
_Change = tuple[int, str, _Grant | None]


class _Tables:
    """The island's interning tables: every step, path, grant, cell and principal once."""

    def __init__(self) -> None:
        self.steps: dict[str, int] = {}
        self.paths: dict[tuple[int, ...], int] = {}
        self.grants: dict[tuple[int, ...], int] = {}
        self.cells: dict[tuple[int, ...], int] = {}
        self.principals: list[list[Any]] = []
        self._principal_index: dict[tuple[str, str], int] = {}
        self._principal_raw: dict[tuple[Any, Any], int] = {}
        # Keyed by id(): the engine shares one entry dict among every repository it applies
        # to, so each is decoded once. Sound because the document keeps every entry alive.
        self._entries: dict[int, _Decoded | None] = {}
        # Paths by their raw steps, so the same path text costs one tuple hash.
        self._path_text: dict[tuple[Any, ...], int] = {}

    def principal(self, info: Mapping[str, Any]) -> int:
        """Index of the principal (source, user id); the first description seen is kept."""
        raw = (info.get("source"), info.get("userId"))
        try:
            return self._principal_raw[raw]
        except (KeyError, TypeError):
            pass
        key = (_text(raw[0]), _text(raw[1]))
        index = self._principal_index.get(key)
        if index is None:
            index = self._principal_index[key] = len(self.principals)
            status = info.get("status")
            self.principals.append(
                [
                    key[1],
                    key[0],
                    status if isinstance(status, str) else None,
                    info.get("anonymous") is True,
                    [_text(r) for r in _seq(info.get("roles"))],
                    [_text(r) for r in _seq(info.get("externalRoles"))],
                ]
            )
        if isinstance(raw[0], (str, type(None))) and isinstance(raw[1], (str, type(None))):
            self._principal_raw[raw] = index
        return index

    def entry(self, entry: Any) -> _Decoded | None:
        """(principal, (partial, grant)) of an access entry; ``None`` for a malformed one."""
        known = id(entry)
        if known in self._entries:
            return self._entries[known]
        decoded: _Decoded | None = None
        if isinstance(entry, Mapping):
            decoded = (
                self.principal(entry),
                (entry.get("access") == "partial", self._grant(entry)),
            )
        self._entries[known] = decoded
        return decoded

    def _grant(self, entry: Mapping[str, Any]) -> int:
        kept = [self._path(path) for path in _seq(entry.get("grants"))]
        # As the page always showed it: the count of all paths, never fewer than are kept.
        total = max(len(kept), _int(entry.get("paths")))
        key = (total, *kept)
        index = self.grants.get(key)
        if index is None:
            index = self.grants[key] = len(self.grants)
        return index

    def _path(self, path: Any) -> int:
        raw = tuple(_seq(path))
        try:
            return self._path_text[raw]
        except KeyError:
            pass
        except TypeError:  # an unhashable step: not from the engine, decoded the long way
            return self._path_index(raw)
        index = self._path_text[raw] = self._path_index(raw)
        return index

    def _path_index(self, raw: tuple[Any, ...]) -> int:
        steps = self.steps
        key = tuple(steps.setdefault(_text(s), len(steps)) for s in raw)
        index = self.paths.get(key)
        if index is None:
            index = self.paths[key] = len(self.paths)
        return index

    def cell(self, actions: Mapping[str, _Grant]) -> int:
        """Index of the cell granting ``actions``; -1 for no access at all."""
        if not actions:
            return -1
        mask = 0
        grants = []
        for action in ACTIONS:
            held = actions.get(action)
            if held is not None:
                bit = ACTION_BITS[action]
                mask |= bit | (bit << PARTIAL_SHIFT if held[0] else 0)
                grants.append(held[1])
        key = (mask, *grants)
        index = self.cells.get(key)
        if index is None:
            index = self.cells[key] = len(self.cells)
        return index


def _reference(
    tables: _Tables, lists: Sequence[Sequence[Any]]
) -> tuple[set[int], dict[int, _Decoded]]:
    """The entries (by id) found in every sampled repository's list of one action.

    In an engine document these are the shared baseline entries (wildcard and global
    privileges), the bulk of every list. Each repository is then compared with this set in C
    (set difference on ids), so only the entries that differ are looked at one by one.
    Documents without shared dicts (parsed JSON, tests) get an empty reference and are simply
    decoded entry by entry; the result is the same either way.
    """
    if not lists:
        return set(), {}
    picks = sorted({0, len(lists) // 2, len(lists) - 1})[:REFERENCE_SAMPLES]
    first = {id(e): e for e in lists[picks[0]]}
    common = set(first)
    for pick in picks[1:]:
        common &= set(map(id, lists[pick]))
    decoded: dict[int, _Decoded] = {}
    owner: dict[int, int] = {}
    for ident in common:
        value = tables.entry(first[ident])
        if value is None:
            continue
        if value[0] in owner:
            # A principal listed twice for one action: leave both to the exact path.
            decoded.pop(owner[value[0]], None)
            continue
        owner[value[0]] = ident
        decoded[ident] = value
    return set(decoded), decoded


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while the island is built.

    The pass allocates hundreds of thousands of small tuples and dicts (none in cycles) next to
    a document of millions of objects; each automatic collection would walk that whole heap,
    a third of the build time at 500 x 5,000. Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compact_island(document: Mapping[str, Any]) -> dict[str, Any]:
    """The data the page's script needs, deduplicated (layout in the module docstring)."""
    with _no_cyclic_gc():
        return _compact_island(document)


def _compact_island(document: Mapping[str, Any]) -> dict[str, Any]:
    """One pass per action over the repositories' access lists.

    A principal's access where it matches the reference entries (see :func:`_reference`) is
    its row default; only the repositories where an entry is missing or different are
    recorded, then each principal's default is switched to its most common cell if that is
    not already the default. The work is O(distinct entries + exceptions) in Python plus
    C-speed set operations over the lists.
    """
    tables = _Tables()
    for info in _seq(document.get("principals")):
        if isinstance(info, Mapping):
            tables.principal(info)
    repositories = [r for r in _seq(document.get("repositories")) if isinstance(r, Mapping)]
    count = len(repositories)
    accesses = [_mapping(r.get("access")) for r in repositories]
    defaults: dict[int, dict[str, _Grant]] = {}
    # principal -> where its access differs from the reference (None: a reference grant is
    # missing there), in the order found: by action, then repository.
    changes: dict[int, list[_Change]] = {}
    for action in ACTIONS:
        lists = [_seq(access.get(action)) for access in accesses]
        reference, decoded = _reference(tables, lists)
        for principal, held in decoded.values():
            defaults.setdefault(principal, {})[action] = held
        for index, entries in enumerate(lists):
            by_id = dict(zip(map(id, entries), entries, strict=True))
            for ident in reference.difference(by_id):
                principal = decoded[ident][0]
                changes.setdefault(principal, []).append((index, action, None))
            for ident, entry in by_id.items():
                if ident in reference:
                    continue
                found = tables.entry(entry)
                if found is not None:
                    changes.setdefault(found[0], []).append((index, action, found[1]))
    rows = [
        _row(tables, count, defaults.get(p, {}), changes.pop(p, []))
        for p in range(len(tables.principals))
    ]
    return {
        "island": ISLAND_VERSION,
        # Which report this page was rendered from (its version and generator), as written.
        "nexus_audit_access_report": document.get("nexus_audit_access_report"),
        "generator": document.get("generator"),
        "nexus": dict(_mapping(document.get("nexus"))),
        "summary": dict(_mapping(document.get("summary"))),
        "anonymous": dict(_mapping(document.get("anonymous"))),
        "steps": list(tables.steps),
        "paths": [list(path) for path in tables.paths],
        "grants": [list(grant) for grant in tables.grants],
        "cells": [list(cell) for cell in tables.cells],
        "repositories": [
            [
                _text(r.get("name")),
                r.get("type"),
                r.get("online"),
                r.get("registry"),
                r.get("scheme"),
                r.get("routing"),
                [_text(code) for code in _seq(r.get("posture"))],
            ]
            for r in repositories
        ],
        "principals": tables.principals,
        "rows": rows,
        "findings": [f for f in _seq(document.get("findings")) if isinstance(f, Mapping)],
    }


def _row(
    tables: _Tables,
    count: int,
    base: Mapping[str, _Grant],
    changes: list[_Change],
) -> list[Any]:
    """``[defaultCell, [repositoryIndex, cell, ...]]`` for one principal."""
    default = tables.cell(base)
    exceptions: dict[int, int] = {}
    # Stable: within a repository the changes stay in the order they were found.
    changes.sort(key=operator.itemgetter(0))
    for index, group in itertools.groupby(changes, key=operator.itemgetter(0)):
        merged = dict(base)
        for _, action, held in group:
            if held is None:
                merged.pop(action, None)
            else:
                merged[action] = held
        cell = tables.cell(merged)
        if cell != default:
            exceptions[index] = cell
    if 2 * len(exceptions) > count:
        # Most repositories differ from the reference (a document without shared entries, or
        # a principal whose access the samples missed): the most common cell is the default.
        tally = Counter(exceptions.values())
        tally[default] += count - len(exceptions)
        best = max(tally, key=lambda cell: (tally[cell], cell == default))
        if best != default:
            exceptions = {
                index: cell
                for index in range(count)
                if (cell := exceptions.get(index, default)) != best
            }
            default = best
    flat: list[int] = []
    for index in sorted(exceptions):
        flat += (index, exceptions[index])
    return [default, flat]


def render_html(document: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page, its data as a compact island."""
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            view=_view(document),
            data=compact_island(document),
            max_columns=MAX_COLUMNS,
            page_size=PAGE_SIZE,
            open_list_limit=OPEN_LIST_LIMIT,
            island_version=ISLAND_VERSION,
        )
    )
