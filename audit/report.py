"""Render audit results: ``table`` (terminal), ``markdown`` (tickets, PRs) and ``json`` (machines).

The JSON document is a stable contract (``nexus_audit_report: 1``); fields are only ever added.
Renderers return strings; only the CLI decides where they go.
"""

from __future__ import annotations

import functools
import json
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from tabulate import tabulate

from audit.checks import AuditResult, Finding, PrincipalSummary, RepositoryResult, Severity
from audit.permissions import Access, Grant
from audit.probe import ProbeSettings, RepositoryProbe, Status
from audit.rolegen import REPOSITORY_ACTIONS, WHAT_IF_USER, Proof, RolePlan

REPORT_FORMAT_VERSION = 1

_ACCESS_MARK = {
    Access.GRANTED: "granted",
    Access.PARTIAL: "PARTIAL",
    Access.DENIED: "DENIED",
    Access.UNKNOWN: "unknown",
}


def _paths(grants: Sequence[Grant]) -> list[list[str]]:
    return [list(g.path) for g in grants]


def principal_document(principal: PrincipalSummary) -> dict[str, Any]:
    return {
        "userId": principal.user_id,
        "source": principal.source,
        "status": principal.status,
        "anonymous": principal.anonymous,
        "found": principal.found,
        "roles": list(principal.roles),
        "externalRoles": list(principal.external_roles),
        "defaultRole": principal.default_role,
    }


def repository_document(result: RepositoryResult) -> dict[str, Any]:
    repo = result.repository
    return {
        "name": repo.name,
        "type": repo.type,
        "online": repo.online,
        "registry": result.registry.address if result.registry else None,
        "scheme": result.registry.scheme if result.registry else None,
        "routing": result.registry.routing if result.registry else None,
        "read": result.read.access.value,
        "browse": result.browse.access.value,
        "grants": {"read": _paths(result.read.grants), "browse": _paths(result.browse.grants)},
        "notes": {
            action: note
            for action, note in (("read", result.read.note), ("browse", result.browse.note))
            if note
        },
    }


def finding_document(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "repository": finding.repository,
        "message": finding.message,
        "remedy": finding.remedy,
    }


def report_document(result: AuditResult, fail_on: Severity = Severity.ERROR) -> dict[str, Any]:
    return {
        "nexus_audit_report": REPORT_FORMAT_VERSION,
        "nexus": {"url": result.base_url, "server": result.server},
        "auth": result.auth.value,
        "mode": "self-limited" if result.self_limited else "full",
        "principal": principal_document(result.principal),
        "repositories": [repository_document(r) for r in result.repositories],
        "findings": [finding_document(f) for f in result.findings],
        "ok": result.passed(fail_on),
    }


def _first_path(grants: Sequence[Grant]) -> str:
    if not grants:
        return ""
    shown = " > ".join(step for step in grants[0].path[1:])
    return shown + (f" (+{len(grants) - 1})" if len(grants) > 1 else "")


def _principal_line(principal: PrincipalSummary, result: AuditResult) -> str:
    if not principal.found:
        return f"Principal: {principal.user_id} (not found)"
    who = "anonymous user " if principal.anonymous else ""
    details = [d for d in (principal.source, principal.status) if d]
    roles = list(principal.roles) + [f"{r} (external)" for r in principal.external_roles]
    if principal.default_role:
        roles.append(f"{principal.default_role} (DefaultRole realm)")
    line = f"Principal: {who}{principal.user_id}"
    if details:
        line += f" [{', '.join(details)}]"
    if roles:
        line += f"  roles: {', '.join(roles)}"
    if result.self_limited:
        line += "  (self-audit without security read rights: partly unknown)"
    return line


