"""Typed, immutable view of a Nexus instance's security and Docker repository configuration.

The wire format (Nexus REST JSON, as captured in a snapshot) is parsed here exactly once, by
:func:`parse_instance`; everything after this module works on these dataclasses, so online and
offline audits take the same path. ``None`` for a section always means *unknown* (the caller
could not read it), never *empty*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from audit.errors import NexusResponseError

SNAPSHOT_FORMAT_VERSION = 1

# Realm ids as GET /v1/security/realms/active returns them.
REALM_LOCAL = "NexusAuthenticatingRealm"
REALM_DOCKER_TOKEN = "DockerToken"
REALM_DEFAULT_ROLE = "DefaultRole"
REALM_USER_TOKEN = "User-Token-Realm"
REALM_LDAP = "LdapRealm"
REALM_CROWD = "Crowd"
REALM_SAML = "SamlRealm"

#: The realm that authenticates users of each user source (``users[].source``).
SOURCE_REALMS: Mapping[str, str] = {
    "default": REALM_LOCAL,
    "ldap": REALM_LDAP,
    "crowd": REALM_CROWD,
    "saml": REALM_SAML,
}

#: User sources whose users have no password a registry (HTTP Basic) can check.
SSO_SOURCES = frozenset({"saml", "oauth2", "oidc"})

#: Capability type whose ``role`` property the DefaultRole realm adds to every authenticated user.
DEFAULT_ROLE_CAPABILITY = "defaultrole"

#: Hosts of public registries; a proxy of one of these serves "the upstream world".
PUBLIC_REGISTRY_HOSTS = frozenset(
    {
        "registry-1.docker.io",
        "index.docker.io",
        "docker.io",
        "registry.hub.docker.com",
        "hub.docker.com",
        "ghcr.io",
        "quay.io",
        "gcr.io",
        "mirror.gcr.io",
        "public.ecr.aws",
        "mcr.microsoft.com",
        "registry.k8s.io",
        "k8s.gcr.io",
        "docker.elastic.co",
        "registry.gitlab.com",
        "nvcr.io",
    }
)


class _Reader:
    """Reads one JSON object of a named section, raising a one-line error on a bad shape."""

    def __init__(self, section: str, index: int | None, body: Any) -> None:
        self._where = section if index is None else f"{section}[{index}]"
        if not isinstance(body, dict):
            raise NexusResponseError(
                f"unexpected data in '{self._where}': expected a JSON object, "
                f"got {type(body).__name__}"
            )
        self._body: dict[str, Any] = body

    def text(self, key: str) -> str:
        value = self._body.get(key)
        if not isinstance(value, str) or not value:
            raise NexusResponseError(f"unexpected data in '{self._where}': '{key}' is missing")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._body.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise NexusResponseError(f"unexpected data in '{self._where}': '{key}' is not a string")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool | None:
        value = self._body.get(key, default)
        if value is not None and not isinstance(value, bool):
            raise NexusResponseError(
                f"unexpected data in '{self._where}': '{key}' is not true or false"
            )
        return value

    def number(self, key: str) -> int | None:
        value = self._body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise NexusResponseError(f"unexpected data in '{self._where}': '{key}' is not a number")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._body.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise NexusResponseError(
                f"unexpected data in '{self._where}': '{key}' is not a list of strings"
            )
        return tuple(value)

    def child(self, key: str) -> _Reader | None:
        value = self._body.get(key)
        if value is None:
            return None
        return _Reader(f"{self._where}.{key}", None, value)

    def mapping(self, key: str) -> dict[str, str]:
        value = self._body.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise NexusResponseError(
                f"unexpected data in '{self._where}': '{key}' is not an object"
            )
        return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _items(section: str, body: Any) -> list[_Reader]:
    if not isinstance(body, list):
        raise NexusResponseError(
            f"unexpected data in '{section}': expected a JSON list, got {type(body).__name__}"
        )
    return [_Reader(section, i, item) for i, item in enumerate(body)]


@dataclass(frozen=True)
class User:
    """A user as ``GET /v1/security/users`` returns it."""

    user_id: str
    source: str
    """User source: ``default`` (local), ``LDAP``, ``Crowd``, ``SAML``, ..."""
    status: str
    """``active``, ``locked``, ``disabled`` or ``changepassword``."""
    roles: tuple[str, ...] = ()
    """Nexus role ids mapped to the user inside Nexus."""
    external_roles: tuple[str, ...] = ()
    """Roles (groups) from the external source; they grant through a Nexus role of the same id."""
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    read_only: bool = False

    @property
    def is_local(self) -> bool:
        return self.source.lower() == "default"

    @classmethod
    def from_api(cls, reader: _Reader) -> User:
        return cls(
            user_id=reader.text("userId"),
            source=reader.optional_text("source") or "default",
            status=(reader.optional_text("status") or "active").lower(),
            roles=reader.texts("roles"),
            external_roles=reader.texts("externalRoles"),
            first_name=reader.optional_text("firstName"),
            last_name=reader.optional_text("lastName"),
            email=reader.optional_text("emailAddress"),
            read_only=bool(reader.flag("readOnly", False)),
        )


@dataclass(frozen=True)
class Role:
    """A role as ``GET /v1/security/roles`` returns it."""

    id: str
    name: str
    source: str = "default"
    description: str | None = None
    read_only: bool = False
    privileges: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    """Ids of nested roles, whose privileges this role inherits."""

    @classmethod
    def from_api(cls, reader: _Reader) -> Role:
        role_id = reader.text("id")
        return cls(
            id=role_id,
            name=reader.optional_text("name") or role_id,
            source=reader.optional_text("source") or "default",
            description=reader.optional_text("description"),
            read_only=bool(reader.flag("readOnly", False)),
            privileges=reader.texts("privileges"),
            roles=reader.texts("roles"),
        )


PRIVILEGE_TYPES = frozenset(
    {
        "application",
        "repository-view",
        "repository-admin",
        "repository-content-selector",
        "wildcard",
        "script",
    }
)


@dataclass(frozen=True)
class Privilege:
    """A privilege as ``GET /v1/security/privileges`` returns it; fields by type."""

    name: str
    type: str
    description: str | None = None
    read_only: bool = False
    actions: tuple[str, ...] = ()
    """As REST renders them: enum names such as ``READ``, ``BROWSE``, ``ALL``."""
    format: str | None = None
    repository: str | None = None
    domain: str | None = None
    pattern: str | None = None
    content_selector: str | None = None
    script_name: str | None = None

    @classmethod
    def from_api(cls, reader: _Reader) -> Privilege:
        return cls(
            name=reader.text("name"),
            type=reader.text("type").lower(),
            description=reader.optional_text("description"),
            read_only=bool(reader.flag("readOnly", False)),
            actions=reader.texts("actions"),
            format=reader.optional_text("format"),
            repository=reader.optional_text("repository"),
            domain=reader.optional_text("domain"),
            pattern=reader.optional_text("pattern"),
            content_selector=reader.optional_text("contentSelector"),
            script_name=reader.optional_text("scriptName"),
        )


@dataclass(frozen=True)
class DockerConnector:
    """The ``docker`` block of a Docker repository: how clients reach its registry."""

    force_basic_auth: bool
    """True: Basic challenge, no anonymous pull; False: Bearer tokens from the DockerToken realm."""
    http_port: int | None = None
    https_port: int | None = None
    subdomain: str | None = None
    path_enabled: bool = False
    v1_enabled: bool = False

    @property
    def has_connector(self) -> bool:
        return bool(self.http_port or self.https_port or self.subdomain or self.path_enabled)

    @classmethod
    def from_api(cls, reader: _Reader) -> DockerConnector:
        force = reader.flag("forceBasicAuth")
        return cls(
            # Nexus 3.89+ defaults new repositories to Basic; an absent value is read the same way.
            force_basic_auth=True if force is None else force,
            http_port=reader.number("httpPort"),
            https_port=reader.number("httpsPort"),
            subdomain=reader.optional_text("subdomain") or None,
            path_enabled=bool(reader.flag("pathEnabled", False)),
            v1_enabled=bool(reader.flag("v1Enabled", False)),
        )


@dataclass(frozen=True)
class RegistryAddress:
    """Where a Docker client must point: ``address`` goes into the scanner's registry URL."""

    address: str
    scheme: str
    """``http`` or ``https``: what the client speaks to that address."""
    routing: str
    """``https-connector``, ``http-connector``, ``subdomain`` or ``path``."""


