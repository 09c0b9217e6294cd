"""Unit tests of audit.model: parsing snapshot documents made of real Nexus REST bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from nexus_api_client.models.anonymous_access_settings_xo import AnonymousAccessSettingsXO
from nexus_api_client.models.api_privilege_application import ApiPrivilegeApplication
from nexus_api_client.models.api_privilege_repository_admin import ApiPrivilegeRepositoryAdmin
from nexus_api_client.models.api_privilege_repository_content_selector import (
    ApiPrivilegeRepositoryContentSelector,
)
from nexus_api_client.models.api_privilege_repository_view import ApiPrivilegeRepositoryView
from nexus_api_client.models.api_privilege_script import ApiPrivilegeScript
from nexus_api_client.models.api_privilege_wildcard import ApiPrivilegeWildcard
from nexus_api_client.models.api_user import ApiUser
from nexus_api_client.models.capability_dto import CapabilityDTO
from nexus_api_client.models.content_selector_api_response import ContentSelectorApiResponse
from nexus_api_client.models.docker_group_api_repository import DockerGroupApiRepository
from nexus_api_client.models.docker_hosted_api_repository import DockerHostedApiRepository
from nexus_api_client.models.docker_proxy_api_repository import DockerProxyApiRepository
from nexus_api_client.models.maven_hosted_api_repository import MavenHostedApiRepository
from nexus_api_client.models.repository_xo import RepositoryXO
from nexus_api_client.models.role_xo_response import RoleXOResponse
from nexus_api_client.models.user_tokens_api_model import UserTokensApiModel
from nexus_payloads import (
    BASE_URL,
    REALM_DOCKER_TOKEN,
    REALM_LDAP,
    REALM_LOCAL,
    SERVER_COMMUNITY,
    SERVER_OSS,
    SERVER_PRO,
    anonymous_settings,
    application_privilege,
    base_url_capability,
    browsable_entry,
    builtin_privileges,
    content_selector,
    content_selector_privilege,
    default_role_capability,
    docker_group,
    docker_hosted,
    docker_proxy,
    instance,
    ldap_user,
    maven_hosted,
    parse_repository,
    repository_admin_privilege,
    repository_privileges,
    repository_view_privilege,
    role,
    saml_user,
    script_privilege,
    self_limited_snapshot,
    snapshot,
    user,
    user_token_settings,
    wildcard_privilege,
)

from audit.errors import AuditError, NexusResponseError
from audit.model import (
    AnonymousSettings,
    DockerConnector,
    Instance,
    RegistryAddress,
    UserTokenSettings,
    merge_users,
    parse_instance,
)

# --------------------------------------------------------------------------- fixtures are real


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (DockerHostedApiRepository, docker_hosted("web", https_port=8443, http_port=8082)),
        (DockerProxyApiRepository, docker_proxy("docker-hub", http_port=8083)),
        (DockerGroupApiRepository, docker_group("docker-all", members=["web"], https_port=8444)),
        (MavenHostedApiRepository, maven_hosted("maven-releases")),
        (RepositoryXO, browsable_entry(docker_proxy("docker-hub"))),
        (ApiUser, user("scanner", roles=["r"])),
        (ApiUser, ldap_user("jdoe", groups=["docker-scanners"])),
        (ApiUser, saml_user("alice", groups=["devs"])),
        (RoleXOResponse, role("r", privileges=["nx-search-read"], roles=["nx-anonymous"])),
        (ApiPrivilegeRepositoryView, repository_view_privilege("v", repository="web")),
        (ApiPrivilegeRepositoryAdmin, repository_admin_privilege("a", repository="web")),
        (
            ApiPrivilegeRepositoryContentSelector,
            content_selector_privilege("cs", content_selector="team-a", repository="web"),
        ),
        (ApiPrivilegeApplication, application_privilege("app", domain="users")),
        (ApiPrivilegeWildcard, wildcard_privilege("w", pattern="nexus:*")),
        (ApiPrivilegeScript, script_privilege("s", script_name="cleanup")),
        (CapabilityDTO, default_role_capability("nx-anonymous")),
        (AnonymousAccessSettingsXO, anonymous_settings()),
        (UserTokensApiModel, user_token_settings()),
        (ContentSelectorApiResponse, content_selector("team-a", 'path =^ "/v2/a/"')),
    ],
)
def test_payload_builders_match_the_nexus_api_models(model: Any, payload: dict[str, Any]) -> None:
    """The fixtures validate against nexus-api-client's generated models of the REST API."""
    assert model.from_dict(payload) is not None


