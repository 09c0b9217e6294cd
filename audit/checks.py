"""The preflight: what a scanner account can pull and list, and every finding about it.

:func:`audit` takes a parsed :class:`~audit.model.Instance` and returns an :class:`AuditResult`;
no I/O happens here. Finding codes are a stable contract: add new ones, never rename.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum

from audit.errors import UsageError
from audit.model import (
    REALM_DEFAULT_ROLE,
    REALM_DOCKER_TOKEN,
    REALM_USER_TOKEN,
    SOURCE_REALMS,
    SSO_SOURCES,
    Instance,
    RegistryAddress,
    Repository,
    User,
)
from audit.permissions import (
    WILDCARD,
    Access,
    AccessDecision,
    EffectivePermissions,
    Grant,
    IssueKind,
    Principal,
    WildcardPermission,
    decide,
    from_permission_strings,
    repository_view,
    resolve,
    selector_names,
)

#: What a scanner does with a Docker repository, and the repository-view action it needs.
SCANNER_ACTIONS = ("read", "browse")


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class AuthMode(str, Enum):
    """How the scanner will log in to the registry."""

    PASSWORD = "password"
    TOKEN = "token"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    repository: str | None
    message: str
    remedy: str


@dataclass(frozen=True)
class RepositoryResult:
    """One Docker repository: its registry address and what the principal may do there."""

    repository: Repository
    registry: RegistryAddress | None
    read: AccessDecision
    browse: AccessDecision
    connector_known: bool = True

    def decision(self, action: str) -> AccessDecision:
        return self.read if action == "read" else self.browse


@dataclass(frozen=True)
class PrincipalSummary:
    user_id: str
    source: str | None
    status: str | None
    anonymous: bool
    found: bool
    roles: tuple[str, ...] = ()
    external_roles: tuple[str, ...] = ()
    default_role: str | None = None


@dataclass(frozen=True)
class AuditResult:
    principal: PrincipalSummary
    repositories: tuple[RepositoryResult, ...]
    findings: tuple[Finding, ...]
    auth: AuthMode
    self_limited: bool = False
    """True when the caller could not read security settings and only its own rights were seen."""
    base_url: str | None = None
    server: str | None = None

    def failing(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= threshold.rank]

    def passed(self, threshold: Severity = Severity.ERROR) -> bool:
        return not self.failing(threshold)


@dataclass
class _Context:
    instance: Instance
    user_id: str
    principal: Principal | None
    user: User | None
    effective: EffectivePermissions
    auth: AuthMode
    targets: list[RepositoryResult]
    all_docker: list[str]
    self_limited: bool
    explicit_targets: bool
    findings: list[Finding] = field(default_factory=list)


# --------------------------------------------------------------------------- principal


def _pick_user(instance: Instance, user_id: str) -> User | None:
    """Among users with this id, the one whose source's realm authenticates first."""
    matches = instance.find_users(user_id)
    if not matches:
        return None
    if len(matches) == 1 or instance.realms_active is None:
        return sorted(matches, key=lambda u: not u.is_local)[0]
    order = {realm: i for i, realm in enumerate(instance.realms_active)}

    def realm_rank(user: User) -> int:
        realm = SOURCE_REALMS.get(user.source.lower())
        return order.get(realm, len(order)) if realm else len(order)

    return sorted(matches, key=realm_rank)[0]


def principal_for(instance: Instance, user: User, anonymous: bool) -> Principal:
    default_role = None
    if not anonymous and instance.realm_active(REALM_DEFAULT_ROLE):
        default_role = instance.default_role()
    return Principal(
        user_id=user.user_id,
        source=user.source,
        status=user.status,
        anonymous=anonymous,
        roles=user.roles,
        external_roles=user.external_roles,
        default_role=default_role,
    )


def effective_permissions(instance: Instance, principal: Principal) -> EffectivePermissions:
    return resolve(principal, instance.roles or {}, instance.privileges or {})


