"""The whole-instance access review: who can do what on every Docker repository, and why.

:func:`build_report` takes a parsed :class:`~audit.model.Instance` and returns an
:class:`AccessReport`: for every Docker repository and each action in :data:`ACTIONS`, every
principal (each user of every source, and the anonymous user when anonymous access is on)
whose effective permissions allow it, with the grant paths ``check`` prints; the anonymous
exposure; the risky grants and the registry posture as :class:`RiskFinding` s, silenced by an
:class:`Exclusions` file where the reader chose to. :func:`diff_sides` compares two reports.
No I/O happens here.

Actions and what they require (Nexus checks content requests against repository-view
permissions, ``nexus:repository-view:docker:<repo>:<action>``, see NEXUS.md §1.3):

- ``read`` (pull) and ``browse`` (catalog, UI listing), each on its own;
- ``push`` needs both ``add`` (POST/PATCH uploads) and ``edit`` (PUT blob and manifest);
- ``delete``;
- ``admin``: full repository administration, i.e. a permission implying
  ``nexus:repository-admin:docker:<repo>:*`` (``nx-all`` and ``nx-repository-admin-*-*-*``
  do; a privilege for one admin action such as ``read`` does not, and is reported as a
  ``REPOSITORY_ADMIN`` finding instead).

Access is ``granted``, or ``partial`` when only content-selector privileges allow it (some
images only); ``push`` is partial when either of its two parts is. ``admin`` is never partial.
The anonymous account is a principal only while anonymous access is on (then with
``anonymous: true``); while it is off nobody can act as it, so it holds no access.

Finding codes (a stable contract; severities in brackets):

- administration: ``FULL_ADMIN`` (a permission implying ``nexus:*``, e.g. ``nx-all``) [warning;
  error for the anonymous user], ``REPOSITORY_ADMIN`` [warning; info for read/browse only];
- roles: ``WILDCARD_REPOSITORY_PRIVILEGE`` (a role holds a privilege reaching every Docker
  repository) [info for read/browse, else warning], ``DEFAULT_ROLE_FOR_EVERYONE`` [warning],
  ``ROLE_UNDEFINED``, ``PRIVILEGE_UNDEFINED``, ``ROLE_CYCLE``, ``PRIVILEGE_INVALID`` [warning],
  ``UNUSED_ROLE`` [info], ``INACTIVE_USER_HAS_ROLES`` (disabled or locked) [info];
- anonymous: ``ANONYMOUS_ENABLED`` [info], ``ANONYMOUS_CAN_PULL`` [warning],
  ``ANONYMOUS_CAN_WRITE`` (push, delete or admin) [error];
- registry posture, per repository: ``HTTP_ONLY``, ``GROUP_INCLUDES_UPSTREAM_PROXY``,
  ``CONNECTOR_UNKNOWN`` [warning], ``NO_CONNECTOR``, ``DOCKER_TOKEN_REALM_INACTIVE``,
  ``REPOSITORY_OFFLINE`` [info];
- ``ACCESS_UNKNOWN`` [warning]: a section needed for a rule could not be read.

Scale: users with the same role set (roles, external roles that name a Nexus role, the
DefaultRole realm's role) have the same rights, so each distinct role set is resolved once,
through one memoised role expansion. Each distinct permission is classified once by what it
reaches: every Docker repository (a ``*`` or missing repository part) or the repositories its
repository part names; per role set the grants then fall into buckets "every repository" and
"this repository". A repository's answer is the "every repository" answer of each role set
(shared by all repositories) overridden by the few role sets with a bucket for it. Nothing
loops over repository x user x privilege; the work is proportional to the grants plus the
answer itself.
"""

from __future__ import annotations

import fnmatch
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Generic, TypeVar

from audit.checks import (
    Severity,
    posture_codes,
    principal_for,
    target_repositories,
    upstream_proxies,
)
from audit.errors import UsageError
from audit.model import (
    REALM_DEFAULT_ROLE,
    REALM_DOCKER_TOKEN,
    Instance,
    RegistryAddress,
    Repository,
)
from audit.permissions import (
    WILDCARD,
    Access,
    Grant,
    IssueKind,
    Principal,
    RoleExpansion,
    RoleResolver,
    WildcardPermission,
    content_selector_view,
    permission_of,
    repository_view,
)

#: The actions of the review, in report order.
ACTIONS = ("read", "browse", "push", "delete", "admin")

#: Repository-view actions Nexus checks for content (``push`` is ``add`` + ``edit``).
_VIEW_ACTIONS = ("read", "browse", "add", "edit", "delete")
#: Repository-admin actions; ``*`` (every one of them) is what ``admin`` means.
_ADMIN_ACTIONS = ("browse", "read", "edit", "add", "delete", WILDCARD)
#: Actions a wildcard privilege may grant without being more than read access.
_READ_ONLY = frozenset({"read", "browse"})

#: Grant paths kept per entry; ``paths`` in an entry counts them all.
MAX_PATHS_PER_ENTRY = 5

_NEXUS_ALL = WildcardPermission.of("nexus", WILDCARD)
_INACTIVE = frozenset({"disabled", "locked"})
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class PrincipalInfo:
    """Someone who may act on repositories: a user of any source, or the anonymous user."""

    user_id: str
    source: str
    status: str
    anonymous: bool
    """Acting as the anonymous subject (anonymous access on); never for a logged-in user."""
    roles: tuple[str, ...] = ()
    external_roles: tuple[str, ...] = ()
    default_role: str | None = None
    evaluated: bool = True
    """False for the anonymous account while anonymous access is off: it holds no access."""

    @property
    def node(self) -> str:
        return f"user:{self.user_id}"


@dataclass(frozen=True)
class AccessEntry:
    """One principal allowed one action on one repository."""

    principal: PrincipalInfo
    access: Access
    """``GRANTED`` or ``PARTIAL``."""
    held: tuple[Held, ...]
    """The first :data:`MAX_PATHS_PER_ENTRY` grants (shared by every holder of the roles)."""
    paths: int
    """How many grant paths there are in all."""
    shared: bool = field(default=False, compare=False)
    """The same object answers for every repository no grant names specifically: renderers
    may cache what they make of it by identity."""

    @property
    def grants(self) -> tuple[tuple[str, ...], ...]:
        """The kept grant paths, each as ``check`` prints it."""
        return tuple(grant_path(self.principal, h) for h in self.held)


@dataclass(frozen=True)
class RiskFinding:
    """A risky grant, an exposure or a posture problem; codes are a stable contract."""

    code: str
    severity: Severity
    principal: str | None
    repository: str | None
    message: str
    remedy: str
    role: str | None = None
    privilege: str | None = None
    silenced: bool = False
    silenced_reason: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None, str | None]:
        """What identifies the finding across two reports (the message may carry counts)."""
        return (self.code, self.principal, self.repository, self.role, self.privilege)


@dataclass(frozen=True)
class RepositoryInfo:
    """A Docker repository with its registry address and posture codes."""

    repository: Repository
    registry: RegistryAddress | None
    posture: tuple[str, ...]
    connector_known: bool = True


@dataclass(frozen=True)
class AnonymousExposure:
    """What anyone without credentials can do."""

    enabled: bool
    user_id: str | None
    docker_token_realm: bool | None
    can_read: tuple[str, ...] = ()
    can_browse: tuple[str, ...] = ()
    pull_possible: tuple[str, ...] = ()
    """Readable, and reachable by a Docker client without credentials (see :func:`_pullable`)."""