def test_repository_privileges_are_the_eleven_auto_created_ones() -> None:
    names = {p["name"] for p in repository_privileges("web")}
    assert names == {
        "nx-repository-view-docker-web-*",
        "nx-repository-view-docker-web-browse",
        "nx-repository-view-docker-web-read",
        "nx-repository-view-docker-web-edit",
        "nx-repository-view-docker-web-add",
        "nx-repository-view-docker-web-delete",
        "nx-repository-admin-docker-web-*",
        "nx-repository-admin-docker-web-browse",
        "nx-repository-admin-docker-web-read",
        "nx-repository-admin-docker-web-edit",
        "nx-repository-admin-docker-web-delete",
    }
    for payload in repository_privileges("web"):
        model = (
            ApiPrivilegeRepositoryView
            if payload["type"] == "repository-view"
            else ApiPrivilegeRepositoryAdmin
        )
        # names with '*' break the creation regex, yet Nexus lists them: validate the rest
        assert model.model_validate({**payload, "name": "x"}) is not None


# --------------------------------------------------------------------------- a full snapshot


def _full_instance() -> Instance:
    return instance(
        users=[
            user("scanner", roles=["docker-scanner"]),
            user("ci-bot", roles=["docker-scanner"], status="changepassword"),
            ldap_user("jdoe", groups=["docker-scanners", "Domain Users"], roles=["nx-anonymous"]),
            saml_user("alice", groups=["developers"]),
        ],
        roles=[role("docker-scanner", privileges=["scan-web"], roles=["nx-anonymous"])],
        extra_privileges=[
            repository_view_privilege("scan-web", repository="web", actions=["BROWSE", "READ"]),
            repository_admin_privilege("web-settings", repository="web", actions=["READ"]),
            content_selector_privilege("team-a-web", content_selector="team-a", repository="web"),
            application_privilege("users-edit", domain="users", actions=["EDIT", "READ"]),
            wildcard_privilege("docker-pull", pattern="nexus:repository-view:docker:*:read"),
            script_privilege("run-cleanup", script_name="cleanup", actions=["RUN"]),
        ],
        repositories=[
            docker_hosted("web", https_port=8443, force_basic_auth=False),
            docker_proxy("docker-hub", http_port=8083),
            docker_group("docker-all", members=["web", "docker-hub"], http_port=8084),
            maven_hosted("maven-releases"),
        ],
        realms=[REALM_LOCAL, REALM_LDAP, REALM_DOCKER_TOKEN],
        anonymous=anonymous_settings(enabled=False),
        user_tokens=user_token_settings(enabled=True, protect_content=True),
        capabilities=[base_url_capability(), default_role_capability("docker-scanner")],
        content_selectors=[content_selector("team-a", 'format == "docker" and path =^ "/v2/a/"')],
        server=SERVER_PRO,
    )


def test_parse_users_of_every_source() -> None:
    inst = _full_instance()
    assert inst.users is not None
    by_id = {u.user_id: u for u in inst.users}
    assert set(by_id) == {"admin", "anonymous", "scanner", "ci-bot", "jdoe", "alice"}
    scanner = by_id["scanner"]
    assert (scanner.source, scanner.status, scanner.roles, scanner.external_roles) == (
        "default",
        "active",
        ("docker-scanner",),
        (),
    )
    assert scanner.is_local
    assert scanner.email == "scanner@example.com"
    assert by_id["ci-bot"].status == "changepassword"
    jdoe = by_id["jdoe"]
    assert jdoe.source == "LDAP"
    assert not jdoe.is_local
    assert jdoe.read_only
    assert jdoe.external_roles == ("docker-scanners", "Domain Users")
    assert jdoe.roles == ("nx-anonymous",)
    alice = by_id["alice"]
    assert (alice.source, alice.external_roles) == ("SAML", ("developers",))


