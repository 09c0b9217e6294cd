"""Effective permissions the way Nexus computes them: Shiro wildcards, privileges, nested roles.

Pure functions only. The rules follow Apache Shiro 1.13 ``WildcardPermission`` (case-insensitive,
``*`` only as a whole subpart, missing trailing parts imply everything) and Nexus's own
privilege descriptors, which build a permission from a privilege's *fields*, never its name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from audit.errors import UsageError
from audit.model import Instance, Privilege, Repository, Role

WILDCARD = "*"

# REST renders actions as enum names; Nexus stores (and builds permissions from) these values.
_REPOSITORY_ACTIONS = {
    "BROWSE": "browse",
    "READ": "read",
    "EDIT": "edit",
    "ADD": "add",
    "DELETE": "delete",
    "ALL": WILDCARD,
}
_APPLICATION_ACTIONS = {
    "ADD": "create",
    "CREATE": "create",
    "READ": "read",
    "EDIT": "update",
    "UPDATE": "update",
    "DELETE": "delete",
    "START": "start",
    "STOP": "stop",
    "ASSOCIATE": "associate",
    "DISASSOCIATE": "disassociate",
    "ALL": WILDCARD,
}
_SCRIPT_ACTIONS = {**_REPOSITORY_ACTIONS, "RUN": "run"}


class InvalidPermission(UsageError):
    """A permission string Shiro would reject (empty, or with an empty part)."""


@dataclass(frozen=True)
class WildcardPermission:
    """A parsed Shiro wildcard permission: parts of subpart sets, lower-cased."""

    parts: tuple[frozenset[str], ...]

    @classmethod
    def parse(cls, text: str) -> WildcardPermission:
        """Parse as Shiro 1.13 does, including Java's ``String.split`` quirks."""
        cleaned = text.strip().lower()
        if not cleaned:
            raise InvalidPermission("a permission string cannot be empty")
        parts: list[frozenset[str]] = []
        for piece in _java_split(cleaned, ":"):
            subparts = frozenset(_java_split(piece, ","))
            if not subparts:
                raise InvalidPermission(
                    f"invalid permission '{text}': a part cannot hold only ',' dividers"
                )
            parts.append(subparts)
        if not parts:
            raise InvalidPermission(f"invalid permission '{text}': it holds only ':' dividers")
        return cls(tuple(parts))

    @classmethod
    def of(cls, *parts: str | Iterable[str]) -> WildcardPermission:
        """Build from parts without re-parsing, as Nexus's list constructor does (lower-cased)."""
        built: list[frozenset[str]] = []
        for part in parts:
            values = [part] if isinstance(part, str) else list(part)
            built.append(frozenset(v.lower() for v in values))
        return cls(tuple(built))

    def implies(self, required: WildcardPermission) -> bool:
        for index, needed in enumerate(required.parts):
            if index >= len(self.parts):
                return True
            granted = self.parts[index]
            if WILDCARD not in granted and not needed <= granted:
                return False
        return all(WILDCARD in part for part in self.parts[len(required.parts) :])

    def __str__(self) -> str:
        return ":".join(",".join(sorted(part)) for part in self.parts)


def _java_split(text: str, divider: str) -> list[str]:
    """Java's ``String.split``: no match gives ``[text]``; trailing empty strings are dropped."""
    if divider not in text:
        return [text]
    pieces = text.split(divider)
    while pieces and pieces[-1] == "":
        pieces.pop()
    return pieces


def _actions(privilege: Privilege, table: Mapping[str, str]) -> list[str]:
    if not privilege.actions:
        return [WILDCARD]
    values: list[str] = []
    for raw in privilege.actions:
        for action in raw.split(","):
            action = action.strip()
            if action:
                values.append(table.get(action.upper(), action.lower()))
    return values or [WILDCARD]


def _content_selector_target(repository: str) -> tuple[str, str]:
    """(format, repository) a content-selector privilege's ``repository`` field stands for."""
    if repository == WILDCARD:
        return WILDCARD, WILDCARD
    if repository.startswith("*-"):
        return repository[2:], WILDCARD
    return WILDCARD, repository


