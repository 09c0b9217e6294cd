"""``nexus-audit probe`` against real registries: every step and failure mode, made to happen.

The lab (:mod:`probe_lab`) runs Debian's docker-registry with htpasswd Basic auth, without auth
and with token auth, nginx with TLS (a trusted certificate, one for another name, a rule that
denies manifests, a TLS front whose token realm stays on plain HTTP), a port nobody listens on
and one that never answers. The emulated Nexus's Docker repositories point their connectors at
those ports, so ``probe --url`` and ``probe --snapshot`` read them exactly as from a Nexus.
Needs the Debian packages docker-registry, nginx, apache2-utils and openssl (``.ci/run``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import registry_env
from click.testing import CliRunner, Result
from probe_lab import BIG_CATALOG, PASSWORDS, Lab, lab_dataset, start_lab
from registry_env import require_binaries

from audit.cli import main
from audit.emulator import NexusEmulator


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_binaries()
    with start_lab(tmp_path_factory.mktemp("registries")) as running:
        yield running


@pytest.fixture(scope="session")
def nexus(lab: Lab) -> Iterator[NexusEmulator]:
    with NexusEmulator(lab_dataset(lab)) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def snapshot_file(nexus: NexusEmulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's Nexus saved by its administrator, as a snapshot for offline probing."""
    path = tmp_path_factory.mktemp("snapshot") / "lab.json"
    saved = cli(["snapshot", "-o", str(path)], "admin", url=nexus.url)
    assert saved.exit_code == 0, saved.output
    return path


def cli(
    args: list[str], user: str | None = "scanner", password: str | None = None, url: str = ""
) -> Result:
    env: dict[str, str | None] = {
        "NEXUS_URL": url or None,
        "NEXUS_USERNAME": user,
        "NEXUS_PASSWORD": password or (PASSWORDS.get(user) if user else None),
    }
    return CliRunner().invoke(main, args, env=env)


def probe_json(
    nexus: NexusEmulator, *args: str, user: str | None = "scanner", password: str | None = None
) -> tuple[Result, dict[str, Any]]:
    result = cli(["probe", "--format", "json", *args], user, password, url=nexus.url)
    assert result.exit_code in (0, 1), result.output
    return result, json.loads(result.stdout)


def repository(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in report["repositories"] if r["name"] == name)


def step(report: dict[str, Any], name: str, step_name: str) -> dict[str, Any]:
    probe = repository(report, name)["probe"]
    return next(s for s in probe["steps"] if s["step"] == step_name)


def codes(report: dict[str, Any], name: str) -> list[str]:
    return [f["code"] for f in report["findings"] if f["repository"] == name]


def finding(report: dict[str, Any], name: str, code: str) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["repository"] == name and f["code"] == code)


# --------------------------------------------------------------------------- the happy paths