@dataclass(frozen=True)
class Subject:
    """The audited principal with its effective permissions, however much of it is known."""

    user_id: str
    user: User | None
    principal: Principal | None
    effective: EffectivePermissions
    self_limited: bool
    summary: PrincipalSummary


def find_subject(instance: Instance, user_id: str | None, auth: AuthMode) -> Subject:
    """Find who to audit: ``--user``, the anonymous user, or the caller itself."""
    anonymous = auth is AuthMode.ANONYMOUS
    if anonymous:
        if user_id is not None:
            raise UsageError("--auth anonymous audits the anonymous user; leave out --user")
        if instance.anonymous is None:
            raise UsageError(
                "the anonymous settings are unknown (reading them needs nx-settings-read), "
                "so the anonymous user cannot be audited"
            )
        user_id = instance.anonymous.user_id
    if user_id is None:
        if instance.caller is None:
            raise UsageError("name the account to audit with --user")
        user_id = instance.caller.user_id
    caller = instance.caller
    is_caller = caller is not None and caller.user_id.lower() == user_id.lower()
    missing = instance.missing_security_sections()
    if missing:
        if is_caller and caller is not None and instance.caller_permissions is not None:
            principal = Principal(
                user_id=caller.user_id, source="external" if caller.external else "default"
            )
            return Subject(
                caller.user_id,
                None,
                principal,
                from_permission_strings(principal, instance.caller_permissions),
                True,
                PrincipalSummary(caller.user_id, None, None, False, True),
            )
        reasons = "; ".join(
            f"{name}: {instance.unavailable.get(name, 'not captured')}" for name in missing
        )
        raise UsageError(f"cannot audit '{user_id}': unknown in this data ({reasons})")
    user = _pick_user(instance, user_id)
    if user is None:
        return Subject(
            user_id,
            None,
            None,
            EffectivePermissions(()),
            False,
            PrincipalSummary(user_id, None, None, anonymous, False),
        )
    principal = principal_for(instance, user, anonymous)
    return Subject(
        user.user_id,
        user,
        principal,
        effective_permissions(instance, principal),
        False,
        PrincipalSummary(
            user.user_id,
            user.source,
            user.status,
            anonymous,
            True,
            user.roles,
            user.external_roles,
            principal.default_role,
        ),
    )


# --------------------------------------------------------------------------- repositories


def target_repositories(
    instance: Instance, names: Sequence[str] | None, self_limited: bool
) -> list[tuple[Repository, bool]]:
    """Target repositories, each with whether its connector settings are known."""
    known: dict[str, tuple[Repository, bool]] = {
        r.name: (r, True) for r in instance.repositories or ()
    }
    for entry in instance.browsable or ():
        if entry.name not in known:
            known[entry.name] = (
                Repository(
                    name=entry.name,
                    format=entry.format,
                    type=entry.type,
                    url=entry.url,
                    remote_url=entry.remote_url,
                ),
                False,
            )
    docker = {name: item for name, item in known.items() if item[0].is_docker}
    if not names:
        return [docker[name] for name in sorted(docker)]
    chosen: list[tuple[Repository, bool]] = []
    for name in names:
        if name in docker:
            chosen.append(docker[name])
        elif name in known:
            raise UsageError(
                f"repository '{name}' is a {known[name][0].format} repository, not Docker"
            )
        elif self_limited or instance.repositories is None:
            # The caller cannot see every repository; the target may exist all the same.
            chosen.append((Repository(name=name, format="docker", type="unknown"), False))
        else:
            existing = ", ".join(sorted(docker)) or "none"
            raise UsageError(
                f"no Docker repository named '{name}' (Docker repositories: {existing})"
            )
    return chosen


def _self_limited_decision(
    effective: EffectivePermissions, instance: Instance, repo: Repository, action: str
) -> AccessDecision:
    grants = effective.granting(repository_view(repo.format, repo.name, action))
    if grants:
        return AccessDecision(Access.GRANTED, grants)
    if action == "browse" and instance.browsable is not None:
        # /v1/repositories lists exactly the repositories the caller can browse.
        if any(b.name == repo.name for b in instance.browsable):
            return AccessDecision(
                Access.PARTIAL, (), "listed for browsing, through a content selector"
            )
        return AccessDecision(Access.DENIED, (), "not among the repositories the caller can browse")
    return AccessDecision(
        Access.UNKNOWN,
        (),
        "not in the caller's own permission list; content-selector access needs "
        "nx-privileges-read to see",
    )