@dataclass(frozen=True)
class Repository:
    """A repository as ``GET /v1/repositorySettings`` returns it (Docker fields kept)."""

    name: str
    format: str
    type: str
    """``hosted``, ``proxy`` or ``group``."""
    online: bool = True
    url: str | None = None
    docker: DockerConnector | None = None
    remote_url: str | None = None
    """Proxies: the upstream registry."""
    index_type: str | None = None
    """Docker proxies: ``HUB``, ``REGISTRY`` or ``CUSTOM``."""
    members: tuple[str, ...] = ()
    """Groups: member repository names, in order."""

    @property
    def is_docker(self) -> bool:
        return self.format.lower() == "docker"

    @property
    def proxies_public_registry(self) -> bool:
        if self.type != "proxy":
            return False
        if (self.index_type or "").upper() == "HUB":
            return True
        host = (urlsplit(self.remote_url or "").hostname or "").lower()
        return host in PUBLIC_REGISTRY_HOSTS

    def registry_address(
        self, base_url: str | None, host: str | None = None
    ) -> RegistryAddress | None:
        """The address a Docker client uses, derived from the connector settings.

        The port is part of a Nexus registry's identity, so an HTTPS connector wins over an HTTP
        one, then subdomain routing, then path-based routing on the base URL's own port.
        """
        if self.docker is None:
            return None
        base = urlsplit(base_url or "")
        hostname = host or base.hostname
        if not hostname:
            return None
        base_scheme = base.scheme or "https"
        base_port = f":{base.port}" if base.port else ""
        if self.docker.https_port:
            return RegistryAddress(
                f"{hostname}:{self.docker.https_port}", "https", "https-connector"
            )
        if self.docker.subdomain:
            return RegistryAddress(
                f"{self.docker.subdomain}.{hostname}{base_port}", base_scheme, "subdomain"
            )
        if self.docker.path_enabled:
            return RegistryAddress(f"{hostname}{base_port}/{self.name}", base_scheme, "path")
        if self.docker.http_port:
            return RegistryAddress(f"{hostname}:{self.docker.http_port}", "http", "http-connector")
        return None

    @classmethod
    def from_api(cls, reader: _Reader) -> Repository:
        docker = reader.child("docker")
        proxy = reader.child("proxy")
        docker_proxy = reader.child("dockerProxy")
        group = reader.child("group")
        return cls(
            name=reader.text("name"),
            format=reader.text("format").lower(),
            type=reader.text("type").lower(),
            online=bool(reader.flag("online", True)),
            url=reader.optional_text("url"),
            docker=DockerConnector.from_api(docker) if docker else None,
            remote_url=proxy.optional_text("remoteUrl") if proxy else None,
            index_type=docker_proxy.optional_text("indexType") if docker_proxy else None,
            members=group.texts("memberNames") if group else (),
        )