def test_parse_roles_keyed_by_id() -> None:
    inst = _full_instance()
    assert inst.roles is not None
    assert set(inst.roles) == {"nx-admin", "nx-anonymous", "docker-scanner"}
    scanner_role = inst.roles["docker-scanner"]
    assert scanner_role.privileges == ("scan-web",)
    assert scanner_role.roles == ("nx-anonymous",)
    assert not scanner_role.read_only
    admin = inst.roles["nx-admin"]
    assert (admin.read_only, admin.privileges, admin.source) == (True, ("nx-all",), "default")


def test_parse_privileges_of_every_type() -> None:
    inst = _full_instance()
    assert inst.privileges is not None
    privileges = inst.privileges
    view = privileges["scan-web"]
    assert (view.type, view.format, view.repository, view.actions) == (
        "repository-view",
        "docker",
        "web",
        ("BROWSE", "READ"),
    )
    admin = privileges["web-settings"]
    assert (admin.type, admin.repository, admin.actions) == ("repository-admin", "web", ("READ",))
    selector = privileges["team-a-web"]
    assert (selector.type, selector.content_selector, selector.repository) == (
        "repository-content-selector",
        "team-a",
        "web",
    )
    application = privileges["users-edit"]
    assert (application.type, application.domain, application.actions) == (
        "application",
        "users",
        ("EDIT", "READ"),
    )
    wildcard = privileges["docker-pull"]
    assert (wildcard.type, wildcard.pattern) == (
        "wildcard",
        "nexus:repository-view:docker:*:read",
    )
    script = privileges["run-cleanup"]
    assert (script.type, script.script_name, script.actions) == ("script", "cleanup", ("RUN",))
    # built-ins and the per-repository privileges of all four repositories are there too
    assert privileges["nx-all"].read_only
    assert "nx-repository-view-docker-web-read" in privileges
    assert "nx-repository-admin-maven2-maven-releases-read" in privileges
    assert len(privileges) == len(builtin_privileges()) + 4 * 11 + 6


def test_parse_docker_repositories() -> None:
    inst = _full_instance()
    web = inst.repository("web")
    assert web is not None
    assert (web.format, web.type, web.online, web.url) == (
        "docker",
        "hosted",
        True,
        f"{BASE_URL}/repository/web",
    )
    assert web.docker == DockerConnector(
        force_basic_auth=False, http_port=None, https_port=8443, subdomain=None
    )
    hub = inst.repository("docker-hub")
    assert hub is not None
    assert (hub.type, hub.remote_url, hub.index_type) == (
        "proxy",
        "https://registry-1.docker.io",
        "HUB",
    )
    assert hub.docker is not None and hub.docker.http_port == 8083
    group = inst.repository("docker-all")
    assert group is not None
    assert (group.type, group.members) == ("group", ("web", "docker-hub"))
    assert [r.name for r in inst.docker_repositories] == ["web", "docker-hub", "docker-all"]
    maven = inst.repository("maven-releases")
    assert maven is not None and not maven.is_docker and maven.docker is None
    assert inst.repository("nope") is None


def test_parse_browsable_repositories() -> None:
    inst = _full_instance()
    assert inst.browsable is not None
    by_name = {b.name: b for b in inst.browsable}
    assert by_name["docker-hub"].remote_url == "https://registry-1.docker.io"
    assert by_name["web"].remote_url is None
    assert (by_name["maven-releases"].format, by_name["maven-releases"].type) == (
        "maven2",
        "hosted",
    )


