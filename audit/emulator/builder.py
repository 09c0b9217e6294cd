"""Build Nexus state the way Nexus builds it: auto-created privileges and repository bodies.

Pure functions that return JSON-ready dicts in the exact shapes Nexus Repository 3 (3.77)
returns from ``GET /service/rest/v1/security/privileges`` and ``GET /v1/repositorySettings``.
:func:`build_demo` assembles the bundled "Acme" demo instance from them; ``datasets/demo.json``
is its output (regenerate with ``python -c "from audit.emulator.builder import write_demo;
write_demo()"``), and a test keeps the two equal so the file never drifts from the code.

Descriptions and names follow nexus-public 3.77 (``RepositoryViewPrivilegeDescriptor``,
``RepositoryAdminPrivilegeDescriptor``, ``RepositoryPrivilegeDescriptorSupport.humanize*``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

#: Nexus's own default base URL; bodies built for a demo name their public address instead.
DEFAULT_BASE_URL = "http://localhost:8081"

EDITION_COMMUNITY = "COMMUNITY"
EDITION_PRO = "PRO"

#: Actions of the auto-created repository-view privileges, in the order Nexus adds them.
REPOSITORY_VIEW_ACTIONS = ("*", "browse", "read", "edit", "add", "delete")
#: Per-repository admin privileges: the same without ``add`` (RepositoryAdminSecurityContributor).
REPOSITORY_ADMIN_ACTIONS = ("*", "browse", "read", "edit", "delete")

#: Stored action -> the enum name REST renders (``PrivilegeAction``).
REST_ACTIONS: Mapping[str, str] = {
    "*": "ALL",
    "browse": "BROWSE",
    "read": "READ",
    "edit": "EDIT",
    "add": "ADD",
    "delete": "DELETE",
}

#: Realms a server offers (``GET /v1/security/realms/available``) by the edition they need.
_REALMS: Sequence[tuple[str, str, str]] = (
    ("ConanToken", "Conan Bearer Token Realm", EDITION_COMMUNITY),
    ("DefaultRole", "Default Role Realm", EDITION_COMMUNITY),
    ("DockerToken", "Docker Bearer Token Realm", EDITION_COMMUNITY),
    ("LdapRealm", "LDAP Realm", EDITION_COMMUNITY),
    ("NexusAuthenticatingRealm", "Local Authenticating Realm", EDITION_COMMUNITY),
    ("NpmToken", "npm Bearer Token Realm", EDITION_COMMUNITY),
    ("NuGetApiKey", "NuGet API-Key Realm", EDITION_COMMUNITY),
    ("rutauth-realm", "Rut Auth Realm", EDITION_COMMUNITY),
    ("Crowd", "Crowd Realm", EDITION_PRO),
    ("SamlRealm", "SAML Realm", EDITION_PRO),
    ("User-Token-Realm", "User Token Realm", EDITION_PRO),
)

#: User sources (``GET /v1/security/user-sources``) by the edition that ships them.
_USER_SOURCES: Sequence[tuple[str, str, str]] = (
    ("default", "Local", EDITION_COMMUNITY),
    ("LDAP", "LDAP", EDITION_COMMUNITY),
    ("Crowd", "Crowd", EDITION_PRO),
    ("SAML", "SAML", EDITION_PRO),
)


# --------------------------------------------------------------------------- privileges


def _humanize_action(action: str) -> str:
    """``RepositoryPrivilegeDescriptorSupport.humanizeActions`` for a single action."""
    return "All privileges" if action == "*" else f"{action.capitalize()} privilege"


def _humanize_target(fmt: str, repo: str) -> str:
    """``humanizeName``: a repository name, ``all '<fmt>'-format`` or ``all``."""
    if repo != "*":
        return repo
    return "all" if fmt == "*" else f"all '{fmt}'-format"


def _repository_privilege(kind: str, fmt: str, repo: str, action: str) -> JSON:
    noun = "repository views" if kind == "repository-view" else "repository administration"
    return {
        "type": kind,
        "name": f"nx-{kind}-{fmt}-{repo}-{action}",
        "description": f"{_humanize_action(action)} for {_humanize_target(fmt, repo)} {noun}",
        "readOnly": True,
        "format": fmt,
        "repository": repo,
        "actions": [REST_ACTIONS[action]],
    }


def repository_privileges(fmt: str, repo: str) -> list[JSON]:
    """The privileges Nexus creates with a repository: six view, five admin (no admin ``add``)."""
    view = [_repository_privilege("repository-view", fmt, repo, a) for a in REPOSITORY_VIEW_ACTIONS]
    admin = [
        _repository_privilege("repository-admin", fmt, repo, a) for a in REPOSITORY_ADMIN_ACTIONS
    ]
    return view + admin


def format_privileges(fmt: str) -> list[JSON]:
    """The ``nx-repository-view-<fmt>-*-<action>`` set Nexus adds at startup for each format."""
    return [_repository_privilege("repository-view", fmt, "*", a) for a in REPOSITORY_VIEW_ACTIONS]


def content_selector_privilege(
    name: str,
    selector: str,
    fmt: str,
    repo: str,
    actions: Sequence[str],
    description: str,
) -> JSON:
    """A custom content-selector privilege: access limited to what ``selector`` matches."""
    return {
        "type": "repository-content-selector",
        "name": name,
        "description": description,
        "readOnly": False,
        "format": fmt,
        "repository": repo,
        "contentSelector": selector,
        "actions": [REST_ACTIONS.get(a, a.upper()) for a in actions],
    }


# --------------------------------------------------------------------------- repositories


def repository_url(base_url: str, name: str) -> str:
    """Where Nexus serves a repository: ``<base>/repository/<name>``."""
    return f"{base_url.rstrip('/')}/repository/{name}"


def _docker_block(
    http_port: int | None,
    https_port: int | None,
    force_basic_auth: bool,
    v1_enabled: bool,
    subdomain: str | None,
    path_enabled: bool | None,
) -> JSON:
    block: JSON = {
        "v1Enabled": v1_enabled,
        "forceBasicAuth": force_basic_auth,
        "httpPort": http_port,
        "httpsPort": https_port,
        "subdomain": subdomain,
    }
    # Path-based routing arrived in 3.83; older servers do not send the key at all.
    if path_enabled is not None:
        block["pathEnabled"] = path_enabled
    return block


def _proxy_blocks(
    remote_url: str, content_max_age: int, metadata_max_age: int, auto_block: bool
) -> JSON:
    return {
        "proxy": {
            "remoteUrl": remote_url,
            "contentMaxAge": content_max_age,
            "metadataMaxAge": metadata_max_age,
        },
        "negativeCache": {"enabled": True, "timeToLive": 1440},
        "httpClient": {
            "blocked": False,
            "autoBlock": auto_block,
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
    }


def _cleanup(policies: Sequence[str]) -> JSON | None:
    return {"policyNames": list(policies)} if policies else None


def docker_hosted(
    name: str,
    http_port: int | None = None,
    https_port: int | None = None,
    force_basic_auth: bool = True,
    *,
    base_url: str = DEFAULT_BASE_URL,
    online: bool = True,
    v1_enabled: bool = False,
    subdomain: str | None = None,
    path_enabled: bool | None = None,
    blob_store: str = "default",
    write_policy: str = "ALLOW_ONCE",
    latest_policy: bool = False,
    cleanup_policies: Sequence[str] = (),
) -> JSON:
    """A docker hosted repository (``DockerHostedApiRepository``)."""
    return {
        "name": name,
        "format": "docker",
        "url": repository_url(base_url, name),
        "online": online,
        "storage": {
            "blobStoreName": blob_store,
            "strictContentTypeValidation": True,
            "writePolicy": write_policy,
            "latestPolicy": latest_policy,
        },
        "cleanup": _cleanup(cleanup_policies),
        "docker": _docker_block(
            http_port, https_port, force_basic_auth, v1_enabled, subdomain, path_enabled
        ),
        "component": {"proprietaryComponents": False},
        "type": "hosted",
    }


def docker_proxy(
    name: str,
    remote_url: str,
    index_type: str = "HUB",
    *,
    index_url: str | None = None,
    http_port: int | None = None,
    https_port: int | None = None,
    force_basic_auth: bool = True,
    base_url: str = DEFAULT_BASE_URL,
    online: bool = True,
    subdomain: str | None = None,
    path_enabled: bool | None = None,
    blob_store: str = "default",
    content_max_age: int = 1440,
    metadata_max_age: int = 1440,
    cache_foreign_layers: bool = False,
    foreign_layer_url_whitelist: Sequence[str] = (),
    cleanup_policies: Sequence[str] = (),
) -> JSON:
    """A docker proxy repository (``DockerProxyApiRepository``)."""
    if index_type not in ("HUB", "REGISTRY", "CUSTOM"):
        raise ValueError(f"index_type must be HUB, REGISTRY or CUSTOM, not {index_type!r}")
    return {
        "name": name,
        "format": "docker",
        "url": repository_url(base_url, name),
        "online": online,
        "storage": {"blobStoreName": blob_store, "strictContentTypeValidation": True},
        "cleanup": _cleanup(cleanup_policies),
        **_proxy_blocks(remote_url, content_max_age, metadata_max_age, auto_block=True),
        "docker": _docker_block(
            http_port, https_port, force_basic_auth, False, subdomain, path_enabled
        ),
        "dockerProxy": {
            "indexType": index_type,
            "indexUrl": index_url,
            "cacheForeignLayers": cache_foreign_layers,
            "foreignLayerUrlWhitelist": list(foreign_layer_url_whitelist),
        },
        "type": "proxy",
    }


def docker_group(
    name: str,
    members: Sequence[str],
    *,
    http_port: int | None = None,
    https_port: int | None = None,
    force_basic_auth: bool = True,
    base_url: str = DEFAULT_BASE_URL,
    online: bool = True,
    subdomain: str | None = None,
    path_enabled: bool | None = None,
    blob_store: str = "default",
    writable_member: str | None = None,
) -> JSON:
    """A docker group repository (``DockerGroupApiRepository``); members in lookup order."""
    if not members:
        raise ValueError("a group repository needs at least one member")
    return {
        "name": name,
        "format": "docker",
        "url": repository_url(base_url, name),
        "online": online,
        "storage": {"blobStoreName": blob_store, "strictContentTypeValidation": True},
        "group": {"memberNames": list(members), "writableMember": writable_member},
        "docker": _docker_block(
            http_port, https_port, force_basic_auth, False, subdomain, path_enabled
        ),
        "type": "group",
    }


def _maven_block(version_policy: str, layout_policy: str, content_disposition: str) -> JSON:
    if version_policy not in ("RELEASE", "SNAPSHOT", "MIXED"):
        raise ValueError(f"version_policy must be RELEASE, SNAPSHOT or MIXED: {version_policy!r}")
    if layout_policy not in ("STRICT", "PERMISSIVE"):
        raise ValueError(f"layout_policy must be STRICT or PERMISSIVE, not {layout_policy!r}")
    if content_disposition not in ("INLINE", "ATTACHMENT"):
        raise ValueError("content_disposition must be INLINE or ATTACHMENT")
    return {
        "versionPolicy": version_policy,
        "layoutPolicy": layout_policy,
        "contentDisposition": content_disposition,
    }


def maven_hosted(
    name: str,
    version_policy: str = "RELEASE",
    layout_policy: str = "STRICT",
    *,
    content_disposition: str = "INLINE",
    base_url: str = DEFAULT_BASE_URL,
    online: bool = True,
    blob_store: str = "default",
    write_policy: str = "ALLOW_ONCE",
    cleanup_policies: Sequence[str] = (),
) -> JSON:
    """A maven2 hosted repository (``MavenHostedApiRepository``)."""
    return {
        "name": name,
        "format": "maven2",
        "url": repository_url(base_url, name),
        "online": online,
        "storage": {
            "blobStoreName": blob_store,
            "strictContentTypeValidation": True,
            "writePolicy": write_policy,
        },
        "cleanup": _cleanup(cleanup_policies),
        "component": {"proprietaryComponents": False},
        "maven": _maven_block(version_policy, layout_policy, content_disposition),
        "type": "hosted",
    }


def maven_proxy(
    name: str,
    remote_url: str,
    version_policy: str = "RELEASE",
    layout_policy: str = "PERMISSIVE",
    *,
    content_disposition: str = "INLINE",
    base_url: str = DEFAULT_BASE_URL,
    online: bool = True,
    blob_store: str = "default",
    content_max_age: int = -1,
    metadata_max_age: int = 1440,
    cleanup_policies: Sequence[str] = (),
) -> JSON:
    """A maven2 proxy repository (``MavenProxyApiRepository``); defaults of ``maven-central``."""
    return {
        "name": name,
        "format": "maven2",
        "url": repository_url(base_url, name),
        "online": online,
        "storage": {"blobStoreName": blob_store, "strictContentTypeValidation": False},
        "cleanup": _cleanup(cleanup_policies),
        **_proxy_blocks(remote_url, content_max_age, metadata_max_age, auto_block=True),
        "maven": _maven_block(version_policy, layout_policy, content_disposition),
        "type": "proxy",
    }


def browsable_entry(settings: Mapping[str, Any], base_url: str | None = None) -> JSON:
    """The ``GET /v1/repositories`` item (``RepositoryXO``) for a repositorySettings body."""
    attributes: JSON = {}
    proxy = settings.get("proxy")
    if isinstance(proxy, Mapping) and "remoteUrl" in proxy:
        attributes["proxy"] = {"remoteUrl": proxy["remoteUrl"]}
    name = str(settings["name"])
    return {
        "name": name,
        "format": settings["format"],
        "type": settings["type"],
        "url": repository_url(base_url, name) if base_url else settings.get("url"),
        "online": settings.get("online", True),
        "attributes": attributes,
    }


# --------------------------------------------------------------------------- server catalogues


def available_realms(edition: str) -> list[JSON]:
    """``GET /v1/security/realms/available``: ``{id, name}`` sorted by name, as Nexus sorts."""
    pro = edition.upper() == EDITION_PRO
    realms = [
        {"id": realm_id, "name": name}
        for realm_id, name, needs in _REALMS
        if pro or needs == EDITION_COMMUNITY
    ]
    return sorted(realms, key=lambda realm: realm["name"])


def user_sources(edition: str, users: Iterable[Mapping[str, Any]] = ()) -> list[JSON]:
    """``GET /v1/security/user-sources``: the edition's sources plus any a user comes from."""
    pro = edition.upper() == EDITION_PRO
    sources = [
        {"id": source_id, "name": name}
        for source_id, name, needs in _USER_SOURCES
        if pro or needs == EDITION_COMMUNITY
    ]
    known = {s["id"].lower() for s in sources}
    for user in users:
        source = str(user.get("source") or "default")
        if source.lower() not in known:
            known.add(source.lower())
            sources.append({"id": source, "name": source})
    return sources


