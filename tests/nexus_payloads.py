"""Realistic Nexus REST bodies and snapshot documents for the unit tests of the pure core.

Every builder returns JSON exactly as Nexus Repository 3 (3.77 Community unless stated) returns
it from its REST API: camelCase keys, REST enum names for privilege actions (``READ``, ``ADD``,
``ALL``), the per-repository privileges Nexus creates with every repository, and the blocks of
``GET /v1/repositorySettings`` (storage, docker, proxy, dockerProxy, httpClient, negativeCache,
group). The built-in privileges, roles and users come from ``audit/emulator/datasets/builtin.json``
so the tests see the same defaults an unconfigured server has.

:func:`snapshot` assembles the document :func:`audit.model.parse_instance` reads; :func:`instance`
parses it in one step.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import audit
from audit.model import SNAPSHOT_FORMAT_VERSION, Instance, Privilege, Repository, parse_instance

JSON = dict[str, Any]

BUILTIN_PATH = Path(audit.__file__).resolve().parent / "emulator" / "datasets" / "builtin.json"

BASE_URL = "https://nexus.example.com"
SERVER_COMMUNITY = "Nexus/3.77.1-01 (COMMUNITY)"
SERVER_PRO = "Nexus/3.77.1-01 (PRO)"
SERVER_OSS = "Nexus/3.68.1-02 (OSS)"

REALM_LOCAL = "NexusAuthenticatingRealm"
REALM_DOCKER_TOKEN = "DockerToken"
REALM_LDAP = "LdapRealm"
REALM_SAML = "SamlRealm"
REALM_DEFAULT_ROLE = "DefaultRole"
REALM_USER_TOKEN = "User-Token-Realm"

#: Per-repository privileges Nexus creates with each repository (RepositoryFormatSecurityContributor
#: and RepositoryAdminSecurityContributor): six view actions, five admin actions (no admin ``add``).
VIEW_ACTIONS = ("*", "browse", "read", "edit", "add", "delete")
ADMIN_ACTIONS = ("*", "browse", "read", "edit", "delete")

_REST_ACTION = {
    "*": "ALL",
    "browse": "BROWSE",
    "read": "READ",
    "edit": "EDIT",
    "add": "ADD",
    "delete": "DELETE",
}
_HUMAN_ACTION = {
    "*": "All privileges",
    "browse": "Browse privilege",
    "read": "Read privilege",
    "edit": "Edit privilege",
    "add": "Add privilege",
    "delete": "Delete privilege",
}


# --------------------------------------------------------------------------- built-ins


@functools.lru_cache(maxsize=1)
def _builtin_text() -> str:
    return BUILTIN_PATH.read_text(encoding="utf-8")


def load_builtin() -> JSON:
    """A fresh copy of the built-in security objects (safe to mutate)."""
    data: JSON = json.loads(_builtin_text())
    return data


def builtin_privileges() -> list[JSON]:
    privileges: list[JSON] = load_builtin()["privileges"]
    return privileges


def builtin_privilege(name: str) -> JSON:
    for privilege in builtin_privileges():
        if privilege["name"] == name:
            return privilege
    raise KeyError(name)


def builtin_roles() -> list[JSON]:
    roles: list[JSON] = load_builtin()["roles"]
    return roles


def builtin_users() -> list[JSON]:
    users: list[JSON] = load_builtin()["users"]
    return users


# --------------------------------------------------------------------------- users and roles


def user(
    user_id: str,
    *,
    roles: Sequence[str] = (),
    source: str = "default",
    status: str = "active",
    external_roles: Sequence[str] = (),
    first_name: str | None = None,
    last_name: str = "Account",
    email: str | None = None,
) -> JSON:
    """A ``GET /v1/security/users`` item. External users are read-only in Nexus."""
    return {
        "userId": user_id,
        "firstName": first_name or user_id.capitalize(),
        "lastName": last_name,
        "emailAddress": email or f"{user_id}@example.com",
        "source": source,
        "status": status,
        "readOnly": source != "default",
        "roles": list(roles),
        "externalRoles": list(external_roles),
    }


def ldap_user(user_id: str, *, groups: Sequence[str], roles: Sequence[str] = ()) -> JSON:
    """An LDAP user as listed with ``source=LDAP``: groups arrive as ``externalRoles``."""
    return user(user_id, source="LDAP", external_roles=groups, roles=roles)


def saml_user(user_id: str, *, groups: Sequence[str] = (), roles: Sequence[str] = ()) -> JSON:
    """A SAML (SSO, Pro) user: no password a registry could check."""
    return user(user_id, source="SAML", external_roles=groups, roles=roles)


def role(
    role_id: str,
    *,
    privileges: Sequence[str] = (),
    roles: Sequence[str] = (),
    name: str | None = None,
    description: str | None = None,
    source: str = "default",
    read_only: bool = False,
) -> JSON:
    """A ``GET /v1/security/roles`` item."""
    return {
        "id": role_id,
        "source": source,
        "name": name or role_id,
        "description": description or f"{role_id} role",
        "readOnly": read_only,
        "privileges": list(privileges),
        "roles": list(roles),
    }


# --------------------------------------------------------------------------- privileges


def application_privilege(
    name: str, *, domain: str, actions: Sequence[str] = ("READ",), description: str = ""
) -> JSON:
    return {
        "type": "application",
        "name": name,
        "description": description or f"Application privilege {name}",
        "readOnly": False,
        "domain": domain,
        "actions": list(actions),
    }


def repository_view_privilege(
    name: str,
    *,
    repository: str,
    format: str = "docker",
    actions: Sequence[str] = ("READ",),
    description: str = "",
    read_only: bool = False,
) -> JSON:
    return {
        "type": "repository-view",
        "name": name,
        "description": description or f"Repository view privilege {name}",
        "readOnly": read_only,
        "format": format,
        "repository": repository,
        "actions": list(actions),
    }


def repository_admin_privilege(
    name: str,
    *,
    repository: str,
    format: str = "docker",
    actions: Sequence[str] = ("READ",),
    description: str = "",
    read_only: bool = False,
) -> JSON:
    return {
        "type": "repository-admin",
        "name": name,
        "description": description or f"Repository admin privilege {name}",
        "readOnly": read_only,
        "format": format,
        "repository": repository,
        "actions": list(actions),
    }


def content_selector_privilege(
    name: str,
    *,
    content_selector: str,
    repository: str,
    format: str = "docker",
    actions: Sequence[str] = ("READ", "BROWSE"),
    description: str = "",
) -> JSON:
    return {
        "type": "repository-content-selector",
        "name": name,
        "description": description or f"Content selector privilege {name}",
        "readOnly": False,
        "format": format,
        "repository": repository,
        "actions": list(actions),
        "contentSelector": content_selector,
    }


def wildcard_privilege(name: str, *, pattern: str, description: str = "") -> JSON:
    return {
        "type": "wildcard",
        "name": name,
        "description": description or f"Wildcard privilege {name}",
        "readOnly": False,
        "pattern": pattern,
    }


def script_privilege(
    name: str, *, script_name: str, actions: Sequence[str] = ("RUN",), description: str = ""
) -> JSON:
    return {
        "type": "script",
        "name": name,
        "description": description or f"Script privilege {name}",
        "readOnly": False,
        "scriptName": script_name,
        "actions": list(actions),
    }


def repository_privileges(repository: str, format: str = "docker") -> list[JSON]:
    """The read-only privileges Nexus creates with a repository, as REST lists them."""
    view = [
        {
            "type": "repository-view",
            "name": f"nx-repository-view-{format}-{repository}-{action}",
            "description": f"{_HUMAN_ACTION[action]} for {repository} repository views",
            "readOnly": True,
            "format": format,
            "repository": repository,
            "actions": [_REST_ACTION[action]],
        }
        for action in VIEW_ACTIONS
    ]
    admin = [
        {
            "type": "repository-admin",
            "name": f"nx-repository-admin-{format}-{repository}-{action}",
            "description": f"{_HUMAN_ACTION[action]} for {repository} repository administration",
            "readOnly": True,
            "format": format,
            "repository": repository,
            "actions": [_REST_ACTION[action]],
        }
        for action in ADMIN_ACTIONS
    ]
    return view + admin


def view(repository: str, action: str) -> str:
    """Name of an auto-created docker repository-view privilege, e.g. ``…-docker-web-read``."""
    return f"nx-repository-view-docker-{repository}-{action}"


# --------------------------------------------------------------------------- repositories


def _docker_block(
    *,
    http_port: int | None,
    https_port: int | None,
    subdomain: str | None,
    path_enabled: bool | None,
    force_basic_auth: bool,
    v1_enabled: bool,
) -> JSON:
    block: JSON = {
        "v1Enabled": v1_enabled,
        "forceBasicAuth": force_basic_auth,
        "httpPort": http_port,
        "httpsPort": https_port,
        "subdomain": subdomain,
    }
    if path_enabled is not None:  # 3.83+ only
        block["pathEnabled"] = path_enabled
    return block


def docker_hosted(
    name: str,
    *,
    http_port: int | None = None,
    https_port: int | None = None,
    subdomain: str | None = None,
    path_enabled: bool | None = None,
    force_basic_auth: bool = True,
    v1_enabled: bool = False,
    online: bool = True,
    base_url: str = BASE_URL,
    blob_store: str = "default",
) -> JSON:
    """A docker hosted repository as ``GET /v1/repositorySettings`` returns it."""
    return {
        "name": name,
        "format": "docker",
        "type": "hosted",
        "url": f"{base_url}/repository/{name}",
        "online": online,
        "storage": {
            "blobStoreName": blob_store,
            "strictContentTypeValidation": True,
            "writePolicy": "allow_once",
            "latestPolicy": False,
        },
        "cleanup": None,
        "docker": _docker_block(
            http_port=http_port,
            https_port=https_port,
            subdomain=subdomain,
            path_enabled=path_enabled,
            force_basic_auth=force_basic_auth,
            v1_enabled=v1_enabled,
        ),
        "component": {"proprietaryComponents": False},
    }


def docker_proxy(
    name: str,
    *,
    remote_url: str = "https://registry-1.docker.io",
    index_type: str = "HUB",
    index_url: str | None = None,
    http_port: int | None = None,
    https_port: int | None = None,
    subdomain: str | None = None,
    path_enabled: bool | None = None,
    force_basic_auth: bool = True,
    online: bool = True,
    base_url: str = BASE_URL,
) -> JSON:
    """A docker proxy repository as ``GET /v1/repositorySettings`` returns it."""
    return {
        "name": name,
        "format": "docker",
        "type": "proxy",
        "url": f"{base_url}/repository/{name}",
        "online": online,
        "storage": {"blobStoreName": "default", "strictContentTypeValidation": True},
        "cleanup": None,
        "proxy": {"remoteUrl": remote_url, "contentMaxAge": 1440, "metadataMaxAge": 1440},
        "negativeCache": {"enabled": True, "timeToLive": 1440},
        "httpClient": {
            "blocked": False,
            "autoBlock": True,
            "connection": {
                "retries": None,
                "userAgentSuffix": None,
                "timeout": None,
                "enableCircularRedirects": False,
                "enableCookies": False,
                "useTrustStore": False,
            },
            "authentication": None,
        },
        "routingRuleName": None,
        "docker": _docker_block(
            http_port=http_port,
            https_port=https_port,
            subdomain=subdomain,
            path_enabled=path_enabled,
            force_basic_auth=force_basic_auth,
            v1_enabled=False,
        ),
        "dockerProxy": {
            "indexType": index_type,
            "indexUrl": index_url,
            "cacheForeignLayers": False,
            "foreignLayerUrlWhitelist": [],
        },
    }


def docker_group(
    name: str,
    *,
    members: Sequence[str],
    http_port: int | None = None,
    https_port: int | None = None,
    subdomain: str | None = None,
    path_enabled: bool | None = None,
    force_basic_auth: bool = True,
    online: bool = True,
    base_url: str = BASE_URL,
) -> JSON:
    """A docker group repository as ``GET /v1/repositorySettings`` returns it."""
    return {
        "name": name,
        "format": "docker",
        "type": "group",
        "url": f"{base_url}/repository/{name}",
        "online": online,
        "storage": {"blobStoreName": "default", "strictContentTypeValidation": True},
        "group": {"memberNames": list(members), "writableMember": None},
        "docker": _docker_block(
            http_port=http_port,
            https_port=https_port,
            subdomain=subdomain,
            path_enabled=path_enabled,
            force_basic_auth=force_basic_auth,
            v1_enabled=False,
        ),
    }


def maven_hosted(name: str, *, base_url: str = BASE_URL) -> JSON:
    """A non-docker repository (maven2 hosted), as ``/v1/repositorySettings`` returns it."""
    return {
        "name": name,
        "format": "maven2",
        "type": "hosted",
        "url": f"{base_url}/repository/{name}",
        "online": True,
        "storage": {
            "blobStoreName": "default",
            "strictContentTypeValidation": True,
            "writePolicy": "allow_once",
        },
        "cleanup": None,
        "component": {"proprietaryComponents": False},
        "maven": {
            "versionPolicy": "RELEASE",
            "layoutPolicy": "STRICT",
            "contentDisposition": "INLINE",
        },
    }


def browsable_entry(settings: Mapping[str, Any]) -> JSON:
    """The ``GET /v1/repositories`` item for a repository given by its settings body."""
    attributes: JSON = {}
    proxy = settings.get("proxy")
    if isinstance(proxy, Mapping):
        attributes["proxy"] = {"remoteUrl": proxy["remoteUrl"]}
    return {
        "name": settings["name"],
        "format": settings["format"],
        "type": settings["type"],
        "url": settings["url"],
        "attributes": attributes,
    }


# --------------------------------------------------------------------------- other sections


def anonymous_settings(*, enabled: bool = True, user_id: str = "anonymous") -> JSON:
    """``GET /v1/security/anonymous``."""
    return {"enabled": enabled, "userId": user_id, "realmName": "NexusAuthorizingRealm"}


def user_token_settings(
    *, enabled: bool = True, protect_content: bool = False, expiration_days: int = 30
) -> JSON:
    """``GET /v1/security/user-tokens`` (Pro)."""
    return {
        "enabled": enabled,
        "protectContent": protect_content,
        "expirationEnabled": False,
        "expirationDays": expiration_days,
    }


def default_role_capability(role_id: str, *, enabled: bool = True) -> JSON:
    """The ``defaultrole`` capability as ``GET /v1/capabilities`` returns it."""
    return {
        "id": "3f2d7c0b9a6e4c1d",
        "type": "defaultrole",
        "typeName": "Default Role",
        "enabled": enabled,
        "active": enabled,
        "error": False,
        "notes": "",
        "description": role_id,
        "state": "active" if enabled else "disabled",
        "properties": {"role": role_id},
        "tags": {"Category": "Security"},
    }


def base_url_capability(url: str = BASE_URL) -> JSON:
    return {
        "id": "6e1a1b0c2d3f4e5a",
        "type": "baseurl",
        "typeName": "Base URL",
        "enabled": True,
        "active": True,
        "error": False,
        "notes": "",
        "description": url,
        "state": "active",
        "properties": {"url": url},
        "tags": {"Category": "Core"},
    }


def content_selector(name: str, expression: str, description: str = "") -> JSON:
    """A ``GET /v1/security/content-selectors`` item."""
    return {
        "name": name,
        "type": "csel",
        "description": description or f"{name} selector",
        "expression": expression,
    }


def caller(user_id: str, *, external: bool = False) -> JSON:
    """``GET /service/rest/internal/ui/user``."""
    return {
        "userId": user_id,
        "firstName": user_id.capitalize(),
        "lastName": "Account",
        "email": f"{user_id}@example.com",
        "external": external,
    }


def permission_list(permissions: Iterable[str]) -> list[JSON]:
    """ExtDirect ``rapture_Security.getPermissions`` result: ``[{"id": <permission>}]``."""
    return [{"id": p} for p in permissions]


# --------------------------------------------------------------------------- snapshot


SECTIONS = (
    "users",
    "roles",
    "privileges",
    "realms_active",
    "anonymous",
    "user_tokens",
    "capabilities",
    "content_selectors",
    "repositories",
    "repositories_browsable",
)


def snapshot(
    *,
    users: Sequence[JSON] = (),
    roles: Sequence[JSON] = (),
    extra_privileges: Sequence[JSON] = (),
    repositories: Sequence[JSON] = (),
    realms: Sequence[str] | None = None,
    anonymous: JSON | None = None,
    user_tokens: JSON | None = None,
    capabilities: Sequence[JSON] = (),
    content_selectors: Sequence[JSON] = (),
    browsable: Sequence[JSON] | None = None,
    caller_user: JSON | None = None,
    caller_permissions: Sequence[str] | None = None,
    base_url: str = BASE_URL,
    server: str = SERVER_COMMUNITY,
    omit: Iterable[str] = (),
    unavailable: Mapping[str, str] | None = None,
    builtin_users_included: bool = True,
) -> JSON:
    """A snapshot document as an administrator's capture would record it.

    ``users``/``roles`` are added to the built-in ones; privileges are the built-ins, the
    per-repository privileges of every repository, and ``extra_privileges``. ``realms`` defaults
    to a fresh install's ``["NexusAuthenticatingRealm"]``; ``anonymous`` to the default settings.
    ``browsable`` defaults to every repository (an administrator can browse them all). Sections
    named in ``omit`` are left out, i.e. unknown; ``user_tokens`` is left out when ``None``.
    """
    builtin = load_builtin()
    privileges = list(builtin["privileges"])
    for repo in repositories:
        privileges.extend(repository_privileges(repo["name"], repo["format"]))
    privileges.extend(copy.deepcopy(list(extra_privileges)))
    doc: JSON = {
        "nexus_audit_snapshot": SNAPSHOT_FORMAT_VERSION,
        "base_url": base_url,
        "server": server,
        "captured_as": "admin",
        "captured_at": "2025-03-01T12:00:00Z",
        "users": (list(builtin["users"]) if builtin_users_included else []) + list(users),
        "roles": list(builtin["roles"]) + list(roles),
        "privileges": privileges,
        "realms_active": list(realms) if realms is not None else list(builtin["realms_active"]),
        "anonymous": anonymous if anonymous is not None else dict(builtin["anonymous"]),
        "capabilities": list(capabilities),
        "content_selectors": list(content_selectors),
        "repositories": list(repositories),
        "repositories_browsable": (
            list(browsable) if browsable is not None else [browsable_entry(r) for r in repositories]
        ),
    }
    if user_tokens is not None:
        doc["user_tokens"] = user_tokens
    if caller_user is not None:
        doc["caller"] = caller_user
    if caller_permissions is not None:
        doc["caller_permissions"] = permission_list(caller_permissions)
    for section in omit:
        doc.pop(section, None)
    if unavailable:
        doc["unavailable"] = dict(unavailable)
    return copy.deepcopy(doc)


def instance(**kwargs: Any) -> Instance:
    """``parse_instance(snapshot(**kwargs))``."""
    return parse_instance(snapshot(**kwargs))


def self_limited_snapshot(
    *,
    caller_id: str,
    permissions: Sequence[str],
    browsable: Sequence[JSON],
    repositories: Sequence[JSON] = (),
    external: bool = False,
) -> JSON:
    """What a non-admin caller can capture about itself: no users, roles or privileges."""
    doc: JSON = {
        "nexus_audit_snapshot": SNAPSHOT_FORMAT_VERSION,
        "base_url": BASE_URL,
        "server": SERVER_COMMUNITY,
        "captured_as": caller_id,
        "captured_at": "2025-03-01T12:00:00Z",
        "caller": caller(caller_id, external=external),
        "caller_permissions": permission_list(permissions),
        "repositories_browsable": list(browsable),
        "unavailable": {
            "users": "403 Forbidden: needs nx-users-read",
            "roles": "403 Forbidden: needs nx-roles-read",
            "privileges": "403 Forbidden: needs nx-privileges-read",
            "realms_active": "403 Forbidden: needs nx-settings-read",
            "anonymous": "403 Forbidden: needs nx-settings-read",
            "capabilities": "403 Forbidden: needs nx-capabilities-read",
            "content_selectors": "403 Forbidden: needs nx-selectors-read",
        },
    }
    # repositorySettings silently omits repositories without admin read: usually [].
    doc["repositories"] = list(repositories)
    return copy.deepcopy(doc)


def parse_privilege(payload: JSON) -> Privilege:
    """The model of one ``GET /v1/security/privileges`` item, parsed the way snapshots are."""
    privileges = parse_instance({"privileges": [payload]}).privileges
    assert privileges is not None
    return privileges[payload["name"]]


def parse_repository(payload: JSON) -> Repository:
    """The model of one ``GET /v1/repositorySettings`` item, parsed the way snapshots are."""
    repositories = parse_instance({"repositories": [payload]}).repositories
    assert repositories is not None
    return repositories[0]
