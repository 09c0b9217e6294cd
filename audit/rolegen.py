"""The minimal custom role a scanner needs, proven with the audit engine before anyone applies it.

:func:`plan_role` turns a profile (what the consumer does) and its target repositories into a
:class:`RolePlan`: the privileges the role holds (Nexus's auto-created per-repository
privileges wherever they exist, a custom repository-view privilege to create where one is
missing) and the role body. :func:`prove` re-runs the engine on a copy of the instance in which
the role exists, and :func:`render` lays the plan out through the Jinja2 templates of
``role_templates/`` (installed as ``audit.role_templates``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from typing import Any
from urllib.parse import quote

import jinja2

from audit.checks import effective_permissions, excess_of, principal_for, transitive_members
from audit.errors import TemplateRenderError, UsageError
from audit.model import Instance, Privilege, Repository, Role, User
from audit.permissions import (
    WILDCARD,
    Access,
    WildcardPermission,
    decide,
    permission_of,
    selector_names,
)

#: Repository-view actions a proof looks at: everything a Docker client can do.
REPOSITORY_ACTIONS = ("read", "browse", "add", "edit", "delete")
REST_ACTION = {"read": "READ", "browse": "BROWSE", "add": "ADD", "edit": "EDIT", "delete": "DELETE"}
#: Read-only roles every Nexus has, whether or not an instance was read.
BUILTIN_ROLES = frozenset({"nx-admin", "nx-anonymous"})
ROLE_ID_PATTERN = re.compile(r"^[a-zA-Z0-9\-]{1}[a-zA-Z0-9_\-\.]*$")

#: Application privileges nexus-audit's own full audit reads with (built in, read-only).
AUDITOR_PRIVILEGES = (
    "nx-users-read",
    "nx-roles-read",
    "nx-privileges-read",
    "nx-settings-read",
    "nx-selectors-read",
    "nx-capabilities-read",
)
AUDITOR_PERMISSIONS = (
    "nexus:users:read",
    "nexus:roles:read",
    "nexus:privileges:read",
    "nexus:settings:read",
    "nexus:selectors:read",
    "nexus:capabilities:read",
)


class Profile(str, Enum):
    """What the consumer of the role does."""

    HARBORGUARD_SCAN = "harborguard-scan"
    HARBORGUARD_EXPORT = "harborguard-export"
    PULL_ONLY = "pull-only"
    AUDITOR = "auditor"

    @property
    def target_actions(self) -> tuple[str, ...]:
        if self is Profile.PULL_ONLY:
            return ("read",)
        if self is Profile.AUDITOR:
            return ()
        return ("read", "browse")

    @property
    def summary(self) -> str:
        return {
            Profile.HARBORGUARD_SCAN: "pull and list images (read, browse)",
            Profile.HARBORGUARD_EXPORT: "pull and list images, push to one hosted repository",
            Profile.PULL_ONLY: "pull images (read)",
            Profile.AUDITOR: "read what nexus-audit needs for a full audit",
        }[self]


@dataclass(frozen=True)
class PrivilegeSpec:
    """A privilege the generated role holds; ``exists`` False means it must be created first."""

    name: str
    type: str
    description: str
    actions: tuple[str, ...]
    """REST enum names, e.g. ``("READ", "BROWSE")``."""
    format: str | None = None
    repository: str | None = None
    domain: str | None = None
    exists: bool = True

    def as_privilege(self) -> Privilege:
        return Privilege(
            name=self.name,
            type=self.type,
            description=self.description,
            actions=self.actions,
            format=self.format,
            repository=self.repository,
            domain=self.domain,
        )

    def request_body(self) -> dict[str, Any]:
        """The body of ``POST /v1/security/privileges/{type}``, as Nexus expects it."""
        body: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "actions": list(self.actions),
        }
        if self.type == "application":
            body["domain"] = self.domain
        else:
            body["format"] = self.format
            body["repository"] = self.repository
        return body


@dataclass(frozen=True)
class RoleSpec:
    id: str
    name: str
    description: str
    privileges: tuple[str, ...]
    roles: tuple[str, ...] = ()

    def request_body(self) -> dict[str, Any]:
        """The body of ``POST /v1/security/roles`` (``RoleXORequest``)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "privileges": list(self.privileges),
            "roles": list(self.roles),
        }

    def as_role(self) -> Role:
        return Role(
            id=self.id,
            name=self.name,
            description=self.description,
            privileges=self.privileges,
            roles=self.roles,
        )


