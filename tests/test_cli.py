"""The command line end to end: real HTTP to the emulator, snapshots on disk, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audit.cli import main
from audit.emulator import Fault, NexusEmulator

ADMIN = {"NEXUS_USERNAME": "admin", "NEXUS_PASSWORD": "admin123"}


def run(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    clean = {"NEXUS_URL": "", "NEXUS_USERNAME": "", "NEXUS_PASSWORD": ""}
    clean.update(env or {})
    # Empty values would be read as given; unset them instead.
    environment: dict[str, str | None] = {k: (v or None) for k, v in clean.items()}
    return CliRunner().invoke(main, args, env=environment, input=stdin)


def online(emulator: NexusEmulator, **extra: str) -> dict[str, str]:
    return {"NEXUS_URL": emulator.url, **ADMIN, **extra}


def test_check_scanner_fails_with_missing_browse(emulator: NexusEmulator) -> None:
    result = run(["check", "--user", "scanner", "--format", "json"], online(emulator))
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["nexus_audit_report"] == 1
    assert report["principal"]["userId"] == "scanner"
    assert report["ok"] is False
    hosted = next(r for r in report["repositories"] if r["name"] == "docker-hosted")
    assert hosted["read"] == "granted"
    assert hosted["registry"] == "nexus.acme.example:8082" or hosted["registry"].endswith(":8082")
    assert hosted["scheme"] == "http"
    assert hosted["grants"]["read"][0][0] == "user:scanner"
    codes = {f["code"] for f in report["findings"]}
    assert "EXCESS_PRIVILEGE" in codes


def test_check_passes_for_a_well_configured_account(emulator: NexusEmulator) -> None:
    result = run(
        ["check", "--user", "harbor-ok", "--repo", "docker-hosted", "--fail-on", "error"],
        online(emulator),
    )
    assert result.exit_code == 0, result.output
    assert "PASS" in result.stdout


def test_fail_on_warning_turns_warnings_into_exit_1(emulator: NexusEmulator) -> None:
    result = run(
        ["check", "--user", "harbor-ok", "--repo", "docker-hosted", "--fail-on", "warning"],
        online(emulator),
    )
    assert result.exit_code == 1
    assert "HTTP_ONLY" in result.stdout


def test_offline_snapshot_gives_the_same_answer_as_online(
    emulator: NexusEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "acme.json"
    saved = run(["snapshot", "-o", str(path)], online(emulator))
    assert saved.exit_code == 0, saved.output
    assert "saved" in saved.stderr
    text = path.read_text()
    assert "admin123" not in text and "scanner123" not in text
    assert '"emulator"' not in text
    live = run(["check", "--user", "scanner", "--format", "json"], online(emulator))
    offline = run(["check", "--snapshot", str(path), "--user", "scanner", "--format", "json"])
    assert offline.exit_code == live.exit_code == 1
    assert json.loads(offline.stdout) == json.loads(live.stdout)


def test_snapshot_never_overwrites_without_force(emulator: NexusEmulator, tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    path.write_text("precious")
    refused = run(["snapshot", "-o", str(path)], online(emulator))
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr
    assert path.read_text() == "precious"
    forced = run(["snapshot", "-o", str(path), "--force"], online(emulator))
    assert forced.exit_code == 0
    assert json.loads(path.read_text())["nexus_audit_snapshot"] == 1


def test_report_output_file_is_not_overwritten(emulator: NexusEmulator, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("keep me")
    result = run(["check", "--user", "scanner", "-o", str(out)], online(emulator))
    assert result.exit_code == 2
    assert out.read_text() == "keep me"


def test_can_i(emulator: NexusEmulator) -> None:
    allowed = run(
        [
            "can-i",
            "--user",
            "scanner",
            "--format",
            "json",
            "nexus:repository-view:docker:docker-hosted:read",
        ],
        online(emulator),
    )
    assert allowed.exit_code == 0, allowed.output
    answer = json.loads(allowed.stdout)["results"][0]
    assert answer["allowed"] is True
    assert answer["grants"][0][:2] == ["user:scanner", "role:hg-scan"]
    denied = run(
        [
            "can-i",
            "--user",
            "scanner",
            "nexus:repository-view:docker:docker-hosted:read",
            "nexus:users:read",
        ],
        online(emulator),
    )
    assert denied.exit_code == 1
    assert "NO" in denied.stdout


def test_can_i_rejects_an_invalid_permission(emulator: NexusEmulator) -> None:
    result = run(["can-i", "--user", "scanner", "nexus:,:read"], online(emulator))
    assert result.exit_code == 2
    assert "error:" in result.stderr and "Traceback" not in result.output


def test_self_check_without_security_rights(emulator: NexusEmulator) -> None:
    env = {"NEXUS_URL": emulator.url, "NEXUS_USERNAME": "scanner", "NEXUS_PASSWORD": "scanner123"}
    result = run(["check", "--format", "json"], env)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "self-limited"
    hosted = next(r for r in report["repositories"] if r["name"] == "docker-hosted")
    assert hosted["read"] == "granted"
    assert hosted["browse"] in ("denied", "partial")
    # What the caller cannot see is unknown, never denied.
    group = next(r for r in report["repositories"] if r["name"] == "docker-group")
    assert group["read"] in ("granted", "unknown")


def test_password_from_stdin(emulator: NexusEmulator) -> None:
    env = {"NEXUS_URL": emulator.url, "NEXUS_USERNAME": "admin"}
    result = run(
        ["check", "--user", "harbor-ok", "--password-stdin", "--repo", "docker-hosted"],
        env,
        stdin="admin123\n",
    )
    assert result.exit_code == 0, result.output


def test_missing_password_without_a_terminal_is_a_clear_error(emulator: NexusEmulator) -> None:
    result = run(
        ["check", "--user", "scanner"], {"NEXUS_URL": emulator.url, "NEXUS_USERNAME": "admin"}
    )
    assert result.exit_code == 2
    assert "NEXUS_PASSWORD" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["check", "--user", "scanner"], {}, "--url"),
        (["check", "--url", "nexus.example.com"], ADMIN, "not a URL"),
        (["check", "--snapshot", "missing.json"], {}, "does not exist"),
        (["check", "--user", "ghost", "--repo", "no-such-repo"], None, "Docker repositories:"),
        (["check", "--user", "scanner", "--repo", "maven-releases"], None, "not Docker"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    emulator: NexusEmulator, args: list[str], env: dict[str, str] | None, message: str
) -> None:
    result = run(args, online(emulator) if env is None else env)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_wrong_password_exit_2_without_echoing_it(emulator: NexusEmulator) -> None:
    result = run(["check", "--user", "scanner"], online(emulator, NEXUS_PASSWORD="hunter2-wrong"))
    assert result.exit_code == 2
    assert "401" in result.stderr and "hunter2-wrong" not in result.output


def test_html_login_page_is_explained(emulator: NexusEmulator) -> None:
    emulator.inject("/service/rest/v1/security/users", Fault(kind="html"))
    result = run(["check", "--user", "scanner"], online(emulator))
    assert result.exit_code == 2
    assert "HTML page" in result.stderr


def test_unknown_user_is_a_finding_not_a_crash(emulator: NexusEmulator) -> None:
    result = run(["check", "--user", "ghost", "--format", "json"], online(emulator))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["principal"]["found"] is False
    assert [f["code"] for f in report["findings"]] == ["PRINCIPAL_NOT_FOUND"]


def _snapshot_file(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(document))
    return str(path)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"nexus_audit_snapshot": 2}, "newer nexus-audit"),
        ({"users": []}, "not a nexus-audit snapshot"),
        ({"nexus_audit_snapshot": 1, "users": {"userId": "x"}}, "expected a JSON list"),
        ({"nexus_audit_snapshot": 1, "users": [{"source": "default"}]}, "'userId' is missing"),
    ],
)
def test_bad_snapshots(tmp_path: Path, document: dict[str, Any], message: str) -> None:
    result = run(["check", "--snapshot", _snapshot_file(tmp_path, document), "--user", "x"])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cyclic_and_dangling_roles_are_reported_not_fatal(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    result = run(
        [
            "check",
            "--snapshot",
            _snapshot_file(tmp_path, demo_dataset),
            "--user",
            "team-user",
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 1, result.output
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert {"ROLE_CYCLE", "PRIVILEGE_UNDEFINED"} <= codes


def test_anonymous_audit(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    result = run(
        [
            "check",
            "--snapshot",
            _snapshot_file(tmp_path, demo_dataset),
            "--auth",
            "anonymous",
            "--format",
            "json",
        ]
    )
    report = json.loads(result.stdout)
    assert report["principal"]["userId"] == "anonymous"
    assert report["principal"]["anonymous"] is True
    codes = {f["code"] for f in report["findings"]}
    assert "ANONYMOUS_BLOCKED_BY_BASIC_AUTH" in codes


def test_markdown_and_table_formats(emulator: NexusEmulator) -> None:
    markdown = run(["check", "--user", "scanner", "--format", "markdown"], online(emulator))
    assert markdown.stdout.startswith("## nexus-audit preflight")
    assert "| repository" in markdown.stdout
    table = run(["check", "--user", "scanner"], online(emulator))
    assert "docker-hosted" in table.stdout and "FAIL" in table.stdout


def test_demo_runs_the_whole_job() -> None:
    result = run(["demo"])
    assert result.exit_code == 0, result.output
    assert "scanner" in result.stdout
    assert "BROWSE_MISSING" in result.stdout


def test_python_dash_m_audit_works() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    result = subprocess.run(
        [sys.executable, "-m", "audit", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0
    assert "nexus-audit" in result.stdout


def test_an_internal_error_is_one_line_and_verbose_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_dataset: dict[str, Any]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr("audit.cli.audit", broken)
    path = _snapshot_file(tmp_path, demo_dataset)
    quiet = run(["check", "--snapshot", path, "--user", "scanner"])
    assert quiet.exit_code == 2
    assert quiet.stderr.startswith("error: internal error (KeyError")
    verbose = run(["-v", "check", "--snapshot", path, "--user", "scanner"])
    assert isinstance(verbose.exception, KeyError)
