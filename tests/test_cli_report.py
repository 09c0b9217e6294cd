"""``report``, ``who-can`` and ``diff`` end to end: snapshots on disk, the emulator over HTTP."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audit.cli import main
from audit.emulator import NexusEmulator

ADMIN = {"NEXUS_USERNAME": "admin", "NEXUS_PASSWORD": "admin123"}


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    clean = {"NEXUS_URL": "", "NEXUS_USERNAME": "", "NEXUS_PASSWORD": ""}
    clean.update(env or {})
    environment: dict[str, str | None] = {k: (v or None) for k, v in clean.items()}
    return CliRunner().invoke(main, args, env=environment)


def online(emulator: NexusEmulator) -> dict[str, str]:
    return {"NEXUS_URL": emulator.url, **ADMIN}


def write(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.fixture()
def acme(tmp_path: Path, demo_dataset: dict[str, Any]) -> str:
    return write(tmp_path, "acme.json", demo_dataset)


# --------------------------------------------------------------------------- report


def test_report_json_from_a_snapshot(acme: str) -> None:
    result = run(["report", "--snapshot", acme, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["nexus_audit_access_report"] == 1
    assert document["summary"]["repositories"] == 5
    assert document["summary"]["anonymous_enabled"] is True
    hosted = next(r for r in document["repositories"] if r["name"] == "docker-hosted")
    readers = {e["userId"]: e["access"] for e in hosted["access"]["read"]}
    assert readers["trivy"] == "partial"
    assert readers["alice"] == "granted"
    assert "old-scanner" in readers


def test_report_from_a_live_nexus_matches_the_snapshot(emulator: NexusEmulator, acme: str) -> None:
    live = run(["report", "--format", "json"], online(emulator))
    assert live.exit_code == 0, live.output
    offline = json.loads(run(["report", "--snapshot", acme, "--format", "json"]).stdout)
    document = json.loads(live.stdout)
    # The registry addresses follow the URL read (the emulator's port); access does not.
    assert [(r["name"], r["access"]) for r in document["repositories"]] == [
        (r["name"], r["access"]) for r in offline["repositories"]
    ]
    assert document["principals"] == offline["principals"]
    assert document["anonymous"] == offline["anonymous"]


@pytest.mark.parametrize(("fail_on", "code"), [(None, 0), ("error", 0), ("warning", 1)])
def test_fail_on(acme: str, fail_on: str | None, code: int) -> None:
    args = ["report", "--snapshot", acme] + (["--fail-on", fail_on] if fail_on else [])
    result = run(args)
    assert result.exit_code == code, result.output
    assert "Docker repositories" in result.stdout


def test_exclusions_silence_findings_and_fail_on_ignores_them(acme: str, tmp_path: Path) -> None:
    rules = {
        "nexus_audit_exclusions": 1,
        "rules": [
            {"code": "HTTP_ONLY", "reason": "a TLS load balancer terminates every connector"},
            {"code": "FULL_ADMIN", "principal": "admin"},
            {"code": "REPOSITORY_ADMIN", "principal": "scanner"},
            {"code": "GROUP_INCLUDES_UPSTREAM_PROXY", "repository": "docker-group"},
            {"code": "WILDCARD_REPOSITORY_PRIVILEGE", "role": "ci-legacy"},
            {"code": "PRIVILEGE_UNDEFINED"},
            {"code": "ROLE_CYCLE"},
        ],
    }
    path = write(tmp_path, "exclusions.json", rules)
    result = run(
        ["report", "--snapshot", acme, "--exclusions", path, "--fail-on", "warning", "-o", "-"]
        + ["--format", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"]["findings"]["warning"] == 0
    assert document["summary"]["silenced"] == 9
    http = [f for f in document["findings"] if f["code"] == "HTTP_ONLY"]
    assert len(http) == 3 and all(f["silenced"] for f in http)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"rules": [{"reason": "all"}]}', "matches every finding"),
    ],
)
def test_bad_exclusions_file(acme: str, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    result = run(["report", "--snapshot", acme, "--exclusions", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_report_csv_to_a_file_is_not_overwritten(acme: str, tmp_path: Path) -> None:
    out = tmp_path / "matrix.csv"
    first = run(["report", "--snapshot", acme, "--format", "csv", "-o", str(out)])
    assert first.exit_code == 0, first.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["userId", "source", "anonymous", "repository", *ACTIONS_COLUMNS]
    assert [
        "alice",
        "LDAP",
        "false",
        "docker-hosted",
        "granted",
        "granted",
        "granted",
        "",
        "",
    ] in rows
    again = run(["report", "--snapshot", acme, "--format", "csv", "-o", str(out)])
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    forced = run(["report", "--snapshot", acme, "--format", "csv", "-o", str(out), "--force"])
    assert forced.exit_code == 0


ACTIONS_COLUMNS = ["read", "browse", "push", "delete", "admin"]


def test_report_markdown(acme: str) -> None:
    result = run(["report", "--snapshot", acme, "--format", "markdown"])
    assert result.exit_code == 0
    assert result.stdout.startswith("## nexus-audit access review")


def test_html_with_the_real_renderer_embeds_the_report(acme: str) -> None:
    result = run(["report", "--snapshot", acme, "--format", "html"])
    assert result.exit_code == 0, result.output
    assert result.stdout.lstrip().lower().startswith("<!doctype html>")
    assert "docker-hosted" in result.stdout and "nexus_audit_access_report" in result.stdout


def test_report_needs_security_sections(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    document = copy.deepcopy(demo_dataset)
    del document["privileges"]
    document["unavailable"] = {"privileges": "403 Forbidden: needs nx-privileges-read"}
    result = run(["report", "--snapshot", write(tmp_path, "partial.json", document)])
    assert result.exit_code == 2
    assert "nx-privileges-read" in result.stderr


# --------------------------------------------------------------------------- who-can


def test_who_can_json_has_the_issue_shape(emulator: NexusEmulator) -> None:
    result = run(
        ["who-can", "--repo", "docker-hosted", "--action", "read", "--format", "json"],
        online(emulator),
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"repository", "action", "principals"}
    assert (document["repository"], document["action"]) == ("docker-hosted", "read")
    by_user = {e["userId"]: e for e in document["principals"]}
    assert set(by_user) == {
        "admin",
        "alice",
        "anonymous",
        "bob.sso",
        "harbor-ok",
        "old-scanner",
        "scanner",
        "trivy",
    }
    assert by_user["anonymous"]["anonymous"] is True
    assert by_user["alice"]["source"] == "LDAP"
    assert by_user["alice"]["grants"] == [
        [
            "user:alice",
            "external-role:devs",
            "privilege:nx-repository-view-docker-docker-hosted-read",
        ]
    ]
    assert by_user["trivy"]["access"] == "partial"
    for entry in document["principals"]:
        assert set(entry) == {"userId", "source", "anonymous", "access", "grants", "paths"}


def test_who_can_push_and_admin_from_a_snapshot(acme: str) -> None:
    push = run(["who-can", "--snapshot", acme, "--repo", "docker-hosted", "--action", "push"])
    assert push.exit_code == 0
    assert "Who can push on 'docker-hosted': 2 principal(s)" in push.stdout
    admin = run(
        ["who-can", "--snapshot", acme, "--repo", "docker-internal", "--action", "admin"]
        + ["--format", "json"]
    )
    users = [e["userId"] for e in json.loads(admin.stdout)["principals"]]
    assert users == ["admin", "scanner"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repo", "maven-releases", "--action", "read"], "no Docker repository named"),
        (["--repo", "docker-hosted", "--action", "pull"], "Invalid value for '--action'"),
    ],
)
def test_who_can_errors(acme: str, args: list[str], message: str) -> None:
    result = run(["who-can", "--snapshot", acme, *args])
    assert result.exit_code == 2
    assert message in result.stderr


# --------------------------------------------------------------------------- diff


def test_diff_gates_on_gained_access(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", demo_dataset)
    changed = copy.deepcopy(demo_dataset)
    for body in changed["users"]:
        if body["userId"] == "trivy":
            body["roles"].append("devs")
    new = write(tmp_path, "new.json", changed)
    gained = run(["diff", old, new, "--format", "json"])
    assert gained.exit_code == 1, gained.output
    document = json.loads(gained.stdout)
    assert {(c["userId"], c["action"], c["before"], c["after"]) for c in document["gained"]} == {
        ("trivy", "read", "partial", "granted"),
        ("trivy", "browse", "partial", "granted"),
        ("trivy", "push", None, "granted"),
    }
    lost = run(["diff", new, old])
    assert lost.exit_code == 0, lost.output
    assert "0 access gained, 3 lost" in lost.stdout
    same = run(["diff", old, old])
    assert (same.exit_code, "0 access gained, 0 lost" in same.stdout) == (0, True)


def test_diff_accepts_json_reports_and_mixes(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", demo_dataset)
    report = run(["report", "--snapshot", old, "--format", "json"])
    old_report = write(tmp_path, "old-report.json", json.loads(report.stdout))
    changed = copy.deepcopy(demo_dataset)
    changed["anonymous"]["enabled"] = False
    new = write(tmp_path, "new.json", changed)
    result = run(["diff", old_report, new])
    assert result.exit_code == 0, result.output
    assert "anonymous" in result.stdout and "Removed findings:" in result.stdout
    reverse = run(["diff", new, old_report, "--format", "json"])
    assert reverse.exit_code == 1
    assert {c["userId"] for c in json.loads(reverse.stdout)["gained"]} == {"anonymous"}


@pytest.mark.parametrize(
    ("content", "message"),
    [("[1, 2]", "neither a snapshot nor a JSON access report"), ("{", "is not valid JSON")],
)
def test_diff_refuses_other_files(acme: str, tmp_path: Path, content: str, message: str) -> None:
    other = tmp_path / "other.json"
    other.write_text(content)
    result = run(["diff", acme, str(other)])
    assert result.exit_code == 2
    assert message in result.stderr