# --------------------------------------------------------------------------- exclusions


_RULE_FIELDS = ("code", "principal", "repository", "role", "privilege")


@dataclass(frozen=True)
class ExclusionRule:
    """Silences every finding that matches all of its fields (shell-style ``*`` globs)."""

    code: str | None = None
    principal: str | None = None
    repository: str | None = None
    role: str | None = None
    privilege: str | None = None
    reason: str | None = None

    def matches(self, finding: RiskFinding) -> bool:
        for name in _RULE_FIELDS:
            pattern = getattr(self, name)
            if pattern is None:
                continue
            value = getattr(finding, name)
            if value is None:
                return False
            # Codes are upper case; Nexus compares user, role and repository ids case-blind.
            if not fnmatch.fnmatchcase(value.lower(), pattern.lower()):
                return False
        return True


@dataclass(frozen=True)
class Exclusions:
    """Rules from an exclusions file; silenced findings stay in the report, marked."""

    rules: tuple[ExclusionRule, ...] = ()

    @classmethod
    def from_document(cls, document: Any, source: str = "exclusions") -> Exclusions:
        """Validate ``{"nexus_audit_exclusions": 1, "rules": [{...}, ...]}``.

        A rule without any matching field would silence everything, and a misspelt field
        would silently match nothing useful: both are refused.
        """
        if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
            raise UsageError(
                f'{source}: expected a JSON object {{"nexus_audit_exclusions": 1, "rules": [...]}}'
            )
        version = document.get("nexus_audit_exclusions", 1)
        if version != 1:
            raise UsageError(f"{source}: unsupported exclusions format {version!r} (expected 1)")
        unknown_top = sorted(set(document) - {"nexus_audit_exclusions", "rules"})
        if unknown_top:
            raise UsageError(f"{source}: unknown key(s) {', '.join(unknown_top)}")
        rules = []
        for index, body in enumerate(document["rules"]):
            where = f"{source}: rules[{index}]"
            if not isinstance(body, dict):
                raise UsageError(f"{where} is not a JSON object")
            unknown = sorted(set(body) - {*_RULE_FIELDS, "reason"})
            if unknown:
                raise UsageError(
                    f"{where}: unknown field(s) {', '.join(unknown)} "
                    f"(rules match on {', '.join(_RULE_FIELDS)}, plus an optional reason)"
                )
            for name, value in body.items():
                if not isinstance(value, str) or not value.strip():
                    raise UsageError(f"{where}: '{name}' must be a non-empty string")
            if not any(name in body for name in _RULE_FIELDS):
                raise UsageError(
                    f"{where} matches every finding; name at least one of "
                    + ", ".join(_RULE_FIELDS)
                )
            rules.append(ExclusionRule(**{k: str(v).strip() for k, v in body.items()}))
        return cls(tuple(rules))

    def apply(self, finding: RiskFinding) -> RiskFinding:
        for rule in self.rules:
            if rule.matches(finding):
                return replace(finding, silenced=True, silenced_reason=rule.reason)
        return finding


# --------------------------------------------------------------------------- reach


@dataclass(frozen=True)
class _Reach:
    """What one permission allows on Docker repositories, for one permission kind."""

    kind: str
    """``view``, ``selector`` (content selectors: partial) or ``admin``."""
    repositories: frozenset[str] | None
    """Lower-cased names; ``None``: every Docker repository, present and future."""
    actions: frozenset[str]


_KINDS = (
    ("repository-view", 3, "view"),
    ("repository-admin", 3, "admin"),
    ("repository-content-selector", 4, "selector"),
)


def _reach_of(permission: WildcardPermission, selectors: Sequence[str]) -> tuple[_Reach, ...]:
    """Classify a permission once, by exact Shiro implication on a sample repository.

    For a repository the permission's repository part admits, whether it implies
    ``...:docker:<repo>:<action>`` does not depend on which repository it is, so one
    sample answers for all of them.
    """
    parts = permission.parts
    if "nexus" not in parts[0] and WILDCARD not in parts[0]:
        return ()
    reaches = []
    for kind, position, label in _KINDS:
        if len(parts) > 1 and WILDCARD not in parts[1] and kind not in parts[1]:
            continue
        named = len(parts) > position and WILDCARD not in parts[position]
        repositories = parts[position] if named else None
        sample = min(repositories) if repositories else "any-repository"
        if label == "view":
            actions = {
                a for a in _VIEW_ACTIONS if permission.implies(repository_view("docker", sample, a))
            }
        elif label == "admin":
            actions = {
                a
                for a in _ADMIN_ACTIONS
                if permission.implies(
                    WildcardPermission.of("nexus", "repository-admin", "docker", sample, a)
                )
            }
        else:
            actions = {
                a
                for a in _VIEW_ACTIONS
                if any(
                    permission.implies(content_selector_view(s, "docker", sample, a))
                    for s in selectors
                )
            }
        if actions:
            reaches.append(_Reach(label, repositories, frozenset(actions)))
    return tuple(reaches)


#: A grant as a role set holds it: the start node (``role:<id>``, ``external-role:<id>`` or
#: ``default-role:<id>``) and the grant below that role, whose path starts at the role.
Held = tuple[str, Grant]
Decision = tuple[Access, tuple[Held, ...]]


@dataclass(frozen=True)
class _Bucketed:
    """Grants of one permission below one role, and the report actions they allow."""

    partial: bool
    """Through content selectors: only the content a selector matches."""
    allows: frozenset[str]
    grants: tuple[Grant, ...]


@dataclass
class _RoleRights:
    """What one role grants on Docker repositories, bucketed by repository; memoised per role."""

    expansion: RoleExpansion
    buckets: dict[str | None, list[_Bucketed]] = field(default_factory=dict)
    """Repository key (lower-cased name; ``None``: every repository) -> grants."""
    everything: list[Grant] = field(default_factory=list)
    """Grants implying ``nexus:*``: administrator of the whole instance."""
    repository_admin: list[tuple[Grant, _Reach]] = field(default_factory=list)


_BASE_ACTIONS = ("read", "browse", "add", "edit", "delete", "admin")
_Split = dict[str, tuple[list[Held], list[Held]]]