def test_parse_settings_sections() -> None:
    inst = _full_instance()
    assert inst.realms_active == (REALM_LOCAL, REALM_LDAP, REALM_DOCKER_TOKEN)
    assert inst.realm_active(REALM_LDAP) is True
    assert inst.realm_active("DefaultRole") is False
    assert inst.anonymous == AnonymousSettings(False, "anonymous", "NexusAuthorizingRealm")
    assert inst.user_tokens == UserTokenSettings(
        enabled=True, protect_content=True, expiration_enabled=False, expiration_days=30
    )
    assert inst.content_selectors is not None
    assert [s.name for s in inst.content_selectors] == ["team-a"]
    assert inst.content_selectors[0].expression == 'format == "docker" and path =^ "/v2/a/"'
    assert inst.capabilities is not None
    assert {c.type for c in inst.capabilities} == {"baseurl", "defaultrole"}
    assert inst.default_role() == "docker-scanner"
    assert inst.base_url == BASE_URL
    assert inst.edition == "PRO"


def test_default_role_only_from_an_enabled_capability() -> None:
    disabled = instance(capabilities=[default_role_capability("docker-scanner", enabled=False)])
    assert disabled.default_role() is None
    none = instance(capabilities=[base_url_capability()])
    assert none.default_role() is None


def test_missing_sections_are_unknown_not_empty() -> None:
    inst = parse_instance(
        snapshot(
            omit=["users", "roles", "privileges", "realms_active", "anonymous", "capabilities"],
            unavailable={"users": "403 Forbidden: needs nx-users-read"},
        )
    )
    assert inst.users is None
    assert inst.roles is None
    assert inst.privileges is None
    assert inst.realms_active is None
    assert inst.realm_active(REALM_DOCKER_TOKEN) is None
    assert inst.anonymous is None
    assert inst.capabilities is None
    assert inst.user_tokens is None
    assert inst.caller is None and inst.caller_permissions is None
    assert inst.unavailable == {"users": "403 Forbidden: needs nx-users-read"}
    empty = instance()
    assert empty.capabilities == ()
    assert empty.repositories == ()


def test_parse_self_limited_capture() -> None:
    inst = parse_instance(
        self_limited_snapshot(
            caller_id="scanner",
            permissions=["nexus:repository-view:docker:web:read", "nexus:search:read"],
            browsable=[browsable_entry(docker_hosted("web"))],
        )
    )
    assert inst.caller is not None
    assert (inst.caller.user_id, inst.caller.external) == ("scanner", False)
    assert inst.caller_permissions == (
        "nexus:repository-view:docker:web:read",
        "nexus:search:read",
    )
    assert inst.users is None
    assert inst.repositories == ()
    assert inst.unavailable["users"].startswith("403")


def test_find_users_is_exact_and_case_insensitive() -> None:
    inst = instance(users=[user("scanner"), user("scanner-2"), ldap_user("Scanner", groups=["g"])])
    assert {(u.user_id, u.source) for u in inst.find_users("SCANNER")} == {
        ("scanner", "default"),
        ("Scanner", "LDAP"),
    }
    assert inst.find_users("scan") == []


def test_status_is_lower_cased_and_defaults() -> None:
    payload = user("ops", status="Disabled")
    inst = parse_instance({"users": [payload]})
    assert inst.users is not None and inst.users[0].status == "disabled"


def test_docker_block_defaults() -> None:
    body = docker_hosted("web", http_port=8082)
    del body["docker"]["forceBasicAuth"]
    repo = parse_repository(body)
    assert repo.docker is not None
    # absent forceBasicAuth is read as Basic (3.89+ default), pathEnabled absent before 3.83
    assert repo.docker.force_basic_auth is True
    assert repo.docker.path_enabled is False
    assert repo.docker.subdomain is None
    assert repo.docker.has_connector


@pytest.mark.parametrize(
    ("kwargs", "has_connector"),
    [
        ({}, False),
        ({"path_enabled": False}, False),
        ({"http_port": 8082}, True),
        ({"https_port": 8443}, True),
        ({"subdomain": "web"}, True),
        ({"path_enabled": True}, True),
    ],
)
def test_has_connector(kwargs: dict[str, Any], has_connector: bool) -> None:
    repo = parse_repository(docker_hosted("web", **kwargs))
    assert repo.docker is not None
    assert repo.docker.has_connector is has_connector