@dataclass(frozen=True)
class BrowsableRepository:
    """An entry of ``GET /v1/repositories``: the repositories the caller may browse."""

    name: str
    format: str
    type: str
    url: str | None = None
    remote_url: str | None = None

    @classmethod
    def from_api(cls, reader: _Reader) -> BrowsableRepository:
        attributes = reader.child("attributes")
        proxy = attributes.child("proxy") if attributes else None
        return cls(
            name=reader.text("name"),
            format=reader.text("format").lower(),
            type=reader.text("type").lower(),
            url=reader.optional_text("url"),
            remote_url=proxy.optional_text("remoteUrl") if proxy else None,
        )


@dataclass(frozen=True)
class AnonymousSettings:
    """``GET /v1/security/anonymous``."""

    enabled: bool
    user_id: str
    realm_name: str

    @classmethod
    def from_api(cls, reader: _Reader) -> AnonymousSettings:
        return cls(
            enabled=bool(reader.flag("enabled", False)),
            user_id=reader.text("userId"),
            realm_name=reader.optional_text("realmName") or "NexusAuthorizingRealm",
        )


@dataclass(frozen=True)
class UserTokenSettings:
    """``GET /v1/security/user-tokens`` (Pro only)."""

    enabled: bool
    protect_content: bool
    expiration_enabled: bool = False
    expiration_days: int | None = None

    @classmethod
    def from_api(cls, reader: _Reader) -> UserTokenSettings:
        return cls(
            enabled=bool(reader.flag("enabled", False)),
            protect_content=bool(reader.flag("protectContent", False)),
            expiration_enabled=bool(reader.flag("expirationEnabled", False)),
            expiration_days=reader.number("expirationDays"),
        )