class _RoleSet:
    """The rights shared by every principal holding the same roles."""

    def __init__(self, starts: Sequence[tuple[str, _RoleRights]]) -> None:
        self.starts = tuple(starts)
        self.members: list[int] = []
        """Indexes of the principals (in report order) holding this role set."""
        self._baseline_split = self._split(None)
        self.baseline = self._merge(self._baseline_split, {})
        """Action -> decision on a repository no grant of the set names specifically."""

    @property
    def keys(self) -> set[str]:
        """The repositories some grant of this role set names."""
        return {k for _, rights in self.starts for k in rights.buckets if k is not None}

    @property
    def roles(self) -> frozenset[str]:
        return frozenset().union(*(rights.expansion.roles for _, rights in self.starts))

    @property
    def everything(self) -> list[Held]:
        return [(node, g) for node, rights in self.starts for g in rights.everything]

    @property
    def repository_admin(self) -> list[tuple[Held, _Reach]]:
        return [
            ((node, g), reach)
            for node, rights in self.starts
            for g, reach in rights.repository_admin
        ]

    def _split(self, key: str | None) -> _Split:
        """Base action -> (full grants, partial grants) from one bucket of every start role."""
        split: _Split = {}
        for node, rights in self.starts:
            for bucketed in rights.buckets.get(key, ()):
                for action in bucketed.allows:
                    full, partial = split.setdefault(action, ([], []))
                    target = partial if bucketed.partial else full
                    target.extend((node, g) for g in bucketed.grants)
        return split

    def _merge(self, base: _Split, here: _Split) -> dict[str, Decision | None]:
        nothing: tuple[list[Held], list[Held]] = ([], [])
        merged: dict[str, Decision | None] = {}
        for action in _BASE_ACTIONS:
            base_full, base_partial = base.get(action, nothing)
            here_full, here_partial = here.get(action, nothing)
            if base_full or here_full:
                merged[action] = (Access.GRANTED, (*base_full, *here_full))
            elif base_partial or here_partial:
                merged[action] = (Access.PARTIAL, (*base_partial, *here_partial))
            else:
                merged[action] = None
        add, edit = merged.pop("add"), merged.pop("edit")
        if add is None or edit is None:
            merged["push"] = None
        else:
            both = add[0] is Access.GRANTED and edit[0] is Access.GRANTED
            merged["push"] = (Access.GRANTED if both else Access.PARTIAL, _unique(add[1] + edit[1]))
        return merged

    def decisions(self, key: str | None) -> dict[str, Decision | None]:
        """Action -> decision on one repository (by key; ``None``: the baseline)."""
        if key is None:
            return self.baseline
        return self._merge(self._baseline_split, self._split(key))

    def overrides(self, key: str) -> dict[str, Decision]:
        """The decisions on one repository that differ from the baseline.

        Only the actions this repository's own grants touch are recomputed: this runs once
        per role set and repository it names, the inner loop of a whole-instance review.
        """
        here = self._split(key)
        changed: dict[str, Decision] = {}
        push_touched = False
        for action, (here_full, here_partial) in here.items():
            if action in ("add", "edit"):
                push_touched = True
                continue
            base = self.baseline[action]
            if here_full:
                held = base[1] if base is not None and base[0] is Access.GRANTED else ()
                changed[action] = (Access.GRANTED, (*held, *here_full))
            elif base is None or base[0] is Access.PARTIAL:
                held = base[1] if base is not None else ()
                changed[action] = (Access.PARTIAL, (*held, *here_partial))
            # Partial grants add nothing to full access.
        if push_touched:
            push = self._merge(self._baseline_split, here)["push"]
            base = self.baseline["push"]
            if push is not None and (
                base is None or base[0] is not push[0] or len(base[1]) != len(push[1])
            ):
                changed["push"] = push
        return changed

    def decide(self, key: str | None, action: str) -> Decision | None:
        """The decision for one action on one repository; ``None``: denied."""
        return self.decisions(key)[action]

    def any_access(self) -> bool:
        """Whether the role set allows any action on any Docker repository."""
        return any(self.baseline.values()) or any(self.overrides(k) for k in self.keys)


T = TypeVar("T")


def _same(entry: AccessEntry) -> AccessEntry:
    return entry


def _unique(held: Iterable[Held]) -> tuple[Held, ...]:
    seen: set[tuple[str, tuple[str, ...]]] = set()
    kept = []
    for node, grant in held:
        if (node, grant.path) not in seen:
            seen.add((node, grant.path))
            kept.append((node, grant))
    return tuple(kept)


def grant_path(principal: PrincipalInfo, held: Held) -> tuple[str, ...]:
    """The grant path as ``check`` prints it: user, start role, nested roles, privilege."""
    node, grant = held
    return (principal.node, node, *grant.path[1:])


