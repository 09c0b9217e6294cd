"""Unit tests of audit.permissions: Shiro wildcard rules, privilege -> permission, roles, access.

The truth tables follow NEXUS.md §1-§2 (Apache Shiro 1.13 ``WildcardPermission`` and the Nexus
privilege descriptors); expected permission strings of the built-in privileges are copied from
``nexus-default-security.json`` (derived from nexus-public 3.77) so the tests run on their own.
"""

from __future__ import annotations

from typing import Any

import pytest
from nexus_payloads import (
    application_privilege,
    builtin_privileges,
    content_selector,
    content_selector_privilege,
    docker_group,
    docker_hosted,
    docker_proxy,
    instance,
    maven_hosted,
    parse_privilege,
    parse_repository,
    repository_admin_privilege,
    repository_view_privilege,
    role,
    script_privilege,
    view,
    wildcard_privilege,
)

from audit.errors import UsageError
from audit.model import Instance
from audit.permissions import (
    MAX_PATHS_PER_PRIVILEGE,
    Access,
    EffectivePermissions,
    InvalidPermission,
    IssueKind,
    Principal,
    RoleResolver,
    WildcardPermission,
    decide,
    permission_of,
    resolve,
    selector_names,
)

P = WildcardPermission.parse


# --------------------------------------------------------------------------- Shiro implication

RV = "nexus:repository-view"

IMPLIES: list[tuple[str, str, bool]] = [
    # identical
    (f"{RV}:docker:web:read", f"{RV}:docker:web:read", True),
    # case-insensitive on both sides (Shiro lower-cases the whole string by default)
    ("NEXUS:Repository-View:DOCKER:Web:READ", f"{RV}:docker:web:read", True),
    (f"{RV}:docker:web:read", "Nexus:REPOSITORY-VIEW:Docker:WEB:Read", True),
    # '*' as a whole subpart matches anything
    (f"{RV}:docker:*:read", f"{RV}:docker:web:read", True),
    (f"{RV}:*:*:read", f"{RV}:maven2:maven-central:read", True),
    (f"{RV}:docker:web,*:read", f"{RV}:docker:api:read", True),
    # '*' inside a subpart is literal: no globbing
    (f"{RV}:docker:docker-*:read", f"{RV}:docker:docker-hosted:read", False),
    (f"{RV}:docker:*-hosted:read", f"{RV}:docker:docker-hosted:read", False),
    (f"{RV}:docker:docker-*:read", f"{RV}:docker:docker-*:read", True),
    (f"{RV}:*-docker:*:read", f"{RV}:docker:web:read", False),
    # missing trailing parts of the granted permission imply everything
    (f"{RV}:docker:web", f"{RV}:docker:web:delete", True),
    (RV, f"{RV}:docker:web:read", True),
    ("nexus", "nexus:users:read", True),
    ("nexus:*", f"{RV}:docker:web:read", True),
    ("nexus:*", "nexus:users:create", True),
    ("nexus:*", "nexus", True),
    ("nexus:*", "other:x", False),
    ("nexus:*", "nexusx:users:read", False),
    # extra parts of the granted permission must all be '*'
    (f"{RV}:docker:web:read", f"{RV}:docker:web", False),
    (f"{RV}:docker:web:*", f"{RV}:docker:web", True),
    (f"{RV}:docker:*:*", f"{RV}:docker", True),
    (f"{RV}:docker:*:read", f"{RV}:docker", False),
    ("nexus:users:read", "nexus", False),
    # subparts: the granted part must be a superset of the required part
    (f"{RV}:*:*:browse,read", f"{RV}:docker:web:read", True),
    (f"{RV}:*:*:browse,read", f"{RV}:docker:web:browse", True),
    (f"{RV}:*:*:browse,read", f"{RV}:docker:web:browse,read", True),
    (f"{RV}:*:*:read", f"{RV}:docker:web:browse,read", False),
    (f"{RV}:docker:web,api:read", f"{RV}:docker:api,web:read", True),
    (f"{RV}:docker:web:read", f"{RV}:docker:web,api:read", False),
    (f"{RV}:docker:web:browse,read,edit", f"{RV}:docker:web:edit,read", True),
    ("nexus:users:create,read", "nexus:users:read", True),
    ("nexus:users:read", "nexus:users:create", False),
    # a '*' in the required permission is literal: only a granted '*' covers it
    (f"{RV}:docker:web:read", f"{RV}:docker:web:*", False),
    (f"{RV}:docker:web:read", f"{RV}:docker:*:read", False),
    (f"{RV}:docker:web:browse,read,edit,add,delete", f"{RV}:docker:web:*", False),
    (f"{RV}:docker:web:*", f"{RV}:docker:web:*", True),
    (f"{RV}:docker:*:read", f"{RV}:docker:*:read", True),
    # no implication between actions: read is not browse and browse is not read
    (f"{RV}:docker:web:read", f"{RV}:docker:web:browse", False),
    (f"{RV}:docker:web:browse", f"{RV}:docker:web:read", False),
    # domains do not leak into each other
    (f"{RV}:*:*:*", "nexus:repository-admin:docker:web:read", False),
    ("nexus:repository-admin:*:*:*", f"{RV}:docker:web:read", False),
    ("nexus:repository-content-selector:*:*:*:*", f"{RV}:docker:web:read", False),
    # subparts are not trimmed one by one: ' read' is not 'read'
    (f"{RV}:docker:web:browse, read", f"{RV}:docker:web:read", False),
]