@dataclass(frozen=True)
class Capability:
    """An entry of ``GET /v1/capabilities``."""

    id: str
    type: str
    enabled: bool
    active: bool
    properties: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, reader: _Reader) -> Capability:
        enabled = bool(reader.flag("enabled", False))
        return cls(
            id=reader.optional_text("id") or "",
            type=reader.text("type"),
            enabled=enabled,
            active=bool(reader.flag("active", enabled)),
            properties=reader.mapping("properties"),
        )


@dataclass(frozen=True)
class ContentSelector:
    """``GET /v1/security/content-selectors``: a CSEL expression limiting content access."""

    name: str
    expression: str = ""
    type: str = "csel"
    description: str | None = None

    @classmethod
    def from_api(cls, reader: _Reader) -> ContentSelector:
        return cls(
            name=reader.text("name"),
            expression=reader.optional_text("expression") or "",
            type=reader.optional_text("type") or "csel",
            description=reader.optional_text("description"),
        )


@dataclass(frozen=True)
class Caller:
    """Who the tool itself logged in as (``GET /internal/ui/user``), for self-audits."""

    user_id: str
    external: bool = False

    @classmethod
    def from_api(cls, reader: _Reader) -> Caller:
        return cls(user_id=reader.text("userId"), external=bool(reader.flag("external", False)))


@dataclass(frozen=True)
class Instance:
    """Everything known about one Nexus instance. ``None`` means the section is unknown."""

    base_url: str | None = None
    server: str | None = None
    captured_as: str | None = None
    captured_at: str | None = None
    users: tuple[User, ...] | None = None
    roles: Mapping[str, Role] | None = None
    privileges: Mapping[str, Privilege] | None = None
    realms_active: tuple[str, ...] | None = None
    anonymous: AnonymousSettings | None = None
    user_tokens: UserTokenSettings | None = None
    capabilities: tuple[Capability, ...] | None = None
    content_selectors: tuple[ContentSelector, ...] | None = None
    repositories: tuple[Repository, ...] | None = None
    browsable: tuple[BrowsableRepository, ...] | None = None
    caller: Caller | None = None
    caller_permissions: tuple[str, ...] | None = None
    """Permission strings the caller holds (ExtDirect ``rapture_Security.getPermissions``)."""
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """Section name -> why it could not be read (e.g. ``403 Forbidden: needs nx-users-read``)."""

    @property
    def edition(self) -> str | None:
        """``PRO``, ``COMMUNITY`` or ``OSS`` from the ``Server`` header, when known."""
        if not self.server or "(" not in self.server:
            return None
        return self.server.rsplit("(", 1)[1].rstrip(")").strip().upper() or None

    @property
    def docker_repositories(self) -> tuple[Repository, ...]:
        return tuple(r for r in self.repositories or () if r.is_docker)

    def repository(self, name: str) -> Repository | None:
        return self._repositories_by_name.get(name)

    @cached_property
    def _users_by_id(self) -> dict[str, list[User]]:
        index: dict[str, list[User]] = {}
        for user in self.users or ():
            index.setdefault(user.user_id.lower(), []).append(user)
        return index

    @cached_property
    def _repositories_by_name(self) -> dict[str, Repository]:
        return {r.name: r for r in self.repositories or ()}

    def find_users(self, user_id: str) -> list[User]:
        """Users whose id matches exactly (in any source); Nexus compares ids case-insensitively."""
        return list(self._users_by_id.get(user_id.lower(), ()))

    def missing_security_sections(self) -> list[str]:
        """The sections an audit of any user needs that are unknown in this data."""
        sections = (("users", self.users), ("roles", self.roles), ("privileges", self.privileges))
        return [name for name, section in sections if section is None]

    def realm_active(self, realm_id: str) -> bool | None:
        if self.realms_active is None:
            return None
        return realm_id in self.realms_active

    def default_role(self) -> str | None:
        """The role the DefaultRole capability hands to every authenticated user, if enabled."""
        for capability in self.capabilities or ():
            if (
                capability.type.lower() == DEFAULT_ROLE_CAPABILITY
                and capability.enabled
                and (capability.active)
            ):
                return capability.properties.get("role") or None
        return None