@dataclass(frozen=True)
class RolePlan:
    """Everything to create, with why; pure data that the templates lay out."""

    profile: Profile
    role: RoleSpec
    privileges: tuple[PrivilegeSpec, ...]
    needed: tuple[tuple[str, str], ...]
    """(repository, action) pairs the role must grant; empty for the auditor profile."""
    targets: tuple[str, ...]
    push_repository: str | None = None
    wildcard: bool = False
    verified: bool = True
    """False when no instance was read: privilege existence could not be checked."""
    existing_role: Role | None = None
    assign_to: User | None = None
    warnings: tuple[str, ...] = ()

    @property
    def privileges_to_create(self) -> tuple[PrivilegeSpec, ...]:
        return tuple(p for p in self.privileges if not p.exists)

    @property
    def role_unchanged(self) -> bool:
        existing = self.existing_role
        return existing is not None and (
            existing.name == self.role.name
            and (existing.description or "") == self.role.description
            and set(existing.privileges) == set(self.role.privileges)
            and not existing.roles
        )

    @property
    def assignment_needed(self) -> bool:
        return self.assign_to is not None and self.role.id not in self.assign_to.roles

    def assigned_user_body(self) -> dict[str, Any] | None:
        """``PUT /v1/security/users/{id}`` body: the user with the role added, nothing dropped."""
        user = self.assign_to
        if user is None:
            return None
        roles = list(user.roles) + ([self.role.id] if self.role.id not in user.roles else [])
        return {
            "userId": user.user_id,
            "firstName": user.first_name,
            "lastName": user.last_name,
            "emailAddress": user.email,
            "source": user.source,
            "status": user.status,
            "readOnly": user.read_only,
            "roles": roles,
            "externalRoles": list(user.external_roles),
        }


# --------------------------------------------------------------------------- planning


def select_targets(
    instance: Instance | None,
    repos: Sequence[str],
    all_hosted: bool = False,
    all_docker: bool = False,
) -> tuple[list[Repository], list[str]]:
    """The target Docker repositories and warnings about risky ones."""
    if instance is None or instance.repositories is None:
        if all_hosted or all_docker:
            raise UsageError("--all-hosted and --all-docker need --url or --snapshot")
        return [Repository(name=n, format="docker", type="unknown") for n in repos], []
    docker = {r.name: r for r in instance.docker_repositories}
    chosen: dict[str, Repository] = {}
    for name in repos:
        repo = instance.repository(name)
        if repo is None or not repo.is_docker:
            kind = f"a {repo.format} repository, not Docker" if repo else "not a repository"
            listed = ", ".join(sorted(docker)) or "none"
            raise UsageError(f"'{name}' is {kind} (Docker repositories: {listed})")
        chosen[name] = repo
    for repo in docker.values():
        if all_docker or (all_hosted and repo.type == "hosted"):
            chosen.setdefault(repo.name, repo)
    warnings = []
    for repo in chosen.values():
        if repo.type == "proxy":
            warnings.append(
                f"'{repo.name}' is a proxy: scanning it scans whatever was pulled through it "
                f"from {repo.remote_url or 'upstream'}"
            )
        if repo.type == "group":
            upstream = [
                m.name for m in transitive_members(instance, repo) if m.proxies_public_registry
            ]
            if upstream:
                warnings.append(
                    f"group '{repo.name}' includes public-registry proxies ({', '.join(upstream)}):"
                    " its catalog lists the upstream's images"
                )
    return sorted(chosen.values(), key=lambda r: r.name), warnings


def _auto_name(fmt: str, repository: str, action: str, kind: str = "view") -> str:
    return f"nx-repository-{kind}-{fmt}-{repository}-{action}"