# --------------------------------------------------------------------------- datasets


def load_builtin() -> JSON:
    """A fresh copy of Nexus's built-in security objects (``datasets/builtin.json``)."""
    text = resources.files("audit.emulator").joinpath("datasets/builtin.json").read_text("utf-8")
    builtin: JSON = json.loads(text)
    return builtin


DEMO_BASE_URL = "https://nexus.acme.example"
DEMO_VERSION = "3.77.1-02"
DEMO_PATH = Path(__file__).resolve().parent / "datasets" / "demo.json"

#: Demo passwords: emulator-only, never part of a snapshot. SAML users have none by design.
DEMO_PASSWORDS: Mapping[str, str] = {
    "admin": "admin123",
    "scanner": "scanner123",
    "trivy": "trivy123",
    "harbor-ok": "harbor-ok123",
    "old-scanner": "old-scanner123",
    "alice": "alice123",
    "team-user": "team-user123",
}


def _user(
    user_id: str,
    first: str,
    last: str,
    *,
    roles: Sequence[str] = (),
    source: str = "default",
    status: str = "active",
    external_roles: Sequence[str] = (),
) -> JSON:
    return {
        "userId": user_id,
        "firstName": first,
        "lastName": last,
        "emailAddress": f"{user_id}@acme.example",
        "source": source,
        "status": status,
        # Nexus cannot edit users it does not own: external users are read-only.
        "readOnly": source != "default",
        "roles": list(roles),
        "externalRoles": list(external_roles),
    }