class AccessIndex:
    """Answers "who can do this action on this repository" for any repository, on demand.

    Built once per instance; the per-action baseline (what every repository gets) is shared
    by all repositories, so asking for every repository costs the size of the answers.
    """

    def __init__(
        self,
        principals: Sequence[PrincipalInfo],
        role_sets: Sequence[_RoleSet],
        repositories: Mapping[str, str],
    ) -> None:
        self._principals = principals
        self._sets = [s for s in role_sets if s.members]
        self._keys = repositories
        """Repository name -> bucket key (its lower-cased name)."""
        self._names: dict[str, list[str]] = {}
        for name, key in repositories.items():
            self._names.setdefault(key, []).append(name)
        self._touching: dict[str, list[_RoleSet]] = {}
        self._set_of: list[_RoleSet | None] = [None] * len(principals)
        for role_set in self._sets:
            for key in role_set.keys:
                self._touching.setdefault(key, []).append(role_set)
            for index in role_set.members:
                self._set_of[index] = role_set
        self._baselines: dict[str, tuple[list[int], list[AccessEntry]]] = {}
        self._identity: dict[str, list[AccessEntry]] = {}
        self._baseline_counts: dict[str, tuple[int, int]] | None = None

    @property
    def role_sets(self) -> Sequence[_RoleSet]:
        """The distinct role sets held by at least one principal, for renderers to walk once."""
        return self._sets

    def repository_names(self, key: str) -> Sequence[str]:
        """Names of the repositories whose bucket key is ``key`` (names differing in case)."""
        return self._names.get(key, ())

    def _baseline(self, action: str) -> tuple[list[int], list[AccessEntry]]:
        if action not in self._baselines:
            pairs: list[tuple[int, AccessEntry]] = []
            for role_set in self._sets:
                decision = role_set.baseline[action]
                if decision is not None:
                    pairs.extend(self._entries(role_set, decision, shared=True))
            pairs.sort(key=lambda pair: pair[0])
            self._baselines[action] = ([i for i, _ in pairs], [e for _, e in pairs])
        return self._baselines[action]

    def _entries(
        self, role_set: _RoleSet, decision: Decision, shared: bool = False
    ) -> Iterator[tuple[int, AccessEntry]]:
        access, held = decision
        kept, count = held[:MAX_PATHS_PER_ENTRY], len(held)
        for index in role_set.members:
            yield index, AccessEntry(self._principals[index], access, kept, count, shared)

    def all_entries(self, repository: str) -> dict[str, list[AccessEntry]]:
        """Action -> who may do it on the Docker repository named ``repository``, in order."""
        return self.project(repository, _same, self._identity)

    def project(
        self, repository: str, convert: Callable[[AccessEntry], T], memo: dict[str, list[T]]
    ) -> dict[str, list[T]]:
        """:meth:`all_entries` with every entry converted (to JSON text, a dict key, ...).

        The baseline of each action is converted once, kept in ``memo`` (pass the same dict
        for every repository), and copied for each repository with its own entries spliced
        in; so converting the whole review costs the baselines plus the exceptions.
        """
        key = self._keys[repository]
        overrides: dict[str, list[tuple[int, AccessEntry]]] = {}
        for role_set in self._touching.get(key, ()):
            for action, decision in role_set.overrides(key).items():
                overrides.setdefault(action, []).extend(self._entries(role_set, decision))
        answer: dict[str, list[T]] = {}
        for action in ACTIONS:
            indexes, entries = self._baseline(action)
            if action not in memo:
                memo[action] = [convert(e) for e in entries]
            values = memo[action]
            changes = overrides.get(action)
            if not changes:
                answer[action] = list(values)
                continue
            indexes, values = list(indexes), list(values)
            for index, entry in sorted(changes, key=lambda pair: pair[0]):
                position = bisect_left(indexes, index)
                if position < len(indexes) and indexes[position] == index:
                    values[position] = convert(entry)
                else:
                    indexes.insert(position, index)
                    values.insert(position, convert(entry))
            answer[action] = values
        return answer

    def entries(self, repository: str, action: str) -> list[AccessEntry]:
        """Who may do ``action`` on the Docker repository named ``repository``, in order."""
        if action not in ACTIONS:
            raise UsageError(f"unknown action '{action}' (actions: {', '.join(ACTIONS)})")
        return self.all_entries(repository)[action]

    def counts(self, repository: str) -> dict[str, tuple[int, int]]:
        """Action -> (principals allowed, of which only partially), without listing them."""
        if self._baseline_counts is None:
            base: dict[str, tuple[int, int]] = {}
            for action in ACTIONS:
                total = partial = 0
                for role_set in self._sets:
                    decision = role_set.baseline[action]
                    if decision is not None:
                        total += len(role_set.members)
                        if decision[0] is Access.PARTIAL:
                            partial += len(role_set.members)
                base[action] = (total, partial)
            self._baseline_counts = base
        counts = {a: list(c) for a, c in self._baseline_counts.items()}
        key = self._keys[repository]
        for role_set in self._touching.get(key, ()):
            members = len(role_set.members)
            for action, decision in role_set.overrides(key).items():
                before = role_set.baseline[action]
                if before is not None:
                    counts[action][0] -= members
                    counts[action][1] -= members if before[0] is Access.PARTIAL else 0
                counts[action][0] += members
                counts[action][1] += members if decision[0] is Access.PARTIAL else 0
        return {a: (c[0], c[1]) for a, c in counts.items()}

    def rows(
        self,
    ) -> Iterator[tuple[PrincipalInfo, dict[str, Access], dict[str, dict[str, Access]]]]:
        """The access matrix by principal (report order), without listing every cell.

        For each principal with any access: action -> access on every repository no grant
        names specifically, and repository name -> action -> access where some grant does.
        """
        made: dict[int, tuple[dict[str, Access], dict[str, dict[str, Access]]]] = {}
        for index, principal in enumerate(self._principals):
            role_set = self._set_of[index]
            if role_set is None:
                continue
            if id(role_set) not in made:
                baseline = {a: d[0] for a, d in role_set.baseline.items() if d is not None}
                specific: dict[str, dict[str, Access]] = {}
                for key in role_set.keys:
                    if not role_set.overrides(key):
                        continue
                    decisions = role_set.decisions(key)
                    cells = {a: d[0] for a, d in decisions.items() if d is not None}
                    for name in self._names.get(key, ()):
                        specific[name] = cells
                made[id(role_set)] = (baseline, specific)
            baseline, specific = made[id(role_set)]
            if baseline or specific:
                yield principal, baseline, specific


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class AccessReport:
    """The access review of one instance; :meth:`entries` answers who-can per repository."""

    base_url: str | None
    server: str | None
    captured_at: str | None
    users: int
    principals: tuple[PrincipalInfo, ...]
    repositories: tuple[RepositoryInfo, ...]
    anonymous: AnonymousExposure
    findings: tuple[RiskFinding, ...]
    principals_with_access: int
    index: AccessIndex = field(repr=False, compare=False)

    @cached_property
    def _by_name(self) -> dict[str, RepositoryInfo]:
        return {info.repository.name: info for info in self.repositories}

    def repository(self, name: str) -> RepositoryInfo:
        info = self._by_name.get(name)
        if info is None:
            names = ", ".join(self._by_name) or "none"
            raise UsageError(f"no Docker repository named '{name}' (Docker repositories: {names})")
        return info

    def entries(self, repository: str, action: str) -> list[AccessEntry]:
        """Who can do ``action`` on ``repository``: the who-can answer."""
        self.repository(repository)
        return self.index.entries(repository, action)

    def all_entries(self, repository: str) -> dict[str, list[AccessEntry]]:
        """Action -> who can do it on ``repository``, for every action at once."""
        self.repository(repository)
        return self.index.all_entries(repository)

    def project(
        self, repository: str, convert: Callable[[AccessEntry], T], memo: dict[str, list[T]]
    ) -> dict[str, list[T]]:
        """:meth:`all_entries`, converted; see :meth:`AccessIndex.project`."""
        self.repository(repository)
        return self.index.project(repository, convert, memo)

    def access_counts(self, repository: str) -> dict[str, tuple[int, int]]:
        """Action -> (principals allowed, of which only partially) on ``repository``."""
        self.repository(repository)
        return self.index.counts(repository)

    def counts(self) -> dict[str, int]:
        """Unsilenced findings per severity."""
        counts = {s.value: 0 for s in Severity}
        for finding in self.findings:
            if not finding.silenced:
                counts[finding.severity.value] += 1
        return counts

    @property
    def silenced(self) -> int:
        return sum(1 for f in self.findings if f.silenced)

    def failing(self, threshold: Severity) -> list[RiskFinding]:
        return [f for f in self.findings if not f.silenced and f.severity.rank >= threshold.rank]


def _principals(instance: Instance) -> list[tuple[PrincipalInfo, Principal]]:
    """Every user, with the anonymous account acting as the anonymous subject when it is on."""
    settings = instance.anonymous
    anonymous_id = settings.user_id.lower() if settings is not None else None
    found: list[tuple[PrincipalInfo, Principal]] = []
    for user in instance.users or ():
        is_anonymous_account = (
            anonymous_id is not None and user.user_id.lower() == anonymous_id and user.is_local
        )
        acting = is_anonymous_account and settings is not None and settings.enabled
        principal = principal_for(instance, user, anonymous=acting)
        found.append(
            (
                PrincipalInfo(
                    user_id=user.user_id,
                    source=user.source,
                    status=user.status,
                    anonymous=acting,
                    roles=user.roles,
                    external_roles=user.external_roles,
                    default_role=principal.default_role,
                    # NOTE: the anonymous account only acts as the anonymous subject; while
                    # anonymous access is off nobody can act as it.
                    evaluated=acting or not is_anonymous_account,
                ),
                principal,
            )
        )
    found.sort(key=lambda pair: (pair[0].user_id.lower(), pair[0].source.lower()))
    return found


RoleSetKey = tuple[tuple[str, ...], tuple[str, ...], str | None]


def _role_set_key(instance: Instance, principal: Principal) -> RoleSetKey:
    """Roles, external roles that name a Nexus role, and the DefaultRole realm's role."""
    roles = instance.roles or {}
    external = sorted({r for r in principal.external_roles if r in roles})
    return tuple(sorted(set(principal.roles))), tuple(external), principal.default_role


