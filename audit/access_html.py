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

:func:`render_html` renders a report document (tests, documents read back from JSON). The
``report`` command uses :func:`iter_html_report` instead, which never builds the document:
the engine already holds each role set's access as a baseline plus the repositories its
grants name, i.e. each row's default cell and exceptions, so :func:`report_island_chunks`
writes the same island (the same facts; table indexes may be numbered differently) as JSON
text straight from the :class:`~audit.access.AccessReport`, in memory proportional to the
island rather than to repositories x principals.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import hashlib
import itertools
import json
import operator
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from audit.access import MAX_PATHS_PER_ENTRY, AccessReport, Decision, Held, PrincipalInfo
from audit.access_report import finding_document, report_header
from audit.permissions import Access

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
    # Most repositories may differ from the reference (a document without shared entries, or
    # a principal whose access the samples missed): the most common cell is the default.
    return list(_default_row(count, default, exceptions))


# --------------------------------------------------------------------------- from the engine


def _json(value: Any) -> str:
    """Compact JSON text exactly as the template's ``tojson`` writes it (HTML-safe).

    JSON text composes: the text of a list is its items' texts joined by commas, so the island
    can be written piece by piece and still equal what ``tojson`` makes of the whole.
    """
    return (
        json.dumps(value, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def _ints(values: Sequence[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


class _EngineIsland:
    """The island's tables for the engine's decisions, written as JSON text as they grow.

    A grant path as the page shows it is the principal's node followed by the held grant's
    steps (:func:`~audit.access.grant_path`). The steps after the first are the same for every
    holder, so they are interned once per held grant. Every path therefore belongs to one
    principal, and so does every grant and cell made of its paths: they are interned per
    principal (the dictionaries are emptied after each), and only their JSON text is kept.
    With no paths kept (``max_paths`` 0) grants and cells are shared by everybody instead.
    """

    def __init__(self, max_paths: int) -> None:
        self.max_paths = max(0, min(max_paths, MAX_PATHS_PER_ENTRY))
        self.steps: dict[str, int] = {}
        # (start node, id(grant)) -> step indexes after the principal's; the grants live as
        # long as the report, so their ids are stable.
        self._tails: dict[tuple[str, int], tuple[int, ...]] = {}
        self._paths: dict[tuple[int, ...], int] = {}
        self._grants: dict[tuple[int, ...], int] = {}
        self._cells: dict[tuple[int, ...], int] = {}
        self._counts = [0, 0, 0]
        self._new: tuple[list[str], list[str], list[str]] = ([], [], [])
        # The JSON text of the paths, grants and cells tables: comma-joined runs of items.
        self.text: tuple[list[str], list[str], list[str]] = ([], [], [])

    def step(self, step: str) -> int:
        return self.steps.setdefault(step, len(self.steps))

    def _tail(self, held: Held) -> tuple[int, ...]:
        node, grant = held
        key = (node, id(grant))
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = tuple(self.step(s) for s in (node, *grant.path[1:]))
        return tail

    def _intern(self, table: int, known: dict[tuple[int, ...], int], key: tuple[int, ...]) -> int:
        index = known.get(key)
        if index is None:
            index = known[key] = self._counts[table]
            self._counts[table] += 1
            self._new[table].append(_ints(key))
        return index

    def cell(self, user_step: int, decisions: Mapping[str, Decision | None]) -> int:
        """Index of the cell for one principal's decisions on one repository (-1: none)."""
        mask = 0
        grants: list[int] = []
        for action in ACTIONS:
            decision = decisions.get(action)
            if decision is None:
                continue
            access, held = decision
            bit = ACTION_BITS[action]
            mask |= bit | (bit << PARTIAL_SHIFT if access is Access.PARTIAL else 0)
            paths = [
                self._intern(0, self._paths, (user_step, *self._tail(one)))
                for one in held[: self.max_paths]
            ]
            grants.append(self._intern(1, self._grants, (len(held), *paths)))
        if not mask:
            return -1
        return self._intern(2, self._cells, (mask, *grants))

    def principal_done(self) -> None:
        """Keep the text of the principal's new table items; forget their keys."""
        for new, text in zip(self._new, self.text, strict=True):
            if new:
                text.append(",".join(new))
                new.clear()
        if self.max_paths:
            self._paths.clear()
            self._grants.clear()
            self._cells.clear()


def _principal_mapping(principal: PrincipalInfo) -> dict[str, Any]:
    return {
        "userId": principal.user_id,
        "source": principal.source,
        "status": principal.status,
        "anonymous": principal.anonymous,
        "roles": principal.roles,
        "externalRoles": principal.external_roles,
    }


def report_island_chunks(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> list[str]:
    """The JSON text (as ``tojson`` writes it) of the island :func:`compact_island` makes of
    ``report_document(report, max_paths)``, built from the engine, in pieces.

    The document lists every principal's entry in every repository; the engine holds the same
    answer as one baseline per role set (its access on every repository no grant names) plus
    the repositories its grants name: exactly a row's default cell and exceptions. So the
    entries are never listed, and only the island's text is kept: work and memory grow with
    the role sets, the repositories they name and the principals, not with the matrix.
    Table indexes may be numbered differently from :func:`compact_island`'s; the facts are
    the same.
    """
    with _no_cyclic_gc():
        return _report_island(report, max_paths)


def report_island(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> dict[str, Any]:
    """:func:`report_island_chunks`, decoded (for tests and small reports)."""
    decoded: dict[str, Any] = json.loads("".join(report_island_chunks(report, max_paths)))
    return decoded


def _report_island(report: AccessReport, max_paths: int) -> list[str]:
    header = report_header(report, max_paths)
    tables = _Tables()
    # Principals in report order, as the document lists them; a table index per principal.
    numbers = [tables.principal(_principal_mapping(p)) for p in report.principals]
    positions: dict[str, list[int]] = {}
    for number, info in enumerate(report.repositories):
        positions.setdefault(info.repository.name, []).append(number)
    count = len(report.repositories)
    island = _EngineIsland(max_paths)
    rows: list[str | None] = [None] * len(tables.principals)
    # The index's role sets and repository keys (AccessIndex.rows walks the same structure).
    index = report.index
    for role_set in index.role_sets:
        baseline = role_set.baseline
        # What AccessIndex.project lists for a repository one of the set's grants names: the
        # overridden actions' decisions, the baseline's for the rest.
        named: list[tuple[list[int], dict[str, Decision | None]]] = []
        for key in sorted(role_set.keys):
            overrides = role_set.overrides(key)
            if not overrides:
                continue
            where = [n for name in index.repository_names(key) for n in positions.get(name, ())]
            if where:
                named.append((where, {a: overrides.get(a, baseline[a]) for a in ACTIONS}))
        for member in role_set.members:
            user_step = island.step(report.principals[member].node)
            default = island.cell(user_step, baseline)
            mine: dict[int, int] = {}
            for where, decisions in named:
                cell = island.cell(user_step, decisions)
                if cell != default:
                    mine.update(dict.fromkeys(where, cell))
            island.principal_done()
            default, flat = _default_row(count, default, mine)
            rows[numbers[member]] = f"[{default},{_ints(flat)}]"
    head = {
        "island": ISLAND_VERSION,
        # Which report this page was rendered from (its version and generator), as written.
        "nexus_audit_access_report": header["nexus_audit_access_report"],
        "generator": header["generator"],
        "nexus": header["nexus"],
        "summary": header["summary"],
        "anonymous": header["anonymous"],
        "steps": list(island.steps),
    }
    chunks = [_json(head)[:-1]]
    for key, text in zip(("paths", "grants", "cells"), island.text, strict=True):
        chunks.append(f',"{key}":[')
        chunks.extend(_joined(text))
        chunks.append("]")
    repositories = [
        [
            info.repository.name,
            info.repository.type,
            info.repository.online,
            info.registry.address if info.registry else None,
            info.registry.scheme if info.registry else None,
            info.registry.routing if info.registry else None,
            list(info.posture),
        ]
        for info in report.repositories
    ]
    chunks.append(',"repositories":' + _json(repositories))
    chunks.append(',"principals":' + _json(tables.principals))
    chunks.append(',"rows":[')
    chunks.extend(_joined(["[-1,[]]" if row is None else row for row in rows]))
    chunks.append("]")
    findings = [finding_document(f) for f in report.findings]
    chunks.append(',"findings":' + _json(findings) + "}")
    return chunks


def _joined(runs: list[str]) -> Iterator[str]:
    """Comma-separated runs of JSON items, without building one string of them all."""
    for number, run in enumerate(runs):
        yield run if number == 0 else "," + run


def _default_row(count: int, default: int, exceptions: dict[int, int]) -> tuple[int, list[int]]:
    """``(defaultCell, [repositoryIndex, cell, ...])`` from the cells that differ from
    ``default``; the most common cell becomes the default."""
    if 2 * len(exceptions) > count:
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
    return default, flat


def _page(view: Mapping[str, Any], data: Any) -> str:
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            view=view,
            data=data,
            max_columns=MAX_COLUMNS,
            page_size=PAGE_SIZE,
            open_list_limit=OPEN_LIST_LIMIT,
            island_version=ISLAND_VERSION,
        )
    )


def render_html(document: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML page, its data as a compact island."""
    return _page(_view(document), compact_island(document))


def iter_html_report(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> Iterator[str]:
    """:func:`render_html` of ``report_document(report, max_paths)``, in pieces, without the
    document: the island is written straight from the engine (:func:`report_island_chunks`).

    The template is rendered around a random placeholder for the island, whose text is then
    put in its place piece by piece, so the island is never held as one string either.
    """
    island = report_island_chunks(report, max_paths)
    marker = "nexus-audit-island-" + secrets.token_hex(16)
    page = _page(_view(report_header(report, max_paths)), marker)
    before, found, after = page.partition(_json(marker))
    if not found or _json(marker) in after:
        raise AssertionError("the page template must embed its data exactly once")
    yield before
    yield from island
    yield after


def render_html_report(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> str:
    """:func:`iter_html_report` as one string."""
    return "".join(iter_html_report(report, max_paths))