def _view_privileges(
    instance: Instance | None, needed: Sequence[tuple[str, str]]
) -> list[PrivilegeSpec]:
    """Repository-view privileges for (repository, action) pairs; repository ``*`` for all."""
    known = instance.privileges if instance is not None else None
    by_repo: dict[str, list[str]] = {}
    for repo, action in needed:
        by_repo.setdefault(repo, []).append(action)
    specs: list[PrivilegeSpec] = []
    for repo, actions in by_repo.items():
        where = "every Docker repository" if repo == "*" else repo
        missing = []
        for action in actions:
            name = _auto_name("docker", repo, action)
            if known is None or _matches(known.get(name), "repository-view", repo, [action]):
                specs.append(
                    PrivilegeSpec(
                        name=name,
                        type="repository-view",
                        description=f"{action} on {where}",
                        actions=(REST_ACTION[action],),
                        format="docker",
                        repository=repo,
                    )
                )
            else:
                missing.append(action)
        if missing:
            # One custom privilege per repository for every action its auto ones lack; a
            # previous run may have created it already.
            name = f"nexus-audit-docker-{'all' if repo == '*' else repo}-{'-'.join(missing)}"
            specs.append(
                PrivilegeSpec(
                    name=name,
                    type="repository-view",
                    description=f"{', '.join(missing)} on Docker repository {where} "
                    "(created by nexus-audit: the auto-created privilege was missing)",
                    actions=tuple(REST_ACTION[a] for a in missing),
                    format="docker",
                    repository=repo,
                    exists=_custom_exists(known, name, "repository-view", repo, missing),
                )
            )
    return specs


def _matches(privilege: Privilege | None, kind: str, repo: str, actions: Sequence[str]) -> bool:
    """An existing privilege grants exactly this (never trust a privilege's name alone)."""
    if privilege is None:
        return False
    permission = permission_of(privilege)
    return permission is not None and permission == WildcardPermission.of(
        "nexus", kind, "docker", repo, list(actions)
    )


def _custom_exists(
    known: Mapping[str, Privilege] | None, name: str, kind: str, repo: str, actions: Sequence[str]
) -> bool:
    """Whether a privilege nexus-audit creates is already there; a different one is an error."""
    existing = known.get(name) if known is not None else None
    if existing is None:
        return False
    if not _matches(existing, kind, repo, actions):
        raise UsageError(
            f"privilege '{name}' already exists but grants something else; fix or delete it, "
            "then run again"
        )
    return True


def _auditor_privileges(
    instance: Instance | None, targets: Sequence[Repository], wildcard: bool
) -> list[PrivilegeSpec]:
    known = instance.privileges if instance is not None else None
    specs = [
        PrivilegeSpec(
            name=name,
            type="application",
            description=f"built-in {name}",
            actions=("READ",),
            domain=name.split("-")[1],
        )
        for name in AUDITOR_PRIVILEGES
    ]
    admin_reads = []
    for repo in targets:
        auto = _auto_name("docker", repo.name, "read", kind="admin")
        present = known is None or _matches(
            known.get(auto), "repository-admin", repo.name, ["read"]
        )
        name = auto if present else f"nexus-audit-docker-{repo.name}-admin-read"
        admin_reads.append(
            PrivilegeSpec(
                name=name,
                type="repository-admin",
                description=f"read the settings of {repo.name}",
                actions=("READ",),
                format="docker",
                repository=repo.name,
                exists=present
                or _custom_exists(known, name, "repository-admin", repo.name, ["read"]),
            )
        )
    if wildcard or not admin_reads:
        name = "nexus-audit-repository-admin-docker-read"
        admin_reads = [
            PrivilegeSpec(
                name=name,
                type="repository-admin",
                description="read the settings of every Docker repository, including future ones "
                "(created by nexus-audit)",
                actions=("READ",),
                format="docker",
                repository="*",
                exists=_custom_exists(known, name, "repository-admin", "*", ["read"]),
            )
        ]
    return specs + admin_reads