def _section(doc: Mapping[str, Any], key: str) -> Any:
    return doc.get(key)


def parse_instance(doc: Mapping[str, Any]) -> Instance:
    """Parse the sections of a snapshot document (the bodies exactly as Nexus returns them)."""

    def listed(key: str, parse: Any) -> tuple[Any, ...] | None:
        body = _section(doc, key)
        if body is None:
            return None
        return tuple(parse(reader) for reader in _items(key, body))

    def single(key: str, parse: Any) -> Any:
        body = _section(doc, key)
        return None if body is None else parse(_Reader(key, None, body))

    roles = listed("roles", Role.from_api)
    privileges = listed("privileges", Privilege.from_api)
    realms = _section(doc, "realms_active")
    if realms is not None and (
        not isinstance(realms, list) or not all(isinstance(r, str) for r in realms)
    ):
        raise NexusResponseError("unexpected data in 'realms_active': expected a list of realm ids")
    permissions = _section(doc, "caller_permissions")
    if permissions is not None:
        permissions = tuple(r.text("id") for r in _items("caller_permissions", permissions))
    unavailable = _section(doc, "unavailable") or {}
    if not isinstance(unavailable, dict):
        raise NexusResponseError("unexpected data in 'unavailable': expected an object")
    return Instance(
        base_url=doc.get("base_url"),
        server=doc.get("server"),
        captured_as=doc.get("captured_as"),
        captured_at=doc.get("captured_at"),
        users=listed("users", User.from_api),
        roles=None if roles is None else _roles_by_id(roles),
        privileges=None if privileges is None else {p.name: p for p in privileges},
        realms_active=None if realms is None else tuple(realms),
        anonymous=single("anonymous", AnonymousSettings.from_api),
        user_tokens=single("user_tokens", UserTokenSettings.from_api),
        capabilities=listed("capabilities", Capability.from_api),
        content_selectors=listed("content_selectors", ContentSelector.from_api),
        repositories=listed("repositories", Repository.from_api),
        browsable=listed("repositories_browsable", BrowsableRepository.from_api),
        caller=single("caller", Caller.from_api),
        caller_permissions=permissions,
        unavailable={str(k): str(v) for k, v in unavailable.items()},
    )


def _roles_by_id(roles: Sequence[Role]) -> dict[str, Role]:
    """The roles Nexus resolves permissions from: its own (``default``-source) roles, by id.

    ``GET /v1/security/roles`` without ``source`` also lists external roles (LDAP groups). They
    hold no privileges: an external group grants only through a Nexus role of the same id.
    """
    return {role.id: role for role in roles if role.source.lower() == "default"}


def merge_users(*bodies: Sequence[Any]) -> list[Any]:
    """Union of several ``/v1/security/users`` bodies, first occurrence wins (by source and id)."""
    seen: set[tuple[str, str]] = set()
    merged: list[Any] = []
    for body in bodies:
        for item in body:
            if not isinstance(item, dict):
                merged.append(item)
                continue
            key = (str(item.get("source", "")).lower(), str(item.get("userId", "")).lower())
            if key not in seen:
                seen.add(key)
                merged.append(item)
    return merged