class _Evaluator:
    """Evaluates roles once each and role sets from them; classifies each permission once."""

    def __init__(self, instance: Instance, docker_keys: frozenset[str]) -> None:
        self._resolver = RoleResolver(instance.roles or {}, instance.privileges or {})
        self._docker_keys = docker_keys
        if instance.content_selectors is not None:
            names = {s.name for s in instance.content_selectors}
        else:
            # NOTE: unknown selectors: those the privileges name (``check`` uses those the
            # principal's own grants name; the two differ only for wildcard-type privileges).
            names = {
                p.content_selector
                for p in (instance.privileges or {}).values()
                if p.content_selector
            }
        self.selectors = tuple(sorted(names))
        self._reach: dict[WildcardPermission, tuple[_Reach, ...]] = {}
        self._rights: dict[str, _RoleRights] = {}

    def reach(self, permission: WildcardPermission) -> tuple[_Reach, ...]:
        if permission not in self._reach:
            self._reach[permission] = _reach_of(permission, self.selectors)
        return self._reach[permission]

    def rights(self, role_id: str) -> _RoleRights:
        """What one role grants on Docker repositories (undefined roles grant nothing)."""
        if role_id in self._rights:
            return self._rights[role_id]
        expansion = self._resolver.expand(role_id)
        rights = _RoleRights(expansion)
        by_permission: dict[WildcardPermission, list[Grant]] = {}
        for grant in expansion.grants:
            by_permission.setdefault(grant.permission, []).append(grant)
        for permission, grants in by_permission.items():
            if permission.implies(_NEXUS_ALL):
                rights.everything.extend(grants)
            for reach in self.reach(permission):
                if reach.repositories is None:
                    keys: list[str | None] = [None]
                else:
                    keys = [k for k in sorted(reach.repositories) if k in self._docker_keys]
                    if not keys:
                        continue
                if reach.kind == "admin":
                    rights.repository_admin.extend((g, reach) for g in grants)
                    allows = frozenset({"admin"} if WILDCARD in reach.actions else ())
                else:
                    allows = reach.actions
                if not allows:
                    continue
                bucketed = _Bucketed(reach.kind == "selector", allows, tuple(grants))
                for key in keys:
                    rights.buckets.setdefault(key, []).append(bucketed)
        self._rights[role_id] = rights
        return rights

    def role_set(self, key: RoleSetKey) -> _RoleSet:
        roles, external, default_role = key
        starts = [(f"role:{r}", self.rights(r)) for r in roles]
        starts += [(f"external-role:{r}", self.rights(r)) for r in external]
        if default_role:
            starts.append((f"default-role:{default_role}", self.rights(default_role)))
        return _RoleSet(starts)


def build_report(
    instance: Instance, exclusions: Exclusions | None = None, host: str | None = None
) -> AccessReport:
    """Review every Docker repository of the instance; see the module docstring."""
    missing = instance.missing_security_sections()
    if missing:
        reasons = "; ".join(
            f"{name}: {instance.unavailable.get(name, 'not captured')}" for name in missing
        )
        raise UsageError(
            f"the access review needs users, roles and privileges ({reasons}); capture as an "
            "account with nx-users-read, nx-roles-read and nx-privileges-read"
        )
    repositories = []
    for repo, known in target_repositories(instance, None, False):
        registry = repo.registry_address(instance.base_url, host)
        known = known and repo.docker is not None
        posture = posture_codes(instance, repo, registry) if known else ["CONNECTOR_UNKNOWN"]
        repositories.append(RepositoryInfo(repo, registry, tuple(posture), known))
    docker_keys = {info.repository.name: info.repository.name.lower() for info in repositories}
    evaluator = _Evaluator(instance, frozenset(docker_keys.values()))

    pairs = _principals(instance)
    principals = tuple(info for info, _ in pairs)
    by_key: dict[RoleSetKey, _RoleSet] = {}
    holders: list[_RoleSet] = []
    for position, (info, principal) in enumerate(pairs):
        key = _role_set_key(instance, principal)
        role_set = by_key.get(key)
        if role_set is None:
            role_set = by_key[key] = evaluator.role_set(key)
        holders.append(role_set)
        if info.evaluated:
            role_set.members.append(position)
    index = AccessIndex(principals, list(by_key.values()), docker_keys)
    with_access = sum(len(s.members) for s in by_key.values() if s.any_access())

    context = _Findings(instance, principals, holders, repositories, evaluator)
    anonymous = context.anonymous_exposure()
    findings = [(exclusions or Exclusions()).apply(f) for f in context.all(anonymous)]
    findings.sort(
        key=lambda f: (
            _SEVERITY_ORDER[f.severity],
            f.code,
            f.principal or "",
            f.repository or "",
            f.role or "",
            f.privilege or "",
        )
    )
    return AccessReport(
        base_url=instance.base_url,
        server=instance.server,
        captured_at=instance.captured_at,
        users=len(instance.users or ()),
        principals=principals,
        repositories=tuple(repositories),
        anonymous=anonymous,
        findings=tuple(findings),
        principals_with_access=with_access,
        index=index,
    )


# --------------------------------------------------------------------------- findings


def _path_text(principal: PrincipalInfo, held: Held) -> str:
    return " -> ".join(grant_path(principal, held))


def _label(held: Held) -> str:
    return held[1].path[-1].split(":", 1)[1]


def _reach_words(reach: _Reach) -> str:
    """``read, browse``, ``every action``, ``all administration``, ...: for messages."""
    if reach.kind == "admin":
        if WILDCARD in reach.actions:
            return "all administration"
        return ", ".join(a for a in _ADMIN_ACTIONS if a in reach.actions) + " administration"
    words = (
        "every action"
        if reach.actions >= set(_VIEW_ACTIONS)
        else ", ".join(a for a in _VIEW_ACTIONS if a in reach.actions)
    )
    return words + (" (content selector: some images only)" if reach.kind == "selector" else "")


def _first_role(held: Held) -> str:
    """The role through which a grant reaches its holder."""
    return held[0].split(":", 1)[1]


def _pullable(info: RepositoryInfo, token_realm: bool | None) -> bool:
    """Whether a Docker client without credentials can reach and pull from the repository.

    Needs the DockerToken realm (unknown counts as active: the review errs on exposure),
    Bearer-token challenges (forceBasicAuth off), a connector, and the repository online.
    """
    docker = info.repository.docker
    return (
        token_realm is not False
        and docker is not None
        and not docker.force_basic_auth
        and docker.has_connector
        and info.repository.online
    )