# --------------------------------------------------------------------------- audit


def audit(
    instance: Instance,
    user_id: str | None = None,
    auth: AuthMode = AuthMode.PASSWORD,
    repositories: Sequence[str] | None = None,
    host: str | None = None,
) -> AuditResult:
    """Audit one principal against the target Docker repositories (all of them by default)."""
    subject = find_subject(instance, user_id, auth)
    principal, user, effective = subject.principal, subject.user, subject.effective
    self_limited = subject.self_limited
    targets: list[RepositoryResult] = []
    for repo, connector_known in target_repositories(instance, repositories, self_limited):
        if self_limited:
            read = _self_limited_decision(effective, instance, repo, "read")
            browse = _self_limited_decision(effective, instance, repo, "browse")
        else:
            selectors = selector_names(instance, effective)
            read = decide(effective, repo, "read", selectors)
            browse = decide(effective, repo, "browse", selectors)
        targets.append(
            RepositoryResult(
                repository=repo,
                registry=repo.registry_address(instance.base_url, host),
                read=read,
                browse=browse,
                connector_known=connector_known,
            )
        )

    context = _Context(
        instance=instance,
        user_id=subject.user_id,
        principal=principal,
        user=user,
        effective=effective,
        auth=auth,
        targets=targets,
        all_docker=sorted(r.name for r in instance.docker_repositories),
        self_limited=self_limited,
        explicit_targets=bool(repositories),
    )
    # An account that does not exist has nothing else worth reporting.
    checks = ALL_CHECKS if subject.summary.found else (check_principal,)
    for check in checks:
        context.findings.extend(check(context))

    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    findings = sorted(
        _dedupe(context.findings), key=lambda f: (order[f.severity], f.repository or "", f.code)
    )
    return AuditResult(
        principal=subject.summary,
        repositories=tuple(targets),
        findings=tuple(findings),
        auth=auth,
        self_limited=self_limited,
        base_url=instance.base_url,
        server=instance.server,
    )


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, str]] = set()
    unique = []
    for finding in findings:
        key = (finding.code, finding.repository, finding.message)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def format_path(path: Sequence[str]) -> str:
    return " -> ".join(path)


# --------------------------------------------------------------------------- checks
# Each check states the risk it looks for in its docstring and yields findings.

Check = Callable[[_Context], Iterator[Finding]]


def check_principal(ctx: _Context) -> Iterator[Finding]:
    """The account must exist, be active, and be able to log in the way the scanner will."""
    instance, user = ctx.instance, ctx.user
    if ctx.self_limited:
        return
    if user is None:
        who = "anonymous user" if ctx.auth is AuthMode.ANONYMOUS else "user"
        yield Finding(
            "PRINCIPAL_NOT_FOUND",
            Severity.ERROR,
            None,
            f"The {who} '{ctx.user_id}' does not exist in any user source Nexus searched",
            "Check the user id (Security > Users, all sources), or create the account; external "
            "users appear once their source (LDAP, Crowd, SAML) is configured.",
        )
        return
    if user.status == "changepassword":
        # Nexus's authenticating realm accepts changepassword like active: Basic logins work.
        yield Finding(
            "PRINCIPAL_MUST_CHANGE_PASSWORD",
            Severity.INFO,
            None,
            f"User '{user.user_id}' is asked to change its password at its next UI login; "
            "registry logins still work",
            "Log in once as this user in the UI and set a new password, or set its status to "
            "active in Security > Users.",
        )
    elif user.status != "active":
        yield Finding(
            "PRINCIPAL_NOT_ACTIVE",
            Severity.ERROR,
            None,
            f"User '{user.user_id}' is {user.status} and cannot log in",
            f"Set the status of '{user.user_id}' to active in Security > Users.",
        )
    if ctx.auth is AuthMode.ANONYMOUS:
        return
    source = user.source.lower()
    if ctx.auth is AuthMode.PASSWORD and source in SSO_SOURCES:
        yield Finding(
            "EXTERNAL_USER_NEEDS_TOKEN",
            Severity.ERROR,
            None,
            f"User '{user.user_id}' comes from {user.source}: it has no password a Docker "
            "registry can check over HTTP Basic",
            "Issue a user token for this account and give the scanner its name code and pass "
            "code (--auth token), or use a local service account.",
        )
    realm = SOURCE_REALMS.get(source)
    if realm and instance.realm_active(realm) is False:
        yield Finding(
            "SOURCE_REALM_INACTIVE",
            Severity.ERROR,
            None,
            f"User '{user.user_id}' comes from source {user.source}, but its realm {realm} "
            "is not active, so it cannot log in",
            f"Activate {realm} in Security > Realms.",
        )


