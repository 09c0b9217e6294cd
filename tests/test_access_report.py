"""Unit tests of audit.access_report: the JSON contract, text formats, who-can and diff output."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from nexus_payloads import (
    REALM_DOCKER_TOKEN,
    REALM_LOCAL,
    anonymous_settings,
    docker_hosted,
    role,
    snapshot,
    user,
    view,
)

from audit.access import (
    ACTIONS,
    AccessReport,
    Exclusions,
    build_report,
    diff_sides,
    side_from_report,
)
from audit.access_report import (
    CSV_COLUMNS,
    REPORT_FORMATS,
    diff_document,
    render_diff,
    render_report,
    render_who_can,
    report_document,
    who_can_document,
)
from audit.emulator import load_dataset
from audit.model import parse_instance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from generate import generate  # noqa: E402

ENTRY_KEYS = {"userId", "source", "anonymous", "access", "grants", "paths"}


@pytest.fixture(scope="module")
def demo() -> AccessReport:
    dataset = load_dataset("demo")
    dataset.pop("emulator")
    return build_report(parse_instance(dataset))


def text(report: AccessReport, fmt: str, max_paths: int = 5) -> str:
    return "".join(render_report(report, fmt, max_paths))


def test_the_document_keeps_the_contract_names(demo: AccessReport) -> None:
    document = report_document(demo)
    assert document["nexus_audit_access_report"] == 1
    assert set(document) >= {
        "nexus",
        "summary",
        "principals",
        "repositories",
        "anonymous",
        "findings",
    }
    assert set(document["nexus"]) == {"url", "server", "captured_at"}
    summary = document["summary"]
    assert {k: summary[k] for k in ("repositories", "users", "principals_with_access")} == {
        "repositories": 5,
        "users": 9,
        "principals_with_access": 9,
    }
    assert summary["anonymous_enabled"] is True
    assert set(summary["findings"]) == {"error", "warning", "info"}
    assert sum(summary["findings"].values()) == len(document["findings"])
    assert summary["silenced"] == 0
    principal = next(p for p in document["principals"] if p["userId"] == "alice")
    assert principal == {
        "userId": "alice",
        "source": "LDAP",
        "status": "active",
        "anonymous": False,
        "roles": [],
        "externalRoles": ["devs", "engineering"],
        "defaultRole": None,
    }
    hosted = next(r for r in document["repositories"] if r["name"] == "docker-hosted")
    assert {k: hosted[k] for k in ("type", "online", "registry", "scheme", "routing")} == {
        "type": "hosted",
        "online": True,
        "registry": "nexus.acme.example:8082",
        "scheme": "http",
        "routing": "http-connector",
    }
    assert hosted["posture"] == ["HTTP_ONLY"]
    assert set(hosted["access"]) == set(ACTIONS)
    trivy = next(e for e in hosted["access"]["read"] if e["userId"] == "trivy")
    assert set(trivy) == ENTRY_KEYS
    assert trivy["access"] == "partial"
    assert trivy["grants"] == [
        ["user:trivy", "role:trivy-partial", "privilege:docker-library-only"]
    ]
    assert document["anonymous"] == {
        "enabled": True,
        "userId": "anonymous",
        "dockerTokenRealm": False,
        "canRead": [r["name"] for r in document["repositories"]],
        "canBrowse": [r["name"] for r in document["repositories"]],
        "pullPossible": [],
    }
    finding = document["findings"][0]
    assert set(finding) >= {
        "code",
        "severity",
        "principal",
        "repository",
        "message",
        "remedy",
        "silenced",
    }


@pytest.mark.parametrize("max_paths", [5, 1, 0])
def test_streamed_json_equals_the_document(demo: AccessReport, max_paths: int) -> None:
    assert json.loads(text(demo, "json", max_paths)) == report_document(demo, max_paths)


def test_streamed_json_equals_the_document_at_scale() -> None:
    report = build_report(parse_instance(generate(45, 200, 40, seed=11)))
    assert json.loads(text(report, "json")) == report_document(report)


def test_max_paths_keeps_the_count(demo: AccessReport) -> None:
    document = report_document(demo, max_paths=0)
    assert document["summary"]["maxPathsPerEntry"] == 0
    entry = document["repositories"][0]["access"]["read"][0]
    assert entry["grants"] == [] and entry["paths"] >= 1


def test_silenced_findings_are_counted_apart() -> None:
    inst = parse_instance(
        snapshot(
            repositories=[docker_hosted("plain", http_port=8082)],
            anonymous=anonymous_settings(enabled=False),
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN],
        )
    )
    rules = Exclusions.from_document({"rules": [{"code": "HTTP_ONLY", "reason": "behind TLS LB"}]})
    document = report_document(build_report(inst, rules))
    http = next(f for f in document["findings"] if f["code"] == "HTTP_ONLY")
    assert (http["silenced"], http["silencedReason"]) == (True, "behind TLS LB")
    assert document["summary"]["silenced"] == 1
    assert document["summary"]["silencedFindings"]["warning"] == 1
    unsilenced = report_document(build_report(inst))
    assert (
        document["summary"]["findings"]["warning"]
        == unsilenced["summary"]["findings"]["warning"] - 1
    )


def test_csv_is_the_access_matrix(demo: AccessReport) -> None:
    rows = list(csv.reader(io.StringIO(text(demo, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    matrix = {(r[0], r[3]): r[4:] for r in rows[1:]}
    assert matrix[("trivy", "docker-hosted")] == ["partial", "partial", "", "", ""]
    assert matrix[("alice", "docker-hosted")] == ["granted", "granted", "granted", "", ""]
    assert matrix[("scanner", "docker-internal")] == ["", "", "", "", "granted"]
    assert ("alice", "docker-internal") not in matrix  # no access: no row
    expected = {
        (e.principal.user_id, info.repository.name)
        for info in demo.repositories
        for action in ACTIONS
        for e in demo.entries(info.repository.name, action)
    }
    assert set(matrix) == expected
    users = [r[0] for r in rows[1:]]
    assert users == sorted(users, key=str.lower)


def test_csv_quotes_awkward_user_ids() -> None:
    odd = 'o"brien, jr'
    inst = parse_instance(
        snapshot(
            users=[user(odd, roles=["r"])],
            roles=[role("r", privileges=[view("hosted", "read")])],
            repositories=[docker_hosted("hosted", https_port=8443)],
            anonymous=anonymous_settings(enabled=False),
        )
    )
    rows = list(csv.reader(io.StringIO(text(build_report(inst), "csv"))))
    assert [odd, "default", "false", "hosted", "granted", "", "", "", ""] in rows


def test_table_and_markdown_summarise(demo: AccessReport) -> None:
    table = text(demo, "table")
    assert "5 Docker repositories, 9 users, 9 principals with access" in table
    assert "Anonymous access: ON as 'anonymous'" in table
    hosted = next(line for line in table.splitlines() if line.startswith("docker-hosted "))
    assert "8 (1 partial)" in hosted and "7 (1 partial)" in hosted
    assert "WARNING FULL_ADMIN <admin>" in table
    markdown = text(demo, "markdown")
    assert markdown.startswith("## nexus-audit access review")
    assert "| docker-hosted " in markdown
    assert "| warning    | FULL_ADMIN" in markdown


def test_markdown_cells_cannot_break_the_table() -> None:
    inst = parse_instance(
        snapshot(
            users=[user("a|b", roles=["r"], status="disabled")],
            roles=[role("r")],
            repositories=[docker_hosted("hosted", https_port=8443)],
            anonymous=anonymous_settings(enabled=False),
        )
    )
    markdown = text(build_report(inst), "markdown")
    line = next(line for line in markdown.splitlines() if "INACTIVE_USER_HAS_ROLES" in line)
    assert "a\\|b" in line and line.count(" | ") == 5


def test_every_format_renders(demo: AccessReport) -> None:
    for fmt in REPORT_FORMATS:
        assert text(demo, fmt).strip(), fmt


def test_who_can_document_has_exactly_the_issue_shape(demo: AccessReport) -> None:
    entries = demo.entries("docker-hosted", "push")
    document = who_can_document("docker-hosted", "push", entries)
    assert set(document) == {"repository", "action", "principals"}
    assert [e["userId"] for e in document["principals"]] == ["admin", "alice"]
    assert all(set(e) == ENTRY_KEYS for e in document["principals"])
    assert json.loads(render_who_can("docker-hosted", "push", entries, "json")) == document
    table = render_who_can("docker-hosted", "push", entries, "table")
    assert "Who can push on 'docker-hosted': 2 principal(s)" in table
    assert (
        "external-role:devs > privilege:nx-repository-view-docker-docker-hosted-add (+1)" in table
    )


def test_diff_renders_grouped_changes(demo: AccessReport) -> None:
    dataset: dict[str, Any] = load_dataset("demo")
    dataset.pop("emulator")
    for body in dataset["users"]:
        if body["userId"] == "harbor-ok":
            body["roles"] = ["nx-admin"]
    changed = build_report(parse_instance(dataset))
    diff = diff_sides(side_from_report(demo), side_from_report(changed))
    document = diff_document(diff)
    assert document["nexus_audit_access_diff"] == 1
    assert document["summary"]["gained"] == len(document["gained"]) > 0
    assert {"userId", "source", "repository", "action", "before", "after"} == set(
        document["gained"][0]
    )
    assert [f["principal"] for f in document["newFindings"]] == ["harbor-ok"]
    table = render_diff(diff, "table")
    assert "Gained:" in table and "harbor-ok" in table
    assert "New findings:" in table and "FULL_ADMIN <harbor-ok>" in table
    assert json.loads(render_diff(diff, "json")) == document
