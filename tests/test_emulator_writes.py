"""The emulator's security writes over real HTTP: Nexus's rules, its status codes and its bodies.

Every body sent here is one of the tables below. ``test_contract.py`` checks that the ones Nexus
accepts, and the ones it refuses for a rule the models cannot see (a duplicate, an unknown
reference), validate against nexus-api-client's request models; the ones it refuses as invalid
must break those models too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from audit.emulator import NexusEmulator
from audit.emulator.server import BASIC_CHALLENGE

JSON = dict[str, Any]

REST = "/service/rest"
PRIVILEGES = "/v1/security/privileges"
ROLES = "/v1/security/roles"
USERS = "/v1/security/users"
ADMIN = ("admin", "admin123")
SCANNER = ("scanner", "scanner123")
VALIDATION_ERRORS = "application/vnd.siesta-validation-errors-v1+json"
SCRIPT = "cleanup"

# --------------------------------------------------------------------------- what is sent

#: One valid create body per privilege type (``ApiPrivilege<Type>Request``).
PRIVILEGE_REQUESTS: dict[str, JSON] = {
    "application": {
        "name": "acme-tasks-run",
        "description": "Run and stop scheduled tasks",
        "domain": "tasks",
        "actions": ["READ", "START", "STOP"],
    },
    "wildcard": {
        "name": "acme-docker-hosted-pull",
        "description": "Pull from docker-hosted, as a raw permission",
        "pattern": "nexus:repository-view:docker:docker-hosted:read",
    },
    "repository-view": {
        "name": "hg-docker-hosted-pull",
        "description": "Pull and list docker-hosted",
        "actions": ["READ", "BROWSE"],
        "format": "docker",
        "repository": "docker-hosted",
    },
    "repository-admin": {
        "name": "acme-maven-admin-read",
        "description": "Read the settings of every maven2 repository",
        "actions": ["READ"],
        "format": "maven2",
        "repository": "*",
    },
    "repository-content-selector": {
        "name": "acme-library-pull",
        "description": "Pull library images through the group",
        "actions": ["READ"],
        "format": "docker",
        "repository": "docker-group",
        "contentSelector": "library-images",
    },
    "script": {
        "name": "acme-cleanup-run",
        "description": "Run the cleanup script",
        "actions": ["RUN", "READ"],
        "scriptName": SCRIPT,
    },
}
VIEW = PRIVILEGE_REQUESTS["repository-view"]

#: Well-formed privileges Nexus refuses: (type, body, message of the 400).
PRIVILEGE_REFUSALS: list[tuple[str, JSON, str]] = [
    (
        "repository-view",
        {**VIEW, "repository": "no-such-repo"},
        "Invalid repository 'no-such-repo' supplied.",
    ),
    (
        "repository-view",
        {**VIEW, "format": "maven2"},
        "Invalid format 'maven2' supplied for repository 'docker-hosted'.",
    ),
    (
        "repository-admin",
        {**PRIVILEGE_REQUESTS["repository-admin"], "format": "cobol"},
        "Invalid format 'cobol' supplied.",
    ),
    (
        "repository-view",
        {**VIEW, "actions": ["READ", "RUN", "START"], "repository": "no-such-repo"},
        # Actions are checked before the repository.
        "Privilege of type 'repository-view' cannot use action(s) of type 'RUN,START'.",
    ),
    (
        "application",
        {**PRIVILEGE_REQUESTS["application"], "actions": ["BROWSE"]},
        "Privilege of type 'application' cannot use action(s) of type 'BROWSE'.",
    ),
    (
        "script",
        {**PRIVILEGE_REQUESTS["script"], "actions": ["START"]},
        "Privilege of type 'script' cannot use action(s) of type 'START'.",
    ),
    (
        "repository-content-selector",
        {**PRIVILEGE_REQUESTS["repository-content-selector"], "contentSelector": "nope"},
        "Invalid selector 'nope' supplied.",
    ),
    (
        "script",
        {**PRIVILEGE_REQUESTS["script"], "scriptName": "no-such-script"},
        "Invalid script 'no-such-script' supplied.",
    ),
    (
        "repository-view",
        {**VIEW, "name": "nx-repository-view-docker-docker-hosted-read"},
        "Privilege 'nx-repository-view-docker-docker-hosted-read' already exists, use a unique "
        "name.",
    ),
]

#: Privilege updates: (type, name in the path, body).
PRIVILEGE_UPDATES: list[tuple[str, str, JSON]] = [
    (
        "repository-view",
        VIEW["name"],
        {**VIEW, "description": "Pull only", "actions": ["READ"]},
    ),
    ("repository-view", "no-such-privilege", {**VIEW, "name": "no-such-privilege"}),
    ("repository-view", "other-name", VIEW),
    (
        "wildcard",
        "nx-all",
        {"name": "nx-all", "description": "Less than all", "pattern": "nexus:search:read"},
    ),
    (
        "repository-view",
        "no-such-privilege",
        {**VIEW, "name": "no-such-privilege", "repository": "no-such-repo"},
    ),
]

#: The role the main scenario creates (``RoleXORequest``).
HG_PULL = {
    "id": "hg-pull",
    "name": "HarborGuard pull",
    "description": "Pull and list docker-hosted",
    "privileges": [VIEW["name"]],
    "roles": [],
}
#: A role that lets its holder read the security roles (to see a grant take effect).
ROLE_READER = {"id": "role-reader", "name": "Role reader", "privileges": ["nx-roles-read"]}
#: A role that lets its holder create roles.
ROLE_CREATOR = {"id": "role-creator", "name": "Role creator", "privileges": ["nx-roles-create"]}

#: Well-formed roles Nexus refuses to create: (body, message of the 400).
ROLE_CREATE_REFUSALS: list[tuple[JSON, str]] = [
    ({**HG_PULL, "id": "hg-scan"}, "Role 'hg-scan' already exists, use a unique roleId."),
    ({**HG_PULL, "id": "nx-admin"}, "Role 'nx-admin' already exists, use a unique roleId."),
    (
        {**HG_PULL, "privileges": ["nx-no-such-privilege"]},
        "Privilege 'nx-no-such-privilege' contained in role 'hg-pull' not found.",
    ),
    (
        {**HG_PULL, "roles": ["no-such-role"], "privileges": ["nx-no-such-privilege"]},
        "Role 'no-such-role' contained in role 'hg-pull' not found.",
    ),
    # On create the role does not exist yet: containing itself is an unknown child role.
    ({**HG_PULL, "roles": ["hg-pull"]}, "Role 'hg-pull' contained in role 'hg-pull' not found."),
]

HG_SCAN = {
    "id": "hg-scan",
    "name": "HarborGuard scanner",
    "description": "Pull access for the HarborGuard image scanner",
    "privileges": [
        "nx-repository-view-docker-docker-hosted-read",
        "nx-repository-view-docker-docker-group-read",
    ],
    "roles": ["ci-legacy"],
}
CI_LEGACY = {
    "id": "ci-legacy",
    "name": "Legacy CI",
    "privileges": ["nx-repository-admin-*-*-*", "nx-search-read"],
    "roles": [],
}
TEAM_A = {"id": "team-a", "name": "Team A", "privileges": ["nx-legacy-deploy"], "roles": ["team-b"]}
NX_ADMIN = {"id": "nx-admin", "name": "nx-admin", "privileges": ["nx-all"], "roles": []}
CONTAINS_ITSELF = "cannot contain itself either directly or indirectly through child roles."

#: Well-formed role updates Nexus refuses: (id in the path, body, status, message).
ROLE_UPDATE_REFUSALS: list[tuple[str, JSON, int, str]] = [
    (
        "no-such-role",
        {**HG_SCAN, "id": "no-such-role"},
        404,
        "Role 'no-such-role' not found.",
    ),
    (
        "hg-scan",
        {**HG_SCAN, "id": "hg-scan-2"},
        409,
        "The Role id 'hg-scan-2' does not match the id used in the path 'hg-scan'.",
    ),
    (
        "nx-admin",
        NX_ADMIN,
        400,
        "Role 'nx-admin' is internal and cannot be modified or deleted.",
    ),
    (
        "hg-scan",
        {**HG_SCAN, "privileges": ["nx-no-such-privilege"]},
        400,
        "Privilege 'nx-no-such-privilege' contained in role 'hg-scan' not found.",
    ),
    (
        "hg-scan",
        {**HG_SCAN, "roles": ["no-such-role"]},
        400,
        "Role 'no-such-role' contained in role 'hg-scan' not found.",
    ),
    ("hg-scan", {**HG_SCAN, "roles": ["hg-scan"]}, 400, f"Role 'hg-scan' {CONTAINS_ITSELF}"),
    # ci-legacy -> hg-scan -> ci-legacy: through a child.
    ("ci-legacy", {**CI_LEGACY, "roles": ["hg-scan"]}, 400, f"Role 'ci-legacy' {CONTAINS_ITSELF}"),
    # The demo's team-a names a privilege that does not exist, and team-a and team-b hold each
    # other: saving team-a unchanged is refused for the first, then for the second.
    (
        "team-a",
        TEAM_A,
        400,
        "Privilege 'nx-legacy-deploy' contained in role 'team-a' not found.",
    ),
    ("team-a", {**TEAM_A, "privileges": []}, 400, f"Role 'team-a' {CONTAINS_ITSELF}"),
]

#: Users as ``GET /v1/security/users`` shows them in the demo (``ApiUser``).
SCANNER_USER: JSON = {
    "userId": "scanner",
    "firstName": "HarborGuard",
    "lastName": "Scanner",
    "emailAddress": "scanner@acme.example",
    "source": "default",
    "status": "active",
    "readOnly": False,
    "roles": ["hg-scan"],
    "externalRoles": [],
}
ALICE_USER: JSON = {
    "userId": "alice",
    "firstName": "Alice",
    "lastName": "Martin",
    "emailAddress": "alice@acme.example",
    "source": "LDAP",
    "status": "active",
    "readOnly": True,
    "roles": [],
    "externalRoles": ["devs", "engineering"],
}
SCANNER_WITH_HG_PULL = {**SCANNER_USER, "roles": ["hg-scan", "hg-pull"]}
SCANNER_RENAMED = {
    **SCANNER_USER,
    "firstName": "Harbor",
    "emailAddress": "hg@acme.example",
    "status": "disabled",
    "roles": ["hg-scan", "docker-readers"],
}
#: Fields of an LDAP user are LDAP's: only the roles are kept.
ALICE_WITH_ROLES = {**ALICE_USER, "firstName": "Mallory", "roles": ["docker-readers"]}

#: Well-formed user updates Nexus refuses: (userId in the path, body, status, body answered).
USER_REFUSALS: list[tuple[str, JSON, int, Any]] = [
    (
        "ghost",
        {**SCANNER_USER, "userId": "ghost"},
        404,
        {"id": "*", "message": "\"User 'ghost' not found.\""},
    ),
    (
        "scanner",
        {**SCANNER_USER, "source": "LDAP"},
        404,
        {"id": "*", "message": "\"User 'scanner' not found.\""},
    ),
    (
        "scanner",
        {**SCANNER_USER, "source": "Crowd"},  # Crowd is a Pro source
        404,
        {"id": "*", "message": '"Unable to locate source: Crowd"'},
    ),
    (
        "scanner",
        {**SCANNER_USER, "userId": "trivy"},
        400,
        {"id": "*", "message": '"The path\'s userId does not match the body"'},
    ),
    (
        "scanner",
        {**SCANNER_USER, "roles": ["hg-scan", "no-such-role", "nope"]},
        400,
        [
            {"id": "roles", "message": "Unable to locate roleId: no-such-role"},
            {"id": "roles", "message": "Unable to locate roleId: nope"},
        ],
    ),
    # The model lets roles be empty; Nexus's ApiUser says @NotEmpty.
    (
        "scanner",
        {**SCANNER_USER, "roles": []},
        400,
        [{"id": "PARAMETER roles", "message": "must not be empty"}],
    ),
]

NAME_RULE = (
    "Only letters, digits, underscores(_), hyphens(-), and dots(.) are allowed and may not start "
    "with underscore or dot."
)

#: Bodies Nexus refuses as invalid; they break nexus-api-client's models too:
#: (model, method, path, body, validation errors answered).
INVALID_REQUESTS: list[tuple[str, str, str, JSON, list[JSON]]] = [
    (
        "repository-view",
        "POST",
        f"{PRIVILEGES}/repository-view",
        {**VIEW, "name": "_hidden", "actions": []},
        [
            {"id": "PARAMETER name", "message": NAME_RULE},
            {"id": "PARAMETER actions", "message": "must not be empty"},
        ],
    ),
    (
        "repository-view",
        "POST",
        f"{PRIVILEGES}/repository-view",
        {key: value for key, value in VIEW.items() if key not in ("name", "repository")},
        [
            {"id": "PARAMETER name", "message": "must not be blank"},
            {"id": "PARAMETER repository", "message": "must not be blank"},
        ],
    ),
    (
        "wildcard",
        "PUT",
        f"{PRIVILEGES}/wildcard/acme-docker-hosted-pull",
        {**PRIVILEGE_REQUESTS["wildcard"], "pattern": ""},
        [{"id": "PARAMETER pattern", "message": "must not be blank"}],
    ),
    (
        "role",
        "POST",
        ROLES,
        {"description": "no id, empty name", "name": ""},
        [
            {"id": "PARAMETER id", "message": "must not be empty"},
            {"id": "PARAMETER name", "message": "must not be empty"},
        ],
    ),
    (
        "role",
        "PUT",
        f"{ROLES}/hg-scan",
        {**HG_SCAN, "name": ""},
        [{"id": "PARAMETER name", "message": "must not be empty"}],
    ),
    (
        "user",
        "PUT",
        f"{USERS}/scanner",
        {key: value for key, value in SCANNER_USER.items() if key != "status"},
        [{"id": "PARAMETER status", "message": "must not be null"}],
    ),
]


def _model_valid_requests() -> list[tuple[str, JSON]]:
    """(model, body) of every body sent that is well-formed; see ``test_contract.py``."""
    bodies: list[tuple[str, JSON]] = list(PRIVILEGE_REQUESTS.items())
    bodies += [(kind, body) for kind, body, _ in PRIVILEGE_REFUSALS]
    bodies += [(kind, body) for kind, _, body in PRIVILEGE_UPDATES]
    roles = [HG_PULL, ROLE_READER, ROLE_CREATOR, HG_SCAN, CI_LEGACY, TEAM_A, NX_ADMIN]
    roles += [body for body, _ in ROLE_CREATE_REFUSALS]
    roles += [body for _, body, _, _ in ROLE_UPDATE_REFUSALS]
    bodies += [("role", body) for body in roles]
    users = [SCANNER_USER, SCANNER_WITH_HG_PULL, SCANNER_RENAMED, ALICE_WITH_ROLES]
    users += [body for _, body, _, _ in USER_REFUSALS]
    bodies += [("user", body) for body in users]
    return bodies


MODEL_VALID_REQUESTS = _model_valid_requests()


# --------------------------------------------------------------------------- helpers


@pytest.fixture()
def admin(emulator: NexusEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url + REST, auth=ADMIN, timeout=5) as client:
        yield client


@pytest.fixture()
def scripted(demo_dataset: JSON, make_emulator: Any) -> Iterator[httpx.Client]:
    """An admin client of the demo with one script defined, so script privileges can exist."""
    demo_dataset["emulator"]["scripts"] = [SCRIPT]
    emulator = make_emulator(demo_dataset)
    with httpx.Client(base_url=emulator.url + REST, auth=ADMIN, timeout=5) as client:
        yield client


def nexus_message(text: str) -> JSON:
    """What Nexus 3.77 answers for a broken rule: one ValidationErrorXO, its quotes included."""
    return {"id": "*", "message": f'"{text}"'}


def assert_message(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == nexus_message(text)


def assert_empty(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.content == b""
    assert "content-type" not in response.headers


def get_json(client: httpx.Client, path: str, **params: str) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return response.json()


def user(client: httpx.Client, user_id: str, source: str = "default") -> JSON:
    found = get_json(client, USERS, userId=user_id, source=source)
    matches = [u for u in found if u["userId"] == user_id]
    assert len(matches) == 1
    result: JSON = matches[0]
    return result


def security_state(client: httpx.Client) -> tuple[Any, Any, Any]:
    return get_json(client, PRIVILEGES), get_json(client, ROLES), get_json(client, USERS)


# --------------------------------------------------------------------------- the scenario


def test_admin_creates_a_privilege_and_a_role_and_gives_it_to_scanner(
    admin: httpx.Client, emulator: NexusEmulator
) -> None:
    assert_empty(admin.post(f"{PRIVILEGES}/repository-view", json=VIEW), 201)
    assert get_json(admin, f"{PRIVILEGES}/{VIEW['name']}") == {
        "type": "repository-view",
        "name": "hg-docker-hosted-pull",
        "description": "Pull and list docker-hosted",
        "readOnly": False,
        "format": "docker",
        "repository": "docker-hosted",
        "actions": ["READ", "BROWSE"],
    }

    created = admin.post(ROLES, json=HG_PULL)
    assert created.status_code == 200
    assert created.headers["content-type"] == "application/json"
    expected_role = {"source": "default", "readOnly": False, **HG_PULL}
    assert created.json() == expected_role
    assert get_json(admin, f"{ROLES}/hg-pull") == expected_role
    assert "hg-pull" in [role["id"] for role in get_json(admin, ROLES)]

    scanner = user(admin, "scanner")
    assert scanner == SCANNER_USER
    assert_empty(admin.put(f"{USERS}/scanner", json=SCANNER_WITH_HG_PULL), 204)
    assert user(admin, "scanner")["roles"] == ["hg-scan", "hg-pull"]

    written = [(r.method, r.path, r.user_id, r.status) for r in emulator.requests]
    assert written[0] == ("POST", f"{REST}{PRIVILEGES}/repository-view", "admin", 201)
    assert ("POST", f"{REST}{ROLES}", "admin", 200) in written
    assert ("PUT", f"{REST}{USERS}/scanner", "admin", 204) in written


def test_a_granted_role_takes_effect_on_the_next_request(admin: httpx.Client) -> None:
    with httpx.Client(base_url=admin.base_url, auth=SCANNER, timeout=5) as scanner:
        assert scanner.get(ROLES).status_code == 403
        assert admin.post(ROLES, json=ROLE_READER).status_code == 200
        granted = {**SCANNER_USER, "roles": ["hg-scan", "role-reader"]}
        assert_empty(admin.put(f"{USERS}/scanner", json=granted), 204)
        assert scanner.get(ROLES).status_code == 200
        # Writing needs its own permission: reading roles does not let scanner create one.
        assert_empty(scanner.post(ROLES, json=HG_PULL), 403)


def test_writes_are_authorized_by_permission_not_by_being_admin(admin: httpx.Client) -> None:
    assert admin.post(ROLES, json=ROLE_CREATOR).status_code == 200
    granted = {**SCANNER_USER, "roles": ["hg-scan", "role-creator"]}
    assert_empty(admin.put(f"{USERS}/scanner", json=granted), 204)
    with httpx.Client(base_url=admin.base_url, auth=SCANNER, timeout=5) as scanner:
        assert scanner.post(ROLES, json={**HG_PULL, "privileges": []}).status_code == 200
        assert_empty(scanner.put(f"{ROLES}/hg-pull", json={**HG_PULL, "privileges": []}), 403)


# --------------------------------------------------------------------------- privileges


@pytest.mark.parametrize("kind", sorted(PRIVILEGE_REQUESTS))
def test_every_privilege_type_is_created_and_served_like_the_others(
    scripted: httpx.Client, kind: str
) -> None:
    body = PRIVILEGE_REQUESTS[kind]
    assert_empty(scripted.post(f"{PRIVILEGES}/{kind}", json=body), 201)
    served = get_json(scripted, f"{PRIVILEGES}/{body['name']}")
    assert served == {"type": kind, "readOnly": False, **body}
    assert list(served)[:4] == ["type", "name", "description", "readOnly"]
    listed = get_json(scripted, PRIVILEGES)
    assert served in listed
    # Laid out as the privileges Nexus created itself (the demo has no script privilege).
    same_type = [p for p in listed if p["type"] == kind and p["name"] != body["name"]]
    if same_type:
        assert list(served) == list(same_type[0])
    else:
        assert list(served) == ["type", "name", "description", "readOnly", "scriptName", "actions"]


def test_actions_match_case_insensitively_and_description_defaults_to_empty(
    admin: httpx.Client,
) -> None:
    body = {key: value for key, value in VIEW.items() if key != "description"}
    body["actions"] = ["read", "Browse"]
    assert admin.post(f"{PRIVILEGES}/repository-view", json=body).status_code == 201
    served = get_json(admin, f"{PRIVILEGES}/{VIEW['name']}")
    assert served["actions"] == ["READ", "BROWSE"]
    assert served["description"] == ""


def test_any_repository_of_a_format_nexus_knows(admin: httpx.Client) -> None:
    # No pypi repository exists, but the server knows the format. A concrete repository may
    # go with format "*".
    accepted = [("all-pypi", "pypi", "*"), ("all", "*", "*"), ("any-format", "*", "docker-hosted")]
    for name, fmt, repository in accepted:
        body = {**VIEW, "name": name, "format": fmt, "repository": repository}
        assert_empty(admin.post(f"{PRIVILEGES}/repository-view", json=body), 201)


@pytest.mark.parametrize(("kind", "body", "text"), PRIVILEGE_REFUSALS)
def test_privileges_nexus_refuses(scripted: httpx.Client, kind: str, body: JSON, text: str) -> None:
    before = get_json(scripted, PRIVILEGES)
    assert_message(scripted.post(f"{PRIVILEGES}/{kind}", json=body), 400, text)
    assert get_json(scripted, PRIVILEGES) == before


def test_a_duplicate_privilege_name_is_refused(admin: httpx.Client) -> None:
    assert admin.post(f"{PRIVILEGES}/repository-view", json=VIEW).status_code == 201
    text = "Privilege 'hg-docker-hosted-pull' already exists, use a unique name."
    assert_message(admin.post(f"{PRIVILEGES}/repository-view", json=VIEW), 400, text)
    # Names are unique across types.
    wildcard = {**PRIVILEGE_REQUESTS["wildcard"], "name": VIEW["name"]}
    assert_message(admin.post(f"{PRIVILEGES}/wildcard", json=wildcard), 400, text)


def test_privilege_updates(admin: httpx.Client) -> None:
    assert admin.post(f"{PRIVILEGES}/repository-view", json=VIEW).status_code == 201
    (kind, name, body), missing, mismatch, internal, invalid = PRIVILEGE_UPDATES
    assert_empty(admin.put(f"{PRIVILEGES}/{kind}/{name}", json=body), 204)
    served = get_json(admin, f"{PRIVILEGES}/{name}")
    assert (served["description"], served["actions"]) == ("Pull only", ["READ"])

    kind, name, body = missing
    assert_message(
        admin.put(f"{PRIVILEGES}/{kind}/{name}", json=body),
        404,
        "Privilege 'no-such-privilege' not found.",
    )
    kind, name, body = mismatch
    assert_message(
        admin.put(f"{PRIVILEGES}/{kind}/{name}", json=body),
        409,
        "The privilege name 'hg-docker-hosted-pull' does not match the name used in the path "
        "'other-name'.",
    )
    kind, name, body = internal
    assert_message(
        admin.put(f"{PRIVILEGES}/{kind}/{name}", json=body),
        400,
        "Privilege 'nx-all' is internal and cannot be modified or deleted.",
    )
    assert get_json(admin, f"{PRIVILEGES}/nx-all")["pattern"] == "nexus:*"
    # Nexus checks the body before it looks the privilege up.
    kind, name, body = invalid
    assert_message(
        admin.put(f"{PRIVILEGES}/{kind}/{name}", json=body),
        400,
        "Invalid repository 'no-such-repo' supplied.",
    )


def test_deleting_a_privilege_strips_it_from_every_role(admin: httpx.Client) -> None:
    assert admin.post(f"{PRIVILEGES}/repository-view", json=VIEW).status_code == 201
    assert admin.post(ROLES, json=HG_PULL).status_code == 200
    assert_empty(admin.delete(f"{PRIVILEGES}/{VIEW['name']}"), 204)
    assert_message(
        admin.get(f"{PRIVILEGES}/{VIEW['name']}"),
        404,
        "Privilege 'hg-docker-hosted-pull' not found.",
    )
    assert get_json(admin, f"{ROLES}/hg-pull")["privileges"] == []
    # A privilege of the demo too: trivy-partial loses it, and trivy with it.
    assert_empty(admin.delete(f"{PRIVILEGES}/docker-library-only"), 204)
    assert get_json(admin, f"{ROLES}/trivy-partial")["privileges"] == []

    assert_message(
        admin.delete(f"{PRIVILEGES}/nx-all"),
        400,
        "Privilege 'nx-all' is internal and cannot be modified or deleted.",
    )
    assert_message(
        admin.delete(f"{PRIVILEGES}/no-such-privilege"),
        404,
        "Privilege 'no-such-privilege' not found.",
    )


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(("body", "text"), ROLE_CREATE_REFUSALS)
def test_roles_nexus_refuses_to_create(admin: httpx.Client, body: JSON, text: str) -> None:
    before = get_json(admin, ROLES)
    assert_message(admin.post(ROLES, json=body), 400, text)
    assert get_json(admin, ROLES) == before


def test_a_role_without_description_shows_its_id(admin: httpx.Client) -> None:
    created = admin.post(
        ROLES, json={"id": "bare", "name": "Bare", "roles": ["hg-scan", "hg-scan"]}
    )
    assert created.json() == {
        "id": "bare",
        "source": "default",
        "name": "Bare",
        "description": "bare",
        "readOnly": False,
        "privileges": [],
        "roles": ["hg-scan"],
    }


def test_role_update(admin: httpx.Client) -> None:
    changed = {**HG_SCAN, "name": "Scanner", "privileges": ["nx-search-read"], "roles": []}
    assert_empty(admin.put(f"{ROLES}/hg-scan", json=changed), 204)
    assert get_json(admin, f"{ROLES}/hg-scan") == {
        "source": "default",
        "readOnly": False,
        **changed,
    }
    # The scanner's access follows: ci-legacy's repository administration is gone.
    with httpx.Client(base_url=admin.base_url, auth=SCANNER, timeout=5) as scanner:
        assert get_json(scanner, "/v1/repositorySettings") == []


@pytest.mark.parametrize(("role_id", "body", "status", "text"), ROLE_UPDATE_REFUSALS)
def test_role_updates_nexus_refuses(
    admin: httpx.Client, role_id: str, body: JSON, status: int, text: str
) -> None:
    before = get_json(admin, ROLES)
    assert_message(admin.put(f"{ROLES}/{role_id}", json=body), status, text)
    assert get_json(admin, ROLES) == before


def test_deleting_a_role_strips_it_from_roles_and_users(admin: httpx.Client) -> None:
    assert_empty(admin.delete(f"{ROLES}/ci-legacy"), 204)
    assert_message(admin.get(f"{ROLES}/ci-legacy"), 404, "Role 'ci-legacy' not found.")
    assert get_json(admin, f"{ROLES}/hg-scan")["roles"] == []
    assert_empty(admin.delete(f"{ROLES}/docker-readers"), 204)
    assert user(admin, "harbor-ok")["roles"] == []
    assert user(admin, "bob.sso", "SAML")["roles"] == []

    assert_message(
        admin.delete(f"{ROLES}/nx-admin"),
        400,
        "Role 'nx-admin' is internal and cannot be modified or deleted.",
    )
    assert_message(admin.delete(f"{ROLES}/no-such-role"), 404, "Role 'no-such-role' not found.")


# --------------------------------------------------------------------------- users


def test_a_local_user_takes_every_field(admin: httpx.Client) -> None:
    assert_empty(admin.put(f"{USERS}/scanner", json=SCANNER_RENAMED), 204)
    assert user(admin, "scanner") == SCANNER_RENAMED
    # Now disabled: the scanner can no longer log in.
    refused = httpx.get(f"{admin.base_url}{ROLES}", auth=SCANNER)
    assert (refused.status_code, refused.headers["WWW-Authenticate"]) == (401, BASIC_CHALLENGE)


def test_an_external_user_only_takes_roles(admin: httpx.Client) -> None:
    assert_empty(admin.put(f"{USERS}/alice", json=ALICE_WITH_ROLES), 204)
    assert user(admin, "alice", "LDAP") == {**ALICE_USER, "roles": ["docker-readers"]}


@pytest.mark.parametrize(("user_id", "body", "status", "answer"), USER_REFUSALS)
def test_user_updates_nexus_refuses(
    admin: httpx.Client, user_id: str, body: JSON, status: int, answer: Any
) -> None:
    before = get_json(admin, USERS)
    response = admin.put(f"{USERS}/{user_id}", json=body, headers={"Accept": "application/json"})
    assert (response.status_code, response.json()) == (status, answer)
    assert response.headers["content-type"] == "application/json"
    assert get_json(admin, USERS) == before


# --------------------------------------------------------------------------- who may write

WRITES: list[tuple[str, str, JSON | None]] = [
    ("POST", f"{PRIVILEGES}/repository-view", VIEW),
    ("PUT", f"{PRIVILEGES}/repository-view/docker-library-only", VIEW),
    ("DELETE", f"{PRIVILEGES}/docker-library-only", None),
    ("POST", ROLES, HG_PULL),
    ("PUT", f"{ROLES}/hg-scan", HG_SCAN),
    ("DELETE", f"{ROLES}/hg-scan", None),
    ("PUT", f"{USERS}/scanner", SCANNER_WITH_HG_PULL),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_need_their_permission(
    admin: httpx.Client, emulator: NexusEmulator, method: str, path: str, body: JSON | None
) -> None:
    before = security_state(admin)
    url = f"{emulator.url}{REST}{path}"
    denied = httpx.request(method, url, json=body, auth=SCANNER)
    assert_empty(denied, 403)
    anonymous = httpx.request(method, url, json=body)
    assert_empty(anonymous, 403)
    wrong = httpx.request(method, url, json=body, auth=("admin", "wrong"))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    refused = [(r.method, r.user_id, r.status) for r in emulator.requests[-3:]]
    assert refused == [(method, "scanner", 403), (method, "anonymous", 403), (method, None, 401)]
    assert security_state(admin) == before


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("model", "method", "path", "body", "errors"), INVALID_REQUESTS)
def test_invalid_bodies_get_validation_errors(
    admin: httpx.Client, model: str, method: str, path: str, body: JSON, errors: list[JSON]
) -> None:
    response = admin.request(method, path, json=body)
    assert (response.status_code, response.json()) == (400, errors)
    assert response.headers["content-type"] == VALIDATION_ERRORS
    asked = admin.request(method, path, json=body, headers={"Accept": "application/json"})
    assert (asked.status_code, asked.headers["content-type"]) == (400, "application/json")
    assert asked.json() == errors


@pytest.mark.parametrize(
    ("content", "answer"),
    [
        (b'{"id": "hg-pull", "name": ', None),
        (b"\xff\xfe{", None),
        (b"[" * 50_000, None),
        (b'{"id": "\\ud800", "name": "lone surrogate"}', None),
        (b"", [{"id": "*", "message": "must not be null"}]),
        (b"null", [{"id": "*", "message": "must not be null"}]),
        (
            b'["hg-pull"]',
            [
                {
                    "id": "*",
                    "message": "Cannot deserialize value of type "
                    "`org.sonatype.nexus.security.role.rest.RoleXORequest` from Array value",
                }
            ],
        ),
        (
            b'{"id": "hg-pull", "name": "x", "privileges": "nx-search-read"}',
            [
                {
                    "id": "privileges",
                    "message": "Cannot deserialize value of type "
                    "`java.util.Set<java.lang.String>` from String value",
                }
            ],
        ),
    ],
)
def test_bodies_that_are_not_a_role_are_refused_never_crash(
    admin: httpx.Client, content: bytes, answer: Any
) -> None:
    before = get_json(admin, ROLES)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    response = admin.post(ROLES, content=content, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if answer is None:  # not JSON at all: one object, as Nexus's JsonProcessingExceptionMapper
        assert body["id"] == "*"
        assert body["message"].startswith("Could not process the input: ")
    else:
        assert body == answer
    assert get_json(admin, ROLES) == before


def test_unknown_action_names_and_wrong_types_are_mapping_errors(admin: httpx.Client) -> None:
    response = admin.post(f"{PRIVILEGES}/repository-view", json={**VIEW, "actions": ["FETCH"]})
    assert response.status_code == 400
    (error,) = response.json()
    assert error["id"] == "actions"
    assert 'from String "FETCH": not one of the values accepted' in error["message"]
    status = admin.put(f"{USERS}/scanner", json={**SCANNER_USER, "status": "retired"})
    assert (status.status_code, status.json()[0]["id"]) == (400, "status")


def test_only_json_bodies_are_taken(admin: httpx.Client) -> None:
    response = admin.post(ROLES, content=b"id=hg-pull", headers={"Content-Type": "text/plain"})
    assert_empty(response, 415)
    charset = {"Content-Type": "application/json; charset=UTF-8"}
    assert (
        admin.post(ROLES, content=b'{"id": "a", "name": "A"}', headers=charset).status_code == 200
    )


def test_a_type_nexus_has_no_privilege_of_is_not_a_route(admin: httpx.Client) -> None:
    response = admin.post(f"{PRIVILEGES}/docker-token", json=VIEW)
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET"


def test_reads_refuse_with_the_same_bodies(admin: httpx.Client) -> None:
    assert_message(admin.get(f"{ROLES}/no-such-role"), 404, "Role 'no-such-role' not found.")
    assert_message(admin.get(ROLES, params={"source": "Okta"}), 400, "Source 'Okta' not found.")


def test_the_dataset_given_is_never_changed(demo_dataset: JSON, make_emulator: Any) -> None:
    original = copy.deepcopy(demo_dataset)
    emulator = make_emulator(demo_dataset)
    with httpx.Client(base_url=emulator.url + REST, auth=ADMIN, timeout=5) as client:
        assert client.delete(f"{ROLES}/hg-scan").status_code == 204
    assert demo_dataset == original
    assert "hg-scan" not in [role["id"] for role in emulator.state["roles"]]