def check_role_resolution(ctx: _Context) -> Iterator[Finding]:
    """Undefined roles and privileges, and role cycles, are skipped silently by Nexus."""
    for issue in ctx.effective.issues:
        where = format_path(issue.path)
        if issue.kind is IssueKind.ROLE_UNDEFINED:
            yield Finding(
                "ROLE_UNDEFINED",
                Severity.WARNING,
                None,
                f"Role '{issue.reference}' is referenced but not defined ({where}); "
                "it grants nothing",
                f"Create role '{issue.reference}' or remove the reference to it.",
            )
        elif issue.kind is IssueKind.ROLE_CYCLE:
            yield Finding(
                "ROLE_CYCLE",
                Severity.WARNING,
                None,
                "Roles contain each other in a cycle: "
                + " -> ".join(step.split(":", 1)[1] for step in issue.path),
                "Remove one of the nested-role links so that no role contains itself.",
            )
        elif issue.kind is IssueKind.PRIVILEGE_UNDEFINED:
            yield Finding(
                "PRIVILEGE_UNDEFINED",
                Severity.WARNING,
                None,
                f"Privilege '{issue.reference}' is referenced but not defined ({where}); it "
                "grants nothing",
                f"Create privilege '{issue.reference}' or remove it from the role.",
            )
        else:
            yield Finding(
                "PRIVILEGE_INVALID",
                Severity.WARNING,
                None,
                f"Privilege '{issue.reference}' cannot be evaluated ({issue.detail}); {where}",
                "Fix or delete the privilege in Security > Privileges.",
            )


def check_default_role(ctx: _Context) -> Iterator[Finding]:
    """The DefaultRole realm hands a role to everyone, invisible in the user's own roles."""
    if ctx.principal is None or ctx.principal.anonymous or ctx.self_limited:
        return
    active = ctx.instance.realm_active(REALM_DEFAULT_ROLE)
    if active and ctx.instance.capabilities is None:
        yield Finding(
            "ACCESS_UNKNOWN",
            Severity.WARNING,
            None,
            "The DefaultRole realm is active but the capabilities could not be read, so the "
            "role it adds to every user is unknown",
            "Re-run with an account that has nx-capabilities-read.",
        )
    role = ctx.principal.default_role
    if role:
        held = sum(1 for g in ctx.effective.grants if g.path[1:2] == (f"default-role:{role}",))
        yield Finding(
            "DEFAULT_ROLE_GRANTS",
            Severity.INFO,
            None,
            f"The DefaultRole realm adds role '{role}' to every authenticated user, "
            f"'{ctx.principal.user_id}' included ({held} privilege grant(s))",
            "Keep it in mind: this role does not appear in Security > Users. Review it under "
            "System > Capabilities (Default Role).",
        )


_MISSING_CODES = {"read": "READ_MISSING", "browse": "BROWSE_MISSING"}
_ACTION_WORDS = {
    "read": "pull images (read)",
    "browse": "list the catalog (browse)",
}


