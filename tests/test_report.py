"""Renderers: every format renders, the JSON contract holds, markup cannot break tables."""

from __future__ import annotations

import json

import pytest
from nexus_payloads import docker_group, docker_hosted, docker_proxy, instance, role, user, view

from audit.checks import AuditResult, Severity, audit, can_i
from audit.report import FORMATS, render, render_can_i, report_document


def scanner_result(**audit_options: object) -> AuditResult:
    inst = instance(
        users=[user("scanner", roles=["hg-scan"])],
        roles=[
            role(
                "hg-scan",
                privileges=[view("docker-hosted", "read")],
                description="HarborGuard | scanner",
            )
        ],
        repositories=[
            docker_hosted("docker-hosted", http_port=8082),
            docker_proxy("docker-proxy", http_port=8083),
            docker_group(
                "docker-group",
                members=["docker-hosted", "docker-proxy"],
                https_port=8443,
                force_basic_auth=False,
            ),
        ],
    )
    return audit(inst, user_id="scanner", **audit_options)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_principal_repositories_and_findings(fmt: str) -> None:
    text = render(scanner_result(), fmt)
    assert "scanner" in text
    assert "docker-hosted" in text
    assert "BROWSE_MISSING" in text


def test_json_report_contract() -> None:
    document = json.loads(render(scanner_result(), "json"))
    assert document["nexus_audit_report"] == 1
    assert set(document) >= {"principal", "repositories", "findings", "ok"}
    assert document["principal"] == {
        "userId": "scanner",
        "source": "default",
        "status": "active",
        "anonymous": False,
        "found": True,
        "roles": ["hg-scan"],
        "externalRoles": [],
        "defaultRole": None,
    }
    hosted = next(r for r in document["repositories"] if r["name"] == "docker-hosted")
    assert {k: hosted[k] for k in ("type", "online", "registry", "scheme", "read", "browse")} == {
        "type": "hosted",
        "online": True,
        "registry": "nexus.example.com:8082",
        "scheme": "http",
        "read": "granted",
        "browse": "denied",
    }
    assert hosted["grants"] == {
        "read": [
            [
                "user:scanner",
                "role:hg-scan",
                "privilege:nx-repository-view-docker-docker-hosted-read",
            ]
        ],
        "browse": [],
    }
    finding = next(f for f in document["findings"] if f["code"] == "BROWSE_MISSING")
    assert set(finding) == {"code", "severity", "repository", "message", "remedy"}
    assert finding["severity"] == "error"
    assert document["ok"] is False


def test_ok_follows_the_fail_on_threshold() -> None:
    result = scanner_result(repositories=["docker-hosted"])
    assert report_document(result, Severity.ERROR)["ok"] is False
    passing = audit(
        instance(
            users=[user("scanner", roles=["r"])],
            roles=[
                role(
                    "r", privileges=[view("docker-hosted", "read"), view("docker-hosted", "browse")]
                )
            ],
            repositories=[docker_hosted("docker-hosted", https_port=8443)],
        ),
        user_id="scanner",
    )
    assert report_document(passing, Severity.ERROR)["ok"] is True
    assert "PASS" in render(passing, "table")


def test_markdown_cells_escape_pipes() -> None:
    inst = instance(
        users=[user("scanner", roles=["legacy|role"])],
        repositories=[docker_hosted("docker-hosted", http_port=8082)],
    )
    markdown = render(audit(inst, user_id="scanner"), "markdown")
    assert "legacy\\|role" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith(("| error", "| warning"))]
    assert rows
    for line in rows:
        # Five columns: six unescaped pipes per row.
        assert line.replace("\\|", "").count("|") == 6


def test_can_i_json_and_table() -> None:
    inst = instance(
        users=[user("scanner", roles=["hg-scan"])],
        roles=[role("hg-scan", privileges=[view("docker-hosted", "read")])],
        repositories=[docker_hosted("docker-hosted", http_port=8082)],
    )
    principal, answers = can_i(
        inst,
        ["nexus:repository-view:docker:docker-hosted:read", "nexus:users:read"],
        user_id="scanner",
    )
    document = json.loads(render_can_i(principal, answers, "json"))
    assert [r["allowed"] for r in document["results"]] == [True, False]
    assert document["results"][0]["grants"][0][-1] == (
        "privilege:nx-repository-view-docker-docker-hosted-read"
    )
    table = render_can_i(principal, answers, "table")
    assert "NO" in table and "hg-scan" in table
