"""``nexus-audit role`` end to end: snapshots on disk, the emulator over real HTTP, exit codes.

The artifact on stdout is checked with tools that know nothing of nexus-audit (nexus-api-client's
request models, python-hcl2, bash and curl), the proof and the changes on stderr, and what an apply
did by reading the emulator back and by counting the requests it recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nexus_payloads as nx
import pytest
from click.testing import CliRunner, Result
from role_formats import (
    bash_syntax_ok,
    hcl_blocks,
    hcl_literals,
    validate_plan,
    validate_privilege_body,
    validate_role_body,
)

from audit.cli import main
from audit.emulator import Fault, NexusEmulator
from audit.rolegen import AUDITOR_PRIVILEGES

MakeEmulator = Callable[..., NexusEmulator]

ROOT = Path(__file__).resolve().parent.parent
ADMIN = {"NEXUS_USERNAME": "admin", "NEXUS_PASSWORD": "admin123"}
REST = "/service/rest"
DOCKER_REPOS = (
    "docker-hosted",
    "docker-proxy",
    "docker-group",
    "docker-internal",
    "docker-archive",
)
SCAN = ["role", "--repo", "docker-hosted", "--repo", "docker-group"]
SCAN_PRIVILEGES = {
    nx.view("docker-hosted", "read"),
    nx.view("docker-hosted", "browse"),
    nx.view("docker-group", "read"),
    nx.view("docker-group", "browse"),
}
CUSTOM_BROWSE = "nexus-audit-docker-docker-hosted-browse"
NASTY = (
    'He said "hi" \\ and left.\nSecond line\twith tab; ${var.x} %{if 1}y%{endif} $${z} '
    "</script><b> $(id) `id` 'q' Ünïcødé 🚀 \u2028 done"
)


def run(args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    clean = {"NEXUS_URL": "", "NEXUS_USERNAME": "", "NEXUS_PASSWORD": ""}
    clean.update(env or {})
    environment: dict[str, str | None] = {k: (v or None) for k, v in clean.items()}
    return CliRunner().invoke(main, args, env=environment, input=stdin)


def online(emulator: NexusEmulator, **extra: str) -> dict[str, str]:
    return {"NEXUS_URL": emulator.url, **ADMIN, **extra}


def snapshot_file(tmp_path: Path, dataset: dict[str, Any], name: str = "acme.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(dataset), encoding="utf-8")
    return str(path)


def remove_privilege(dataset: dict[str, Any], name: str) -> None:
    before = len(dataset["privileges"])
    dataset["privileges"] = [p for p in dataset["privileges"] if p["name"] != name]
    assert len(dataset["privileges"]) == before - 1


def writes(emulator: NexusEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method not in ("GET", "HEAD")]


def get(emulator: NexusEmulator, path: str, **params: str) -> Any:
    response = httpx.get(
        f"{emulator.url}{REST}{path}", params=params, auth=("admin", "admin123"), timeout=10
    )
    response.raise_for_status()
    return response.json()


def role_of(emulator: NexusEmulator, role_id: str) -> dict[str, Any] | None:
    return next((r for r in get(emulator, "/v1/security/roles") if r["id"] == role_id), None)


def roles_of_user(emulator: NexusEmulator, user_id: str) -> list[str]:
    (user,) = [u for u in get(emulator, "/v1/security/users") if u["userId"] == user_id]
    roles: list[str] = user["roles"]
    return roles


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert lines[-1] == errors[0], "the error must be the last thing said"
    assert "Traceback" not in result.output
    return errors[0]


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    ("args", "privileges"),
    [
        (SCAN, SCAN_PRIVILEGES),
        (
            ["role", "--profile", "pull-only", "--repo", "docker-hosted"],
            {nx.view("docker-hosted", "read")},
        ),
        (
            [*SCAN, "--profile", "harborguard-export", "--push-repo", "docker-internal"],
            SCAN_PRIVILEGES | {nx.view("docker-internal", a) for a in ("read", "add", "edit")},
        ),
        (
            ["role", "--profile", "auditor"],
            set(AUDITOR_PRIVILEGES)
            | {f"nx-repository-admin-docker-{repo}-read" for repo in DOCKER_REPOS},
        ),
    ],
    ids=["harborguard-scan", "pull-only", "harborguard-export", "auditor"],
)
def test_each_profile_on_the_demo(
    demo_dataset: dict[str, Any], tmp_path: Path, args: list[str], privileges: set[str]
) -> None:
    result = run([*args, "--snapshot", snapshot_file(tmp_path, demo_dataset)])
    assert result.exit_code == 0, result.output
    # stdout is the POST /v1/security/roles body and nothing else.
    body = json.loads(result.stdout)
    validate_role_body(body)
    assert set(body["privileges"]) == privileges
    assert len(body["privileges"]) == len(privileges)
    assert "Proof holds" in result.stderr
    assert "must be created first" not in result.stderr


def test_default_is_the_scan_profile_and_the_proof_goes_to_stderr(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    result = run([*SCAN, "--snapshot", snapshot_file(tmp_path, demo_dataset)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "harborguard-scan"
    assert result.stdout.lstrip().startswith("{") and result.stdout.rstrip().endswith("}")
    stderr = result.stderr
    assert "What-if: a new account holding only role 'harborguard-scan'" in stderr
    rows = {
        line.split()[0]: line.split()[1:] for line in stderr.splitlines() if "  docker-" in line
    }
    assert rows["docker-hosted"] == ["granted", "granted", "-", "-", "-"]
    assert rows["docker-group"] == ["granted", "granted", "-", "-", "-"]
    assert "3 other Docker repositories: no content access" in stderr
    assert "nothing beyond the targets" in stderr


def test_all_hosted_and_all_docker(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    path = snapshot_file(tmp_path, demo_dataset)
    hosted = run(["role", "--all-hosted", "--snapshot", path, "--format", "plan"])
    assert hosted.exit_code == 0, hosted.output
    assert json.loads(hosted.stdout)["targets"] == sorted(
        ["docker-hosted", "docker-internal", "docker-archive"]
    )
    every = run(["role", "--all-docker", "--snapshot", path, "--format", "plan"])
    assert every.exit_code == 0, every.output
    assert sorted(json.loads(every.stdout)["targets"]) == sorted(DOCKER_REPOS)
    assert "warning: 'docker-proxy' is a proxy" in every.stderr


# --------------------------------------------------------------------------- minimality


def test_a_missing_auto_privilege_is_created_first_in_every_output(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    path = snapshot_file(tmp_path, demo_dataset)
    base = [*SCAN, "--snapshot", path]

    as_json = run(base)
    assert as_json.exit_code == 0, as_json.output
    assert CUSTOM_BROWSE in json.loads(as_json.stdout)["privileges"]
    assert nx.view("docker-hosted", "browse") not in json.loads(as_json.stdout)["privileges"]
    assert (
        f"must be created first: privilege {CUSTOM_BROWSE} (repository-view, BROWSE on "
        "docker-hosted)" in as_json.stderr
    )
    assert "Proof holds" in as_json.stderr

    as_plan = run([*base, "--format", "plan"])
    document = json.loads(as_plan.stdout)
    validate_plan(document)
    assert [(i["type"], i["body"]["name"]) for i in document["privileges_to_create"]] == [
        ("repository-view", CUSTOM_BROWSE)
    ]

    as_curl = run([*base, "--format", "curl"])
    bash_syntax_ok(as_curl.stdout)
    assert "nexus POST /v1/security/privileges/repository-view" in as_curl.stdout
    assert as_curl.stdout.index("/v1/security/privileges/") < as_curl.stdout.index(
        "nexus POST /v1/security/roles"
    )

    for provider, prefix in (("datadrivers", "nexus"), ("sonatyperepo", "sonatyperepo")):
        as_tf = run([*base, "--format", "terraform", "--provider", provider])
        assert as_tf.exit_code == 0, as_tf.output
        hcl_literals(as_tf.stdout)
        resources = hcl_blocks(as_tf.stdout, "resource")
        created = [k for k in resources if k.startswith(f"{prefix}_privilege_repository_view.")]
        assert len(created) == 1, resources
        assert resources[created[0]]["name"] == CUSTOM_BROWSE
        assert "must be created first" in as_tf.stderr


def test_a_privilege_with_the_auto_name_but_other_fields_is_not_trusted(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    for privilege in demo_dataset["privileges"]:
        if privilege["name"] == nx.view("docker-hosted", "browse"):
            privilege["repository"] = "*"
    result = run([*SCAN, "--snapshot", snapshot_file(tmp_path, demo_dataset)])
    assert result.exit_code == 0, result.output
    privileges = json.loads(result.stdout)["privileges"]
    assert nx.view("docker-hosted", "browse") not in privileges
    assert CUSTOM_BROWSE in privileges
    assert f"must be created first: privilege {CUSTOM_BROWSE}" in result.stderr


def test_wildcard_says_it_covers_future_repositories(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    path = snapshot_file(tmp_path, demo_dataset)
    result = run([*SCAN, "--wildcard", "--snapshot", path])
    assert set(json.loads(result.stdout)["privileges"]) == {
        "nx-repository-view-docker-*-read",
        "nx-repository-view-docker-*-browse",
    }
    assert "future" in result.stderr
    terraform = run([*SCAN, "--wildcard", "--snapshot", path, "--format", "terraform"])
    assert "future" in terraform.stdout
    # The user asked for every Docker repository: the proof must not fail on them.
    assert result.exit_code == 0, result.stderr


# --------------------------------------------------------------------------- bad input


def test_unknown_repository_lists_the_docker_repositories(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    result = run(
        ["role", "--repo", "docker-hostd", "--snapshot", snapshot_file(tmp_path, demo_dataset)]
    )
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "docker-hostd" in line
    assert all(repo in line for repo in DOCKER_REPOS)
    assert result.stdout == ""


def test_a_non_docker_repository_is_refused(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    result = run(
        ["role", "--repo", "maven-releases", "--snapshot", snapshot_file(tmp_path, demo_dataset)]
    )
    assert result.exit_code == 2
    assert "not Docker" in one_error_line(result)
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ("docker-proxy", "warning: 'docker-proxy' is a proxy"),
        (
            "docker-group",
            "warning: group 'docker-group' includes public-registry proxies (docker-proxy)",
        ),
    ],
)
def test_proxy_and_group_targets_are_warned_about(
    demo_dataset: dict[str, Any], tmp_path: Path, repo: str, expected: str
) -> None:
    result = run(["role", "--repo", repo, "--snapshot", snapshot_file(tmp_path, demo_dataset)])
    assert result.exit_code == 0, result.output
    assert expected in result.stderr
    validate_role_body(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*SCAN, "--id", "nx-admin"], "read-only"),
        ([*SCAN, "--id", "nx-anonymous"], "read-only"),
        ([*SCAN, "--id", "_hidden"], "not valid"),
        ([*SCAN, "--id", "has space"], "not valid"),
        ([*SCAN, "--id", "a/b"], "not valid"),
        (["role", "--profile", "auditor", "--repo", "docker-hosted"], "drop --repo"),
        (["role"], "--repo"),
        ([*SCAN, "--profile", "harborguard-export"], "--push-repo"),
        ([*SCAN, "--profile", "harborguard-export", "--push-repo", "docker-group"], "hosted"),
        ([*SCAN, "--push-repo", "docker-internal"], "harborguard-export"),
        ([*SCAN, "--for-user", "ghost"], "ghost"),
        ([*SCAN, "--assign-to", "ghost"], "ghost"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    demo_dataset: dict[str, Any], tmp_path: Path, args: list[str], message: str
) -> None:
    result = run([*args, "--snapshot", snapshot_file(tmp_path, demo_dataset)])
    assert result.exit_code == 2, result.output
    assert message in one_error_line(result)
    assert result.stdout == ""


def test_a_role_needs_a_source_except_for_the_auditor() -> None:
    result = run(["role", "--repo", "docker-hosted"])
    assert result.exit_code == 2
    assert "--url" in one_error_line(result)


def test_read_only_built_in_id_is_refused_even_without_a_source() -> None:
    # nx-admin and nx-anonymous exist, read-only, on every Nexus: no need to read one to know.
    result = run(["role", "--profile", "auditor", "--id", "nx-admin"])
    assert result.exit_code == 2, result.output
    assert "read-only" in one_error_line(result)


# --------------------------------------------------------------------------- nasty values


def test_nasty_name_and_description_give_valid_json_hcl_and_shell(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    base = [*SCAN, "--snapshot", snapshot_file(tmp_path, demo_dataset)]
    base += ["--name", NASTY, "--description", NASTY]

    as_json = run(base)
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    validate_role_body(body)
    assert body["name"] == body["description"] == NASTY

    as_plan = run([*base, "--format", "plan"])
    document = json.loads(as_plan.stdout)
    validate_plan(document)
    assert document["role"]["description"] == NASTY

    for provider in ("datadrivers", "sonatyperepo"):
        as_tf = run([*base, "--format", "terraform", "--provider", provider])
        assert as_tf.exit_code == 0, as_tf.output
        literals = hcl_literals(as_tf.stdout)
        assert [v for k, v in literals if k == "description"][-1] == NASTY
        assert [v for k, v in literals if k == "name"][-1] == NASTY

    as_curl = run([*base, "--format", "curl"])
    assert as_curl.exit_code == 0, as_curl.output
    bash_syntax_ok(as_curl.stdout)


def test_the_curl_script_really_creates_the_role(
    demo_dataset: dict[str, Any], make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    emulator = make_emulator(demo_dataset)
    script = tmp_path / "apply.sh"
    rendered = run(
        [
            *SCAN,
            "--id",
            "hg.scan-2",
            "--name",
            NASTY,
            "--description",
            NASTY,
            "--assign-to",
            "scanner",
            "--format",
            "curl",
            "-o",
            str(script),
        ],
        online(emulator),
    )
    assert rendered.exit_code == 0, rendered.output
    assert writes(emulator) == [], "rendering a script must not change Nexus"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({"NEXUS_URL": emulator.url + "/", **ADMIN})
    ran = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert writes(emulator) == [
        f"POST {REST}/v1/security/privileges/repository-view",
        f"POST {REST}/v1/security/roles",
        f"PUT {REST}/v1/security/users/scanner",
    ]
    role = role_of(emulator, "hg.scan-2")
    assert role is not None
    assert role["name"] == role["description"] == NASTY
    assert set(role["privileges"]) == (SCAN_PRIVILEGES - {nx.view("docker-hosted", "browse")}) | {
        CUSTOM_BROWSE
    }
    assert role["roles"] == []
    assert roles_of_user(emulator, "scanner") == ["hg-scan", "hg.scan-2"]
    created = get(emulator, f"/v1/security/privileges/{CUSTOM_BROWSE}")
    assert (created["type"], created["repository"], created["actions"]) == (
        "repository-view",
        "docker-hosted",
        ["BROWSE"],
    )
    # Without credentials the script stops before calling anything.
    unset = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        env={"PATH": env["PATH"]},
        timeout=30,
        check=False,
    )
    assert unset.returncode != 0
    assert "NEXUS_URL" in unset.stderr


# --------------------------------------------------------------------------- what-if proof


def test_for_user_shows_what_to_remove_and_add(
    demo_dataset: dict[str, Any], tmp_path: Path
) -> None:
    result = run(
        [*SCAN, "--for-user", "scanner", "--snapshot", snapshot_file(tmp_path, demo_dataset)]
    )
    assert result.exit_code == 0, result.output
    stderr = result.stderr
    assert "What-if: 'scanner' with role 'harborguard-scan' added" in stderr
    assert "Least privilege for 'scanner':" in stderr
    removals = [line.strip() for line in stderr.splitlines() if line.strip().startswith("remove ")]
    assert any(
        "nx-repository-admin-*-*-*" in line and line.endswith("via hg-scan > ci-legacy")
        for line in removals
    ), removals
    assert "add    role:harborguard-scan" in stderr
    validate_role_body(json.loads(result.stdout))


# --------------------------------------------------------------------------- the auditor


def test_auditor_without_any_source(tmp_path: Path) -> None:
    result = run(["role", "--profile", "auditor"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    validate_role_body(body)
    assert body["privileges"][: len(AUDITOR_PRIVILEGES)] == list(AUDITOR_PRIVILEGES)
    (custom,) = body["privileges"][len(AUDITOR_PRIVILEGES) :]
    assert f"must be created first: privilege {custom} (repository-admin, READ on *)" in (
        result.stderr
    )
    assert "no Nexus was read" in result.stderr
    plan = run(["role", "--profile", "auditor", "--format", "plan"])
    document = json.loads(plan.stdout)
    validate_plan(document)
    (item,) = document["privileges_to_create"]
    assert item["type"] == "repository-admin"
    assert item["body"] == {
        "name": custom,
        "description": item["body"]["description"],
        "actions": ["READ"],
        "format": "docker",
        "repository": "*",
    }
    validate_privilege_body("repository-admin", item["body"])
    terraform = run(["role", "--profile", "auditor", "--format", "terraform"])
    hcl_literals(terraform.stdout)
    resources = hcl_blocks(terraform.stdout, "resource")
    assert any(k.startswith("nexus_privilege_repository_admin.") for k in resources)


def test_a_user_with_only_the_auditor_role_can_take_a_full_snapshot(
    demo_dataset: dict[str, Any],
    emulator: NexusEmulator,
    make_emulator: MakeEmulator,
    tmp_path: Path,
) -> None:
    rendered = run(["role", "--profile", "auditor", "--id", "nexus-auditor"], online(emulator))
    assert rendered.exit_code == 0, rendered.output
    body = json.loads(rendered.stdout)
    assert set(body["privileges"]) == set(AUDITOR_PRIVILEGES) | {
        f"nx-repository-admin-docker-{repo}-read" for repo in DOCKER_REPOS
    }
    demo_dataset["roles"].append({"source": "default", "readOnly": False, **body})
    demo_dataset["users"].append(nx.user("audit-bot", roles=["nexus-auditor"]))
    demo_dataset["emulator"]["passwords"]["audit-bot"] = "audit-bot-pw"
    audited = make_emulator(demo_dataset)
    out = tmp_path / "snap.json"
    env = {
        "NEXUS_URL": audited.url,
        "NEXUS_USERNAME": "audit-bot",
        "NEXUS_PASSWORD": "audit-bot-pw",
    }
    result = run(["snapshot", "-o", str(out)], env)
    assert result.exit_code == 0, result.output
    refused = [f"{r.method} {r.path} {r.status}" for r in audited.requests if r.status >= 400]
    assert all(r.endswith(" 404") and "user-tokens" in r for r in refused), refused
    assert {r.user_id for r in audited.requests} == {"audit-bot"}
    document = json.loads(out.read_text())
    assert document["captured_as"] == "audit-bot"
    assert set(document["unavailable"]) <= {"user_tokens"}, document["unavailable"]
    assert {u["userId"] for u in document["users"]} >= {"admin", "scanner", "audit-bot"}
    assert {r["id"] for r in document["roles"]} >= {"nx-admin", "hg-scan", "nexus-auditor"}
    assert len(document["privileges"]) == len(demo_dataset["privileges"])
    assert sorted(r["name"] for r in document["repositories"]) == sorted(DOCKER_REPOS)
    for section in ("realms_active", "anonymous", "capabilities", "content_selectors"):
        assert document[section] is not None, section
    # The audit from that snapshot is the audit from the administrator's view.
    check = run(["check", "--snapshot", str(out), "--user", "scanner", "--format", "json"])
    assert check.exit_code == 1, check.output
    assert json.loads(check.stdout)["mode"] != "self-limited"


# --------------------------------------------------------------------------- dry run and apply


def test_dry_run_against_nexus_changes_nothing(emulator: NexusEmulator) -> None:
    result = run([*SCAN, "--assign-to", "scanner"], online(emulator))
    assert result.exit_code == 0, result.output
    validate_role_body(json.loads(result.stdout))
    assert "Dry run; --apply would:" in result.stderr
    assert f"POST {REST}/v1/security/roles: create role harborguard-scan" in result.stderr
    assert f"PUT {REST}/v1/security/users/scanner: add role harborguard-scan" in result.stderr
    assert writes(emulator) == []
    assert role_of(emulator, "harborguard-scan") is None


def test_apply_creates_the_role_assigns_it_and_a_second_run_changes_nothing(
    emulator: NexusEmulator,
) -> None:
    args = [*SCAN, "--assign-to", "scanner", "--apply", "--yes"]
    first = run(args, online(emulator))
    assert first.exit_code == 0, first.output
    assert writes(emulator) == [
        f"POST {REST}/v1/security/roles",
        f"PUT {REST}/v1/security/users/scanner",
    ]
    assert all(r.status < 300 for r in emulator.requests if r.method != "GET")
    assert "done: create role harborguard-scan" in first.stderr
    assert "Applied 2 change(s)" in first.stderr
    role = role_of(emulator, "harborguard-scan")
    assert role is not None
    assert set(role["privileges"]) == SCAN_PRIVILEGES and role["roles"] == []
    assert role["readOnly"] is False
    assert roles_of_user(emulator, "scanner") == ["hg-scan", "harborguard-scan"]

    emulator.requests.clear()
    second = run(args, online(emulator))
    assert second.exit_code == 0, second.output
    assert "Nothing to change" in second.stderr
    assert writes(emulator) == []

    # The scanner can now list what it could only pull before.
    check = run(
        ["check", "--user", "scanner", "--repo", "docker-hosted", "--format", "json"],
        online(emulator),
    )
    hosted = next(
        r for r in json.loads(check.stdout)["repositories"] if r["name"] == "docker-hosted"
    )
    assert (hosted["read"], hosted["browse"]) == ("granted", "granted")


def test_apply_creates_missing_privileges_and_is_idempotent(
    demo_dataset: dict[str, Any], make_emulator: MakeEmulator
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    emulator = make_emulator(demo_dataset)
    args = [*SCAN, "--apply", "--yes"]
    first = run(args, online(emulator))
    assert first.exit_code == 0, first.output
    assert writes(emulator) == [
        f"POST {REST}/v1/security/privileges/repository-view",
        f"POST {REST}/v1/security/roles",
    ]
    created = get(emulator, f"/v1/security/privileges/{CUSTOM_BROWSE}")
    assert (created["repository"], created["actions"]) == ("docker-hosted", ["BROWSE"])
    emulator.requests.clear()
    second = run(args, online(emulator))
    assert writes(emulator) == [], "the second run wrote to Nexus again"
    assert second.exit_code == 0, second.output
    assert "Nothing to change" in second.stderr


def test_apply_updates_an_existing_custom_role_to_exactly_the_plan(
    demo_dataset: dict[str, Any], make_emulator: MakeEmulator
) -> None:
    demo_dataset["roles"].append(
        nx.role(
            "harborguard-scan",
            privileges=[nx.view("docker-hosted", "read"), "nx-repository-admin-*-*-*"],
            roles=["ci-legacy"],
        )
    )
    emulator = make_emulator(demo_dataset)
    result = run([*SCAN, "--apply", "--yes"], online(emulator))
    assert result.exit_code == 0, result.output
    assert writes(emulator) == [f"PUT {REST}/v1/security/roles/harborguard-scan"]
    role = role_of(emulator, "harborguard-scan")
    assert role is not None
    assert set(role["privileges"]) == SCAN_PRIVILEGES
    assert role["roles"] == []


def test_apply_never_touches_a_read_only_built_in_role(emulator: NexusEmulator) -> None:
    result = run([*SCAN, "--id", "nx-admin", "--apply", "--yes"], online(emulator))
    assert result.exit_code == 2
    assert "read-only" in one_error_line(result)
    assert writes(emulator) == []
    nx_admin = role_of(emulator, "nx-admin")
    assert nx_admin is not None and nx_admin["privileges"] == ["nx-all"]


def test_apply_without_yes_and_without_a_terminal_is_refused(emulator: NexusEmulator) -> None:
    result = run([*SCAN, "--apply"], online(emulator))
    assert result.exit_code == 2
    assert "--yes" in one_error_line(result)
    assert writes(emulator) == []


def test_apply_with_a_snapshot_is_refused(demo_dataset: dict[str, Any], tmp_path: Path) -> None:
    result = run([*SCAN, "--apply", "--yes", "--snapshot", snapshot_file(tmp_path, demo_dataset)])
    assert result.exit_code == 2
    assert "--url" in one_error_line(result)


def test_an_api_failure_midway_names_what_was_and_was_not_changed(
    demo_dataset: dict[str, Any], make_emulator: MakeEmulator
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    emulator = make_emulator(demo_dataset)
    emulator.inject(f"{REST}/v1/security/users/scanner", Fault(kind="status", status=500))
    result = run([*SCAN, "--assign-to", "scanner", "--apply", "--yes"], online(emulator))
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    changed, _, not_changed = line.partition("not changed:")
    assert "500" in changed
    assert f"create privilege {CUSTOM_BROWSE}" in changed
    assert "create role harborguard-scan" in changed
    assert "add role harborguard-scan to user scanner" in not_changed
    assert "create role" not in not_changed
    # What it says was changed was changed, and only that.
    assert role_of(emulator, "harborguard-scan") is not None
    assert roles_of_user(emulator, "scanner") == ["hg-scan"]


def test_an_api_error_on_the_first_step_changes_nothing(
    demo_dataset: dict[str, Any], make_emulator: MakeEmulator
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    emulator = make_emulator(demo_dataset)
    emulator.inject(
        f"{REST}/v1/security/privileges/repository-view", Fault(kind="status", status=400)
    )
    result = run([*SCAN, "--apply", "--yes"], online(emulator))
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert "400" in line
    assert "changed: nothing" in line
    assert f"not changed: create privilege {CUSTOM_BROWSE}" in line
    assert "create role harborguard-scan" in line.partition("not changed:")[2]
    assert role_of(emulator, "harborguard-scan") is None


# --------------------------------------------------------------------------- packaging


def test_the_wheel_contains_the_role_templates(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".ci-venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    out = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(out), "-q"],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("nexus_audit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (ROOT / "role_templates").glob("*.j2")}
    assert templates >= {"role.json.j2", "plan.json.j2", "apply.sh.j2"}
    assert {f"audit/role_templates/{t}" for t in templates} <= names
    assert "audit/role_templates/__init__.py" in names
    assert not any(n.startswith("role_templates/") for n in names)


def test_apply_the_auditor_role_with_its_custom_admin_read(emulator: NexusEmulator) -> None:
    args = ["role", "--profile", "auditor", "--wildcard", "--assign-to", "harbor-ok"]
    first = run([*args, "--apply", "--yes"], online(emulator))
    assert first.exit_code == 0, first.output
    assert writes(emulator) == [
        f"POST {REST}/v1/security/privileges/repository-admin",
        f"POST {REST}/v1/security/roles",
        f"PUT {REST}/v1/security/users/harbor-ok",
    ]
    role = role_of(emulator, "auditor")
    assert role is not None
    (custom,) = set(role["privileges"]) - set(AUDITOR_PRIVILEGES)
    created = get(emulator, f"/v1/security/privileges/{custom}")
    assert (created["type"], created["format"], created["repository"], created["actions"]) == (
        "repository-admin",
        "docker",
        "*",
        ["READ"],
    )
    assert roles_of_user(emulator, "harbor-ok") == ["docker-readers", "auditor"]
    emulator.requests.clear()
    second = run([*args, "--apply", "--yes"], online(emulator))
    assert second.exit_code == 0, second.output
    assert "Nothing to change" in second.stderr
    assert writes(emulator) == []