def check_access(ctx: _Context) -> Iterator[Finding]:
    """The scanner needs read to pull and browse to list each target repository."""
    if ctx.user is None and not ctx.self_limited:
        return
    who = ctx.principal.user_id if ctx.principal else "the account"
    for target in ctx.targets:
        repo = target.repository
        for action in SCANNER_ACTIONS:
            decision = target.decision(action)
            if decision.access is Access.DENIED:
                privilege = f"nx-repository-view-docker-{repo.name}-{action}"
                yield Finding(
                    _MISSING_CODES[action],
                    Severity.ERROR,
                    repo.name,
                    f"'{who}' cannot {_ACTION_WORDS[action]} on '{repo.name}'",
                    f"Add privilege {privilege} to a role held by '{who}' (Security > Roles), "
                    "or give it a minimal scanner role.",
                )
            elif decision.access is Access.PARTIAL:
                yield Finding(
                    "ACCESS_PARTIAL",
                    Severity.WARNING,
                    repo.name,
                    f"'{who}' can {_ACTION_WORDS[action]} on '{repo.name}' only partly: "
                    f"{decision.note}",
                    f"If the scanner must see every image, grant "
                    f"nx-repository-view-docker-{repo.name}-{action}.",
                )
            elif decision.access is Access.UNKNOWN:
                yield Finding(
                    "ACCESS_UNKNOWN",
                    Severity.WARNING,
                    repo.name,
                    f"Whether '{who}' can {_ACTION_WORDS[action]} on '{repo.name}' is unknown: "
                    f"{decision.note}",
                    "Re-run as an account with nx-users-read, nx-roles-read and "
                    "nx-privileges-read (or as an administrator) for a definite answer.",
                )


def excess_of(
    permission: WildcardPermission, targets: set[str], all_docker: set[str]
) -> str | None:
    """Why a permission grants more than read and browse on the targets, or ``None``."""
    parts = permission.parts
    if WILDCARD in parts[0]:
        return "everything in Nexus"
    if "nexus" not in parts[0]:
        return None  # Every Nexus permission starts with 'nexus': this one grants nothing here.
    if len(parts) == 1 or WILDCARD in parts[1]:
        return "everything in Nexus (administrator)"
    kind = parts[1]
    if kind == {"repository-view"}:
        fmt_i = 2
    elif kind == {"repository-content-selector"}:
        fmt_i = 3
    elif kind == {"repository-admin"}:
        return "repository administration"
    else:
        return "application rights (" + ",".join(sorted(kind)) + ")"

    def part(i: int) -> frozenset[str]:
        return parts[i] if i < len(parts) else frozenset({WILDCARD})

    fmt, repos, actions = part(fmt_i), part(fmt_i + 1), part(fmt_i + 2)
    reasons = []
    if WILDCARD in actions or not actions <= set(SCANNER_ACTIONS):
        extra = (
            "all actions"
            if WILDCARD in actions
            else ", ".join(sorted(actions - set(SCANNER_ACTIONS)))
        )
        reasons.append(f"{extra} beyond read/browse")
    if WILDCARD in repos:
        if WILDCARD in fmt:
            reasons.append("every repository of every format")
        elif fmt != {"docker"}:
            reasons.append("repositories of format " + ",".join(sorted(fmt)))
        elif not all_docker <= targets:
            others = sorted(all_docker - targets)
            reasons.append(
                "every Docker repository, including "
                + ", ".join(others[:5])
                + (" ..." if len(others) > 5 else "")
            )
    else:
        others = sorted(repos - targets)
        if others:
            reasons.append("other repositories: " + ", ".join(others))
        if WILDCARD not in fmt and fmt != {"docker"}:
            reasons.append("format " + ",".join(sorted(fmt)))
    return "; ".join(reasons) or None