def permission_of(privilege: Privilege) -> WildcardPermission | None:
    """The permission Nexus builds from a privilege's fields; ``None`` for an unknown type."""
    kind = privilege.type
    if kind in ("repository-view", "repository-admin"):
        return WildcardPermission.of(
            "nexus",
            kind,
            privilege.format or WILDCARD,
            privilege.repository or WILDCARD,
            _actions(privilege, _REPOSITORY_ACTIONS),
        )
    if kind == "repository-content-selector":
        fmt, repo = _content_selector_target(privilege.repository or WILDCARD)
        return WildcardPermission.of(
            "nexus",
            kind,
            privilege.content_selector or WILDCARD,
            fmt,
            repo,
            _actions(privilege, _REPOSITORY_ACTIONS),
        )
    if kind == "application":
        domain = (privilege.domain or WILDCARD).split(":")
        return WildcardPermission.of("nexus", *domain, _actions(privilege, _APPLICATION_ACTIONS))
    if kind == "script":
        return WildcardPermission.of(
            "nexus",
            "script",
            privilege.script_name or WILDCARD,
            _actions(privilege, _SCRIPT_ACTIONS),
        )
    if kind == "wildcard":
        return WildcardPermission.parse(privilege.pattern or "")
    return None


def repository_view(fmt: str, repository: str, action: str) -> WildcardPermission:
    """What Nexus checks for a content request (pull = ``read``; catalog listing = ``browse``)."""
    return WildcardPermission.of("nexus", "repository-view", fmt, repository, action)


def content_selector_view(
    selector: str, fmt: str, repository: str, action: str
) -> WildcardPermission:
    return WildcardPermission.of(
        "nexus", "repository-content-selector", selector, fmt, repository, action
    )


@dataclass(frozen=True)
class Grant:
    """One way a permission reaches the principal: ``path`` ends at a privilege or permission."""

    path: tuple[str, ...]
    permission: WildcardPermission
    privilege: Privilege | None = None
    """``None`` when the permission string came without a privilege (self-audit)."""

    @property
    def via_roles(self) -> tuple[str, ...]:
        return tuple(step.split(":", 1)[1] for step in self.path if step.startswith("role:"))


class IssueKind(str, Enum):
    ROLE_UNDEFINED = "role-undefined"
    ROLE_CYCLE = "role-cycle"
    PRIVILEGE_UNDEFINED = "privilege-undefined"
    PRIVILEGE_UNUSABLE = "privilege-unusable"


@dataclass(frozen=True)
class ResolutionIssue:
    """Something Nexus silently skips while resolving roles, which an audit must report."""

    kind: IssueKind
    path: tuple[str, ...]
    reference: str
    detail: str = ""


@dataclass(frozen=True)
class Principal:
    """Who is being audited: a user, the anonymous user, or the caller itself."""

    user_id: str
    source: str = "default"
    status: str = "active"
    anonymous: bool = False
    roles: tuple[str, ...] = ()
    external_roles: tuple[str, ...] = ()
    default_role: str | None = None
    """Added by the DefaultRole realm at authorization time; not in the user's ``roles``."""

    @property
    def node(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True)
class EffectivePermissions:
    """Every grant a principal holds, each with its path, plus what resolution skipped."""

    grants: tuple[Grant, ...]
    issues: tuple[ResolutionIssue, ...] = ()
    roles: frozenset[str] = frozenset()
    """Ids of every defined role reached."""

    @cached_property
    def _by_permission(self) -> dict[WildcardPermission, list[Grant]]:
        # Many paths lead to few distinct permissions: test each permission once.
        index: dict[WildcardPermission, list[Grant]] = {}
        for grant in self.grants:
            index.setdefault(grant.permission, []).append(grant)
        return index

    def granting(self, required: WildcardPermission) -> tuple[Grant, ...]:
        found: list[Grant] = []
        for permission, grants in self._by_permission.items():
            if permission.implies(required):
                found.extend(grants)
        return tuple(found)

    def allows(self, required: WildcardPermission) -> bool:
        return any(p.implies(required) for p in self._by_permission)


#: Grant paths kept per privilege below one role. Nested roles form a DAG whose path count can
#: grow exponentially with depth; past this many, more paths to the same privilege add nothing
#: an administrator can act on.
MAX_PATHS_PER_PRIVILEGE = 16


def _note_path(counts: dict[str, int], grant: Grant) -> bool:
    """Count a path to its privilege; False once the privilege has enough paths."""
    key = grant.path[-1]
    seen = counts.get(key, 0)
    if seen >= MAX_PATHS_PER_PRIVILEGE:
        return False
    counts[key] = seen + 1
    return True