class _Findings:
    """Builds every risky-grant, exposure and posture finding from the evaluated role sets."""

    def __init__(
        self,
        instance: Instance,
        principals: Sequence[PrincipalInfo],
        holders: Sequence[_RoleSet],
        repositories: Sequence[RepositoryInfo],
        evaluator: _Evaluator,
    ) -> None:
        self.instance = instance
        self.principals = principals
        self.holders = holders
        """The role set of each principal, by position."""
        self.repositories = repositories
        self.evaluator = evaluator

    def all(self, anonymous: AnonymousExposure) -> list[RiskFinding]:
        findings: list[RiskFinding] = []
        for produce in (
            self.administrators,
            self.wildcard_privileges,
            self.default_role,
            self.undefined_references,
            self.inactive_users,
            self.unused_roles,
            self.posture,
        ):
            findings.extend(produce())
        findings.extend(self.anonymous_findings(anonymous))
        return findings

    # ---- principals holding administration

    def administrators(self) -> Iterator[RiskFinding]:
        """Whole-instance and repository administrators: few people should be either."""
        for number, principal in enumerate(self.principals):
            if principal.evaluated:
                yield from self._administration(principal, self.holders[number])

    def _administration(
        self, principal: PrincipalInfo, role_set: _RoleSet
    ) -> Iterator[RiskFinding]:
        who = "the anonymous user (anyone)" if principal.anonymous else f"'{principal.user_id}'"
        everything = role_set.everything
        if everything:
            held = everything[0]
            more = len(everything) - 1
            yield RiskFinding(
                "FULL_ADMIN",
                Severity.ERROR if principal.anonymous else Severity.WARNING,
                principal.user_id,
                None,
                f"{who} holds every permission in Nexus through {_label(held)} (via "
                f"{_path_text(principal, held)}"
                + (f"; +{more} more path(s)" if more else "")
                + ")",
                "Keep nx-all (and wildcard privileges implying nexus:*) to a few named "
                "administrators; remove the role that grants it from everyone else.",
                role=_first_role(held),
                privilege=_label(held),
            )
            return
        by_privilege: dict[str, list[tuple[Held, _Reach]]] = {}
        for held, reach in role_set.repository_admin:
            by_privilege.setdefault(_label(held), []).append((held, reach))
        for label, found in sorted(by_privilege.items()):
            held, reach = found[0]
            actions = frozenset().union(*(r.actions for _, r in found))
            where, repository = self._where(reach.repositories)
            words = _reach_words(_Reach("admin", reach.repositories, actions))
            yield RiskFinding(
                "REPOSITORY_ADMIN",
                Severity.WARNING if actions - _READ_ONLY else Severity.INFO,
                principal.user_id,
                repository,
                f"{who} holds repository administration through {label}: {words} on "
                f"{where} (via {_path_text(principal, held)})",
                f"Remove {label} from the role that grants it unless this principal "
                "manages these repositories' settings.",
                role=_first_role(held),
                privilege=label,
            )

    def _where(self, repositories: frozenset[str] | None) -> tuple[str, str | None]:
        """Words for a reach's repositories, and the one repository name when there is one."""
        if repositories is None:
            return "every Docker repository", None
        names = [
            i.repository.name
            for i in self.repositories
            if i.repository.name.lower() in repositories
        ]
        if len(names) == 1:
            return f"'{names[0]}'", names[0]
        return ", ".join(f"'{n}'" for n in names), None

    # ---- roles

    def wildcard_privileges(self) -> Iterator[RiskFinding]:
        """A ``*`` repository privilege covers every repository, including ones made later."""
        privileges = self.instance.privileges or {}
        for role in sorted((self.instance.roles or {}).values(), key=lambda r: r.id):
            for name in role.privileges:
                privilege = privileges.get(name)
                if privilege is None:
                    continue
                try:
                    permission = permission_of(privilege)
                except UsageError:
                    continue
                if permission is None or permission.implies(_NEXUS_ALL):
                    continue
                reaches = [r for r in self.evaluator.reach(permission) if r.repositories is None]
                if not reaches:
                    continue
                words = [_reach_words(reach) for reach in reaches]
                risky = any(reach.actions - _READ_ONLY for reach in reaches)
                yield RiskFinding(
                    "WILDCARD_REPOSITORY_PRIVILEGE",
                    Severity.WARNING if risky else Severity.INFO,
                    None,
                    None,
                    f"Role '{role.id}' holds {name}: {'; '.join(words)} on every Docker "
                    "repository, including repositories created later",
                    f"Replace {name} with per-repository privileges (nx-repository-"
                    + ("admin" if any(r.kind == "admin" for r in reaches) else "view")
                    + "-docker-<repo>-<action>) for the repositories the role's holders need.",
                    role=role.id,
                    privilege=name,
                )

    def default_role(self) -> Iterator[RiskFinding]:
        """The DefaultRole realm hands its role to every authenticated user, invisibly."""
        instance = self.instance
        if not instance.realm_active(REALM_DEFAULT_ROLE):
            return
        if instance.capabilities is None:
            yield RiskFinding(
                "ACCESS_UNKNOWN",
                Severity.WARNING,
                None,
                None,
                "The DefaultRole realm is active but the capabilities could not be read, so the "
                "role it gives every user is unknown",
                "Re-run as an account with nx-capabilities-read.",
            )
            return
        role = instance.default_role()
        if not role:
            return
        everyone = sum(1 for p in self.principals if p.evaluated and not p.anonymous)
        role_set = self.evaluator.role_set(((), (), role))
        reach = []
        for action in ACTIONS:
            count = self._repositories_allowed(role_set, action)
            if count:
                reach.append(f"{action} on {count}")
        grants = (
            "; it grants " + ", ".join(reach) + f" of {len(self.repositories)} Docker repositories"
            if reach
            else "; it grants nothing on Docker repositories"
        )
        yield RiskFinding(
            "DEFAULT_ROLE_FOR_EVERYONE",
            Severity.WARNING,
            None,
            None,
            f"The DefaultRole realm gives role '{role}' to every authenticated user "
            f"({everyone} users here), though no user lists it{grants}",
            "Make sure the role holds only what every user may have, or deactivate the "
            "DefaultRole realm (Security > Realms) and assign roles explicitly.",
            role=role,
        )

    def _repositories_allowed(self, role_set: _RoleSet, action: str) -> int:
        if role_set.decide(None, action) is not None:
            return len(self.repositories)
        return sum(
            1
            for info in self.repositories
            if role_set.decide(info.repository.name.lower(), action) is not None
        )

    def undefined_references(self) -> Iterator[RiskFinding]:
        """Nexus silently skips undefined roles and privileges and broken role cycles."""
        roles = self.instance.roles or {}
        privileges = self.instance.privileges or {}
        for role in sorted(roles.values(), key=lambda r: r.id):
            for child in role.roles:
                if child not in roles:
                    yield RiskFinding(
                        "ROLE_UNDEFINED",
                        Severity.WARNING,
                        None,
                        None,
                        f"Role '{role.id}' contains role '{child}', which is not defined; it "
                        "grants nothing now, and whoever creates it grants it to this role's "
                        "holders",
                        f"Remove '{child}' from role '{role.id}', or create it on purpose.",
                        role=role.id,
                    )
            for name in role.privileges:
                if name not in privileges:
                    yield RiskFinding(
                        "PRIVILEGE_UNDEFINED",
                        Severity.WARNING,
                        None,
                        None,
                        f"Role '{role.id}' holds privilege '{name}', which is not defined; it "
                        "grants nothing now, and a privilege created later under that name "
                        "would be granted at once",
                        f"Remove '{name}' from role '{role.id}'.",
                        role=role.id,
                        privilege=name,
                    )
        for principal in self.principals:
            for role_id in principal.roles:
                if role_id not in roles:
                    yield RiskFinding(
                        "ROLE_UNDEFINED",
                        Severity.WARNING,
                        principal.user_id,
                        None,
                        f"User '{principal.user_id}' holds role '{role_id}', which is not "
                        "defined; it grants nothing now",
                        f"Remove '{role_id}' from the user in Security > Users, or create it.",
                        role=role_id,
                    )
        default = (
            self.instance.default_role() if self.instance.realm_active(REALM_DEFAULT_ROLE) else None
        )
        if default and default not in roles:
            yield RiskFinding(
                "ROLE_UNDEFINED",
                Severity.WARNING,
                None,
                None,
                f"The DefaultRole capability gives everyone role '{default}', which is not defined",
                "Point the Default Role capability at an existing role, or disable it.",
                role=default,
            )
        yield from self._resolution_issues()

    def _resolution_issues(self) -> Iterator[RiskFinding]:
        """Role cycles and unusable privileges, once each, in every role (held or not)."""
        seen: set[object] = set()
        for role_id in sorted(self.instance.roles or {}):
            for issue in self.evaluator.rights(role_id).expansion.issues:
                if issue.kind is IssueKind.ROLE_CYCLE:
                    key: object = (issue.kind, frozenset(issue.path))
                    if key in seen:
                        continue
                    seen.add(key)
                    chain = [step.split(":", 1)[1] for step in issue.path]
                    yield RiskFinding(
                        "ROLE_CYCLE",
                        Severity.WARNING,
                        None,
                        None,
                        "Roles contain each other in a cycle: " + " -> ".join(chain),
                        "Remove one of the nested-role links so that no role contains itself.",
                        role=min(chain),
                    )
                elif issue.kind is IssueKind.PRIVILEGE_UNUSABLE:
                    key = (issue.kind, issue.reference)
                    if key in seen:
                        continue
                    seen.add(key)
                    yield RiskFinding(
                        "PRIVILEGE_INVALID",
                        Severity.WARNING,
                        None,
                        None,
                        f"Privilege '{issue.reference}' cannot be evaluated ({issue.detail}); "
                        "Nexus skips it",
                        "Fix or delete the privilege in Security > Privileges.",
                        privilege=issue.reference,
                    )

    def inactive_users(self) -> Iterator[RiskFinding]:
        """Disabled or locked accounts keep their roles: re-enabling one restores them all."""
        for principal in self.principals:
            if principal.status in _INACTIVE and (principal.roles or principal.external_roles):
                held = ", ".join([*principal.roles, *principal.external_roles])
                yield RiskFinding(
                    "INACTIVE_USER_HAS_ROLES",
                    Severity.INFO,
                    principal.user_id,
                    None,
                    f"User '{principal.user_id}' ({principal.source}) is {principal.status} but "
                    f"still holds roles: {held}",
                    "Remove the roles of accounts that are no longer used, or delete them.",
                )

    def unused_roles(self) -> Iterator[RiskFinding]:
        """Custom roles nobody holds are dead weight that someone may grant by mistake."""
        held: set[str] = set()
        for role_set in {id(s): s for s in self.holders}.values():
            held |= role_set.roles
        default = (
            self.instance.default_role() if self.instance.realm_active(REALM_DEFAULT_ROLE) else None
        )
        if default:
            held |= self.evaluator.rights(default).expansion.roles
        for role in sorted((self.instance.roles or {}).values(), key=lambda r: r.id):
            if role.read_only or role.id in held:
                continue
            yield RiskFinding(
                "UNUSED_ROLE",
                Severity.INFO,
                None,
                None,
                f"Custom role '{role.id}' is held by no user: not directly, not nested, not "
                "through an external group and not through the DefaultRole realm",
                f"Delete role '{role.id}' if nothing needs it (external groups not listed in "
                "this capture may still map to it).",
                role=role.id,
            )

    # ---- repositories

    def posture(self) -> Iterator[RiskFinding]:
        """How clients reach each registry: plain HTTP, no connector, public upstreams."""
        for info in self.repositories:
            repo = info.repository
            name = repo.name
            codes = info.posture
            if "CONNECTOR_UNKNOWN" in codes:
                yield RiskFinding(
                    "CONNECTOR_UNKNOWN",
                    Severity.WARNING,
                    None,
                    name,
                    f"The connector settings of '{name}' are unknown",
                    "Re-run as an account with repository-admin read on every repository.",
                )
            if "NO_CONNECTOR" in codes:
                yield RiskFinding(
                    "NO_CONNECTOR",
                    Severity.INFO,
                    None,
                    name,
                    f"'{name}' has no HTTP or HTTPS connector, subdomain or path-based routing: "
                    "Docker clients cannot reach it",
                    "Nothing to do if it is not meant for Docker clients; otherwise configure "
                    "an HTTPS connector.",
                )
            if "HTTP_ONLY" in codes and info.registry is not None:
                yield RiskFinding(
                    "HTTP_ONLY",
                    Severity.WARNING,
                    None,
                    name,
                    f"'{name}' is served over plain HTTP at {info.registry.address}: "
                    "credentials and images travel unencrypted",
                    "Configure an HTTPS connector, or put a TLS-terminating reverse proxy in "
                    "front of the HTTP connector and close it to everything else.",
                )
            if "DOCKER_TOKEN_REALM_INACTIVE" in codes:
                yield RiskFinding(
                    "DOCKER_TOKEN_REALM_INACTIVE",
                    Severity.INFO,
                    None,
                    name,
                    f"'{name}' uses Docker bearer tokens (forceBasicAuth off) but the Docker "
                    "Bearer Token Realm is not active: docker login to it fails",
                    "Activate the Docker Bearer Token Realm, or turn on forceBasicAuth.",
                )
            if "REPOSITORY_OFFLINE" in codes:
                yield RiskFinding(
                    "REPOSITORY_OFFLINE",
                    Severity.INFO,
                    None,
                    name,
                    f"'{name}' is offline",
                    "Delete it if it is no longer needed; its privileges still exist.",
                )
            if "GROUP_INCLUDES_UPSTREAM_PROXY" in codes:
                upstream = ", ".join(upstream_proxies(self.instance, repo))
                yield RiskFinding(
                    "GROUP_INCLUDES_UPSTREAM_PROXY",
                    Severity.WARNING,
                    None,
                    name,
                    f"Group '{name}' includes proxies of public registries ({upstream}): an "
                    "image name missing from your hosted members resolves to whatever the "
                    "public registry serves under it",
                    "Pull internal images from the hosted repositories, or put the hosted "
                    "members first and keep their names out of public namespaces.",
                )

    # ---- anonymous

    def _anonymous_index(self) -> int | None:
        for number, principal in enumerate(self.principals):
            if principal.anonymous:
                return number
        return None

    def anonymous_exposure(self) -> AnonymousExposure:
        settings = self.instance.anonymous
        token_realm = self.instance.realm_active(REALM_DOCKER_TOKEN)
        if settings is None or not settings.enabled:
            return AnonymousExposure(
                enabled=False,
                user_id=settings.user_id if settings else None,
                docker_token_realm=token_realm,
            )
        number = self._anonymous_index()
        if number is None:
            return AnonymousExposure(True, settings.user_id, token_realm)
        role_set = self.holders[number]
        can: dict[str, list[str]] = {"read": [], "browse": []}
        for info in self.repositories:
            key = info.repository.name.lower()
            for action in can:
                if role_set.decide(key, action) is not None:
                    can[action].append(info.repository.name)
        by_name = {info.repository.name: info for info in self.repositories}
        pullable = [n for n in can["read"] if _pullable(by_name[n], token_realm)]
        return AnonymousExposure(
            True,
            settings.user_id,
            token_realm,
            tuple(can["read"]),
            tuple(can["browse"]),
            tuple(pullable),
        )

    def anonymous_findings(self, exposure: AnonymousExposure) -> Iterator[RiskFinding]:
        """Anyone can act as the anonymous user: its rights are everybody's."""
        instance = self.instance
        if instance.anonymous is None:
            yield RiskFinding(
                "ACCESS_UNKNOWN",
                Severity.WARNING,
                None,
                None,
                "The anonymous-access settings are unknown, so anonymous exposure was not reviewed",
                "Re-run as an account with nx-settings-read.",
            )
            return
        if not exposure.enabled:
            return
        number = self._anonymous_index()
        user = exposure.user_id or "anonymous"
        if number is None:
            yield RiskFinding(
                "ANONYMOUS_ENABLED",
                Severity.INFO,
                user,
                None,
                f"Anonymous access is on, but its user '{user}' does not exist: anonymous "
                "requests hold no rights",
                "Turn anonymous access off (Security > Anonymous Access) if nobody needs it.",
            )
            return
        pulls = len(exposure.pull_possible)
        if exposure.docker_token_realm is False:
            docker = "no anonymous Docker pull works: the Docker Bearer Token Realm is inactive"
        else:
            docker = f"anonymous Docker pulls work on {pulls} of them" + (
                " (the realms are unknown: the token realm is assumed active)"
                if exposure.docker_token_realm is None
                else ""
            )
        yield RiskFinding(
            "ANONYMOUS_ENABLED",
            Severity.INFO,
            user,
            None,
            f"Anonymous access is on: anyone can read {len(exposure.can_read)} and browse "
            f"{len(exposure.can_browse)} of {len(self.repositories)} Docker repositories as "
            f"'{user}'; {docker}",
            "Turn anonymous access off (Security > Anonymous Access) unless public content is "
            "intended, and keep the anonymous role to the repositories meant to be public.",
        )
        principal = self.principals[number]
        role_set = self.holders[number]
        pullable = set(exposure.pull_possible)
        for info in self.repositories:
            name = info.repository.name
            decisions = role_set.decisions(name.lower())
            read = decisions["read"]
            if name in pullable and read is not None:
                partial = (
                    " (partly: only content matched by a content selector)"
                    if read[0] is Access.PARTIAL
                    else ""
                )
                yield RiskFinding(
                    "ANONYMOUS_CAN_PULL",
                    Severity.WARNING,
                    principal.user_id,
                    name,
                    f"Anyone can pull from '{name}' without credentials{partial} (via "
                    f"{_path_text(principal, read[1][0])})",
                    "If that is not intended, turn on forceBasicAuth for the repository or "
                    "remove the read privilege from the anonymous user's roles (nx-anonymous "
                    "grants read on every repository).",
                )
            writes = [a for a in ("push", "delete", "admin") if decisions[a] is not None]
            if writes:
                yield RiskFinding(
                    "ANONYMOUS_CAN_WRITE",
                    Severity.ERROR,
                    principal.user_id,
                    name,
                    f"The anonymous user (anyone) can {', '.join(writes)} on '{name}'",
                    "Remove every write, delete and administration privilege from the "
                    "anonymous user's roles.",
                )