def check_excess(ctx: _Context) -> Iterator[Finding]:
    """Least privilege: every held right beyond read and browse on the targets is a risk."""
    if ctx.principal is None:
        return
    targets = {t.repository.name for t in ctx.targets}
    by_label: dict[str, tuple[str, list[Grant]]] = {}
    for grant in ctx.effective.grants:
        reason = excess_of(grant.permission, targets, set(ctx.all_docker))
        if reason is None:
            continue
        label = grant.path[-1]
        by_label.setdefault(label, (reason, []))[1].append(grant)
    for label, (reason, grants) in sorted(by_label.items()):
        paths = "; ".join(format_path(g.path) for g in grants[:3])
        more = f" (+{len(grants) - 3} more paths)" if len(grants) > 3 else ""
        name = label.split(":", 1)[1]
        yield Finding(
            "EXCESS_PRIVILEGE",
            Severity.WARNING,
            None,
            f"{label} grants {reason}, beyond what a scanner needs (via {paths}{more})",
            f"Remove {name} from the role that grants it, or give the scanner a dedicated role "
            "with only read and browse on its repositories.",
        )


def transitive_members(instance: Instance, group: Repository) -> list[Repository]:
    seen: set[str] = {group.name}
    found: list[Repository] = []
    pending = list(group.members)
    while pending:
        name = pending.pop(0)
        if name in seen:
            continue
        seen.add(name)
        member = instance.repository(name)
        if member is None:
            continue
        found.append(member)
        pending.extend(member.members)
    return found


def upstream_proxies(instance: Instance, group: Repository) -> list[str]:
    """Members of a group, at any depth, that proxy a public registry."""
    return [m.name for m in transitive_members(instance, group) if m.proxies_public_registry]


def posture_codes(
    instance: Instance, repo: Repository, registry: RegistryAddress | None
) -> list[str]:
    """Registry-posture codes of a Docker repository (connector codes only when known).

    ``NO_CONNECTOR``, ``HTTP_ONLY``, ``DOCKER_TOKEN_REALM_INACTIVE``, ``REPOSITORY_OFFLINE``
    and ``GROUP_INCLUDES_UPSTREAM_PROXY``: the facts ``check`` and the access review share.
    """
    codes: list[str] = []
    docker = repo.docker
    if docker is not None:
        if not docker.has_connector:
            codes.append("NO_CONNECTOR")
        elif not docker.https_port and registry is not None and registry.scheme == "http":
            codes.append("HTTP_ONLY")
        if not docker.force_basic_auth and instance.realm_active(REALM_DOCKER_TOKEN) is False:
            codes.append("DOCKER_TOKEN_REALM_INACTIVE")
    if not repo.online:
        codes.append("REPOSITORY_OFFLINE")
    if repo.type == "group" and upstream_proxies(instance, repo):
        codes.append("GROUP_INCLUDES_UPSTREAM_PROXY")
    return codes


def check_repository_settings(ctx: _Context) -> Iterator[Finding]:
    """Connector, scheme, online state and group contents decide whether a pull can work."""
    for target in ctx.targets:
        repo = target.repository
        codes = posture_codes(ctx.instance, repo, target.registry)
        if not target.connector_known or repo.docker is None:
            yield Finding(
                "ACCESS_UNKNOWN",
                Severity.WARNING,
                repo.name,
                f"The connector settings of '{repo.name}' are unknown, so its registry address "
                "cannot be given",
                "Re-run as an account with repository-admin read on it "
                f"(nx-repository-admin-docker-{repo.name}-read).",
            )
        if "NO_CONNECTOR" in codes:
            yield Finding(
                "NO_CONNECTOR",
                Severity.ERROR,
                repo.name,
                f"'{repo.name}' has no HTTP or HTTPS connector, subdomain or path-based "
                "routing: no Docker client can reach it",
                "Set an HTTP or HTTPS connector port in the repository's Repository "
                "Connectors settings (or enable path-based routing on 3.83+).",
            )
        if "HTTP_ONLY" in codes and target.registry is not None:
            yield Finding(
                "HTTP_ONLY",
                Severity.WARNING,
                repo.name,
                f"'{repo.name}' is served over plain HTTP at {target.registry.address}; "
                "credentials travel unencrypted",
                "Put a TLS-terminating reverse proxy in front of the connector (and point "
                "the scanner at it), or configure an HTTPS connector; otherwise the scanner "
                "must allow insecure HTTP for this registry.",
            )
        if "DOCKER_TOKEN_REALM_INACTIVE" in codes:
            yield Finding(
                "DOCKER_TOKEN_REALM_INACTIVE",
                Severity.ERROR,
                repo.name,
                f"'{repo.name}' uses Docker bearer tokens (forceBasicAuth off) but the "
                "Docker Bearer Token Realm is not active: docker login fails",
                "Activate 'Docker Bearer Token Realm' (DockerToken) in Security > Realms, or "
                "turn on forceBasicAuth for the repository.",
            )
        if "REPOSITORY_OFFLINE" in codes:
            yield Finding(
                "REPOSITORY_OFFLINE",
                Severity.ERROR,
                repo.name,
                f"'{repo.name}' is offline: every request to it fails",
                "Bring the repository online (Repositories > the repository > Online).",
            )
        if "GROUP_INCLUDES_UPSTREAM_PROXY" in codes:
            yield Finding(
                "GROUP_INCLUDES_UPSTREAM_PROXY",
                Severity.WARNING,
                repo.name,
                f"Group '{repo.name}' includes proxies of public registries "
                f"({', '.join(upstream_proxies(ctx.instance, repo))}): its catalog lists the "
                "upstream's images, not yours",
                "Point the scanner at the hosted repositories instead of the group, or "
                "filter the images it scans.",
            )


