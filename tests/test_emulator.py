"""The Nexus emulator over real HTTP: Nexus's auth rules, filtering, faults, and its builders."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from audit.emulator import Fault, NexusEmulator, load_dataset
from audit.emulator.builder import (
    DEMO_PATH,
    available_realms,
    build_demo,
    docker_group,
    format_privileges,
    load_builtin,
    pro_edition,
    render_dataset,
    repository_privileges,
)
from audit.emulator.server import BASIC_CHALLENGE, render_json
from audit.errors import NexusResponseError, SnapshotError

REST = "/service/rest"
USERS = f"{REST}/v1/security/users"
EXTDIRECT_BODY = {
    "action": "rapture_Security",
    "method": "getPermissions",
    "data": None,
    "type": "rpc",
    "tid": 1,
}

LOGINS = {
    "admin": ("admin", "admin123"),
    "scanner": ("scanner", "scanner123"),
    "trivy": ("trivy", "trivy123"),
    "harbor-ok": ("harbor-ok", "harbor-ok123"),
    "old-scanner": ("old-scanner", "old-scanner123"),
    "alice": ("alice", "alice123"),
}


@pytest.fixture()
def http(emulator: NexusEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=5) as client:
        yield client


def get(client: httpx.Client, path: str, login: str | None = None, **params: str) -> httpx.Response:
    return client.get(path, params=params, auth=LOGINS[login] if login else None)


def names(response: httpx.Response, key: str = "name") -> list[str]:
    assert response.status_code == 200, response.status_code
    return [item[key] for item in response.json()]


# --------------------------------------------------------------------------- authentication


def test_wrong_password_gets_the_basic_challenge_and_no_body(http: httpx.Client) -> None:
    response = http.get(USERS, auth=("admin", "wrong"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    assert response.content == b""


def test_unknown_user_is_refused_like_a_wrong_password(http: httpx.Client) -> None:
    response = http.get(USERS, auth=("ghost", "admin123"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE


def test_missing_permission_is_an_empty_403(http: httpx.Client) -> None:
    response = get(http, USERS, "scanner")
    assert response.status_code == 403
    assert response.content == b""
    assert "WWW-Authenticate" not in response.headers


def test_without_credentials_requests_run_as_the_anonymous_user(
    http: httpx.Client, emulator: NexusEmulator
) -> None:
    me = get(http, f"{REST}/internal/ui/user")
    assert me.json() == {
        "userId": "anonymous",
        "firstName": "Anonymous",
        "lastName": "User",
        "email": "anonymous@example.org",
        "external": False,
    }
    # nx-anonymous browses every repository; it has no security rights.
    assert len(names(get(http, f"{REST}/v1/repositories"))) == 7
    denied = get(http, USERS)
    assert (denied.status_code, denied.content) == (403, b"")
    assert get(http, f"{REST}/v1/repositorySettings").status_code == 403
    assert emulator.requests[0].anonymous is True
    assert emulator.requests[0].user_id == "anonymous"
    assert emulator.requests[0].auth_scheme is None


def test_anonymous_access_off_means_a_challenge_without_credentials(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    demo_dataset["anonymous"]["enabled"] = False
    emulator = make_emulator(demo_dataset)
    with httpx.Client(base_url=emulator.url) as client:
        for path in (f"{REST}/v1/repositories", f"{REST}/internal/ui/user", "/service/extdirect"):
            response = client.get(path) if "extdirect" not in path else client.post(path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE
        # The health endpoint answers anyone.
        assert client.get(f"{REST}/v1/status").status_code == 200
        assert get(client, USERS, "admin").status_code == 200


def test_disabled_user_cannot_log_in(http: httpx.Client) -> None:
    assert get(http, f"{REST}/internal/ui/user", "old-scanner").status_code == 401


def test_changepassword_status_still_logs_in(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    next(u for u in demo_dataset["users"] if u["userId"] == "scanner")["status"] = "changepassword"
    emulator = make_emulator(demo_dataset)
    with httpx.Client(base_url=emulator.url) as client:
        assert get(client, f"{REST}/internal/ui/user", "scanner").json()["userId"] == "scanner"


def test_ldap_user_logs_in_only_while_the_ldap_realm_is_active(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    active = make_emulator(demo_dataset)
    with httpx.Client(base_url=active.url) as client:
        me = get(client, f"{REST}/internal/ui/user", "alice").json()
    assert (me["userId"], me["external"]) == ("alice", True)

    demo_dataset["realms_active"] = ["NexusAuthenticatingRealm"]
    inactive = make_emulator(demo_dataset)
    with httpx.Client(base_url=inactive.url) as client:
        assert get(client, f"{REST}/internal/ui/user", "alice").status_code == 401


def test_local_users_need_the_local_realm(emulator: NexusEmulator, http: httpx.Client) -> None:
    emulator.state["realms_active"] = ["LdapRealm"]
    assert get(http, f"{REST}/internal/ui/user", "scanner").status_code == 401
    assert get(http, f"{REST}/internal/ui/user", "alice").status_code == 200


def test_saml_users_have_no_password_even_if_one_is_set(
    emulator: NexusEmulator, http: httpx.Client
) -> None:
    emulator.passwords["bob.sso"] = "bob-password"
    response = http.get(f"{REST}/internal/ui/user", auth=("bob.sso", "bob-password"))
    assert response.status_code == 401


def test_ldap_user_gets_privileges_through_its_group_role(http: httpx.Client) -> None:
    # alice's LDAP group 'devs' is also a Nexus role id: read+browse on docker-hosted.
    assert names(get(http, f"{REST}/v1/repositories", "alice")) == ["docker-hosted"]


def test_default_role_realm_hands_its_role_to_everyone(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    team_user = ("team-user", "team-user123")
    before = make_emulator(demo_dataset)
    with httpx.Client(base_url=before.url) as client:
        plain = client.get(f"{REST}/v1/repositories", auth=team_user).json()
    assert [r["name"] for r in plain] == ["docker-internal"]

    capability = next(c for c in demo_dataset["capabilities"] if c["type"] == "defaultrole")
    capability.update(enabled=True, active=True)
    demo_dataset["realms_active"].append("DefaultRole")
    after = make_emulator(demo_dataset)
    with httpx.Client(base_url=after.url) as client:
        widened = client.get(f"{REST}/v1/repositories", auth=team_user).json()
    assert [r["name"] for r in widened] == ["docker-hosted", "docker-group", "docker-internal"]


# --------------------------------------------------------------------------- security endpoints


def test_user_id_is_a_case_insensitive_prefix(http: httpx.Client) -> None:
    assert names(get(http, USERS, "admin", userId="ADM"), "userId") == ["admin"]
    assert names(get(http, USERS, "admin", userId="old"), "userId") == ["old-scanner"]
    assert names(get(http, USERS, "admin", userId="nobody"), "userId") == []


def test_source_filter_is_case_insensitive_and_unknown_sources_are_empty(
    http: httpx.Client,
) -> None:
    assert names(get(http, USERS, "admin", source="ldap"), "userId") == ["alice"]
    local = names(get(http, USERS, "admin", source="default"), "userId")
    assert "alice" not in local and "bob.sso" not in local and "scanner" in local
    assert names(get(http, USERS, "admin", source="Crowd"), "userId") == []


def test_roles_are_sorted_and_found_by_id(http: httpx.Client) -> None:
    ids = names(get(http, f"{REST}/v1/security/roles", "admin"), "id")
    assert ids == sorted(ids) and {"hg-scan", "ci-legacy", "team-a"} <= set(ids)
    assert get(http, f"{REST}/v1/security/roles/hg-scan", "admin").json()["roles"] == ["ci-legacy"]
    missing = get(http, f"{REST}/v1/security/roles/no-such-role", "admin")
    assert missing.status_code == 404
    assert get(http, f"{REST}/v1/security/roles", "admin", source="nope").status_code == 400


def test_privilege_by_name_with_wildcards_in_the_name(http: httpx.Client) -> None:
    found = get(http, f"{REST}/v1/security/privileges/nx-repository-view-*-*-browse", "admin")
    assert found.json()["actions"] == ["BROWSE"]
    assert get(http, f"{REST}/v1/security/privileges/nope", "admin").status_code == 404


def test_realms_depend_on_the_edition(http: httpx.Client) -> None:
    assert get(http, f"{REST}/v1/security/realms/active", "admin").json() == [
        "NexusAuthenticatingRealm",
        "LdapRealm",
    ]
    available = names(get(http, f"{REST}/v1/security/realms/available", "admin"), "id")
    assert "DockerToken" in available and "User-Token-Realm" not in available
    assert "User-Token-Realm" in {r["id"] for r in available_realms("PRO")}


def test_user_sources(http: httpx.Client) -> None:
    sources = names(get(http, f"{REST}/v1/security/user-sources", "admin"), "id")
    assert sources[:2] == ["default", "LDAP"] and "SAML" in sources


def test_security_sections_need_their_privilege(http: httpx.Client) -> None:
    for path in (
        "/v1/security/roles",
        "/v1/security/privileges",
        "/v1/security/realms/active",
        "/v1/security/anonymous",
        "/v1/capabilities",
        "/v1/security/content-selectors",
    ):
        assert get(http, f"{REST}{path}", "harbor-ok").status_code == 403, path
        assert get(http, f"{REST}{path}", "admin").status_code == 200, path


# --------------------------------------------------------------------------- repositories


def test_repository_listings_follow_browse_and_admin_read(http: httpx.Client) -> None:
    assert names(get(http, f"{REST}/v1/repositories", "harbor-ok")) == [
        "docker-hosted",
        "docker-group",
    ]
    assert names(get(http, f"{REST}/v1/repositorySettings", "harbor-ok")) == []
    # The content selector privilege lets trivy browse docker-hosted, partly.
    assert names(get(http, f"{REST}/v1/repositories", "trivy")) == ["docker-hosted"]
    # scanner reads but cannot browse; its nested ci-legacy role administers everything.
    assert names(get(http, f"{REST}/v1/repositories", "scanner")) == []
    assert len(names(get(http, f"{REST}/v1/repositorySettings", "scanner"))) == 7


def test_repository_settings_for_one_admin_read_privilege(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    role = next(r for r in demo_dataset["roles"] if r["id"] == "docker-readers")
    role["privileges"].append("nx-repository-admin-docker-docker-group-read")
    emulator = make_emulator(demo_dataset)
    with httpx.Client(base_url=emulator.url) as client:
        body = get(client, f"{REST}/v1/repositorySettings", "harbor-ok").json()
    assert [r["name"] for r in body] == ["docker-group"]
    assert body[0]["group"]["memberNames"] == ["docker-hosted", "docker-proxy"]
    assert body[0]["url"] == f"{emulator.url}/repository/docker-group"


def test_repository_list_shape(http: httpx.Client, emulator: NexusEmulator) -> None:
    listed = {r["name"]: r for r in get(http, f"{REST}/v1/repositories", "admin").json()}
    assert listed["docker-proxy"]["attributes"] == {
        "proxy": {"remoteUrl": "https://registry-1.docker.io"}
    }
    assert listed["docker-hosted"]["attributes"] == {}
    assert listed["docker-archive"]["online"] is False
    assert listed["maven-central"]["url"] == f"{emulator.url}/repository/maven-central"


# --------------------------------------------------------------------------- self-knowledge


def _permissions(client: httpx.Client, login: str | None) -> set[str]:
    response = client.post(
        "/service/extdirect", json=EXTDIRECT_BODY, auth=LOGINS[login] if login else None
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["tid"], answer["type"], answer["result"]["success"]) == (1, "rpc", True)
    return {item["id"] for item in answer["result"]["data"]}


def test_extdirect_lists_the_permissions_of_defined_privileges(
    http: httpx.Client, demo_dataset: dict[str, Any]
) -> None:
    admin_perms = {
        f"nexus:repository-admin:{p['format']}:{p['repository']}:"
        f"{'*' if p['actions'] == ['ALL'] else p['actions'][0].lower()}"
        for p in demo_dataset["privileges"]
        if p["type"] == "repository-admin"
    }
    expected = admin_perms | {
        "nexus:search:read",
        "nexus:repository-view:docker:docker-hosted:read",
        "nexus:repository-view:docker:docker-group:read",
    }
    assert _permissions(http, "scanner") == expected


def test_extdirect_for_the_anonymous_user(http: httpx.Client) -> None:
    assert _permissions(http, None) == {
        "nexus:search:read",
        "nexus:healthcheck:read",
        "nexus:repository-view:*:*:browse",
        "nexus:repository-view:*:*:read",
    } | {
        f"nexus:repository-view:{fmt}:{repo}:{action}"
        for fmt, repo in [("docker", "*"), ("maven2", "*")]
        + [("docker", r) for r in ("docker-hosted", "docker-proxy", "docker-group")]
        + [("docker", r) for r in ("docker-internal", "docker-archive")]
        + [("maven2", "maven-releases"), ("maven2", "maven-central")]
        for action in ("browse", "read")
    }


def test_extdirect_unknown_method_is_not_a_success(http: httpx.Client) -> None:
    body = {**EXTDIRECT_BODY, "method": "getUser"}
    answer = http.post("/service/extdirect", json=body, auth=LOGINS["admin"]).json()
    assert answer["result"]["success"] is False
    batch = http.post("/service/extdirect", json=[EXTDIRECT_BODY], auth=LOGINS["admin"]).json()
    assert isinstance(batch, list) and batch[0]["result"]["success"] is True


# --------------------------------------------------------------------------- editions and tokens


def test_user_tokens_are_absent_on_community(http: httpx.Client) -> None:
    response = get(http, f"{REST}/v1/security/user-tokens", "admin")
    assert (response.status_code, response.content) == (404, b"")


def test_user_tokens_on_pro(demo_dataset: dict[str, Any], make_emulator: Any) -> None:
    token = {"nameCode": "Zx81kQpA", "passCode": "vN3r-pass-code-0042", "userId": "bob.sso"}
    emulator = make_emulator(pro_edition(demo_dataset, [token]))
    with httpx.Client(base_url=emulator.url) as client:
        settings = get(client, f"{REST}/v1/security/user-tokens", "admin")
        assert settings.headers["Server"] == "Nexus/3.77.1-02 (PRO)"
        assert settings.json() == {
            "enabled": True,
            "expirationEnabled": False,
            "expirationDays": 30,
            "protectContent": False,
        }
        # A SAML user has no password, but its token works wherever Basic credentials do.
        me = client.get(f"{REST}/internal/ui/user", auth=(token["nameCode"], token["passCode"]))
        assert me.json()["userId"] == "bob.sso" and me.json()["external"] is True
        wrong = client.get(f"{REST}/internal/ui/user", auth=(token["nameCode"], "guess"))
        assert wrong.status_code == 401
    emulator.state["user_tokens"]["enabled"] = False
    with httpx.Client(base_url=emulator.url) as client:
        off = client.get(f"{REST}/internal/ui/user", auth=(token["nameCode"], token["passCode"]))
        assert off.status_code == 401


# --------------------------------------------------------------------------- faults


def test_html_fault_is_a_login_page(http: httpx.Client, emulator: NexusEmulator) -> None:
    emulator.inject(USERS, Fault("html"))
    response = get(http, USERS, "admin")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Sonatype Nexus Repository" in response.text


def test_malformed_fault_truncates_the_json(http: httpx.Client, emulator: NexusEmulator) -> None:
    emulator.inject(USERS, Fault("malformed"))
    response = get(http, USERS, "admin")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text.startswith('[ {\n  "userId" : "admin"')
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_wrong_shape_fault_turns_a_list_into_an_object(
    http: httpx.Client, emulator: NexusEmulator
) -> None:
    emulator.inject(f"{REST}/v1/security/roles", Fault("wrong-shape"))
    body = get(http, f"{REST}/v1/security/roles", "admin").json()
    assert isinstance(body, dict) and body["items"][0]["id"] == "ci-legacy"


def test_status_fault_applies_a_given_number_of_times(
    http: httpx.Client, emulator: NexusEmulator
) -> None:
    emulator.inject(USERS, Fault("status", status=503, times=2))
    statuses = [get(http, USERS, "admin").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [r.status for r in emulator.requests] == [503, 503, 200]


def test_status_fault_bodies(http: httpx.Client, emulator: NexusEmulator) -> None:
    emulator.inject(USERS, Fault("status", status=500))
    failed = get(http, USERS, "admin")
    assert failed.status_code == 500 and failed.text.startswith("ERROR: (ID ")
    emulator.inject(USERS, Fault("status", status=404))
    assert get(http, USERS, "admin").json() == "Not Found"


def test_slow_fault_delays_then_answers(http: httpx.Client, emulator: NexusEmulator) -> None:
    emulator.inject(USERS, Fault("slow", delay=0.3))
    started = time.monotonic()
    response = get(http, USERS, "admin")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_reset_fault_drops_the_connection(http: httpx.Client, emulator: NexusEmulator) -> None:
    emulator.inject(USERS, Fault("reset", times=1))
    with pytest.raises(httpx.TransportError):
        get(http, USERS, "admin")
    assert get(http, USERS, "admin").status_code == 200
    assert [r.status for r in emulator.requests] == [0, 200]


def test_faults_match_the_path_only_and_can_be_cleared(
    http: httpx.Client, emulator: NexusEmulator
) -> None:
    emulator.inject(USERS, Fault("status", status=502))
    assert get(http, USERS, "admin", userId="adm").status_code == 502
    assert get(http, f"{REST}/v1/security/roles", "admin").status_code == 200
    emulator.clear_faults()
    assert get(http, USERS, "admin").status_code == 200


def test_faults_reject_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("teapot")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- HTTP surface


def test_every_answer_names_the_server(http: httpx.Client) -> None:
    for response in (
        get(http, USERS, "admin"),
        http.get(USERS, auth=("admin", "wrong")),
        get(http, f"{REST}/v1/nope", "admin"),
        get(http, "/favicon.ico"),
    ):
        assert response.headers["Server"] == "Nexus/3.77.1-02 (COMMUNITY)"


def test_unknown_paths_and_methods(http: httpx.Client) -> None:
    missing = get(http, f"{REST}/v1/nope", "admin")
    assert (missing.status_code, missing.content) == (404, b"")
    page = get(http, "/nope")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert http.delete(USERS, auth=LOGINS["admin"]).status_code == 405


def test_context_path(demo_dataset: dict[str, Any], make_emulator: Any) -> None:
    emulator = make_emulator(demo_dataset, context_path="nexus/")
    assert emulator.url.endswith("/nexus")
    with httpx.Client(base_url=emulator.url) as client:
        assert client.get(f"{REST}/v1/status").status_code == 200
        listed = client.get(f"{REST}/v1/repositories").json()
        assert listed[0]["url"] == f"{emulator.url}/repository/docker-hosted"
    root = emulator.url.removesuffix("/nexus")
    assert httpx.get(f"{root}{REST}/v1/status").status_code == 404
    assert emulator.requests[0].path == f"{REST}/v1/status"


def test_requests_are_recorded(http: httpx.Client, emulator: NexusEmulator) -> None:
    get(http, USERS, "admin", userId="sc", source="default")
    get(http, USERS, "scanner")
    first, second = emulator.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        USERS,
        {"userId": "sc", "source": "default"},
    )
    assert (first.auth_scheme, first.user_id, first.status) == ("Basic", "admin", 200)
    assert first.sent_credentials and not first.anonymous
    assert (second.user_id, second.status) == ("scanner", 403)


def test_state_changes_apply_to_the_next_request(
    http: httpx.Client, emulator: NexusEmulator
) -> None:
    emulator.passwords["scanner"] = "rotated"
    assert get(http, f"{REST}/internal/ui/user", "scanner").status_code == 401
    assert http.get(f"{REST}/internal/ui/user", auth=("scanner", "rotated")).status_code == 200


def test_a_broken_dataset_fails_at_construction(demo_dataset: dict[str, Any]) -> None:
    demo_dataset["users"] = {"userId": "admin"}
    with pytest.raises(NexusResponseError, match="expected a JSON list"):
        NexusEmulator(demo_dataset)


def test_load_dataset(tmp_path: Any) -> None:
    assert load_dataset("demo")["base_url"] == "https://nexus.acme.example"
    path = tmp_path / "snap.json"
    path.write_text('{"nexus_audit_snapshot": 1}')
    assert load_dataset(path) == {"nexus_audit_snapshot": 1}
    with pytest.raises(SnapshotError, match="cannot read dataset"):
        load_dataset(tmp_path / "missing.json")
    path.write_text("[1, 2]")
    with pytest.raises(SnapshotError, match="not a JSON object"):
        load_dataset(path)


def test_render_json_is_jackson_style() -> None:
    text = render_json([{"id": "a", "roles": ["x", "y"], "empty": [], "obj": {}}])
    assert text == (
        '[ {\n  "id" : "a",\n  "roles" : [ "x", "y" ],\n  "empty" : [ ],\n  "obj" : { }\n} ]'
    )
    assert json.loads(text)[0]["roles"] == ["x", "y"]


# --------------------------------------------------------------------------- command line


def test_module_help_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "audit.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--context-path" in result.stdout and "--login" in result.stdout


def test_module_serves_and_never_prints_passwords(tmp_path: Any) -> None:
    snapshot = {k: v for k, v in build_demo().items() if k != "emulator"}
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot))
    command = [
        sys.executable,
        "-m",
        "audit.emulator",
        "--dataset",
        str(path),
        "--port",
        "0",
        "--context-path",
        "/nexus",
        "--login",
        "scanner:s3cret-pass",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "logins: scanner" in line and "s3cret-pass" not in line
            url = line.split(" at ", 1)[1].split(" ", 1)[0]
            assert url.startswith("http://127.0.0.1:") and url.endswith("/nexus")
            me = httpx.get(f"{url}{REST}/internal/ui/user", auth=("scanner", "s3cret-pass"))
            assert me.json()["userId"] == "scanner"
        finally:
            process.send_signal(signal.SIGINT)
            _, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    assert "s3cret-pass" not in errors


# --------------------------------------------------------------------------- builders


def test_demo_json_is_what_build_demo_builds() -> None:
    on_disk = DEMO_PATH.read_text(encoding="utf-8")
    assert on_disk == render_dataset(build_demo()), (
        "demo.json is stale: run python -c 'from audit.emulator.builder import write_demo; "
        "write_demo()'"
    )


def test_repository_privileges_are_nexus_auto_privileges() -> None:
    created = repository_privileges("docker", "docker-hosted")
    assert [p["name"] for p in created] == [
        "nx-repository-view-docker-docker-hosted-*",
        "nx-repository-view-docker-docker-hosted-browse",
        "nx-repository-view-docker-docker-hosted-read",
        "nx-repository-view-docker-docker-hosted-edit",
        "nx-repository-view-docker-docker-hosted-add",
        "nx-repository-view-docker-docker-hosted-delete",
        "nx-repository-admin-docker-docker-hosted-*",
        "nx-repository-admin-docker-docker-hosted-browse",
        "nx-repository-admin-docker-docker-hosted-read",
        "nx-repository-admin-docker-docker-hosted-edit",
        "nx-repository-admin-docker-docker-hosted-delete",
    ]
    assert created[0]["actions"] == ["ALL"] and created[2]["actions"] == ["READ"]
    assert created[2]["description"] == "Read privilege for docker-hosted repository views"
    assert created[6]["description"] == "All privileges for docker-hosted repository administration"
    assert all(p["readOnly"] and p["repository"] == "docker-hosted" for p in created)


def test_format_privileges_match_the_builtin_docker_set() -> None:
    builtin = [
        p
        for p in load_builtin()["privileges"]
        if p.get("format") == "docker" and p.get("repository") == "*"
    ]
    assert format_privileges("docker") == builtin


def test_builders_reject_impossible_repositories() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        docker_group("empty", [])


def test_demo_content(demo_dataset: dict[str, Any]) -> None:
    privileges = {p["name"] for p in demo_dataset["privileges"]}
    assert "nx-legacy-deploy" not in privileges  # team-a's dangling reference
    assert "nx-repository-view-maven2-*-read" in privileges
    assert "nx-repository-admin-maven2-maven-central-read" in privileges
    assert "nx-repository-admin-docker-docker-hosted-add" not in privileges
    assert demo_dataset["realms_active"] == ["NexusAuthenticatingRealm", "LdapRealm"]
    assert "bob.sso" not in demo_dataset["emulator"]["passwords"]
    assert len(privileges) == len(demo_dataset["privileges"])