# --------------------------------------------------------------------------- registry address


@pytest.mark.parametrize(
    ("kwargs", "base_url", "expected"),
    [
        (
            {"https_port": 8443, "http_port": 8082, "subdomain": "web", "path_enabled": True},
            "https://nexus.example.com",
            RegistryAddress("nexus.example.com:8443", "https", "https-connector"),
        ),
        (
            {"https_port": 8443},
            "http://nexus.example.com:8081",
            RegistryAddress("nexus.example.com:8443", "https", "https-connector"),
        ),
        (
            {"subdomain": "web", "http_port": 8082, "path_enabled": True},
            "https://nexus.example.com",
            RegistryAddress("web.nexus.example.com", "https", "subdomain"),
        ),
        (
            {"subdomain": "web"},
            "https://nexus.example.com:8443/",
            RegistryAddress("web.nexus.example.com:8443", "https", "subdomain"),
        ),
        (
            {"path_enabled": True, "http_port": 8082},
            "https://nexus.example.com",
            RegistryAddress("nexus.example.com/web", "https", "path"),
        ),
        (
            {"path_enabled": True},
            "http://nexus.internal:8081",
            RegistryAddress("nexus.internal:8081/web", "http", "path"),
        ),
        (
            {"http_port": 8082},
            "https://nexus.example.com",
            RegistryAddress("nexus.example.com:8082", "http", "http-connector"),
        ),
        ({}, "https://nexus.example.com", None),
        ({"path_enabled": False}, "https://nexus.example.com", None),
        ({"http_port": 8082}, None, None),
    ],
)
def test_registry_address(
    kwargs: dict[str, Any], base_url: str | None, expected: RegistryAddress | None
) -> None:
    repo = parse_repository(docker_hosted("web", **kwargs))
    assert repo.registry_address(base_url) == expected


def test_registry_address_host_override() -> None:
    https = parse_repository(docker_hosted("web", https_port=8443))
    assert https.registry_address(BASE_URL, host="registry.example.com") == RegistryAddress(
        "registry.example.com:8443", "https", "https-connector"
    )
    http = parse_repository(docker_hosted("web", http_port=8082))
    assert http.registry_address(None, host="10.0.0.5") == RegistryAddress(
        "10.0.0.5:8082", "http", "http-connector"
    )


def test_registry_address_of_non_docker_repository_is_none() -> None:
    assert parse_repository(maven_hosted("maven-releases")).registry_address(BASE_URL) is None


# --------------------------------------------------------------------------- public upstreams


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (docker_proxy("hub"), True),
        (docker_proxy("hub-by-url", index_type="REGISTRY"), True),
        (docker_proxy("hub-mirror", remote_url="https://mirror.corp.example.com"), True),
        (docker_proxy("ghcr", remote_url="https://ghcr.io", index_type="REGISTRY"), True),
        (docker_proxy("quay", remote_url="https://QUAY.IO/", index_type="CUSTOM"), True),
        (docker_proxy("k8s", remote_url="https://registry.k8s.io", index_type="REGISTRY"), True),
        (
            docker_proxy(
                "mirror", remote_url="https://registry.internal.example.com", index_type="REGISTRY"
            ),
            False,
        ),
        (docker_hosted("web"), False),
        (docker_group("all", members=["hub"]), False),
    ],
)
def test_proxies_public_registry(payload: dict[str, Any], expected: bool) -> None:
    assert parse_repository(payload).proxies_public_registry is expected


# --------------------------------------------------------------------------- edition


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (SERVER_COMMUNITY, "COMMUNITY"),
        (SERVER_PRO, "PRO"),
        (SERVER_OSS, "OSS"),
        ("Nexus/3.77.1-01 (pro)", "PRO"),
        ("Nexus/3.77.1-01", None),
        (None, None),
    ],
)
def test_edition_from_server_header(server: str | None, expected: str | None) -> None:
    doc = snapshot()
    doc["server"] = server
    assert parse_instance(doc).edition == expected


