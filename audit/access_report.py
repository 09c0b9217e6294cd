"""Render the access review: the JSON document, table, markdown and the CSV access matrix;
the ``who-can`` answer; and the ``diff`` of two reviews.

The JSON document is a stable contract: fields are only ever added, never renamed.
:func:`report_document` builds it as a dict (for the HTML renderer and tests);
:func:`render_report` streams the same document in chunks, one principal, repository or
finding per line, so a review of thousands of repositories and users is never held whole::

    {"nexus_audit_access_report": 1, "generator": "nexus-audit <version>",
     "nexus": {"url", "server", "captured_at"},
     "summary": {"repositories", "users", "principals_with_access", "anonymous_enabled",
                 "findings": {"error", "warning", "info"},      # unsilenced only
                 "silenced", "silencedFindings": {"error", "warning", "info"},
                 "maxPathsPerEntry"},
     "anonymous": {"enabled", "userId", "dockerTokenRealm", "canRead": [repo],
                   "canBrowse": [repo], "pullPossible": [repo]},
     "principals": [{"userId", "source", "status", "anonymous", "roles", "externalRoles",
                     "defaultRole"}],
     "repositories": [{"name", "type", "online", "registry", "scheme", "routing",
                       "posture": [code], "forceBasicAuth", "members": [repo],
                       "access": {"read" | "browse" | "push" | "delete" | "admin": [ENTRY]}}],
     "findings": [{"code", "severity", "principal", "repository", "role", "privilege",
                   "message", "remedy", "silenced", "silencedReason"}]}

    ENTRY = {"userId", "source", "anonymous", "access": "granted" | "partial",
             "grants": [[step, ...]], "paths": int}

Entries are in principal order (user id, then source). ``grants`` keeps at most
``maxPathsPerEntry`` paths (default :data:`~audit.access.MAX_PATHS_PER_ENTRY`); ``paths``
counts them all. ``who-can --format json`` prints ``{"repository", "action", "principals":
[ENTRY]}``; ``diff --format json`` prints ``{"nexus_audit_access_diff": 1, "old", "new",
"summary", "gained", "lost", "newFindings", "removedFindings"}``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tabulate import tabulate

from audit import __version__
from audit.access import (
    ACTIONS,
    MAX_PATHS_PER_ENTRY,
    AccessChange,
    AccessDiff,
    AccessEntry,
    AccessReport,
    AnonymousExposure,
    Held,
    PrincipalInfo,
    RepositoryInfo,
    RiskFinding,
    grant_path,
)
from audit.permissions import Access, Grant

ACCESS_REPORT_VERSION = 1
ACCESS_DIFF_VERSION = 1

#: Formats :func:`render_report` writes; ``html`` is rendered by :mod:`audit.access_html`.
REPORT_FORMATS = ("table", "json", "markdown", "csv")
WHO_CAN_FORMATS = ("table", "json")
DIFF_FORMATS = ("table", "json")


# --------------------------------------------------------------------------- documents


def principal_document(principal: PrincipalInfo) -> dict[str, Any]:
    return {
        "userId": principal.user_id,
        "source": principal.source,
        "status": principal.status,
        "anonymous": principal.anonymous,
        "roles": list(principal.roles),
        "externalRoles": list(principal.external_roles),
        "defaultRole": principal.default_role,
    }


def entry_document(entry: AccessEntry, max_paths: int = MAX_PATHS_PER_ENTRY) -> dict[str, Any]:
    """``{"userId", "source", "anonymous", "access", "grants", "paths"}``."""
    principal = entry.principal
    return {
        "userId": principal.user_id,
        "source": principal.source,
        "anonymous": principal.anonymous,
        "access": entry.access.value,
        "grants": [list(grant_path(principal, h)) for h in entry.held[:max_paths]],
        "paths": entry.paths,
    }


def finding_document(finding: RiskFinding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "principal": finding.principal,
        "repository": finding.repository,
        "role": finding.role,
        "privilege": finding.privilege,
        "message": finding.message,
        "remedy": finding.remedy,
        "silenced": finding.silenced,
        "silencedReason": finding.silenced_reason,
    }


def anonymous_document(anonymous: AnonymousExposure) -> dict[str, Any]:
    return {
        "enabled": anonymous.enabled,
        "userId": anonymous.user_id,
        "dockerTokenRealm": anonymous.docker_token_realm,
        "canRead": list(anonymous.can_read),
        "canBrowse": list(anonymous.can_browse),
        "pullPossible": list(anonymous.pull_possible),
    }


def _repository_head(info: RepositoryInfo) -> dict[str, Any]:
    repo, registry = info.repository, info.registry
    return {
        "name": repo.name,
        "type": repo.type,
        "online": repo.online,
        "registry": registry.address if registry else None,
        "scheme": registry.scheme if registry else None,
        "routing": registry.routing if registry else None,
        "posture": list(info.posture),
        "forceBasicAuth": repo.docker.force_basic_auth if repo.docker else None,
        "members": list(repo.members),
    }


def report_header(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> dict[str, Any]:
    """Everything but principals, repositories and findings, in document order."""
    counts = report.counts()
    silenced = dict.fromkeys(counts, 0)
    for finding in report.findings:
        if finding.silenced:
            silenced[finding.severity.value] += 1
    return {
        "nexus_audit_access_report": ACCESS_REPORT_VERSION,
        "generator": f"nexus-audit {__version__}",
        "nexus": {
            "url": report.base_url,
            "server": report.server,
            "captured_at": report.captured_at,
        },
        "summary": {
            "repositories": len(report.repositories),
            "users": report.users,
            "principals_with_access": report.principals_with_access,
            "anonymous_enabled": report.anonymous.enabled,
            "findings": counts,
            "silenced": report.silenced,
            "silencedFindings": silenced,
            "maxPathsPerEntry": max_paths,
        },
        "anonymous": anonymous_document(report.anonymous),
    }


class _EntryJSON:
    """Entry JSON text assembled from cached pieces, equal to ``json.dumps(entry_document)``.

    A large review repeats the same principals and grant paths millions of times; each is
    encoded once (whole entries shared by every repository are, through the index's memo).
    """

    def __init__(self, max_paths: int) -> None:
        self._max_paths = max_paths
        self._principals: dict[int, tuple[PrincipalInfo, str, str]] = {}
        self._tails: dict[tuple[str, int], tuple[Grant, str]] = {}

    def __call__(self, entry: AccessEntry) -> str:
        principal = entry.principal
        known = self._principals.get(id(principal))
        if known is None:
            head = (
                f'{{"userId":{_text(principal.user_id)},"source":{_text(principal.source)},'
                f'"anonymous":{"true" if principal.anonymous else "false"},"access":"'
            )
            known = self._principals[id(principal)] = (principal, head, _text(principal.node))
        _, head, node = known
        paths = ",".join(f"[{node},{self._tail(h)}]" for h in entry.held[: self._max_paths])
        return f'{head}{entry.access.value}","grants":[{paths}],"paths":{entry.paths}}}'

    def _tail(self, held: Held) -> str:
        node, grant = held
        known = self._tails.get((node, id(grant)))
        if known is None:
            steps = ",".join(_text(step) for step in (node, *grant.path[1:]))
            known = self._tails[(node, id(grant))] = (grant, steps)
        return known[1]


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def report_document(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> dict[str, Any]:
    """The whole access report as one dict (entry dicts are shared where entries are)."""
    document = report_header(report, max_paths)
    memo: dict[str, list[dict[str, Any]]] = {}

    def encode(entry: AccessEntry) -> dict[str, Any]:
        return entry_document(entry, max_paths)

    document["principals"] = [principal_document(p) for p in report.principals]
    repositories = []
    for info in report.repositories:
        body = _repository_head(info)
        # Entries shared by every repository share one dict (see AccessReport.project).
        body["access"] = report.project(info.repository.name, encode, memo)
        repositories.append(body)
    document["repositories"] = repositories
    document["findings"] = [finding_document(f) for f in report.findings]
    return document


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def iter_json(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> Iterator[str]:
    """:func:`report_document` as JSON text, in chunks: one principal, repository or finding
    per line, the rest indented."""
    header = report_header(report, max_paths)
    yield "{\n"
    for key, value in header.items():
        yield (
            f"  {json.dumps(key)}: "
            + json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            + ",\n"
        )
    yield from _json_list(
        "principals", (_compact(principal_document(p)) for p in report.principals)
    )
    encode = _EntryJSON(max_paths)
    memo: dict[str, list[str]] = {}

    def repositories() -> Iterator[str]:
        for info in report.repositories:
            head = _compact(_repository_head(info))[:-1]
            answers = report.project(info.repository.name, encode, memo)
            access = ",".join(f'"{a}":[' + ",".join(answers[a]) + "]" for a in ACTIONS)
            yield head + ',"access":{' + access + "}}"

    yield from _json_list("repositories", repositories())
    yield from _json_list(
        "findings", (_compact(finding_document(f)) for f in report.findings), last=True
    )
    yield "}\n"


def _json_list(key: str, items: Iterator[str], last: bool = False) -> Iterator[str]:
    yield f'  "{key}": ['
    first = True
    for item in items:
        yield ("\n    " if first else ",\n    ") + item
        first = False
    yield ("]" if first else "\n  ]") + ("\n" if last else ",\n")


# --------------------------------------------------------------------------- table / markdown


def _count(total: int, partial: int) -> str:
    if not total:
        return "-"
    return f"{total}" + (f" ({partial} partial)" if partial else "")


def _registry(info: RepositoryInfo) -> str:
    if info.registry is None:
        return "-"
    return f"{info.registry.scheme}://{info.registry.address}"


def _summary_lines(report: AccessReport) -> list[str]:
    counts = report.counts()
    anonymous = report.anonymous
    lines = [
        f"Nexus: {report.base_url or '?'}  {report.server or ''}".rstrip()
        + (f"  (captured {report.captured_at})" if report.captured_at else ""),
        f"{len(report.repositories)} Docker repositories, {report.users} users, "
        f"{report.principals_with_access} principals with access",
        f"Findings: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} info" + (f"; {report.silenced} silenced" if report.silenced else ""),
    ]
    if anonymous.enabled:
        realm = {True: "active", False: "INACTIVE", None: "unknown"}[anonymous.docker_token_realm]
        lines.append(
            f"Anonymous access: ON as '{anonymous.user_id}': can read {len(anonymous.can_read)}, "
            f"browse {len(anonymous.can_browse)}; Docker token realm {realm}; anonymous pulls "
            "possible from "
            + (", ".join(anonymous.pull_possible) if anonymous.pull_possible else "none")
        )
    else:
        lines.append("Anonymous access: off")
    return lines


def _repository_rows(report: AccessReport) -> list[list[str]]:
    rows = []
    for info in report.repositories:
        counts = report.access_counts(info.repository.name)
        rows.append(
            [
                info.repository.name,
                info.repository.type + ("" if info.repository.online else " (offline)"),
                _registry(info),
                ", ".join(info.posture) or "-",
                *(_count(*counts[a]) for a in ACTIONS),
            ]
        )
    return rows


def _finding_block(finding: RiskFinding, width: int = 100) -> str:
    where = [f"[{finding.repository}]"] if finding.repository else []
    if finding.principal:
        where.insert(0, f"<{finding.principal}>")
    head = " ".join([f"{finding.severity.value.upper():<7}", finding.code, *where])
    if finding.silenced:
        head += (
            "  (silenced"
            + (f": {finding.silenced_reason}" if finding.silenced_reason else "")
            + ")"
        )
    wrap = functools.partial(
        textwrap.fill, width=width, break_on_hyphens=False, break_long_words=False
    )
    body = wrap(finding.message, initial_indent="  ", subsequent_indent="  ")
    fix = wrap(finding.remedy, initial_indent="  fix: ", subsequent_indent="       ")
    return f"{head}\n{body}\n{fix}"


def _cell(text: str) -> str:
    """Markdown table cells cannot hold pipes or newlines."""
    return text.replace("|", "\\|").replace("\n", " ")


def iter_table(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> Iterator[str]:
    """For people at a terminal: the summary, counts per repository and action, findings."""
    yield "\n".join(_summary_lines(report)) + "\n\n"
    headers = ["repository", "type", "registry", "posture", *ACTIONS]
    if report.repositories:
        yield tabulate(_repository_rows(report), headers=headers, tablefmt="simple") + "\n\n"
    else:
        yield "No Docker repositories.\n\n"
    yield (
        "Principals per action (partial: through content selectors only). Who exactly: "
        "nexus-audit who-can --repo NAME --action ACTION\n"
    )
    if report.findings:
        yield "\n" + "\n\n".join(_finding_block(f) for f in report.findings) + "\n"


def iter_markdown(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> Iterator[str]:
    """For tickets and pull requests: the same content as GitHub-flavoured tables."""
    yield (
        "## nexus-audit access review\n\n"
        + "  \n".join(_cell(line) for line in _summary_lines(report))
        + "\n\n"
    )
    headers = ["repository", "type", "registry", "posture", *ACTIONS]
    rows = [[_cell(c) for c in row] for row in _repository_rows(report)]
    yield "### Repositories\n\n"
    yield (
        tabulate(rows, headers=headers, tablefmt="github") if rows else "No Docker repositories."
    ) + "\n\n"
    if report.findings:
        yield "### Findings\n\n"
        finding_rows = [
            [
                f.severity.value + (" (silenced)" if f.silenced else ""),
                f.code,
                _cell(f.principal or "-"),
                _cell(f.repository or "-"),
                _cell(f.message),
                _cell(f.remedy),
            ]
            for f in report.findings
        ]
        yield (
            tabulate(
                finding_rows,
                headers=["severity", "code", "principal", "repository", "finding", "remedy"],
                tablefmt="github",
            )
            + "\n"
        )


# --------------------------------------------------------------------------- csv


CSV_COLUMNS = ("userId", "source", "anonymous", "repository", *ACTIONS)


def iter_csv(report: AccessReport, max_paths: int = MAX_PATHS_PER_ENTRY) -> Iterator[str]:
    """The access matrix: one row per principal and repository where it may do anything.

    Rows are in principal order, then repository order; rows where a principal may do
    nothing are left out (the full matrix is users x repositories). Cells are ``granted``,
    ``partial`` or empty.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: Sequence[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    names = [info.repository.name for info in report.repositories]
    quoted = {name: line([name])[:-1] for name in names}

    position = {name: i for i, name in enumerate(names)}
    # Rows of a principal's every-repository access, with a placeholder for the principal:
    # one list per distinct set of cells, filled in for each principal by str.replace.
    blocks: dict[str, list[str]] = {}

    def cells(access: Mapping[str, Access]) -> str:
        return ",".join(access[a].value if a in access else "" for a in ACTIONS)

    for principal, baseline, specific in report.index.rows():
        prefix = line([principal.user_id, principal.source, str(principal.anonymous).lower()])
        prefix = prefix[:-1] + ","
        if not baseline:
            named = sorted(specific, key=position.__getitem__)
            yield "".join(f"{prefix}{quoted[n]},{cells(specific[n])}\n" for n in named)
            continue
        everywhere = cells(baseline)
        rows = blocks.get(everywhere)
        if rows is None:
            rows = blocks[everywhere] = [f"\0{quoted[n]},{everywhere}\n" for n in names]
        if specific:
            rows = list(rows)
            for name, here in specific.items():
                rows[position[name]] = f"\0{quoted[name]},{cells(here)}\n"
        # Repository names and cells never hold NUL; the prefix is inserted, never scanned.
        yield "".join(rows).replace("\0", prefix)


_RENDERERS: dict[str, Callable[[AccessReport, int], Iterator[str]]] = {
    "table": iter_table,
    "json": iter_json,
    "markdown": iter_markdown,
    "csv": iter_csv,
}


def render_report(
    report: AccessReport, fmt: str, max_paths: int = MAX_PATHS_PER_ENTRY
) -> Iterator[str]:
    """The report in one of :data:`REPORT_FORMATS`, as chunks of text."""
    return _RENDERERS[fmt](report, max_paths)


# --------------------------------------------------------------------------- who-can


def who_can_document(
    repository: str,
    action: str,
    entries: Sequence[AccessEntry],
    max_paths: int = MAX_PATHS_PER_ENTRY,
) -> dict[str, Any]:
    """``{"repository", "action", "principals": [ENTRY, ...]}``."""
    return {
        "repository": repository,
        "action": action,
        "principals": [entry_document(e, max_paths) for e in entries],
    }


def render_who_can(
    repository: str,
    action: str,
    entries: Sequence[AccessEntry],
    fmt: str,
    max_paths: int = MAX_PATHS_PER_ENTRY,
) -> str:
    if fmt == "json":
        return json.dumps(who_can_document(repository, action, entries, max_paths), indent=2) + "\n"
    title = f"Who can {action} on '{repository}': {len(entries)} principal(s)"
    if not entries:
        return title + "\n"
    rows = []
    for entry in entries:
        p = entry.principal
        first = " > ".join(grant_path(p, entry.held[0])[1:]) if entry.held else ""
        more = f" (+{entry.paths - 1})" if entry.paths > 1 else ""
        who = p.user_id + (" (anonymous)" if p.anonymous else "")
        status = "" if p.status in ("active", "changepassword") else p.status
        rows.append([who, p.source, status, entry.access.value, first + more])
    table = tabulate(
        rows, headers=["principal", "source", "status", "access", "via"], tablefmt="simple"
    )
    return f"{title}\n\n{table}\n"


# --------------------------------------------------------------------------- diff


def _change_document(change: AccessChange) -> dict[str, Any]:
    return {
        "userId": change.user_id,
        "source": change.source,
        "repository": change.repository,
        "action": change.action,
        "before": change.before,
        "after": change.after,
    }


def diff_document(diff: AccessDiff) -> dict[str, Any]:
    return {
        "nexus_audit_access_diff": ACCESS_DIFF_VERSION,
        "old": dict(diff.old),
        "new": dict(diff.new),
        "summary": {
            "gained": len(diff.gained),
            "lost": len(diff.lost),
            "newFindings": len(diff.new_findings),
            "removedFindings": len(diff.removed_findings),
        },
        "gained": [_change_document(c) for c in diff.gained],
        "lost": [_change_document(c) for c in diff.lost],
        "newFindings": [finding_document(f) for f in diff.new_findings],
        "removedFindings": [finding_document(f) for f in diff.removed_findings],
    }


def _grouped(changes: Sequence[AccessChange], limit: int = 8) -> list[list[str]]:
    """One row per principal, action and change, listing its repositories."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for c in changes:
        what = f"{c.before or 'none'} -> {c.after or 'none'}"
        groups.setdefault((c.user_id, c.source, c.action, what), []).append(c.repository)
    rows = []
    for (user, source, action, what), repos in sorted(groups.items()):
        shown = ", ".join(repos[:limit]) + (
            f" (+{len(repos) - limit} more)" if len(repos) > limit else ""
        )
        rows.append([user, source, action, what, shown])
    return rows


def render_diff(diff: AccessDiff, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(diff_document(diff), indent=2) + "\n"
    where = _side(diff.old) + " -> " + _side(diff.new)
    parts = [
        f"Access diff: {where}\n"
        f"{len(diff.gained)} access gained, {len(diff.lost)} lost; "
        f"{len(diff.new_findings)} new finding(s), {len(diff.removed_findings)} removed"
    ]
    headers = ["principal", "source", "action", "change", "repositories"]
    for title, changes in (("Gained", diff.gained), ("Lost", diff.lost)):
        if changes:
            parts.append(
                f"{title}:\n" + tabulate(_grouped(changes), headers=headers, tablefmt="simple")
            )
    for title, findings in (
        ("New findings", diff.new_findings),
        ("Removed findings", diff.removed_findings),
    ):
        if findings:
            parts.append(f"{title}:\n" + "\n\n".join(_finding_block(f) for f in findings))
    return "\n\n".join(parts) + "\n"


def _side(nexus: Mapping[str, Any]) -> str:
    url = nexus.get("url") or "?"
    at = nexus.get("captured_at")
    return f"{url}" + (f" ({at})" if at else "")