def plan_role(
    instance: Instance | None,
    profile: Profile,
    targets: Sequence[Repository],
    role_id: str | None = None,
    name: str | None = None,
    description: str | None = None,
    wildcard: bool = False,
    push_repository: str | None = None,
    assign_to: str | None = None,
    warnings: Sequence[str] = (),
) -> RolePlan:
    """The smallest role that lets the profile's consumer do its job on the targets."""
    role_id = role_id or profile.value
    if not ROLE_ID_PATTERN.match(role_id):
        raise UsageError(
            f"role id '{role_id}' is not valid in Nexus: letters, digits, '-', '_' and '.', "
            "not starting with '_' or '.'"
        )
    notes = list(warnings)
    if profile is not Profile.AUDITOR and not targets and not wildcard:
        raise UsageError("name the target repositories: --repo NAME, --all-hosted or --all-docker")
    if profile is Profile.HARBORGUARD_EXPORT and not push_repository:
        raise UsageError("the harborguard-export profile needs --push-repo HOSTED_REPO")
    if push_repository and profile is not Profile.HARBORGUARD_EXPORT:
        raise UsageError("--push-repo goes with --profile harborguard-export")
    # With --wildcard the target actions hold on every Docker repository there is.
    covered = list(instance.docker_repositories) if wildcard and instance is not None else []
    scope_repos = covered or list(targets)
    needed: list[tuple[str, str]] = [
        (repo.name, action) for repo in scope_repos for action in profile.target_actions
    ]
    push_needed: list[tuple[str, str]] = []
    if push_repository:
        push = instance.repository(push_repository) if instance is not None else None
        if instance is not None and instance.repositories is not None:
            if push is None or not push.is_docker:
                raise UsageError(f"--push-repo '{push_repository}' is not a Docker repository")
            if push.type != "hosted":
                raise UsageError(
                    f"--push-repo '{push_repository}' is a {push.type} repository; pushes go to "
                    "a hosted one"
                )
        for action in ("read", "add", "edit"):
            if (push_repository, action) not in needed:
                needed.append((push_repository, action))
            if not (wildcard and action in profile.target_actions):
                push_needed.append((push_repository, action))
    if profile is Profile.AUDITOR:
        specs = _auditor_privileges(instance, targets, wildcard)
    elif wildcard:
        specs = _view_privileges(instance, [("*", a) for a in profile.target_actions] + push_needed)
    else:
        specs = _view_privileges(instance, needed)
    if wildcard:
        notes.append(
            "--wildcard: the role also covers every Docker repository created in the future"
        )
    existing = (instance.roles or {}).get(role_id) if instance is not None else None
    if role_id in BUILTIN_ROLES or (existing is not None and existing.read_only):
        raise UsageError(
            f"role '{role_id}' is a read-only built-in role and cannot be changed; choose another "
            "--id"
        )
    user = None
    if assign_to is not None:
        if instance is None or instance.users is None:
            raise UsageError("--assign-to needs --url or --snapshot with users")
        matches = instance.find_users(assign_to)
        if not matches:
            raise UsageError(f"no user '{assign_to}' to assign the role to")
        user = matches[0]
    if profile is Profile.AUDITOR:
        scope = ""
    elif wildcard:
        scope = " on every Docker repository"
    elif len(targets) <= 4:
        scope = " on " + ", ".join(r.name for r in targets)
    else:
        scope = f" on {len(targets)} Docker repositories"
    if push_repository:
        scope += f", push to {push_repository}"
    role = RoleSpec(
        id=role_id,
        name=name or role_id,
        description=description
        if description is not None
        else f"{profile.value}: {profile.summary}{scope} (generated by nexus-audit)",
        privileges=tuple(p.name for p in specs),
    )
    return RolePlan(
        profile=profile,
        role=role,
        privileges=tuple(specs),
        needed=tuple(needed),
        targets=tuple(r.name for r in targets),
        push_repository=push_repository,
        wildcard=wildcard,
        verified=instance is not None and instance.privileges is not None,
        existing_role=existing,
        assign_to=user,
        warnings=tuple(notes),
    )


# --------------------------------------------------------------------------- what-if proof

WHAT_IF_USER = "nexus-audit-what-if"


@dataclass(frozen=True)
class AccessRow:
    repository: str
    access: Mapping[str, Access]
    """Action -> decision, for every action in :data:`REPOSITORY_ACTIONS`."""


@dataclass(frozen=True)
class Proof:
    """What the principal could do with the role: every target granted, nothing beyond."""

    principal: str
    rows: tuple[AccessRow, ...]
    missing: tuple[tuple[str, str], ...]
    """Needed (repository, action) pairs not granted."""
    beyond: tuple[str, ...]
    """Rights beyond the profile, as sentences."""
    to_remove: tuple[str, ...] = ()
    to_add: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        return not self.missing and not self.beyond


def _with_role(instance: Instance, plan: RolePlan, user: User) -> Instance:
    privileges = dict(instance.privileges or {})
    for spec in plan.privileges:
        privileges.setdefault(spec.name, spec.as_privilege())
    roles = dict(instance.roles or {})
    roles[plan.role.id] = plan.role.as_role()
    users = [u for u in instance.users or () if u.user_id != user.user_id] + [user]
    return dataclasses.replace(instance, privileges=privileges, roles=roles, users=tuple(users))