def check_realms_known(ctx: _Context) -> Iterator[Finding]:
    """Realm-dependent answers need the realm list."""
    if ctx.instance.realms_active is None and not ctx.self_limited:
        yield Finding(
            "ACCESS_UNKNOWN",
            Severity.WARNING,
            None,
            "The active realms are unknown, so realm checks (Docker token, LDAP, user token, "
            "DefaultRole) were skipped",
            "Re-run as an account with nx-settings-read.",
        )


def check_anonymous_login(ctx: _Context) -> Iterator[Finding]:
    """Anonymous pulls need anonymous access, the token realm and repos without forced Basic."""
    if ctx.auth is not AuthMode.ANONYMOUS:
        return
    settings = ctx.instance.anonymous
    if settings is not None and not settings.enabled:
        yield Finding(
            "ANONYMOUS_DISABLED",
            Severity.ERROR,
            None,
            "Anonymous access is disabled: anonymous pulls are refused",
            "Enable anonymous access in Security > Anonymous Access, or give the scanner an "
            "account.",
        )
    for target in ctx.targets:
        docker = target.repository.docker
        if docker is not None and docker.force_basic_auth:
            yield Finding(
                "ANONYMOUS_BLOCKED_BY_BASIC_AUTH",
                Severity.ERROR,
                target.repository.name,
                f"'{target.repository.name}' forces HTTP Basic authentication: anonymous pulls "
                "are impossible",
                "Turn off forceBasicAuth ('Allow anonymous docker pull') on the repository and "
                "activate the Docker Bearer Token Realm.",
            )
    if ctx.instance.realm_active(REALM_DOCKER_TOKEN) is False and not any(
        t.repository.docker is not None and not t.repository.docker.force_basic_auth
        for t in ctx.targets
    ):
        yield Finding(
            "DOCKER_TOKEN_REALM_INACTIVE",
            Severity.ERROR,
            None,
            "The Docker Bearer Token Realm is not active: anonymous Docker pulls need it",
            "Activate 'Docker Bearer Token Realm' (DockerToken) in Security > Realms.",
        )