@pytest.mark.parametrize(("granted", "required", "expected"), IMPLIES)
def test_implies_truth_table(granted: str, required: str, expected: bool) -> None:
    assert P(granted).implies(P(required)) is expected


def test_parse_lower_cases_and_splits_into_subpart_sets() -> None:
    permission = P("Nexus:Repository-View:Docker:Web,API:Browse,Read")
    assert permission.parts == (
        frozenset({"nexus"}),
        frozenset({"repository-view"}),
        frozenset({"docker"}),
        frozenset({"web", "api"}),
        frozenset({"browse", "read"}),
    )


def test_parse_trims_the_whole_string() -> None:
    assert P("  \tnexus:users:read \n") == P("nexus:users:read")
    assert P("  nexus:*  ").implies(P("nexus:users:read"))


def test_parse_drops_trailing_empty_parts_like_java_split() -> None:
    assert P("nexus:users:read:") == P("nexus:users:read")
    assert P("nexus:users:read:::") == P("nexus:users:read")


def test_parse_drops_trailing_empty_subparts_like_java_split() -> None:
    # Shiro splits each part with String.split(","), which drops trailing empty strings.
    assert P("nexus:users:read,") == P("nexus:users:read")
    assert P("nexus:users:read").implies(P("nexus:users:read,"))


@pytest.mark.parametrize(
    "text", ["", "   ", "\t\n", ":", "::", ",", ",,", "nexus:,:read", "nexus:users:,,"]
)
def test_parse_rejects_empty_strings_and_parts_of_only_dividers(text: str) -> None:
    with pytest.raises(InvalidPermission):
        P(text)


def test_invalid_permission_is_a_usage_error_with_a_one_line_message() -> None:
    with pytest.raises(UsageError) as caught:
        P("nexus:,:read")
    assert "\n" not in str(caught.value)


def test_parse_keeps_an_empty_middle_part_like_shiro() -> None:
    # Java "nexus::read".split(":") is ["nexus", "", "read"] and "".split(",") is [""]: Shiro
    # builds a part holding the empty string (only parts of nothing but ',' are rejected).
    permission = P("nexus::read")
    assert permission.parts == (frozenset({"nexus"}), frozenset({""}), frozenset({"read"}))
    assert not permission.implies(P("nexus:users:read"))


def test_of_builds_lower_cased_parts_without_parsing() -> None:
    built = WildcardPermission.of(
        "nexus", "repository-view", "Docker", "web:odd", ["READ", "Browse"]
    )
    # ':' inside a part stays literal when the part is given already split (list constructor)
    assert built.parts[3] == frozenset({"web:odd"})
    assert built.parts[4] == frozenset({"read", "browse"})


def test_str_joins_parts_and_subparts() -> None:
    text = "nexus:repository-view:docker:web:read"
    assert str(P(text)) == text
    assert set(str(P("nexus:users:read,create")).split(":")[2].split(",")) == {"read", "create"}


# ------------------------------------------------------------------- privilege -> permission


def _permission(payload: dict[str, Any]) -> WildcardPermission | None:
    return permission_of(parse_privilege(payload))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            repository_view_privilege("web-read", repository="web", actions=["READ"]),
            "nexus:repository-view:docker:web:read",
        ),
        (
            repository_view_privilege("web-pull", repository="web", actions=["BROWSE", "READ"]),
            "nexus:repository-view:docker:web:browse,read",
        ),
        (
            repository_view_privilege("web-push", repository="web", actions=["ADD", "EDIT"]),
            "nexus:repository-view:docker:web:add,edit",
        ),
        (
            repository_view_privilege("web-all", repository="web", actions=["ALL"]),
            "nexus:repository-view:docker:web:*",
        ),
        (
            repository_view_privilege("any-format-web", repository="web", format="*"),
            "nexus:repository-view:*:web:read",
        ),
        (
            repository_view_privilege("docker-any", repository="*", actions=["DELETE"]),
            "nexus:repository-view:docker:*:delete",
        ),
        (
            repository_admin_privilege("web-admin-edit", repository="web", actions=["EDIT"]),
            "nexus:repository-admin:docker:web:edit",
        ),
        (
            repository_admin_privilege("web-admin", repository="web", actions=["ALL"]),
            "nexus:repository-admin:docker:web:*",
        ),
        (
            application_privilege("users-create", domain="users", actions=["ADD"]),
            "nexus:users:create",
        ),
        (
            application_privilege("users-update", domain="users", actions=["EDIT", "READ"]),
            "nexus:users:update,read",
        ),
        (
            application_privilege("tasks-run", domain="tasks", actions=["START", "STOP"]),
            "nexus:tasks:start,stop",
        ),
        (
            application_privilege("nodes", domain="nodes", actions=["ASSOCIATE", "DISASSOCIATE"]),
            "nexus:nodes:associate,disassociate",
        ),
        (
            application_privilege("settings-all", domain="settings", actions=["ALL"]),
            "nexus:settings:*",
        ),
        (
            application_privilege("ui-plugin", domain="ui:plugin:info", actions=["READ"]),
            "nexus:ui:plugin:info:read",
        ),
        (
            script_privilege("run-cleanup", script_name="cleanup", actions=["RUN"]),
            "nexus:script:cleanup:run",
        ),
        (
            script_privilege("edit-cleanup", script_name="cleanup", actions=["EDIT", "READ"]),
            "nexus:script:cleanup:edit,read",
        ),
        (
            script_privilege("all-cleanup", script_name="cleanup", actions=["ALL"]),
            "nexus:script:cleanup:*",
        ),
        (
            wildcard_privilege("docker-pull", pattern="nexus:repository-view:docker:*:read"),
            "nexus:repository-view:docker:*:read",
        ),
    ],
)
def test_permission_of_builds_from_fields(payload: dict[str, Any], expected: str) -> None:
    assert _permission(payload) == P(expected)