def prove(instance: Instance | None, plan: RolePlan, for_user: str | None = None) -> Proof:
    """Re-run the engine with the role in place, for a fresh principal or ``for_user``."""
    base = instance if instance is not None else Instance(privileges={}, roles={}, users=())
    if for_user is not None:
        found = base.find_users(for_user)
        if not found:
            raise UsageError(f"--for-user: no user '{for_user}'")
        current = found[0]
        holder = dataclasses.replace(
            current, roles=tuple(dict.fromkeys((*current.roles, plan.role.id)))
        )
    else:
        holder = User(
            user_id=WHAT_IF_USER, source="default", status="active", roles=(plan.role.id,)
        )
    what_if = _with_role(base, plan, holder)
    # principal_for adds the DefaultRole realm's role: a new account would get it too.
    effective = effective_permissions(what_if, principal_for(what_if, holder, anonymous=False))
    selectors = selector_names(what_if, effective)
    repositories = list(what_if.docker_repositories) or [
        Repository(name=name, format="docker", type="unknown") for name in plan.targets
    ]
    needed = set(plan.needed)
    rows: list[AccessRow] = []
    missing: list[tuple[str, str]] = []
    beyond: list[str] = []
    for repo in repositories:
        access = {a: decide(effective, repo, a, selectors).access for a in REPOSITORY_ACTIONS}
        rows.append(AccessRow(repo.name, access))
        for action, decision in access.items():
            wanted = (repo.name, action) in needed
            if wanted and decision is not Access.GRANTED:
                missing.append((repo.name, action))
            elif not wanted and decision is not Access.DENIED and for_user is None:
                beyond.append(f"{action} on {repo.name}")
    if plan.profile is Profile.AUDITOR:
        allowed = [WildcardPermission.parse(text) for text in AUDITOR_PERMISSIONS]
        missing.extend(
            ("*", text)
            for text, permission in zip(AUDITOR_PERMISSIONS, allowed, strict=True)
            if not effective.allows(permission)
        )
        for repo in repositories:
            admin = WildcardPermission.of("nexus", "repository-admin", "docker", repo.name, "read")
            if not effective.allows(admin):
                missing.append((repo.name, "repository-admin read"))
        if for_user is None:
            beyond.extend(
                f"{grant.path[-1]} grants {grant.permission}"
                for grant in effective.grants
                if grant.permission not in allowed and not _is_docker_admin_read(grant.permission)
            )
    elif for_user is None:
        # Docker content rights are checked row by row above; anything else is beyond.
        beyond.extend(
            f"{grant.path[-1]} grants {reason}"
            for grant in effective.grants
            if (reason := _beyond_docker_content(grant.permission)) is not None
        )
    to_remove: list[str] = []
    to_add: list[str] = []
    if for_user is not None and instance is not None:
        to_remove, to_add = _least_privilege_diff(instance, plan, for_user)
    return Proof(
        holder.user_id,
        tuple(rows),
        tuple(missing),
        tuple(dict.fromkeys(beyond)),
        tuple(to_remove),
        tuple(to_add),
    )


def _is_docker_admin_read(permission: WildcardPermission) -> bool:
    parts = permission.parts
    return (
        len(parts) == 5
        and parts[:3]
        == (frozenset({"nexus"}), frozenset({"repository-admin"}), frozenset({"docker"}))
        and parts[4] == {"read"}
    )


def _beyond_docker_content(permission: WildcardPermission) -> str | None:
    """Why a permission reaches past Docker repository content, or ``None`` if it does not."""
    parts = permission.parts
    if WILDCARD in parts[0]:
        return "everything in Nexus"
    if "nexus" not in parts[0]:
        return None
    if len(parts) == 1 or WILDCARD in parts[1]:
        return "everything in Nexus (administrator)"
    format_index = {"repository-view": 2, "repository-content-selector": 3}.get(
        next(iter(parts[1])) if len(parts[1]) == 1 else ""
    )
    if format_index is None:
        return excess_of(permission, set(), set())
    fmt = parts[format_index] if len(parts) > format_index else frozenset({WILDCARD})
    if fmt != {"docker"}:
        return "repositories of other formats" if WILDCARD in fmt else f"format {','.join(fmt)}"
    return None