def _summary_line(result: AuditResult, fail_on: Severity) -> str:
    counts = {s: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    verdict = "PASS" if result.passed(fail_on) else "FAIL"
    return (
        f"{verdict}: {counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
        f"{counts[Severity.INFO]} info (failing on {fail_on.value})"
    )


def _tables(result: AuditResult, tablefmt: str, fail_on: Severity) -> list[str]:
    header = [
        f"Nexus: {result.base_url or '?'}  {result.server or ''}".rstrip(),
        f"Scanner logs in with: {result.auth.value}",
        _principal_line(result.principal, result),
    ]
    repo_rows = [
        [
            r.repository.name,
            r.repository.type,
            "yes" if r.repository.online else "NO",
            f"{r.registry.scheme}://{r.registry.address}" if r.registry else "-",
            _ACCESS_MARK[r.read.access],
            _ACCESS_MARK[r.browse.access],
            _first_path(r.read.grants or r.browse.grants),
        ]
        for r in result.repositories
    ]
    parts = ["\n".join(header)]
    if repo_rows:
        parts.append(
            tabulate(
                repo_rows,
                headers=["repository", "type", "online", "registry", "read", "browse", "via"],
                tablefmt=tablefmt,
            )
        )
    else:
        parts.append("No Docker repositories.")
    if result.findings:
        if tablefmt == "github":
            rows = [
                [f.severity.value, f.code, f.repository or "-", _cell(f.message), _cell(f.remedy)]
                for f in result.findings
            ]
            headers = ["severity", "code", "repository", "finding", "remedy"]
            parts.append(tabulate(rows, headers=headers, tablefmt=tablefmt))
        else:
            parts.append("\n\n".join(_finding_block(f) for f in result.findings))
    parts.append(_summary_line(result, fail_on))
    return parts


def _cell(text: str) -> str:
    """Markdown table cells cannot hold pipes or newlines."""
    return text.replace("|", "\\|").replace("\n", " ")


def _finding_block(finding: Finding, width: int = 100) -> str:
    """A finding as a few wrapped lines: easier to read in a terminal than a wide table."""
    where = f" [{finding.repository}]" if finding.repository else ""
    head = f"{finding.severity.value.upper():<7} {finding.code}{where}"
    wrap = functools.partial(
        textwrap.fill, width=width, break_on_hyphens=False, break_long_words=False
    )
    body = wrap(finding.message, initial_indent="  ", subsequent_indent="  ")
    fix = wrap(finding.remedy, initial_indent="  fix: ", subsequent_indent="       ")
    return f"{head}\n{body}\n{fix}"


def render_table(result: AuditResult, fail_on: Severity = Severity.ERROR) -> str:
    return "\n\n".join(_tables(result, "simple", fail_on)) + "\n"


def render_markdown(result: AuditResult, fail_on: Severity = Severity.ERROR) -> str:
    parts = _tables(result, "github", fail_on)
    parts[0] = "## nexus-audit preflight\n\n" + "  \n".join(parts[0].splitlines())
    parts[-1] = f"**{parts[-1]}**"
    return "\n\n".join(parts) + "\n"


def render_json(result: AuditResult, fail_on: Severity = Severity.ERROR) -> str:
    return json.dumps(report_document(result, fail_on), indent=2) + "\n"


Renderer = Callable[[AuditResult, Severity], str]

FORMATS: dict[str, Renderer] = {
    "table": render_table,
    "json": render_json,
    "markdown": render_markdown,
}


def render(result: AuditResult, fmt: str, fail_on: Severity = Severity.ERROR) -> str:
    return FORMATS[fmt](result, fail_on)


CanIAnswer = tuple[str, bool, tuple[Grant, ...]]


def render_can_i(principal: PrincipalSummary, answers: Sequence[CanIAnswer], fmt: str) -> str:
    if fmt == "json":
        document = {
            "principal": principal_document(principal),
            "results": [
                {"permission": text, "allowed": allowed, "grants": _paths(grants)}
                for text, allowed, grants in answers
            ],
        }
        return json.dumps(document, indent=2) + "\n"
    rows = [
        [text, "yes" if allowed else "NO", "\n".join(" > ".join(g.path[1:]) for g in grants)]
        for text, allowed, grants in answers
    ]
    tablefmt = "github" if fmt == "markdown" else "simple"
    table = tabulate(rows, headers=["permission", "allowed", "granted via"], tablefmt=tablefmt)
    return f"Principal: {principal.user_id}\n\n{table}\n"


_PROOF_MARK = {
    Access.GRANTED: "granted",
    Access.PARTIAL: "partial",
    Access.DENIED: "-",
    Access.UNKNOWN: "?",
}


def render_proof(plan: RolePlan, proof: Proof) -> str:
    """The what-if proof and least-privilege diff, for people (stderr beside the artifact)."""
    if proof.principal == WHAT_IF_USER:
        lines = [f"What-if: a new account holding only role '{plan.role.id}'"]
    else:
        lines = [f"What-if: '{proof.principal}' with role '{plan.role.id}' added"]
    shown = [row for row in proof.rows if any(a is not Access.DENIED for a in row.access.values())]
    hidden = len(proof.rows) - len(shown)
    if shown:
        table = tabulate(
            [
                [row.repository, *(_PROOF_MARK[row.access[a]] for a in REPOSITORY_ACTIONS)]
                for row in shown
            ],
            headers=["repository", *REPOSITORY_ACTIONS],
            tablefmt="simple",
        )
        lines += ["  " + line for line in table.splitlines()]
    if hidden:
        lines.append(
            f"  {hidden} other Docker repositor{'y' if hidden == 1 else 'ies'}: no content access"
        )
    if plan.profile.value == "auditor" and not proof.missing:
        lines.append("  security read rights for a full audit: granted")
    actions = ", ".join(dict.fromkeys(a for _, a in plan.needed)) or "audit reads"
    if proof.missing:
        missing = ", ".join(f"{action} on {repo}" for repo, action in proof.missing)
        lines.append(f"PROOF FAILS: not granted: {missing}")
    elif proof.beyond:
        lines.append("PROOF FAILS: beyond the profile: " + "; ".join(proof.beyond))
    elif proof.principal == WHAT_IF_USER:
        lines.append(f"Proof holds: every target granted ({actions}); nothing beyond the targets.")
    else:
        lines.append(f"Proof holds: every target granted for '{proof.principal}' ({actions}).")
    if proof.principal != WHAT_IF_USER:
        lines.append(f"Least privilege for '{proof.principal}':")
        lines += [f"  remove {item}" for item in proof.to_remove] or ["  nothing to remove"]
        lines += [f"  add    {item}" for item in proof.to_add] or ["  nothing to add"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- registry probe


def probe_document(probe: RepositoryProbe) -> dict[str, Any]:
    """The ``probe`` object of a repository in the JSON report: every step's outcome."""
    result = probe.result
    challenge = result.challenge
    return {
        "url": result.endpoint.base_url if result.endpoint else None,
        "imagePrefix": result.endpoint.prefix if result.endpoint else "",
        "login": result.login,
        "auth": challenge.scheme if challenge else None,
        "realm": challenge.realm if challenge else None,
        "service": challenge.service if challenge else None,
        "credentialsSent": result.credentials_sent,
        "plainHttpCredentials": result.plain_http_credentials,
        "catalog": {
            "count": result.catalog_count,
            "truncated": result.catalog_truncated,
            "stoppedBy": result.catalog_stop,
            "pages": result.catalog_pages,
        },
        "image": result.image,
        "tags": result.tags_count,
        "tag": result.tag,
        "manifest": {"mediaType": result.manifest_type, "digest": result.manifest_digest},
        "ok": result.failed is None,
        "steps": [
            {
                "step": s.step.value,
                "status": s.status.value,
                "detail": s.detail,
                "url": s.url,
                "httpStatus": s.http_status,
                "failure": s.failure.value if s.failure else None,
                "cause": probe.causes.get(s.step),
                "elapsedMs": s.elapsed_ms,
            }
            for s in result.steps
        ],
    }


def _probe_settings_document(settings: ProbeSettings) -> dict[str, Any]:
    return {
        "login": settings.login,
        "tls": "not verified"
        if settings.insecure
        else ("verified, with --ca-bundle" if settings.ca_bundle else "verified"),
        "plainHttpCredentials": "allowed (--insecure)" if settings.insecure else "never sent",
        "catalogLimit": settings.catalog_limit,
        "stepTimeout": settings.step_timeout,
    }


def probe_report_document(
    result: AuditResult,
    probes: Sequence[RepositoryProbe],
    settings: ProbeSettings,
    fail_on: Severity = Severity.ERROR,
    audited: bool = True,
) -> dict[str, Any]:
    """The ``check`` document, each repository with its ``probe`` object (``null``: not probed).

    ``audited`` is false when the REST data could not tell which account the probe logged in as:
    the principal and the read/browse answers are then placeholders, and no cause is named.
    """
    document = report_document(result, fail_on)
    by_name = {p.result.repository: p for p in probes}
    for repository in document["repositories"]:
        probe = by_name.get(repository["name"])
        repository["probe"] = probe_document(probe) if probe is not None else None
    document["probe"] = {**_probe_settings_document(settings), "audited": audited}
    return document


_STEP_MARK = {Status.OK: "ok", Status.FAILED: "FAILED", Status.SKIPPED: "-"}


def _probe_block(probe: RepositoryProbe, tablefmt: str) -> str:
    result = probe.result
    where = result.endpoint.base_url + "/" + result.endpoint.prefix if result.endpoint else "-"
    challenge = result.challenge.describe() if result.challenge else "no challenge seen"
    head = f"Probe {result.repository}: {where.rstrip('/')}  ({challenge})"
    rows = []
    for step in result.steps:
        detail = step.detail
        cause = probe.causes.get(step.step)
        if cause:
            detail += f" [cause: {cause}]"
        shown = str(step.elapsed_ms) if step.status is not Status.SKIPPED else ""
        rows.append([step.step.value, _STEP_MARK[step.status], shown, _cell(detail)])
    table = tabulate(rows, headers=["step", "result", "ms", "detail"], tablefmt=tablefmt)
    if tablefmt == "github":
        return f"**{head}**\n\n{table}"
    return f"{head}\n{table}"


def render_probe_report(
    result: AuditResult,
    probes: Sequence[RepositoryProbe],
    settings: ProbeSettings,
    fmt: str,
    fail_on: Severity = Severity.ERROR,
    audited: bool = True,
) -> str:
    """The check report with each repository's probe steps (``table``, ``markdown``, ``json``)."""
    if fmt == "json":
        document = probe_report_document(result, probes, settings, fail_on, audited)
        return json.dumps(document, indent=2) + "\n"
    tablefmt = "github" if fmt == "markdown" else "simple"
    parts = _tables(result, tablefmt, fail_on)
    if not audited:
        header = parts[0].splitlines()
        header[2] = (
            f"Principal: {result.principal.user_id} (not audited: the REST data cannot tell "
            "which account this login is, so causes are not named)"
        )
        parts[0] = "\n".join(header)
    info = _probe_settings_document(settings)
    line = (
        f"Registry probe: logged in as {settings.credentials.label}, TLS {info['tls']}, "
        f"credentials over plain HTTP {info['plainHttpCredentials']}"
    )
    blocks = [line] + [_probe_block(p, tablefmt) for p in probes]
    parts[2:2] = blocks
    if fmt == "markdown":
        parts[0] = "## nexus-audit preflight\n\n" + "  \n".join(parts[0].splitlines())
        parts[-1] = f"**{parts[-1]}**"
    return "\n\n".join(parts) + "\n"