def test_permission_of_uses_fields_not_the_name() -> None:
    misleading = repository_view_privilege(
        "nx-repository-view-docker-web-read", repository="api", actions=["DELETE"]
    )
    assert _permission(misleading) == P("nexus:repository-view:docker:api:delete")


def test_missing_fields_default_to_wildcard() -> None:
    bare_view: dict[str, Any] = {"type": "repository-view", "name": "bare", "readOnly": False}
    assert _permission(bare_view) == P("nexus:repository-view:*:*:*")
    empty_view = repository_view_privilege("empty", repository="", format="", actions=[])
    assert _permission(empty_view) == P("nexus:repository-view:*:*:*")
    bare_app: dict[str, Any] = {"type": "application", "name": "app", "actions": ["READ"]}
    assert _permission(bare_app) == P("nexus:*:read")
    bare_script: dict[str, Any] = {"type": "script", "name": "s", "actions": ["RUN"]}
    assert _permission(bare_script) == P("nexus:script:*:run")
    no_actions = application_privilege("no-actions", domain="users", actions=[])
    assert _permission(no_actions) == P("nexus:users:*")


def test_permission_parts_are_lower_cased() -> None:
    payload = repository_view_privilege("mixed", repository="Web-Images", format="Docker")
    assert _permission(payload) == WildcardPermission(
        (
            frozenset({"nexus"}),
            frozenset({"repository-view"}),
            frozenset({"docker"}),
            frozenset({"web-images"}),
            frozenset({"read"}),
        )
    )


def test_wildcard_pattern_is_lower_cased() -> None:
    payload = wildcard_privilege("shouty", pattern="Nexus:Repository-View:DOCKER:*:Read")
    permission = _permission(payload)
    assert permission == P("nexus:repository-view:docker:*:read")
    assert str(permission) == "nexus:repository-view:docker:*:read"


def test_wildcard_pattern_that_shiro_rejects_raises() -> None:
    with pytest.raises(InvalidPermission):
        _permission(wildcard_privilege("broken", pattern=" , "))


def test_unknown_privilege_type_has_no_permission() -> None:
    payload = {"type": "firewall-waiver", "name": "waiver", "actions": ["READ"]}
    assert _permission(payload) is None


@pytest.mark.parametrize(
    ("repository", "stored_format", "expected"),
    [
        ("*", "docker", "nexus:repository-content-selector:team-a:*:*:read,browse"),
        ("*-docker", "*", "nexus:repository-content-selector:team-a:docker:*:read,browse"),
        ("*-maven2", "docker", "nexus:repository-content-selector:team-a:maven2:*:read,browse"),
        ("web", "docker", "nexus:repository-content-selector:team-a:*:web:read,browse"),
        # the stored format is ignored: only `repository` decides format and name
        ("web", "maven2", "nexus:repository-content-selector:team-a:*:web:read,browse"),
    ],
)
def test_content_selector_permission_built_only_from_repository(
    repository: str, stored_format: str, expected: str
) -> None:
    payload = content_selector_privilege(
        "team-a-images", content_selector="Team-A", repository=repository, format=stored_format
    )
    assert _permission(payload) == P(expected)


def test_content_selector_missing_fields_default_to_wildcard() -> None:
    payload: dict[str, Any] = {"type": "repository-content-selector", "name": "cs", "actions": []}
    assert _permission(payload) == P("nexus:repository-content-selector:*:*:*:*")