class _RoleExpander:
    """Walks nested roles once each (memoised), recording cycles and undefined references."""

    def __init__(self, roles: Mapping[str, Role], privileges: Mapping[str, Privilege]) -> None:
        self._roles = roles
        self._privileges = privileges
        self._memo: dict[str, tuple[list[Grant], list[ResolutionIssue], set[str]]] = {}
        self._permission_memo: dict[str, WildcardPermission | None | str] = {}

    def _permission(self, privilege: Privilege) -> WildcardPermission | None | str:
        if privilege.name not in self._permission_memo:
            try:
                self._permission_memo[privilege.name] = permission_of(privilege)
            except UsageError as exc:
                self._permission_memo[privilege.name] = str(exc)
        return self._permission_memo[privilege.name]

    def expand(
        self, role_id: str, stack: tuple[str, ...]
    ) -> tuple[list[Grant], list[ResolutionIssue], set[str], bool]:
        """Grants below ``role_id`` with paths relative to it; last item: cut short by a cycle."""
        if role_id in self._memo:
            return (*self._memo[role_id], False)
        role = self._roles.get(role_id)
        node = f"role:{role_id}"
        if role is None:
            issue = ResolutionIssue(IssueKind.ROLE_UNDEFINED, (node,), role_id)
            return [], [issue], set(), False
        grants: list[Grant] = []
        path_counts: dict[str, int] = {}
        issues: list[ResolutionIssue] = []
        reached = {role_id}
        truncated = False
        for privilege_id in role.privileges:
            privilege = self._privileges.get(privilege_id)
            if privilege is None:
                issues.append(ResolutionIssue(IssueKind.PRIVILEGE_UNDEFINED, (node,), privilege_id))
                continue
            permission = self._permission(privilege)
            if not isinstance(permission, WildcardPermission):
                detail = permission or f"unknown privilege type '{privilege.type}'"
                issues.append(
                    ResolutionIssue(IssueKind.PRIVILEGE_UNUSABLE, (node,), privilege_id, detail)
                )
                continue
            grant = Grant((node, f"privilege:{privilege_id}"), permission, privilege)
            if _note_path(path_counts, grant):
                grants.append(grant)
        for child_id in role.roles:
            if child_id == role_id or child_id in stack:
                chain = (*stack, role_id)
                cycle = (*chain[chain.index(child_id) :], child_id)
                issues.append(
                    ResolutionIssue(
                        IssueKind.ROLE_CYCLE,
                        tuple(f"role:{r}" for r in cycle),
                        child_id,
                    )
                )
                truncated = True
                continue
            child_grants, child_issues, child_reached, child_cut = self.expand(
                child_id, (*stack, role_id)
            )
            truncated = truncated or child_cut
            reached |= child_reached
            grants.extend(
                Grant((node, *grant.path), grant.permission, grant.privilege)
                for grant in child_grants
                if _note_path(path_counts, grant)
            )
            issues.extend(
                i
                if i.kind is IssueKind.ROLE_CYCLE
                else ResolutionIssue(i.kind, (node, *i.path), i.reference, i.detail)
                for i in child_issues
            )
        if not truncated:
            self._memo[role_id] = (grants, issues, reached)
        return grants, issues, reached, truncated


@dataclass(frozen=True)
class RoleExpansion:
    """Everything below one role: grants and issues with paths relative to it."""

    grants: tuple[Grant, ...]
    issues: tuple[ResolutionIssue, ...]
    roles: frozenset[str]
    """Ids of every defined role reached, the role itself included."""