def test_basic_registry_every_step_over_plain_http_with_insecure(nexus: NexusEmulator) -> None:
    result, report = probe_json(nexus, "--repo", "docker-basic", "--insecure")
    assert result.exit_code == 0, result.output
    assert "--insecure" in result.stderr and "plain HTTP" in result.stderr
    probe = repository(report, "docker-basic")["probe"]
    assert [s["status"] for s in probe["steps"]] == ["ok"] * 6
    assert probe["auth"] == "basic" and probe["realm"] == "nexus-audit-tests"
    assert probe["catalog"] == {"count": 3, "truncated": False, "stoppedBy": None, "pages": 1}
    assert (probe["image"], probe["tag"]) == ("library/alpine", "latest")
    assert probe["manifest"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert probe["manifest"]["digest"].startswith("sha256:")
    assert probe["credentialsSent"] is True and probe["plainHttpCredentials"] is True
    assert report["probe"]["plainHttpCredentials"] == "allowed (--insecure)"
    assert report["findings"] == [] and report["ok"] is True
    assert PASSWORDS["scanner"] not in result.output


def test_table_output_shows_a_step_table_per_repository(nexus: NexusEmulator) -> None:
    result = cli(["probe", "--repo", "docker-basic", "--insecure"], url=nexus.url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Registry probe: logged in as 'scanner'" in out
    assert "Probe docker-basic: http://127.0.0.1:" in out
    for name in ("connect", "challenge", "login", "catalog", "tags", "manifest"):
        assert f"\n{name} " in out
    assert "Basic credentials accepted" in out and "3 images (1 page)" in out
    assert out.rstrip().endswith("(failing on error)") and "PASS" in out


def test_tls_verified_with_the_ca_bundle_and_the_host_override(
    nexus: NexusEmulator, lab: Lab
) -> None:
    args = ["--repo", "docker-tls", "--ca-bundle", str(lab.pki.ca)]
    for extra in ([], ["--host", "localhost"]):
        result, report = probe_json(nexus, *args, *extra)
        assert result.exit_code == 0, result.output
        connect = step(report, "docker-tls", "connect")
        assert connect["detail"].startswith("TLS") and "certificate verified" in connect["detail"]
        assert report["findings"] == []
    assert repository(report, "docker-tls")["probe"]["url"] == f"https://localhost:{lab.tls_port}"


def test_token_registry_logs_in_with_scoped_tokens(nexus: NexusEmulator, lab: Lab) -> None:
    before = len(lab.tokens.requests)
    result, report = probe_json(nexus, "--repo", "docker-token", "--insecure")
    assert result.exit_code == 0, result.output
    probe = repository(report, "docker-token")["probe"]
    assert probe["auth"] == "bearer" and probe["realm"] == lab.tokens.realm
    assert all(s["status"] == "ok" for s in probe["steps"])
    asked = lab.tokens.requests[before:]
    assert [(r["user"], r["scope"]) for r in asked] == [
        ("scanner", ["registry:catalog:*"]),
        ("scanner", ["repository:library/alpine:pull"]),
    ]


def test_path_routing_from_a_snapshot(snapshot_file: Path, lab: Lab, tmp_path: Path) -> None:
    # Path-routed registries live on Nexus's own port: here, the open registry's.
    document = json.loads(snapshot_file.read_text())
    document["base_url"] = lab.open.url
    path = tmp_path / "path-routing.json"
    path.write_text(json.dumps(document))
    result = cli(["probe", "--snapshot", str(path), "--repo", "docker-path", "--format", "json"])
    assert result.exit_code == 0, result.output
    probe = repository(json.loads(result.stdout), "docker-path")["probe"]
    assert probe["imagePrefix"] == "docker-path/"
    assert probe["catalog"]["count"] == 2  # library/busybox is not under docker-path/
    assert probe["image"].startswith("docker-path/") and probe["manifest"]["digest"]


# --------------------------------------------------------------------------- TCP and TLS


def test_connection_refused(nexus: NexusEmulator, lab: Lab) -> None:
    result, report = probe_json(nexus, "--repo", "docker-refused")
    assert result.exit_code == 1
    assert codes(report, "docker-refused") == ["CONNECTION_REFUSED"]
    connect = step(report, "docker-refused", "connect")
    assert connect["failure"] == "refused" and str(lab.refused_port) in connect["detail"]
    assert (
        "Repository Connectors" in finding(report, "docker-refused", "CONNECTION_REFUSED")["remedy"]
    )


def test_wrong_scheme_both_ways(nexus: NexusEmulator) -> None:
    _, report = probe_json(nexus, "--repo", "docker-http-to-tls", "--repo", "docker-tls-to-http")
    assert codes(report, "docker-http-to-tls") == ["WRONG_SCHEME"]
    assert step(report, "docker-http-to-tls", "connect")["failure"] == "speaks-https"
    assert "https://" in finding(report, "docker-http-to-tls", "WRONG_SCHEME")["message"]
    assert codes(report, "docker-tls-to-http") == ["WRONG_SCHEME"]
    assert step(report, "docker-tls-to-http", "connect")["failure"] == "speaks-http"


def test_untrusted_certificate(nexus: NexusEmulator) -> None:
    _, report = probe_json(nexus, "--repo", "docker-tls")
    assert codes(report, "docker-tls") == ["TLS_UNTRUSTED"]
    assert "--ca-bundle" in finding(report, "docker-tls", "TLS_UNTRUSTED")["remedy"]


def test_certificate_for_another_name(nexus: NexusEmulator, lab: Lab) -> None:
    _, report = probe_json(nexus, "--repo", "docker-other-name", "--ca-bundle", str(lab.pki.ca))
    assert codes(report, "docker-other-name") == ["TLS_MISMATCH"]
    assert "127.0.0.1" in step(report, "docker-other-name", "connect")["detail"]


def test_a_registry_that_never_answers_times_out(nexus: NexusEmulator) -> None:
    started = time.monotonic()
    _, report = probe_json(nexus, "--repo", "docker-silent", "--step-timeout", "0.5")
    assert time.monotonic() - started < 5
    assert codes(report, "docker-silent") == ["PROBE_TIMEOUT"]


# --------------------------------------------------------------------------- logins


def test_credentials_are_not_sent_over_plain_http_without_insecure(
    nexus: NexusEmulator, lab: Lab
) -> None:
    log = lab.basic.daemon.log
    offset = log.stat().st_size
    result, report = probe_json(nexus, "--repo", "docker-basic")
    assert result.exit_code == 1
    assert codes(report, "docker-basic") == ["CREDENTIALS_WITHHELD"]
    probe = repository(report, "docker-basic")["probe"]
    assert probe["credentialsSent"] is False
    assert step(report, "docker-basic", "login")["failure"] == "withheld"
    assert [s["status"] for s in probe["steps"][3:]] == ["skipped"] * 3
    # The registry saw only the unauthenticated GET /v2/, never an authorized request.
    with log.open("rb") as handle:
        handle.seek(offset)
        seen = handle.read().decode(errors="replace")
    assert "GET /v2/ HTTP/1.1" in seen and "authorized request" not in seen


def test_wrong_password_is_auth_failed(snapshot_file: Path) -> None:
    result = cli(
        ["probe", "--snapshot", str(snapshot_file), "--repo", "docker-basic", "--insecure",
         "--format", "json"],
        password="not-the-password",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert codes(report, "docker-basic") == ["AUTH_FAILED"]
    assert step(report, "docker-basic", "login")["httpStatus"] == 401
    assert "not-the-password" not in result.output


def test_sso_user_is_told_to_use_a_user_token(snapshot_file: Path) -> None:
    args = ["probe", "--snapshot", str(snapshot_file), "--repo", "docker-basic", "--insecure"]
    result = cli([*args, "--format", "json"], user="sso.user", password="idp-password")
    report = json.loads(result.stdout)
    assert codes(report, "docker-basic") == ["AUTH_FAILED"]
    assert step(report, "docker-basic", "login")["cause"] == "EXTERNAL_USER_NEEDS_TOKEN"
    assert "user token" in finding(report, "docker-basic", "AUTH_FAILED")["remedy"]


def test_anonymous_against_forced_basic_auth(snapshot_file: Path) -> None:
    args = ["probe", "--snapshot", str(snapshot_file), "--anonymous", "--repo", "docker-basic"]
    result = cli([*args, "--format", "json"], user=None)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["auth"] == "anonymous"
    assert codes(report, "docker-basic") == ["AUTH_FAILED"]
    assert step(report, "docker-basic", "login")["cause"] == "ANONYMOUS_BLOCKED_BY_BASIC_AUTH"
    assert repository(report, "docker-basic")["probe"]["credentialsSent"] is False


def test_token_service_unreachable(nexus: NexusEmulator, lab: Lab) -> None:
    _, report = probe_json(nexus, "--repo", "docker-token-dead", "--insecure")
    assert codes(report, "docker-token-dead") == ["TOKEN_URL_UNREACHABLE"]
    login = step(report, "docker-token-dead", "login")
    assert login["url"] == f"http://127.0.0.1:{lab.refused_port}/token"
    assert login["failure"] == "refused"


def test_token_realm_left_on_plain_http_behind_a_tls_proxy(nexus: NexusEmulator, lab: Lab) -> None:
    _, report = probe_json(nexus, "--repo", "docker-token-tls", "--ca-bundle", str(lab.pki.ca))
    assert codes(report, "docker-token-tls") == ["CREDENTIALS_WITHHELD", "TOKEN_URL_MISMATCH"]
    mismatch = finding(report, "docker-token-tls", "TOKEN_URL_MISMATCH")
    assert mismatch["severity"] == "warning" and "http://" in mismatch["message"]


# --------------------------------------------------------------------------- catalog and pull


def test_catalog_denied_names_the_missing_browse_privilege(nexus: NexusEmulator) -> None:
    _, report = probe_json(nexus, "--repo", "docker-token", "--insecure", user="puller")
    assert codes(report, "docker-token") == ["CATALOG_DENIED"]
    assert step(report, "docker-token", "catalog")["cause"] == "BROWSE_MISSING"
    denied = finding(report, "docker-token", "CATALOG_DENIED")
    assert "missing nx-repository-view-docker-docker-token-browse" in denied["message"]


def test_anonymous_token_cannot_list_the_catalog(snapshot_file: Path, lab: Lab) -> None:
    before = len(lab.tokens.requests)
    args = ["probe", "--snapshot", str(snapshot_file), "--anonymous", "--repo", "docker-token"]
    result = cli([*args, "--format", "json"], user=None)
    report = json.loads(result.stdout)
    assert step(report, "docker-token", "login")["status"] == "ok"
    assert codes(report, "docker-token") == ["CATALOG_DENIED"]
    assert all(r["user"] is None for r in lab.tokens.requests[before:])


def test_pull_denied_by_the_token_service_names_missing_read(snapshot_file: Path) -> None:
    # From the administrator's snapshot the audit is definite (a self-check of 'lister' could
    # only say its read right is unknown).
    args = ["probe", "--snapshot", str(snapshot_file), "--repo", "docker-token", "--insecure"]
    result = cli([*args, "--format", "json"], user="lister")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["principal"]["userId"] == "lister"
    assert codes(report, "docker-token") == ["PULL_DENIED"]
    tags = step(report, "docker-token", "tags")
    assert tags["httpStatus"] == 401 and tags["cause"] == "READ_MISSING"


def test_pull_denied_by_a_proxy_rule(nexus: NexusEmulator) -> None:
    _, report = probe_json(nexus, "--repo", "docker-deny")
    assert codes(report, "docker-deny") == ["PULL_DENIED"]
    manifest = step(report, "docker-deny", "manifest")
    assert manifest["httpStatus"] == 403 and step(report, "docker-deny", "tags")["status"] == "ok"


def test_empty_catalog(nexus: NexusEmulator) -> None:
    result, report = probe_json(nexus, "--repo", "docker-empty")
    assert result.exit_code == 0  # a warning: failing on error by default
    assert codes(report, "docker-empty") == ["CATALOG_EMPTY"]
    assert repository(report, "docker-empty")["probe"]["catalog"]["count"] == 0
    strict = cli(["probe", "--repo", "docker-empty", "--fail-on", "warning"], url=nexus.url)
    assert strict.exit_code == 1


def test_huge_catalog_is_paged_and_capped(nexus: NexusEmulator) -> None:
    _, report = probe_json(nexus, "--repo", "docker-big", "--catalog-limit", "120")
    probe = repository(report, "docker-big")["probe"]
    assert probe["catalog"] == {"count": 120, "truncated": True, "stoppedBy": "limit", "pages": 2}
    assert codes(report, "docker-big") == ["CATALOG_LARGE"]
    assert step(report, "docker-big", "catalog")["cause"] == "GROUP_INCLUDES_UPSTREAM_PROXY"
    whole = repository(probe_json(nexus, "--repo", "docker-big")[1], "docker-big")["probe"]
    assert whole["catalog"] == {
        "count": BIG_CATALOG,
        "truncated": False,
        "stoppedBy": None,
        "pages": 2,
    }


# --------------------------------------------------------------------------- all at once


def test_every_repository_concurrently(nexus: NexusEmulator, lab: Lab) -> None:
    started = time.monotonic()
    result, report = probe_json(
        nexus, "--ca-bundle", str(lab.pki.ca), "--concurrency", "8", "--step-timeout", "1"
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    expected = {
        "docker-basic": ["CREDENTIALS_WITHHELD"],
        "docker-tls": [],
        "docker-other-name": ["TLS_MISMATCH"],
        "docker-token": ["CREDENTIALS_WITHHELD"],
        "docker-token-tls": ["CREDENTIALS_WITHHELD", "TOKEN_URL_MISMATCH"],
        "docker-token-dead": ["CREDENTIALS_WITHHELD"],
        "docker-empty": ["CATALOG_EMPTY"],
        "docker-hub": ["NO_CONNECTOR"],
        "docker-big": [],  # 130 images: under the default limit of 1000
        "docker-deny": ["PULL_DENIED"],
        "docker-refused": ["CONNECTION_REFUSED"],
        "docker-http-to-tls": ["WRONG_SCHEME"],
        "docker-tls-to-http": ["WRONG_SCHEME"],
        "docker-silent": ["PROBE_TIMEOUT"],
        "docker-path": ["NOT_A_REGISTRY"],  # path routing on the emulator's own port
        "docker-unrouted": ["NO_CONNECTOR"],
    }
    assert {r["name"]: sorted(codes(report, r["name"])) for r in report["repositories"]} == {
        name: sorted(found) for name, found in expected.items()
    }
    # Probes overlap: one silent registry costs one step timeout, not one per repository.
    assert elapsed < 8, elapsed


def test_check_probe_reports_audit_and_probe_together(nexus: NexusEmulator) -> None:
    # A self-check: 'puller' may not read other users, but sees its own rights.
    result = cli(
        ["check", "--probe", "--repo", "docker-token", "--insecure", "--format", "json"],
        user="puller",
        url=nexus.url,
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["principal"]["userId"] == "puller"
    entry = repository(report, "docker-token")
    assert entry["browse"] == "denied" and entry["read"] == "granted"
    assert entry["probe"]["steps"][3]["cause"] == "BROWSE_MISSING"
    found = codes(report, "docker-token")
    assert {"BROWSE_MISSING", "HTTP_ONLY", "CATALOG_DENIED"} <= set(found)


def test_check_probe_as_another_account_says_whose_login_it_used(nexus: NexusEmulator) -> None:
    result = cli(
        ["check", "--probe", "--user", "puller", "--repo", "docker-empty"],
        user="admin", url=nexus.url,
    )  # fmt: skip
    assert "the probe logs in as 'admin', not 'puller'" in result.stderr
    assert "Probe docker-empty" in result.stdout


def test_missing_packages_fail_under_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_env, "_find", lambda name: None if name == "nginx" else "/x")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install --no-install-recommends nginx"):
        require_binaries()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"need nginx: apt-get install"):
        require_binaries()


def test_a_login_the_rest_data_cannot_name_is_probed_unaudited(snapshot_file: Path) -> None:
    # A user token's name code is no user id: the probe runs, the REST side stays unknown.
    args = ["probe", "--snapshot", str(snapshot_file), "--user-token", "--repo", "docker-empty"]
    result = cli([*args, "--format", "json"], user="name-code", password="pass-code")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["probe"]["audited"] is False and report["auth"] == "token"
    assert report["principal"]["userId"] == "(user token)"
    entry = repository(report, "docker-empty")
    assert (entry["read"], entry["browse"]) == ("unknown", "unknown")
    assert entry["probe"]["catalog"]["count"] == 0
    table = cli(args, user="name-code", password="pass-code")
    assert "Principal: (user token) (not audited" in table.stdout
    assert "name-code" not in table.stdout and "pass-code" not in table.output