# --------------------------------------------------------------------------- diff


#: A principal in a diff: user id and lower-cased source.
PrincipalKey = tuple[str, str]
#: Who may do one action on one repository, in principal order: (principal, access) pairs.
Answer = Sequence[tuple[PrincipalKey, str]]
_RANK = {None: 0, "partial": 1, "granted": 2}


@dataclass(frozen=True)
class DiffSide:
    """One side of a diff, from a snapshot's review or from a JSON access report."""

    nexus: Mapping[str, Any]
    repositories: Iterable[tuple[str, Mapping[str, Answer]]]
    """Sorted by name: repository -> action -> its (principal, ``granted``/``partial``)."""
    findings: tuple[RiskFinding, ...]


@dataclass(frozen=True)
class AccessChange:
    user_id: str
    source: str
    repository: str
    action: str
    before: str | None
    after: str | None

    @property
    def gained(self) -> bool:
        return _RANK[self.after] > _RANK[self.before]


@dataclass(frozen=True)
class AccessDiff:
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    gained: tuple[AccessChange, ...]
    lost: tuple[AccessChange, ...]
    new_findings: tuple[RiskFinding, ...]
    removed_findings: tuple[RiskFinding, ...]


def side_from_report(report: AccessReport) -> DiffSide:
    memo: dict[str, list[tuple[PrincipalKey, str]]] = {}

    def repositories() -> Iterator[tuple[str, Mapping[str, Answer]]]:
        for info in sorted(report.repositories, key=lambda i: i.repository.name):
            name = info.repository.name
            yield name, report.project(name, _diff_key, memo)

    nexus = {"url": report.base_url, "server": report.server, "captured_at": report.captured_at}
    return DiffSide(nexus, _Lazy(repositories), report.findings)