def _least_privilege_diff(
    instance: Instance, plan: RolePlan, user_id: str
) -> tuple[list[str], list[str]]:
    """What to take from the user, and what the role adds, to reach exactly the profile."""
    user = instance.find_users(user_id)[0]
    effective = effective_permissions(instance, principal_for(instance, user, anonymous=False))
    targets = {name for name, _ in plan.needed}
    all_docker = {r.name for r in instance.docker_repositories}
    to_remove: dict[str, None] = {}
    for grant in effective.grants:
        if grant.path[1:2] == (f"role:{plan.role.id}",):
            continue
        reason = excess_of(grant.permission, targets, all_docker)
        if reason is None:
            continue
        via = " > ".join(step.split(":", 1)[1] for step in grant.path[1:-1])
        to_remove[f"{grant.path[-1]} ({reason}) via {via}"] = None
    selectors = selector_names(instance, effective)
    to_add: list[str] = []
    for repo_name, action in plan.needed:
        repo = instance.repository(repo_name)
        if repo is not None and decide(effective, repo, action, selectors).access is not (
            Access.GRANTED
        ):
            to_add.append(f"{action} on {repo_name}")
    if plan.role.id not in user.roles:
        to_add.insert(0, f"role:{plan.role.id}")
    return list(to_remove), to_add


# --------------------------------------------------------------------------- rendering

FORMATS = ("json", "plan", "curl", "terraform")
TERRAFORM_PROVIDERS = ("datadrivers", "sonatyperepo")


def _hcl_string(value: object) -> str:
    """A quoted HCL string: only the escapes HCL defines, and ``${``/``%{`` made literal."""
    escaped = []
    for char in "" if value is None else str(value):
        if char in _HCL_ESCAPES:
            escaped.append(_HCL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    text = "".join(escaped)
    return '"' + text.replace("${", "$${").replace("%{", "%%{") + '"'


_HCL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hcl_name(value: str) -> str:
    """A Terraform resource name: letters, digits, '_' and '-', not starting with a digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", value)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else f"r_{cleaned}"


def _comment_text(value: object) -> str:
    """Text safe inside a one-line comment: control characters (newlines) become '?'."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", str(value))


def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(resources.files("audit.role_templates")))
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["hcl"] = _hcl_string
    env.filters["hcl_name"] = _hcl_name
    env.filters["shquote"] = lambda value: shlex.quote(str(value))
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    env.filters["comment"] = _comment_text
    env.filters["compact_json"] = lambda value: json.dumps(value, separators=(",", ":"))
    return env


def render(plan: RolePlan, fmt: str, provider: str = "datadrivers") -> str:
    """The plan in one output format; JSON outputs are parsed back before they are returned."""
    template = {
        "json": "role.json.j2",
        "plan": "plan.json.j2",
        "curl": "apply.sh.j2",
        "terraform": f"terraform-{provider}.tf.j2",
    }.get(fmt)
    if template is None or provider not in TERRAFORM_PROVIDERS:
        raise UsageError(f"unknown output format '{fmt}' ({provider})")
    try:
        text = _environment().get_template(template).render(plan=plan)
    except (jinja2.TemplateError, TypeError) as exc:
        raise TemplateRenderError(f"template {template} failed: {exc}") from None
    if fmt in ("json", "plan"):
        try:
            json.loads(text)
        except ValueError as exc:
            raise TemplateRenderError(f"template {template} produced invalid JSON: {exc}") from None
    return text


@dataclass
class Change:
    """One step of an apply, in words and as the API call that makes it."""

    description: str
    method: str
    path: str
    body: Any = None
    done: bool = field(default=False)


def changes(plan: RolePlan) -> list[Change]:
    """The API calls that bring Nexus to the plan; empty when it is already there."""
    steps = [
        Change(
            f"create privilege {p.name} ({p.type}: {', '.join(p.actions)} on "
            f"{p.repository or p.domain})",
            "POST",
            f"/v1/security/privileges/{p.type}",
            p.request_body(),
        )
        for p in plan.privileges_to_create
    ]
    if plan.existing_role is None:
        steps.append(
            Change(
                f"create role {plan.role.id} with {len(plan.role.privileges)} privilege(s)",
                "POST",
                "/v1/security/roles",
                plan.role.request_body(),
            )
        )
    elif not plan.role_unchanged:
        steps.append(
            Change(
                f"update role {plan.role.id} to exactly {len(plan.role.privileges)} "
                "privilege(s), no nested roles",
                "PUT",
                f"/v1/security/roles/{quote(plan.role.id, safe='')}",
                plan.role.request_body(),
            )
        )
    if plan.assignment_needed and plan.assign_to is not None:
        steps.append(
            Change(
                f"add role {plan.role.id} to user {plan.assign_to.user_id} (keeping its "
                f"{len(plan.assign_to.roles)} other role(s))",
                "PUT",
                f"/v1/security/users/{quote(plan.assign_to.user_id, safe='')}",
                plan.assigned_user_body(),
            )
        )
    return steps