def check_user_tokens(ctx: _Context) -> Iterator[Finding]:
    """Token logins need the Pro feature, turned on, and its realm; protected content needs them."""
    settings = ctx.instance.user_tokens
    if ctx.auth is AuthMode.TOKEN:
        if settings is None:
            reason = ctx.instance.unavailable.get("user_tokens", "not captured")
            if _is_absent(reason) or (ctx.instance.edition not in (None, "PRO")):
                yield Finding(
                    "USER_TOKENS_UNAVAILABLE",
                    Severity.ERROR,
                    None,
                    f"User tokens are not available on this instance ({reason}); they are a "
                    "Nexus Pro feature",
                    "Use a local account with a password (--auth password), or upgrade to Pro.",
                )
            else:
                yield Finding(
                    "ACCESS_UNKNOWN",
                    Severity.WARNING,
                    None,
                    f"The user-token settings could not be read ({reason})",
                    "Re-run as an account with nx-settings-read.",
                )
            return
        if not settings.enabled:
            yield Finding(
                "USER_TOKENS_DISABLED",
                Severity.ERROR,
                None,
                "User tokens are turned off: a token login will be refused",
                "Enable user tokens in Security > User Tokens.",
            )
        if ctx.instance.realm_active(REALM_USER_TOKEN) is False:
            yield Finding(
                "USER_TOKEN_REALM_INACTIVE",
                Severity.ERROR,
                None,
                "The User Token Realm is not active: token logins are refused",
                "Activate 'User Token Realm' in Security > Realms.",
            )
    elif (
        ctx.auth is AuthMode.PASSWORD
        and settings is not None
        and settings.enabled
        and settings.protect_content
    ):
        yield Finding(
            "TOKENS_REQUIRED_FOR_CONTENT",
            Severity.ERROR,
            None,
            "User tokens protect repository content: docker login with a password succeeds but "
            "every pull is refused",
            "Give the scanner a user token (--auth token), or turn off 'Require user tokens for "
            "repository authentication'.",
        )


def _is_absent(reason: str) -> bool:
    return reason.startswith(("404", "402"))


def check_anonymous_exposure(ctx: _Context) -> Iterator[Finding]:
    """Anyone can pull a target that the anonymous user can read when pulls are possible."""
    instance = ctx.instance
    settings = instance.anonymous
    if settings is None or not settings.enabled or instance.users is None:
        return
    if instance.realm_active(REALM_DOCKER_TOKEN) is not True:
        return
    anonymous_user = _pick_user(instance, settings.user_id)
    if anonymous_user is None:
        return
    anonymous = principal_for(instance, anonymous_user, anonymous=True)
    effective = effective_permissions(instance, anonymous)
    selectors = selector_names(instance, effective)
    for target in ctx.targets:
        repo = target.repository
        if repo.docker is None or repo.docker.force_basic_auth or not repo.online:
            continue
        decision = decide(effective, repo, "read", selectors)
        if decision.access in (Access.GRANTED, Access.PARTIAL):
            via = format_path(decision.grants[0].path) if decision.grants else "?"
            severity = Severity.INFO if ctx.auth is AuthMode.ANONYMOUS else Severity.WARNING
            yield Finding(
                "ANONYMOUS_CAN_PULL",
                severity,
                repo.name,
                f"Anyone can pull from '{repo.name}' without credentials (via {via})",
                "If that is not intended, turn on forceBasicAuth for the repository or remove "
                "the read privilege from the anonymous user's roles (nx-anonymous grants read "
                "on every repository).",
            )


ALL_CHECKS: tuple[Check, ...] = (
    check_principal,
    check_role_resolution,
    check_default_role,
    check_realms_known,
    check_access,
    check_excess,
    check_repository_settings,
    check_anonymous_login,
    check_user_tokens,
    check_anonymous_exposure,
)


def can_i(
    instance: Instance,
    permissions: Sequence[str],
    user_id: str | None = None,
    auth: AuthMode = AuthMode.PASSWORD,
) -> tuple[PrincipalSummary, list[tuple[str, bool, tuple[Grant, ...]]]]:
    """For each permission string: whether the principal holds it, and every path granting it."""
    parsed = [(text, WildcardPermission.parse(text)) for text in permissions]
    subject = find_subject(instance, user_id, auth)
    if subject.user is None and not subject.self_limited:
        raise UsageError(f"no user '{subject.user_id}' in any user source")
    answers = []
    for text, required in parsed:
        grants = subject.effective.granting(required)
        answers.append((text, bool(grants), grants))
    return subject.summary, answers