def _diff_key(entry: AccessEntry) -> tuple[PrincipalKey, str]:
    return (entry.principal.user_id, entry.principal.source.lower()), entry.access.value


class _Lazy(Generic[T]):
    """An iterable that calls its factory afresh on each iteration: a side can be walked
    twice, and nothing is computed before the diff asks for it."""

    def __init__(self, factory: Callable[[], Iterator[T]]) -> None:
        self._factory = factory

    def __iter__(self) -> Iterator[T]:
        return self._factory()


def side_from_document(document: Mapping[str, Any], source: str = "report") -> DiffSide:
    """Read a JSON access report (``nexus_audit_access_report: 1``) as a diff side."""
    if document.get("nexus_audit_access_report") != 1:
        raise UsageError(f"{source} is not a nexus-audit access report (format 1)")
    try:
        repositories = sorted(document["repositories"], key=lambda r: str(r["name"]))

        def walk() -> Iterator[tuple[str, Mapping[str, Answer]]]:
            for repo in repositories:
                access = repo.get("access") or {}
                yield (
                    str(repo["name"]),
                    {
                        action: [
                            (
                                (str(e["userId"]), str(e.get("source") or "default").lower()),
                                str(e["access"]),
                            )
                            for e in access.get(action) or ()
                        ]
                        for action in ACTIONS
                    },
                )

        findings = tuple(
            RiskFinding(
                code=str(f["code"]),
                severity=Severity(f["severity"]),
                principal=f.get("principal"),
                repository=f.get("repository"),
                message=str(f.get("message", "")),
                remedy=str(f.get("remedy", "")),
                role=f.get("role"),
                privilege=f.get("privilege"),
                silenced=bool(f.get("silenced", False)),
                silenced_reason=f.get("silencedReason"),
            )
            for f in document.get("findings") or ()
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"{source}: malformed access report ({exc})") from None
    return DiffSide(dict(document.get("nexus") or {}), _Lazy(walk), findings)


def diff_sides(old: DiffSide, new: DiffSide) -> AccessDiff:
    """Access gained and lost per principal, repository and action; findings new and gone.

    Both sides are walked in repository order together, so only one repository's answers are
    held at a time. ``partial`` -> ``granted`` counts as gained, the reverse as lost.
    """
    gained: list[AccessChange] = []
    lost: list[AccessChange] = []
    empty: Mapping[str, Answer] = {}
    old_iter, new_iter = iter(old.repositories), iter(new.repositories)
    old_item, new_item = next(old_iter, None), next(new_iter, None)
    while old_item is not None or new_item is not None:
        if new_item is None or (old_item is not None and old_item[0] < new_item[0]):
            assert old_item is not None
            name, before, after = old_item[0], old_item[1], empty
            old_item = next(old_iter, None)
        elif old_item is None or new_item[0] < old_item[0]:
            name, before, after = new_item[0], empty, new_item[1]
            new_item = next(new_iter, None)
        else:
            name, before, after = old_item[0], old_item[1], new_item[1]
            old_item, new_item = next(old_iter, None), next(new_iter, None)
        for action in ACTIONS:
            was_list, now_list = before.get(action, ()), after.get(action, ())
            if was_list == now_list:
                continue  # The common case, compared without a Python-level loop.
            was, now = dict(was_list), dict(now_list)
            differing = {who for who, _ in was.items() ^ now.items()}
            for who in sorted(differing):
                change = AccessChange(who[0], who[1], name, action, was.get(who), now.get(who))
                (gained if change.gained else lost).append(change)
    old_keys = {f.key for f in old.findings}
    new_keys = {f.key for f in new.findings}
    return AccessDiff(
        old=old.nexus,
        new=new.nexus,
        gained=tuple(gained),
        lost=tuple(lost),
        new_findings=tuple(f for f in new.findings if f.key not in old_keys),
        removed_findings=tuple(f for f in old.findings if f.key not in new_keys),
    )