class RoleResolver:
    """Resolves many principals against one role graph, expanding each role only once.

    A whole-instance review resolves thousands of users whose roles overlap; sharing the
    memoised expansion keeps that proportional to the roles, not to the users.
    """

    def __init__(self, roles: Mapping[str, Role], privileges: Mapping[str, Privilege]) -> None:
        self._roles = roles
        self._expander = _RoleExpander(roles, privileges)

    def expand(self, role_id: str) -> RoleExpansion:
        """What one role grants, with paths starting at the role (``role:<id>``)."""
        grants, issues, reached, _ = self._expander.expand(role_id, ())
        return RoleExpansion(tuple(grants), tuple(issues), frozenset(reached))

    def resolve(self, principal: Principal) -> EffectivePermissions:
        """The principal's grants with full paths; see :func:`resolve`."""
        starts = [(r, f"role:{r}") for r in principal.roles]
        starts += [(r, f"external-role:{r}") for r in principal.external_roles if r in self._roles]
        if principal.default_role:
            starts.append((principal.default_role, f"default-role:{principal.default_role}"))
        grants: list[Grant] = []
        issues: list[ResolutionIssue] = []
        reached: set[str] = set()
        for role_id, node in starts:
            role_grants, role_issues, role_reached, _ = self._expander.expand(role_id, ())
            reached |= role_reached
            grants.extend(
                Grant((principal.node, node, *grant.path[1:]), grant.permission, grant.privilege)
                for grant in role_grants
            )
            issues.extend(
                issue
                if issue.kind is IssueKind.ROLE_CYCLE
                else ResolutionIssue(
                    issue.kind,
                    (principal.node, node, *issue.path[1:]),
                    issue.reference,
                    issue.detail,
                )
                for issue in role_issues
            )
        return EffectivePermissions(tuple(grants), tuple(_unique(issues)), frozenset(reached))


def resolve(
    principal: Principal, roles: Mapping[str, Role], privileges: Mapping[str, Privilege]
) -> EffectivePermissions:
    """Expand the principal's roles to every privilege it holds, with every grant path.

    External roles grant through the Nexus role of the same id, and only when one exists, so
    an unmatched external group is not an error. Undefined local roles, undefined privileges
    and cycles are skipped, as Nexus does, and reported.
    """
    return RoleResolver(roles, privileges).resolve(principal)


def from_permission_strings(
    principal: Principal, permissions: Sequence[str]
) -> EffectivePermissions:
    """Effective permissions from a list of held permission strings (self-audit without admin)."""
    grants = []
    for text in permissions:
        try:
            permission = WildcardPermission.parse(text)
        except InvalidPermission:
            continue
        grants.append(Grant((principal.node, f"permission:{text}"), permission))
    return EffectivePermissions(tuple(grants))


def _unique(issues: Iterable[ResolutionIssue]) -> list[ResolutionIssue]:
    seen: set[tuple[IssueKind, str, object]] = set()
    result = []
    for issue in issues:
        # A cycle is the same cycle whichever role it was entered from.
        shape = frozenset(issue.path) if issue.kind is IssueKind.ROLE_CYCLE else issue.path
        key = (issue.kind, "" if issue.kind is IssueKind.ROLE_CYCLE else issue.reference, shape)
        if key not in seen:
            seen.add(key)
            result.append(issue)
    return result


class Access(str, Enum):
    GRANTED = "granted"
    PARTIAL = "partial"
    """Only through content selectors: some paths (images) only."""
    DENIED = "denied"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AccessDecision:
    access: Access
    grants: tuple[Grant, ...] = ()
    note: str | None = None


def decide(
    effective: EffectivePermissions,
    repository: Repository,
    action: str,
    selectors: Iterable[str],
) -> AccessDecision:
    """Whether ``action`` on ``repository`` is allowed, as Nexus's content check decides it.

    Nexus checks the repository-view permission first; failing that, each configured content
    selector through a matching content-selector permission, which opens only the content the
    selector's expression matches. Group repositories are checked on the group alone.
    """
    full = effective.granting(repository_view(repository.format, repository.name, action))
    if full:
        return AccessDecision(Access.GRANTED, full)
    partial: list[Grant] = []
    matched: list[str] = []
    for selector in selectors:
        hits = effective.granting(
            content_selector_view(selector, repository.format, repository.name, action)
        )
        if hits:
            matched.append(selector)
            partial.extend(hits)
    if partial:
        return AccessDecision(
            Access.PARTIAL,
            tuple(partial),
            "only content matched by selector(s) " + ", ".join(sorted(set(matched))),
        )
    return AccessDecision(Access.DENIED)


def selector_names(instance: Instance, effective: EffectivePermissions) -> list[str]:
    """Selectors a content check would try: the configured ones, else those the grants name."""
    if instance.content_selectors is not None:
        return [s.name for s in instance.content_selectors]
    names = {
        g.privilege.content_selector
        for g in effective.grants
        if g.privilege is not None and g.privilege.content_selector
    }
    return sorted(names)