def _role(
    role_id: str,
    name: str,
    description: str,
    privileges: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> JSON:
    return {
        "id": role_id,
        "source": "default",
        "name": name,
        "description": description,
        "readOnly": False,
        "privileges": list(privileges),
        "roles": list(roles),
    }


def _view(repo: str, action: str) -> str:
    return f"nx-repository-view-docker-{repo}-{action}"


def _demo_repositories() -> list[JSON]:
    base = DEMO_BASE_URL
    return [
        docker_hosted("docker-hosted", http_port=8082, base_url=base, blob_store="docker"),
        docker_proxy(
            "docker-proxy",
            "https://registry-1.docker.io",
            "HUB",
            http_port=8083,
            base_url=base,
            blob_store="docker",
        ),
        docker_group(
            "docker-group",
            ["docker-hosted", "docker-proxy"],
            https_port=8443,
            force_basic_auth=False,
            base_url=base,
            blob_store="docker",
        ),
        docker_hosted("docker-internal", base_url=base, blob_store="docker"),
        docker_hosted(
            "docker-archive", http_port=8085, base_url=base, online=False, blob_store="docker"
        ),
        maven_hosted("maven-releases", base_url=base),
        maven_proxy("maven-central", "https://repo1.maven.org/maven2/", base_url=base),
    ]


def _demo_roles() -> list[JSON]:
    return [
        _role(
            "hg-scan",
            "HarborGuard scanner",
            "Pull access for the HarborGuard image scanner",
            [_view("docker-hosted", "read"), _view("docker-group", "read")],
            ["ci-legacy"],
        ),
        _role(
            "ci-legacy",
            "Legacy CI",
            "Kept from the old Jenkins setup; nobody remembers what needs it",
            # A wildcard excess: administration of every repository of every format.
            ["nx-repository-admin-*-*-*", "nx-search-read"],
        ),
        _role(
            "docker-readers",
            "Docker readers",
            "Pull and list images in the Docker registries",
            [
                _view("docker-hosted", "read"),
                _view("docker-hosted", "browse"),
                _view("docker-group", "read"),
                _view("docker-group", "browse"),
            ],
        ),
        _role(
            "devs",
            "Developers",
            "Mapped from the LDAP group 'devs': push and pull on docker-hosted",
            [
                _view("docker-hosted", "read"),
                _view("docker-hosted", "browse"),
                _view("docker-hosted", "add"),
                _view("docker-hosted", "edit"),
            ],
        ),
        _role(
            "team-a",
            "Team A",
            "Team A deployments",
            ["nx-legacy-deploy"],
            ["team-b"],
        ),
        _role(
            "team-b",
            "Team B",
            "Team B pulls from the internal registry",
            [_view("docker-internal", "read"), _view("docker-internal", "browse")],
            ["team-a"],
        ),
        _role(
            "trivy-partial",
            "Trivy (library images)",
            "Trivy may scan the official library images only",
            ["docker-library-only"],
        ),
    ]


def _demo_users(builtin_users: Sequence[JSON]) -> list[JSON]:
    return [
        *builtin_users,
        _user("scanner", "HarborGuard", "Scanner", roles=["hg-scan"]),
        _user("trivy", "Trivy", "Scanner", roles=["trivy-partial"]),
        _user("harbor-ok", "Harbor", "Replication", roles=["docker-readers"]),
        _user("old-scanner", "Old", "Scanner", roles=["docker-readers"], status="disabled"),
        _user("alice", "Alice", "Martin", source="LDAP", external_roles=["devs", "engineering"]),
        _user("bob.sso", "Bob", "Okafor", source="SAML", roles=["docker-readers"]),
        _user("team-user", "Team", "User", roles=["team-a"]),
    ]


def _demo_capabilities() -> list[JSON]:
    return [
        {
            "id": "9a1f3c5e7b2d4f60",
            "type": "rapture.settings",
            "typeName": "UI: Settings",
            "notes": "",
            "enabled": True,
            "active": True,
            "error": False,
            "properties": {
                "title": "Acme Artifacts",
                "debugAllowed": "true",
                "statusIntervalAnonymous": "60",
                "statusIntervalAuthenticated": "5",
                "sessionTimeout": "30",
                "requestTimeout": "60",
                "longRequestTimeout": "180",
                "searchRequestTimeout": "0",
            },
        },
        {
            "id": "3c7e9b1d5f2a4c68",
            "type": "OutreachManagementCapability",
            "typeName": "Outreach: Management",
            "notes": "",
            "enabled": True,
            "active": True,
            "error": False,
            "properties": {},
        },
        {
            "id": "b2d4f6a8c0e1a3c5",
            "type": "webhook.global",
            "typeName": "Webhook: Global",
            "notes": "Release notifications to the CI server (paused)",
            "enabled": False,
            "active": False,
            "error": False,
            "properties": {"names": "repository", "url": "https://ci.acme.example/hooks/nexus"},
        },
        {
            "id": "e5a7c9b1d3f5a7c9",
            "type": "defaultrole",
            "typeName": "Default Role",
            "notes": "Switched off after the 2026 access review",
            "enabled": False,
            "active": False,
            "error": False,
            "properties": {"role": "docker-readers"},
        },
    ]


def build_demo() -> JSON:
    """The bundled "Acme" Community 3.77.1 instance, with its emulator-only login table."""
    builtin = load_builtin()
    repositories = _demo_repositories()
    privileges: list[JSON] = list(builtin["privileges"])
    privileges += format_privileges("maven2")
    for repo in repositories:
        privileges += repository_privileges(repo["format"], repo["name"])
    privileges.append(
        content_selector_privilege(
            "docker-library-only",
            "library-images",
            "docker",
            "docker-hosted",
            ["read", "browse"],
            "Read and browse the official library images in docker-hosted",
        )
    )
    return {
        "nexus_audit_snapshot": 1,
        "captured_at": "2026-11-30T09:00:00Z",
        "base_url": DEMO_BASE_URL,
        "server": f"Nexus/{DEMO_VERSION} ({EDITION_COMMUNITY})",
        "captured_as": "admin",
        "users": _demo_users(builtin["users"]),
        "roles": [*builtin["roles"], *_demo_roles()],
        "privileges": privileges,
        "realms_active": ["NexusAuthenticatingRealm", "LdapRealm"],
        "anonymous": builtin["anonymous"],
        "user_tokens": None,
        "capabilities": _demo_capabilities(),
        "content_selectors": [
            {
                "name": "library-images",
                "type": "csel",
                "description": "Official Docker Hub library images",
                "expression": 'format == "docker" and path =^ "/v2/library/"',
            }
        ],
        "repositories": repositories,
        "unavailable": {"user_tokens": "404 Not Found"},
        "emulator": {
            "edition": EDITION_COMMUNITY,
            "version": DEMO_VERSION,
            "passwords": dict(DEMO_PASSWORDS),
            "user_tokens": [],
        },
    }


def pro_edition(
    dataset: Mapping[str, Any],
    tokens: Sequence[Mapping[str, str]] = (),
    protect_content: bool = False,
) -> JSON:
    """A copy of ``dataset`` as a Pro server with user tokens on and their realm active.

    ``tokens`` are ``{"nameCode", "passCode", "userId"}`` items the emulator will accept.
    """
    pro: JSON = copy.deepcopy(dict(dataset))
    emulator = pro.setdefault("emulator", {})
    version = str(emulator.get("version") or DEMO_VERSION)
    emulator["edition"] = EDITION_PRO
    emulator["version"] = version
    emulator["user_tokens"] = [dict(t) for t in tokens]
    emulator.setdefault("passwords", {})
    pro["server"] = f"Nexus/{version} ({EDITION_PRO})"
    pro["user_tokens"] = {
        "enabled": True,
        "expirationEnabled": False,
        "expirationDays": 30,
        "protectContent": protect_content,
    }
    realms = list(pro.get("realms_active") or [])
    if "User-Token-Realm" not in realms:
        realms.append("User-Token-Realm")
    pro["realms_active"] = realms
    unavailable = dict(pro.get("unavailable") or {})
    unavailable.pop("user_tokens", None)
    pro["unavailable"] = unavailable
    return pro


def render_dataset(dataset: Mapping[str, Any]) -> str:
    """The text a dataset file holds: two-space JSON, key order kept, trailing newline."""
    return json.dumps(dataset, indent=2, ensure_ascii=False) + "\n"


def write_demo(path: Path = DEMO_PATH) -> Path:
    """Regenerate the bundled demo dataset from :func:`build_demo`."""
    path.write_text(render_dataset(build_demo()), encoding="utf-8")
    return path