# The permission Nexus builds for every built-in privilege (nexus-default-security.json,
# `permission`); nx-healthcheck-read is closed source, builtin.json assumes domain/READ for it.
BUILTIN_PERMISSIONS = {
    "nx-all": "nexus:*",
    "nx-settings-all": "nexus:settings:*",
    "nx-settings-read": "nexus:settings:read",
    "nx-settings-update": "nexus:settings:update,read",
    "nx-bundles-all": "nexus:bundles:*",
    "nx-bundles-read": "nexus:bundles:read",
    "nx-search-read": "nexus:search:read",
    "nx-apikey-all": "nexus:apikey:*",
    "nx-privileges-all": "nexus:privileges:*",
    "nx-privileges-create": "nexus:privileges:create,read",
    "nx-privileges-read": "nexus:privileges:read",
    "nx-privileges-update": "nexus:privileges:update,read",
    "nx-privileges-delete": "nexus:privileges:delete,read",
    "nx-roles-all": "nexus:roles:*",
    "nx-roles-create": "nexus:roles:create,read",
    "nx-roles-read": "nexus:roles:read",
    "nx-roles-update": "nexus:roles:update,read",
    "nx-roles-delete": "nexus:roles:delete,read",
    "nx-users-all": "nexus:users:*",
    "nx-users-create": "nexus:users:create,read",
    "nx-users-read": "nexus:users:read",
    "nx-users-update": "nexus:users:update,read",
    "nx-users-delete": "nexus:users:delete,read",
    "nx-userschangepw": "nexus:userschangepw:create,read",
    "nx-component-upload": "nexus:component:create",
    "nx-selectors-all": "nexus:selectors:*",
    "nx-selectors-create": "nexus:selectors:create,read",
    "nx-selectors-read": "nexus:selectors:read",
    "nx-selectors-update": "nexus:selectors:update,read",
    "nx-selectors-delete": "nexus:selectors:delete,read",
    "nx-capabilities-all": "nexus:capabilities:*",
    "nx-capabilities-create": "nexus:capabilities:create,read",
    "nx-capabilities-read": "nexus:capabilities:read",
    "nx-capabilities-update": "nexus:capabilities:update,read",
    "nx-capabilities-delete": "nexus:capabilities:delete,read",
    "nx-tasks-all": "nexus:tasks:*",
    "nx-tasks-create": "nexus:tasks:create,read",
    "nx-tasks-read": "nexus:tasks:read",
    "nx-tasks-update": "nexus:tasks:update,read",
    "nx-tasks-delete": "nexus:tasks:delete,read",
    "nx-tasks-run": "nexus:tasks:start,stop",
    "nx-blobstores-all": "nexus:blobstores:*",
    "nx-blobstores-create": "nexus:blobstores:create,read",
    "nx-blobstores-read": "nexus:blobstores:read",
    "nx-blobstores-update": "nexus:blobstores:update,read",
    "nx-blobstores-delete": "nexus:blobstores:delete,read",
    "nx-datastores-all": "nexus:datastores:*",
    "nx-datastores-create": "nexus:datastores:create,read",
    "nx-datastores-read": "nexus:datastores:read",
    "nx-datastores-update": "nexus:datastores:update,read",
    "nx-datastores-delete": "nexus:datastores:delete,read",
    "nx-ssl-truststore-all": "nexus:ssl-truststore:*",
    "nx-ssl-truststore-create": "nexus:ssl-truststore:create,read",
    "nx-ssl-truststore-read": "nexus:ssl-truststore:read",
    "nx-ssl-truststore-update": "nexus:ssl-truststore:update,read",
    "nx-ssl-truststore-delete": "nexus:ssl-truststore:delete,read",
    "nx-metrics-all": "nexus:metrics:*",
    "nx-atlas-all": "nexus:atlas:*",
    "nx-analytics-all": "nexus:analytics:*",
    "nx-wonderland-all": "nexus:wonderland:*",
    "nx-logging-all": "nexus:logging:*",
    "nx-logging-read": "nexus:logging:read",
    "nx-logging-update": "nexus:logging:update,read",
    "nx-logging-mark": "nexus:logging:create",
    "nx-repository-view-*-*-*": "nexus:repository-view:*:*:*",
    "nx-repository-view-*-*-browse": "nexus:repository-view:*:*:browse",
    "nx-repository-view-*-*-read": "nexus:repository-view:*:*:read",
    "nx-repository-view-*-*-edit": "nexus:repository-view:*:*:edit",
    "nx-repository-view-*-*-add": "nexus:repository-view:*:*:add",
    "nx-repository-view-*-*-delete": "nexus:repository-view:*:*:delete",
    "nx-repository-admin-*-*-*": "nexus:repository-admin:*:*:*",
    "nx-repository-admin-*-*-browse": "nexus:repository-admin:*:*:browse",
    "nx-repository-admin-*-*-read": "nexus:repository-admin:*:*:read",
    "nx-repository-admin-*-*-edit": "nexus:repository-admin:*:*:edit",
    "nx-repository-admin-*-*-add": "nexus:repository-admin:*:*:add",
    "nx-repository-admin-*-*-delete": "nexus:repository-admin:*:*:delete",
    "nx-repository-view-docker-*-*": "nexus:repository-view:docker:*:*",
    "nx-repository-view-docker-*-browse": "nexus:repository-view:docker:*:browse",
    "nx-repository-view-docker-*-read": "nexus:repository-view:docker:*:read",
    "nx-repository-view-docker-*-edit": "nexus:repository-view:docker:*:edit",
    "nx-repository-view-docker-*-add": "nexus:repository-view:docker:*:add",
    "nx-repository-view-docker-*-delete": "nexus:repository-view:docker:*:delete",
    "nx-healthcheck-read": "nexus:healthcheck:read",
}