# --------------------------------------------------------------------------- malformed input


def _with(section: str, value: Any) -> dict[str, Any]:
    doc = snapshot(repositories=[docker_hosted("web", https_port=8443)])
    doc[section] = value
    return doc


def _mutate(section: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = snapshot(
        users=[user("scanner", roles=["r"])],
        roles=[role("r")],
        repositories=[docker_hosted("web", https_port=8443)],
        capabilities=[default_role_capability("r")],
        user_tokens=user_token_settings(),
    )
    items = doc[section]
    change(items[-1] if isinstance(items, list) else items)
    return doc


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.pop(key)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.__setitem__(key, value)


def _set_docker(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["docker"].__setitem__(key, value)


@pytest.mark.parametrize(
    ("doc", "names"),
    [
        (_with("users", {"userId": "scanner"}), ["'users'", "list"]),
        (_with("roles", "nx-admin"), ["'roles'", "list"]),
        (_with("privileges", {}), ["'privileges'", "list"]),
        (_with("repositories", {"items": []}), ["'repositories'", "list"]),
        (_with("realms_active", "DockerToken"), ["realms_active"]),
        (_with("realms_active", [1, 2]), ["realms_active"]),
        (_with("anonymous", [True]), ["'anonymous'", "object"]),
        (_with("unavailable", ["users"]), ["'unavailable'"]),
        (_with("caller_permissions", [{"id": 7}]), ["caller_permissions[0]", "'id'"]),
        (_with("privileges", ["nx-all"]), ["privileges[0]", "object"]),
        (_mutate("users", _drop("userId")), ["users[", "'userId'"]),
        (_mutate("users", _set("userId", "")), ["users[", "'userId'"]),
        (_mutate("users", _set("roles", "nx-admin")), ["users[", "'roles'"]),
        (_mutate("users", _set("status", 1)), ["users[", "'status'"]),
        (_mutate("roles", _drop("id")), ["roles[", "'id'"]),
        (_mutate("roles", _set("privileges", [1])), ["roles[", "'privileges'"]),
        (_mutate("privileges", _drop("type")), ["privileges[", "'type'"]),
        (_mutate("privileges", _set("actions", "READ")), ["privileges[", "'actions'"]),
        (_mutate("repositories", _drop("format")), ["repositories[0]", "'format'"]),
        (_mutate("repositories", _set("online", "yes")), ["repositories[0]", "'online'"]),
        (_mutate("repositories", _set("docker", [])), ["repositories[0].docker"]),
        (
            _mutate("repositories", _set_docker("httpPort", "8082")),
            ["repositories[0].docker", "'httpPort'"],
        ),
        (
            _mutate("repositories", _set_docker("forceBasicAuth", "false")),
            ["repositories[0].docker", "'forceBasicAuth'"],
        ),
        (_mutate("anonymous", _drop("userId")), ["'anonymous'", "'userId'"]),
        (_mutate("user_tokens", _set("enabled", "true")), ["'user_tokens'", "'enabled'"]),
        (_mutate("capabilities", _set("properties", ["role"])), ["capabilities[0]"]),
    ],
)
def test_malformed_input_names_the_section_in_one_line(
    doc: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(NexusResponseError) as caught:
        parse_instance(doc)
    message = str(caught.value)
    assert "\n" not in message
    for name in names:
        assert name in message
    assert isinstance(caught.value, AuditError)


# --------------------------------------------------------------------------- merge_users


def test_merge_users_keeps_first_occurrence_per_source_and_id() -> None:
    local = [user("scanner"), user("admin")]
    all_sources = [user("Scanner", first_name="Dup"), ldap_user("scanner", groups=["g"])]
    merged = merge_users(local, all_sources)
    assert [(u["userId"], u["source"]) for u in merged] == [
        ("scanner", "default"),
        ("admin", "default"),
        ("scanner", "LDAP"),
    ]
    assert merged[0]["firstName"] == "Scanner"