def test_builtin_expectations_cover_every_builtin_privilege() -> None:
    assert {p["name"] for p in builtin_privileges()} == set(BUILTIN_PERMISSIONS)


@pytest.mark.parametrize("name", sorted(BUILTIN_PERMISSIONS))
def test_builtin_privilege_permission(name: str) -> None:
    payload = next(p for p in builtin_privileges() if p["name"] == name)
    assert _permission(payload) == P(BUILTIN_PERMISSIONS[name])


# --------------------------------------------------------------------------- resolve


def _effective(inst: Instance, principal: Principal) -> EffectivePermissions:
    assert inst.roles is not None and inst.privileges is not None
    return resolve(principal, inst.roles, inst.privileges)


def _paths(effective: EffectivePermissions) -> set[tuple[str, ...]]:
    return {grant.path for grant in effective.grants}


WEB = docker_hosted("web", https_port=8443)
API = docker_hosted("api", https_port=8444)


def test_paths_through_a_deep_diamond_lattice_are_bounded_per_privilege() -> None:
    # Each level nests both roles of the level below: 2**12 paths reach the one privilege.
    levels = 12
    roles = [
        role(f"l{levels}-{side}", privileges=["nx-repository-view-docker-web-read"])
        for side in "ab"
    ]
    for level in range(levels - 1, -1, -1):
        below = [f"l{level + 1}-a", f"l{level + 1}-b"]
        roles += [role(f"l{level}-{side}", roles=below) for side in "ab"]
    inst = instance(repositories=[WEB], roles=roles)
    effective = _effective(inst, Principal("deep", roles=("l0-a",)))
    assert 1 <= len(effective.grants) <= MAX_PATHS_PER_PRIVILEGE
    assert effective.allows(P("nexus:repository-view:docker:web:read"))
    assert all(len(g.path) == levels + 3 for g in effective.grants)


def test_resolve_nested_roles_to_depth_four_with_full_grant_path() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[
            role("a", roles=["b"]),
            role("b", roles=["c"]),
            role("c", roles=["d"]),
            role("d", privileges=[view("web", "read")]),
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    assert _paths(effective) == {
        (
            "user:scanner",
            "role:a",
            "role:b",
            "role:c",
            "role:d",
            "privilege:nx-repository-view-docker-web-read",
        )
    }
    assert effective.roles == frozenset({"a", "b", "c", "d"})
    assert effective.issues == ()
    grant = effective.grants[0]
    assert grant.via_roles == ("a", "b", "c", "d")
    assert grant.privilege is not None and grant.privilege.name == view("web", "read")
    assert effective.allows(P("nexus:repository-view:docker:web:read"))
    assert not effective.allows(P("nexus:repository-view:docker:web:browse"))


def test_resolve_privileges_at_every_level_keep_their_own_path() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[
            role("a", privileges=[view("web", "browse")], roles=["b"]),
            role("b", privileges=[view("web", "read")]),
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    assert _paths(effective) == {
        ("user:scanner", "role:a", "privilege:nx-repository-view-docker-web-browse"),
        ("user:scanner", "role:a", "role:b", "privilege:nx-repository-view-docker-web-read"),
    }


def test_resolve_diamond_gives_two_paths() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[
            role("a", roles=["b", "c"]),
            role("b", roles=["d"]),
            role("c", roles=["d"]),
            role("d", privileges=[view("web", "read")]),
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    read = view("web", "read")
    assert _paths(effective) == {
        ("user:scanner", "role:a", "role:b", "role:d", f"privilege:{read}"),
        ("user:scanner", "role:a", "role:c", "role:d", f"privilege:{read}"),
    }
    assert len(effective.granting(P("nexus:repository-view:docker:web:read"))) == 2
    assert effective.issues == ()


def test_resolve_same_role_held_directly_and_nested_gives_two_paths() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[role("a", roles=["d"]), role("d", privileges=[view("web", "read")])],
    )
    effective = _effective(inst, Principal("scanner", roles=("a", "d")))
    read = f"privilege:{view('web', 'read')}"
    assert _paths(effective) == {
        ("user:scanner", "role:a", "role:d", read),
        ("user:scanner", "role:d", read),
    }


def test_resolve_cycle_terminates_keeps_grants_and_is_reported_once() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[
            role("a", roles=["b"], privileges=[view("web", "read")]),
            role("b", roles=["c"], privileges=[view("web", "browse")]),
            role("c", roles=["a"], privileges=["nx-search-read"]),
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    assert _paths(effective) == {
        ("user:scanner", "role:a", f"privilege:{view('web', 'read')}"),
        ("user:scanner", "role:a", "role:b", f"privilege:{view('web', 'browse')}"),
        ("user:scanner", "role:a", "role:b", "role:c", "privilege:nx-search-read"),
    }
    cycles = [i for i in effective.issues if i.kind is IssueKind.ROLE_CYCLE]
    assert len(cycles) == 1
    path = cycles[0].path
    assert path[0] == path[-1]
    assert set(path) == {"role:a", "role:b", "role:c"}
    assert len(path) == 4


def test_resolve_self_containing_role() -> None:
    inst = instance(
        repositories=[WEB], roles=[role("a", roles=["a"], privileges=[view("web", "read")])]
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    assert _paths(effective) == {("user:scanner", "role:a", f"privilege:{view('web', 'read')}")}
    cycles = [i for i in effective.issues if i.kind is IssueKind.ROLE_CYCLE]
    assert len(cycles) == 1
    assert set(cycles[0].path) == {"role:a"}


def test_resolve_cycle_entered_from_several_roles_is_reported_once() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[
            role("x", roles=["c"]),
            role("y", roles=["c"]),
            role("c", roles=["d"], privileges=[view("web", "read")]),
            role("d", roles=["c"]),
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("x", "y", "c", "d")))
    cycles = [i for i in effective.issues if i.kind is IssueKind.ROLE_CYCLE]
    assert len(cycles) == 1
    assert set(cycles[0].path) == {"role:c", "role:d"}
    read = f"privilege:{view('web', 'read')}"
    assert ("user:scanner", "role:x", "role:c", read) in _paths(effective)
    assert ("user:scanner", "role:y", "role:c", read) in _paths(effective)


def test_resolve_undefined_roles_are_reported_and_skipped() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[role("a", roles=["retired-team"], privileges=[view("web", "read")])],
    )
    effective = _effective(inst, Principal("scanner", roles=("ghost", "a")))
    assert _paths(effective) == {("user:scanner", "role:a", f"privilege:{view('web', 'read')}")}
    undefined = {
        (i.reference, i.path) for i in effective.issues if i.kind is IssueKind.ROLE_UNDEFINED
    }
    assert undefined == {
        ("ghost", ("user:scanner", "role:ghost")),
        ("retired-team", ("user:scanner", "role:a", "role:retired-team")),
    }
    assert "ghost" not in effective.roles


def test_resolve_undefined_privileges_are_reported_and_skipped() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[
            role("a", roles=["b"]),
            role(
                "b",
                privileges=["nx-repository-view-docker-deleted-read", view("web", "read")],
            ),
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    assert _paths(effective) == {
        ("user:scanner", "role:a", "role:b", f"privilege:{view('web', 'read')}")
    }
    issues = [i for i in effective.issues if i.kind is IssueKind.PRIVILEGE_UNDEFINED]
    assert [(i.reference, i.path) for i in issues] == [
        ("nx-repository-view-docker-deleted-read", ("user:scanner", "role:a", "role:b"))
    ]


def test_resolve_unusable_privileges_are_reported_and_skipped() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[role("a", privileges=["broken-pattern", "mystery", view("web", "read")])],
        extra_privileges=[
            wildcard_privilege("broken-pattern", pattern=":"),
            {"type": "firewall-waiver", "name": "mystery", "readOnly": False},
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("a",)))
    assert _paths(effective) == {("user:scanner", "role:a", f"privilege:{view('web', 'read')}")}
    unusable = {i.reference for i in effective.issues if i.kind is IssueKind.PRIVILEGE_UNUSABLE}
    assert unusable == {"broken-pattern", "mystery"}


def test_resolve_external_roles_grant_only_through_same_id_nexus_role() -> None:
    inst = instance(
        repositories=[WEB],
        roles=[role("docker-scanners", privileges=[view("web", "read")])],
    )
    principal = Principal(
        "jdoe", source="LDAP", external_roles=("docker-scanners", "Domain Users", "vpn-users")
    )
    effective = _effective(inst, principal)
    assert _paths(effective) == {
        ("user:jdoe", "external-role:docker-scanners", f"privilege:{view('web', 'read')}")
    }
    # LDAP groups without a Nexus role are normal, not an error
    assert effective.issues == ()


def test_resolve_default_role_path() -> None:
    inst = instance(repositories=[WEB], roles=[role("everyone", privileges=[view("web", "read")])])
    effective = _effective(inst, Principal("scanner", default_role="everyone"))
    assert _paths(effective) == {
        ("user:scanner", "default-role:everyone", f"privilege:{view('web', 'read')}")
    }


def test_resolve_nx_admin_and_nx_anonymous_from_builtin() -> None:
    inst = instance(repositories=[WEB])
    admin = _effective(inst, Principal("admin", roles=("nx-admin",)))
    assert _paths(admin) == {("user:admin", "role:nx-admin", "privilege:nx-all")}
    assert admin.allows(P("nexus:repository-admin:docker:web:delete"))
    anonymous = _effective(inst, Principal("anonymous", anonymous=True, roles=("nx-anonymous",)))
    assert {g.path[-1] for g in anonymous.grants} == {
        "privilege:nx-search-read",
        "privilege:nx-healthcheck-read",
        "privilege:nx-repository-view-*-*-browse",
        "privilege:nx-repository-view-*-*-read",
    }
    assert anonymous.allows(P("nexus:repository-view:docker:web:read"))
    assert not anonymous.allows(P("nexus:repository-view:docker:web:add"))


# --------------------------------------------------------------------------- decide


def _decide(
    inst: Instance, roles: tuple[str, ...], repository: str, action: str
) -> tuple[Access, EffectivePermissions]:
    effective = _effective(inst, Principal("scanner", roles=roles))
    repo = inst.repository(repository)
    assert repo is not None
    decision = decide(effective, repo, action, selector_names(inst, effective))
    return decision.access, effective


def test_decide_granted_and_denied() -> None:
    inst = instance(
        repositories=[WEB, API],
        roles=[role("scan", privileges=[view("web", "read"), view("web", "browse")])],
    )
    effective = _effective(inst, Principal("scanner", roles=("scan",)))
    web, api = inst.repository("web"), inst.repository("api")
    assert web is not None and api is not None
    granted = decide(effective, web, "read", [])
    assert granted.access is Access.GRANTED
    assert [g.path for g in granted.grants] == [
        ("user:scanner", "role:scan", f"privilege:{view('web', 'read')}")
    ]
    denied = decide(effective, api, "read", [])
    assert denied.access is Access.DENIED
    assert denied.grants == ()


def test_decide_read_does_not_open_browse() -> None:
    inst = instance(repositories=[WEB], roles=[role("scan", privileges=[view("web", "read")])])
    assert _decide(inst, ("scan",), "web", "read")[0] is Access.GRANTED
    assert _decide(inst, ("scan",), "web", "browse")[0] is Access.DENIED


@pytest.mark.parametrize(
    ("privilege", "expected"),
    [
        ("nx-repository-view-docker-*-read", Access.GRANTED),
        ("nx-repository-view-*-*-read", Access.GRANTED),
        ("nx-repository-view-docker-*-*", Access.GRANTED),
        ("nx-all", Access.GRANTED),
        ("nx-repository-view-docker-*-browse", Access.DENIED),
        ("nx-repository-admin-*-*-*", Access.DENIED),
        ("custom-docker-glob", Access.DENIED),
        ("custom-all-read", Access.GRANTED),
        ("custom-maven-read", Access.DENIED),
    ],
)
def test_decide_with_wildcard_privileges(privilege: str, expected: Access) -> None:
    inst = instance(
        repositories=[docker_hosted("docker-hosted", http_port=8082)],
        roles=[role("scan", privileges=[privilege])],
        extra_privileges=[
            wildcard_privilege(
                "custom-docker-glob", pattern="nexus:repository-view:docker:docker-*:read"
            ),
            wildcard_privilege("custom-all-read", pattern="nexus:repository-view:*:*:read"),
            repository_view_privilege("custom-maven-read", repository="*", format="maven2"),
        ],
    )
    assert _decide(inst, ("scan",), "docker-hosted", "read")[0] is expected


def test_decide_group_is_checked_on_the_group_alone() -> None:
    inst = instance(
        repositories=[
            docker_hosted("docker-hosted", http_port=8082),
            docker_proxy("docker-hub", http_port=8083),
            docker_group("docker-all", members=["docker-hosted", "docker-hub"], http_port=8084),
        ],
        roles=[
            role("members-only", privileges=[view("docker-hosted", "read")]),
            role("group-only", privileges=[view("docker-all", "read")]),
        ],
    )
    assert _decide(inst, ("members-only",), "docker-hosted", "read")[0] is Access.GRANTED
    assert _decide(inst, ("members-only",), "docker-all", "read")[0] is Access.DENIED
    assert _decide(inst, ("group-only",), "docker-all", "read")[0] is Access.GRANTED
    assert _decide(inst, ("group-only",), "docker-hosted", "read")[0] is Access.DENIED


def test_decide_partial_through_content_selector() -> None:
    inst = instance(
        repositories=[WEB],
        content_selectors=[content_selector("team-a", 'format == "docker" and path =^ "/v2/a/"')],
        roles=[role("team-a", privileges=["team-a-web"])],
        extra_privileges=[
            content_selector_privilege("team-a-web", content_selector="team-a", repository="web")
        ],
    )
    effective = _effective(inst, Principal("scanner", roles=("team-a",)))
    web = inst.repository("web")
    assert web is not None
    decision = decide(effective, web, "read", selector_names(inst, effective))
    assert decision.access is Access.PARTIAL
    assert decision.note is not None and "team-a" in decision.note
    assert [g.path for g in decision.grants] == [
        ("user:scanner", "role:team-a", "privilege:team-a-web")
    ]


def test_decide_repository_view_wins_over_content_selector() -> None:
    inst = instance(
        repositories=[WEB],
        content_selectors=[content_selector("team-a", 'path =^ "/v2/a/"')],
        roles=[role("both", privileges=["team-a-web", view("web", "read")])],
        extra_privileges=[
            content_selector_privilege("team-a-web", content_selector="team-a", repository="web")
        ],
    )
    assert _decide(inst, ("both",), "web", "read")[0] is Access.GRANTED


@pytest.mark.parametrize(
    ("repository_field", "expected"),
    [
        ("*", Access.PARTIAL),
        ("*-docker", Access.PARTIAL),
        ("web", Access.PARTIAL),
        ("api", Access.DENIED),
        ("*-maven2", Access.DENIED),
    ],
)
def test_decide_content_selector_repository_forms(repository_field: str, expected: Access) -> None:
    inst = instance(
        repositories=[WEB, API],
        content_selectors=[content_selector("team-a", 'path =^ "/v2/a/"')],
        roles=[role("cs", privileges=["cs-priv"])],
        extra_privileges=[
            content_selector_privilege(
                "cs-priv", content_selector="team-a", repository=repository_field
            )
        ],
    )
    assert _decide(inst, ("cs",), "web", "read")[0] is expected


def test_decide_content_selector_of_undefined_selector_grants_nothing() -> None:
    privileges = [
        content_selector_privilege("orphan", content_selector="deleted-selector", repository="web")
    ]
    known = instance(
        repositories=[WEB],
        content_selectors=[content_selector("team-a", 'path =^ "/v2/a/"')],
        roles=[role("cs", privileges=["orphan"])],
        extra_privileges=privileges,
    )
    assert _decide(known, ("cs",), "web", "read")[0] is Access.DENIED
    # When the selector list could not be read, the selectors the grants name are tried.
    unknown = instance(
        repositories=[WEB],
        roles=[role("cs", privileges=["orphan"])],
        extra_privileges=privileges,
        omit=["content_selectors"],
    )
    assert unknown.content_selectors is None
    assert _decide(unknown, ("cs",), "web", "read")[0] is Access.PARTIAL


def test_decide_uses_the_repository_format() -> None:
    inst = instance(
        repositories=[WEB, maven_hosted("maven-releases")],
        roles=[role("docker-read", privileges=["nx-repository-view-docker-*-read"])],
    )
    assert _decide(inst, ("docker-read",), "web", "read")[0] is Access.GRANTED
    assert _decide(inst, ("docker-read",), "maven-releases", "read")[0] is Access.DENIED


def test_decide_with_parsed_repository_model() -> None:
    effective = EffectivePermissions(())
    repo = parse_repository(docker_hosted("web", https_port=8443))
    assert decide(effective, repo, "read", []).access is Access.DENIED


def test_a_shared_resolver_answers_like_resolve_for_every_principal() -> None:
    inst = instance(
        roles=[
            role("base", privileges=[view("web", "read")]),
            role("team", privileges=[view("api", "read"), "ghost"], roles=["base", "loop"]),
            role("loop", roles=["team"]),
            role("devs", privileges=[view("web", "browse")]),
        ],
        repositories=[WEB, API],
    )
    assert inst.roles is not None and inst.privileges is not None
    resolver = RoleResolver(inst.roles, inst.privileges)
    principals = [
        Principal("a", roles=("team",)),
        Principal("b", roles=("base", "missing"), external_roles=("devs", "no-such-group")),
        Principal("c", default_role="team"),
    ]
    for principal in principals:
        assert resolver.resolve(principal) == resolve(principal, inst.roles, inst.privileges)


def test_a_role_expansion_is_relative_to_the_role() -> None:
    inst = instance(
        roles=[
            role("base", privileges=[view("web", "read")]),
            role("team", privileges=["ghost"], roles=["base"]),
        ],
        repositories=[WEB],
    )
    assert inst.roles is not None and inst.privileges is not None
    expansion = RoleResolver(inst.roles, inst.privileges).expand("team")
    assert [g.path for g in expansion.grants] == [
        ("role:team", "role:base", f"privilege:{view('web', 'read')}")
    ]
    assert expansion.roles == {"team", "base"}
    assert [(i.kind, i.reference) for i in expansion.issues] == [
        (IssueKind.PRIVILEGE_UNDEFINED, "ghost")
    ]
    undefined = RoleResolver(inst.roles, inst.privileges).expand("nobody")
    assert (undefined.grants, undefined.roles) == ((), frozenset())
    assert [i.kind for i in undefined.issues] == [IssueKind.ROLE_UNDEFINED]
