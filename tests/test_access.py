"""Unit tests of audit.access: who can do what on every Docker repository, findings, diff.

Scenarios are realistic Nexus configurations built from REST bodies (tests/nexus_payloads.py)
on top of the built-in security objects of a fresh Nexus (users ``admin`` and ``anonymous``,
roles ``nx-admin`` and ``nx-anonymous``). The engine is also checked against ``check``'s own
per-principal decisions, principal by principal, on the demo dataset and on a generated one.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from nexus_payloads import (
    JSON,
    REALM_DEFAULT_ROLE,
    REALM_DOCKER_TOKEN,
    REALM_LDAP,
    REALM_LOCAL,
    REALM_SAML,
    anonymous_settings,
    content_selector,
    content_selector_privilege,
    default_role_capability,
    docker_group,
    docker_hosted,
    docker_proxy,
    ldap_user,
    maven_hosted,
    role,
    saml_user,
    snapshot,
    user,
    view,
    wildcard_privilege,
)

from audit.access import (
    ACTIONS,
    MAX_PATHS_PER_ENTRY,
    AccessReport,
    Exclusions,
    RiskFinding,
    build_report,
    diff_sides,
    side_from_document,
    side_from_report,
)
from audit.access_report import report_document
from audit.checks import Severity, effective_permissions, principal_for
from audit.emulator import load_dataset
from audit.errors import UsageError
from audit.model import Instance, parse_instance
from audit.permissions import Access, WildcardPermission, decide, selector_names

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from generate import generate  # noqa: E402

HOSTED = "docker-hosted"
OTHER = "docker-other"
REALMS = (REALM_LOCAL, REALM_DOCKER_TOKEN)


def instance(
    *,
    users: Sequence[JSON] = (),
    roles: Sequence[JSON] = (),
    repositories: Sequence[JSON] | None = None,
    realms: Sequence[str] = REALMS,
    anonymous: JSON | None = None,
    **kwargs: Any,
) -> Instance:
    """Two HTTPS Docker repositories and anonymous access off, unless told otherwise."""
    return parse_instance(
        snapshot(
            users=users,
            roles=roles,
            repositories=(
                repositories
                if repositories is not None
                else [docker_hosted(HOSTED, https_port=8443), docker_hosted(OTHER, https_port=8444)]
            ),
            realms=realms,
            anonymous=anonymous or anonymous_settings(enabled=False),
            **kwargs,
        )
    )


def review(**kwargs: Any) -> AccessReport:
    return build_report(instance(**kwargs))


def who(report: AccessReport, repository: str, action: str) -> dict[str, str]:
    """userId -> granted/partial for one repository and action."""
    return {e.principal.user_id: e.access.value for e in report.entries(repository, action)}


def codes(report: AccessReport, code: str) -> list[RiskFinding]:
    return [f for f in report.findings if f.code == code]


def reader(user_id: str, *repos: str, actions: Sequence[str] = ("read",)) -> tuple[JSON, JSON]:
    """A user holding a role with the auto-created privileges for ``actions`` on ``repos``."""
    role_id = f"{user_id}-role"
    privileges = [view(r, a) for r in repos for a in actions]
    return user(user_id, roles=[role_id]), role(role_id, privileges=privileges)


# --------------------------------------------------------------------------- same engine as check


Answers = dict[tuple[str, str, str, str], tuple[str, frozenset[tuple[str, ...]]]]


def expected_access(inst: Instance, report: AccessReport) -> Answers:
    """What ``check``'s engine decides for each principal, repository and action, with the
    set of grant paths allowing it."""
    answers: Answers = {}
    for principal in report.principals:
        if not principal.evaluated:
            continue
        user_body = next(
            u for u in inst.find_users(principal.user_id) if u.source == principal.source
        )
        effective = effective_permissions(inst, principal_for(inst, user_body, principal.anonymous))
        selectors = selector_names(inst, effective)
        for info in report.repositories:
            repo = info.repository
            base = {
                a: decide(effective, repo, a, selectors)
                for a in ("read", "browse", "add", "edit", "delete")
            }
            add, edit = base["add"], base["edit"]
            if Access.DENIED in (add.access, edit.access):
                push = Access.DENIED
            elif add.access is edit.access is Access.GRANTED:
                push = Access.GRANTED
            else:
                push = Access.PARTIAL
            admin = effective.granting(
                WildcardPermission.of("nexus", "repository-admin", "docker", repo.name, "*")
            )
            decided = {
                "read": (base["read"].access, base["read"].grants),
                "browse": (base["browse"].access, base["browse"].grants),
                "push": (push, add.grants + edit.grants),
                "delete": (base["delete"].access, base["delete"].grants),
                "admin": (Access.GRANTED if admin else Access.DENIED, admin),
            }
            for action, (access, grants) in decided.items():
                if access is not Access.DENIED:
                    key = (principal.user_id, principal.source, repo.name, action)
                    answers[key] = (access.value, frozenset(g.path for g in grants))
    return answers


def assert_same_answers(report: AccessReport, expected: Answers) -> None:
    actual = {
        (e.principal.user_id, e.principal.source, info.repository.name, action): e
        for info in report.repositories
        for action in ACTIONS
        for e in report.entries(info.repository.name, action)
    }
    assert {k: e.access.value for k, e in actual.items()} == {k: v[0] for k, v in expected.items()}
    for key, entry in actual.items():
        paths = expected[key][1]
        assert entry.paths == len(paths), key
        assert set(entry.grants) <= paths, key
        assert len(entry.grants) == min(entry.paths, MAX_PATHS_PER_ENTRY), key


def demo_instance() -> Instance:
    dataset = load_dataset("demo")
    dataset.pop("emulator")
    return parse_instance(dataset)


def mixed_instance() -> Instance:
    """Full and content-selector grants on every and on single repositories, overlapping."""
    selector_privileges = [
        content_selector_privilege("lib-all", content_selector="library", repository="*-docker"),
        content_selector_privilege("lib-hosted", content_selector="library", repository=HOSTED),
        content_selector_privilege(
            "lib-edit", content_selector="library", repository=HOSTED, actions=["EDIT", "ADD"]
        ),
        content_selector_privilege("any-selector", content_selector="*", repository="*"),
    ]
    return instance(
        users=[
            user("both-partial", roles=["lib-all", "lib-hosted"]),
            user("full-and-partial", roles=["docker-read-all", "lib-hosted"]),
            user("push-mixed", roles=["adder", "lib-edit"]),
            user("any", roles=["any-selector", "adder"]),
            ldap_user("ldap", groups=["lib-all", "docker-read-all"], roles=["adder"]),
        ],
        roles=[
            role("lib-all", privileges=["lib-all"]),
            role("lib-hosted", privileges=["lib-hosted"]),
            role("lib-edit", privileges=["lib-edit"]),
            role("any-selector", privileges=["any-selector"]),
            role("docker-read-all", privileges=["nx-repository-view-docker-*-read"]),
            role(
                "adder", privileges=[view(HOSTED, "add"), view(HOSTED, "edit"), view(OTHER, "add")]
            ),
        ],
        extra_privileges=selector_privileges,
        content_selectors=[
            content_selector("library", 'path =^ "/v2/library/"'),
            content_selector("base", 'path =^ "/v2/base/"'),
        ],
        anonymous=anonymous_settings(enabled=True),
    )


@pytest.mark.parametrize(
    "make",
    [demo_instance, mixed_instance, lambda: parse_instance(generate(60, 300, 60, seed=3))],
    ids=["demo", "mixed", "generated"],
)
def test_every_answer_matches_the_per_principal_engine_of_check(make: Any) -> None:
    inst = make()
    report = build_report(inst)
    expected = expected_access(inst, report)
    assert expected, "the scenario grants nothing: the comparison would prove nothing"
    assert_same_answers(report, expected)


def test_counts_and_matrix_rows_agree_with_the_entries() -> None:
    report = build_report(parse_instance(generate(60, 300, 60, seed=5)))
    cells: dict[tuple[str, str, str], dict[str, str]] = {}
    for info in report.repositories:
        name = info.repository.name
        counts = report.access_counts(name)
        for action in ACTIONS:
            entries = report.entries(name, action)
            partial = sum(1 for e in entries if e.access is Access.PARTIAL)
            assert counts[action] == (len(entries), partial), (name, action)
            for e in entries:
                key = (e.principal.user_id, e.principal.source, name)
                cells.setdefault(key, {})[action] = e.access.value
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for principal, baseline, specific in report.index.rows():
        for info in report.repositories:
            name = info.repository.name
            access = specific.get(name, baseline)
            if access:
                key = (principal.user_id, principal.source, name)
                rows[key] = {a: v.value for a, v in access.items()}
    assert rows == cells


def test_entries_are_in_principal_order() -> None:
    report = build_report(demo_instance())
    order = [p.user_id for p in report.principals]
    assert order == sorted(order, key=str.lower)
    users = [e.principal.user_id for e in report.entries(HOSTED, "read")]
    assert users == sorted(users, key=str.lower)


# --------------------------------------------------------------------------- principals


def test_a_local_user_reads_through_its_role_with_the_grant_path() -> None:
    scanner, scanner_role = reader("scanner", HOSTED)
    report = review(users=[scanner], roles=[scanner_role])
    entry = next(e for e in report.entries(HOSTED, "read") if e.principal.user_id == "scanner")
    assert entry.access is Access.GRANTED
    assert entry.grants == (
        ("user:scanner", "role:scanner-role", f"privilege:{view(HOSTED, 'read')}"),
    )
    assert entry.paths == 1
    assert "scanner" not in who(report, OTHER, "read")
    assert "scanner" not in who(report, HOSTED, "browse")


def test_an_ldap_user_reads_through_a_nexus_role_named_after_its_group() -> None:
    report = review(
        users=[
            ldap_user("alice", groups=["devs", "staff"]),
            ldap_user("mallory", groups=["staff"]),
        ],
        roles=[role("devs", privileges=[view(HOSTED, "read")])],
        realms=(*REALMS, REALM_LDAP),
    )
    entry = next(e for e in report.entries(HOSTED, "read") if e.principal.user_id == "alice")
    assert entry.principal.source == "LDAP"
    assert entry.grants[0] == (
        "user:alice",
        "external-role:devs",
        f"privilege:{view(HOSTED, 'read')}",
    )
    # A group without a Nexus role of the same id grants nothing.
    assert "mallory" not in who(report, HOSTED, "read")


def test_a_saml_user_is_reviewed_like_any_other() -> None:
    report = review(
        users=[saml_user("bob.sso", roles=["docker-readers"])],
        roles=[role("docker-readers", privileges=[view(HOSTED, "read"), view(HOSTED, "browse")])],
        realms=(*REALMS, REALM_SAML),
    )
    assert who(report, HOSTED, "read")["bob.sso"] == "granted"
    principal = next(p for p in report.principals if p.user_id == "bob.sso")
    assert (principal.source, principal.anonymous) == ("SAML", False)


def test_the_anonymous_user_is_a_principal_only_while_anonymous_access_is_on() -> None:
    on = review(anonymous=anonymous_settings(enabled=True))
    entry = next(e for e in on.entries(HOSTED, "read") if e.principal.user_id == "anonymous")
    assert entry.principal.anonymous is True
    assert entry.grants[0] == (
        "user:anonymous",
        "role:nx-anonymous",
        "privilege:nx-repository-view-*-*-read",
    )
    off = review(anonymous=anonymous_settings(enabled=False))
    assert "anonymous" not in who(off, HOSTED, "read")
    listed = next(p for p in off.principals if p.user_id == "anonymous")
    assert (listed.anonymous, listed.evaluated) == (False, False)


def test_the_default_role_reaches_every_authenticated_user_but_not_anonymous() -> None:
    report = review(
        users=[user("carol", roles=[])],
        roles=[role("everyone", privileges=[view(HOSTED, "read")])],
        realms=(*REALMS, REALM_DEFAULT_ROLE),
        capabilities=[default_role_capability("everyone")],
        anonymous=anonymous_settings(enabled=True),
    )
    readers = who(report, HOSTED, "read")
    assert readers["carol"] == "granted"
    entry = next(e for e in report.entries(HOSTED, "read") if e.principal.user_id == "carol")
    assert entry.grants[0][:2] == ("user:carol", "default-role:everyone")
    anonymous = next(e for e in report.entries(HOSTED, "read") if e.principal.anonymous)
    assert all("default-role:everyone" not in path for path in anonymous.grants)


def test_disabled_users_keep_their_entries() -> None:
    disabled = user("old", roles=["old-role"], status="disabled")
    report = review(users=[disabled], roles=[role("old-role", privileges=[view(HOSTED, "read")])])
    assert who(report, HOSTED, "read")["old"] == "granted"


# --------------------------------------------------------------------------- actions


def test_content_selector_access_is_partial() -> None:
    report = review(
        users=[user("trivy", roles=["library"])],
        roles=[role("library", privileges=["library-only"])],
        extra_privileges=[
            content_selector_privilege(
                "library-only", content_selector="library", repository=HOSTED
            )
        ],
        content_selectors=[content_selector("library", 'path =^ "/v2/library/"')],
    )
    assert who(report, HOSTED, "read")["trivy"] == "partial"
    assert who(report, HOSTED, "browse")["trivy"] == "partial"
    assert "trivy" not in who(report, OTHER, "read")


def test_a_repository_view_privilege_beats_a_content_selector() -> None:
    report = review(
        users=[user("trivy", roles=["library"])],
        roles=[role("library", privileges=["library-only", view(HOSTED, "read")])],
        extra_privileges=[
            content_selector_privilege("library-only", content_selector="library", repository="*")
        ],
        content_selectors=[content_selector("library", 'path =^ "/v2/library/"')],
    )
    assert who(report, HOSTED, "read")["trivy"] == "granted"
    assert who(report, OTHER, "read")["trivy"] == "partial"


@pytest.mark.parametrize(
    ("actions", "push"),
    [(("add",), None), (("edit",), None), (("add", "edit"), "granted"), (("*",), "granted")],
)
def test_push_needs_both_add_and_edit(actions: tuple[str, ...], push: str | None) -> None:
    ci, ci_role = reader("ci", HOSTED, actions=actions)
    report = review(users=[ci], roles=[ci_role])
    assert who(report, HOSTED, "push").get("ci") == push


def test_push_is_partial_when_either_part_is() -> None:
    report = review(
        users=[user("ci", roles=["ci-role"])],
        roles=[role("ci-role", privileges=[view(HOSTED, "add"), "library-edit"])],
        extra_privileges=[
            content_selector_privilege(
                "library-edit", content_selector="library", repository=HOSTED, actions=["EDIT"]
            )
        ],
        content_selectors=[content_selector("library", 'path =^ "/v2/library/"')],
    )
    entry = next(e for e in report.entries(HOSTED, "push") if e.principal.user_id == "ci")
    assert entry.access is Access.PARTIAL
    assert {path[-1] for path in entry.grants} == {
        f"privilege:{view(HOSTED, 'add')}",
        "privilege:library-edit",
    }


def test_admin_means_every_repository_administration_action() -> None:
    report = review(
        users=[user("ops", roles=["ops"]), user("viewer", roles=["viewer"])],
        roles=[
            role("ops", privileges=[f"nx-repository-admin-docker-{HOSTED}-*"]),
            role("viewer", privileges=[f"nx-repository-admin-docker-{HOSTED}-read"]),
        ],
    )
    admins = who(report, HOSTED, "admin")
    assert admins == {"admin": "granted", "ops": "granted"}
    assert "ops" not in who(report, OTHER, "admin")


def test_wildcard_privileges_reach_every_docker_repository_of_their_format() -> None:
    report = review(
        users=[user("docker-all", roles=["d"]), user("maven-all", roles=["m"])],
        roles=[
            role("d", privileges=["nx-repository-view-docker-*-read"]),
            role("m", privileges=["nx-repository-view-maven2-*-read"]),
        ],
        repositories=[
            docker_hosted(HOSTED, https_port=8443),
            docker_hosted(OTHER, https_port=8444),
            maven_hosted("maven-releases"),
        ],
    )
    for repo in (HOSTED, OTHER):
        readers = who(report, repo, "read")
        assert readers.get("docker-all") == "granted"
        assert "maven-all" not in readers
    assert [i.repository.name for i in report.repositories] == [HOSTED, OTHER]


def test_a_group_is_checked_on_the_group_alone() -> None:
    report = review(
        users=[user("member-reader", roles=["m"])],
        roles=[role("m", privileges=[view(HOSTED, "read")])],
        repositories=[
            docker_hosted(HOSTED, https_port=8443),
            docker_group("docker-group", members=[HOSTED], https_port=8445),
        ],
    )
    assert "member-reader" in who(report, HOSTED, "read")
    assert "member-reader" not in who(report, "docker-group", "read")


def test_grant_paths_are_capped_and_counted() -> None:
    nested = [role(f"r{i}", privileges=[view(HOSTED, "read")]) for i in range(8)]
    report = review(
        users=[user("many", roles=[f"r{i}" for i in range(8)])],
        roles=nested,
    )
    entry = next(e for e in report.entries(HOSTED, "read") if e.principal.user_id == "many")
    assert entry.paths == 8
    assert len(entry.grants) == MAX_PATHS_PER_ENTRY


def test_unknown_repository_and_action_are_usage_errors() -> None:
    report = review()
    with pytest.raises(UsageError, match="no Docker repository named 'nope'"):
        report.entries("nope", "read")
    with pytest.raises(UsageError, match="unknown action"):
        report.entries(HOSTED, "pull")


def test_a_review_needs_users_roles_and_privileges() -> None:
    inst = parse_instance(
        snapshot(
            repositories=[docker_hosted(HOSTED, https_port=8443)],
            omit=("users",),
            unavailable={"users": "403 Forbidden: needs nx-users-read"},
        )
    )
    with pytest.raises(UsageError, match="needs users, roles and privileges.*nx-users-read"):
        build_report(inst)


# --------------------------------------------------------------------------- risky grants


def test_full_admin_holders_are_reported_and_view_wildcards_are_not() -> None:
    report = review(
        users=[user("root", roles=["superuser"]), user("reader", roles=["all-view"])],
        roles=[
            role("superuser", privileges=["everything"]),
            role("all-view", privileges=["nx-repository-view-*-*-*"]),
        ],
        extra_privileges=[wildcard_privilege("everything", pattern="nexus:*")],
    )
    holders = {f.principal: f for f in codes(report, "FULL_ADMIN")}
    assert set(holders) == {"admin", "root"}
    assert holders["root"].privilege == "everything"
    assert holders["root"].severity is Severity.WARNING
    assert "user:root -> role:superuser -> privilege:everything" in holders["root"].message


def test_anonymous_full_admin_is_an_error() -> None:
    data = snapshot(
        repositories=[docker_hosted(HOSTED, https_port=8443)],
        anonymous=anonymous_settings(enabled=True),
    )
    for body in data["users"]:
        if body["userId"] == "anonymous":
            body["roles"] = ["nx-admin"]
    report = build_report(parse_instance(data))
    finding = next(f for f in codes(report, "FULL_ADMIN") if f.principal == "anonymous")
    assert finding.severity is Severity.ERROR
    assert {f.repository for f in codes(report, "ANONYMOUS_CAN_WRITE")} == {HOSTED}


def test_repository_admin_holders_are_reported_by_privilege() -> None:
    report = review(
        users=[
            user("ops", roles=["ops"]),
            user("viewer", roles=["viewer"]),
            *reader("dev", HOSTED)[:1],
        ],
        roles=[
            role("ops", privileges=[f"nx-repository-admin-docker-{HOSTED}-*"]),
            role("viewer", privileges=[f"nx-repository-admin-docker-{HOSTED}-read"]),
            reader("dev", HOSTED)[1],
        ],
    )
    found = {f.principal: f for f in codes(report, "REPOSITORY_ADMIN")}
    assert set(found) == {"ops", "viewer"}
    assert (found["ops"].severity, found["ops"].repository) == (Severity.WARNING, HOSTED)
    assert found["viewer"].severity is Severity.INFO


@pytest.mark.parametrize(
    ("privilege", "severity"),
    [
        ("nx-repository-view-docker-*-read", Severity.INFO),
        ("nx-repository-view-docker-*-*", Severity.WARNING),
        ("nx-repository-admin-*-*-edit", Severity.WARNING),
        (view(HOSTED, "read"), None),
        ("nx-repository-view-maven2-*-read", None),
    ],
)
def test_wildcard_repository_privileges_in_roles(privilege: str, severity: Severity | None) -> None:
    report = review(roles=[role("team", privileges=[privilege])])
    found = [f for f in codes(report, "WILDCARD_REPOSITORY_PRIVILEGE") if f.role == "team"]
    if severity is None:
        assert found == []
    else:
        assert [(f.privilege, f.severity) for f in found] == [(privilege, severity)]


def test_wildcard_type_privileges_count_too() -> None:
    report = review(
        roles=[role("team", privileges=["pattern-read"])],
        extra_privileges=[
            wildcard_privilege("pattern-read", pattern="nexus:repository-view:docker:*:read")
        ],
    )
    found = [f for f in codes(report, "WILDCARD_REPOSITORY_PRIVILEGE") if f.role == "team"]
    assert [(f.privilege, f.severity) for f in found] == [("pattern-read", Severity.INFO)]


def test_the_default_role_realm_is_reported_with_what_it_grants() -> None:
    base: dict[str, Any] = {
        "users": [user("carol")],
        "roles": [role("everyone", privileges=[view(HOSTED, "read")])],
        "capabilities": [default_role_capability("everyone")],
    }
    report = review(realms=(*REALMS, REALM_DEFAULT_ROLE), **base)
    (finding,) = codes(report, "DEFAULT_ROLE_FOR_EVERYONE")
    assert finding.role == "everyone"
    assert "read on 1 of 2 Docker repositories" in finding.message
    assert "(2 users here)" in finding.message  # carol and admin; never anonymous
    assert codes(review(realms=REALMS, **base), "DEFAULT_ROLE_FOR_EVERYONE") == []
    base["capabilities"] = [default_role_capability("everyone", enabled=False)]
    assert (
        codes(review(realms=(*REALMS, REALM_DEFAULT_ROLE), **base), "DEFAULT_ROLE_FOR_EVERYONE")
        == []
    )


def test_undefined_roles_and_privileges_are_reported_where_referenced() -> None:
    report = review(
        users=[user("dana", roles=["ghost-role", "team"])],
        roles=[role("team", privileges=["ghost-privilege", view(HOSTED, "read")], roles=["gone"])],
    )
    undefined_roles = {(f.principal, f.role) for f in codes(report, "ROLE_UNDEFINED")}
    assert undefined_roles == {("dana", "ghost-role"), (None, "team")}
    (privilege,) = codes(report, "PRIVILEGE_UNDEFINED")
    assert (privilege.role, privilege.privilege) == ("team", "ghost-privilege")
    clean = review(users=[user("dana", roles=["team"])], roles=[role("team", privileges=[])])
    assert codes(clean, "ROLE_UNDEFINED") == codes(clean, "PRIVILEGE_UNDEFINED") == []


def test_role_cycles_are_reported_once_even_in_unused_roles() -> None:
    report = review(roles=[role("a", roles=["b"]), role("b", roles=["a"])])
    (cycle,) = codes(report, "ROLE_CYCLE")
    assert "a -> b -> a" in cycle.message or "b -> a -> b" in cycle.message


@pytest.mark.parametrize(
    ("status", "roles", "reported"),
    [
        ("disabled", ["team"], True),
        ("locked", ["team"], True),
        ("disabled", [], False),
        ("active", ["team"], False),
    ],
)
def test_inactive_users_holding_roles(status: str, roles: list[str], reported: bool) -> None:
    report = review(users=[user("gone", roles=roles, status=status)], roles=[role("team")])
    assert bool(codes(report, "INACTIVE_USER_HAS_ROLES")) is reported


def test_unused_custom_roles() -> None:
    report = review(
        users=[
            user("dev", roles=["parent"]),
            ldap_user("lu", groups=["ldap-group"]),
        ],
        roles=[
            role("parent", roles=["child"]),
            role("child"),
            role("ldap-group"),
            role("default-for-all"),
            role("orphan"),
        ],
        realms=(*REALMS, REALM_LDAP, REALM_DEFAULT_ROLE),
        capabilities=[default_role_capability("default-for-all")],
    )
    assert [f.role for f in codes(report, "UNUSED_ROLE")] == ["orphan"]


def test_anonymous_exposure_and_real_pulls() -> None:
    report = review(
        anonymous=anonymous_settings(enabled=True),
        repositories=[
            docker_hosted("public", https_port=8443, force_basic_auth=False),
            docker_hosted("basic-only", https_port=8444, force_basic_auth=True),
            docker_hosted("no-port", force_basic_auth=False),
        ],
    )
    exposure = report.anonymous
    assert exposure.enabled and exposure.docker_token_realm is True
    assert exposure.can_read == ("basic-only", "no-port", "public")
    assert exposure.pull_possible == ("public",)
    (pull,) = codes(report, "ANONYMOUS_CAN_PULL")
    assert (pull.repository, pull.severity) == ("public", Severity.WARNING)
    assert "nx-repository-view-*-*-read" in pull.message
    assert codes(report, "ANONYMOUS_ENABLED")[0].severity is Severity.INFO


def test_no_anonymous_pull_without_the_token_realm_or_with_anonymous_off() -> None:
    public = [docker_hosted("public", https_port=8443, force_basic_auth=False)]
    no_realm = review(
        anonymous=anonymous_settings(enabled=True), repositories=public, realms=(REALM_LOCAL,)
    )
    assert no_realm.anonymous.pull_possible == ()
    assert codes(no_realm, "ANONYMOUS_CAN_PULL") == []
    off = review(anonymous=anonymous_settings(enabled=False), repositories=public)
    assert (off.anonymous.enabled, off.anonymous.can_read) == (False, ())
    assert codes(off, "ANONYMOUS_ENABLED") == codes(off, "ANONYMOUS_CAN_PULL") == []


def test_anonymous_write_is_an_error() -> None:
    data = snapshot(
        repositories=[
            docker_hosted(HOSTED, https_port=8443),
            docker_hosted(OTHER, https_port=8444),
        ],
        roles=[role("anon-push", privileges=[view(HOSTED, "add"), view(HOSTED, "edit")])],
        anonymous=anonymous_settings(enabled=True),
        realms=REALMS,
    )
    for body in data["users"]:
        if body["userId"] == "anonymous":
            body["roles"].append("anon-push")
    report = build_report(parse_instance(data))
    (finding,) = codes(report, "ANONYMOUS_CAN_WRITE")
    assert (finding.repository, finding.severity) == (HOSTED, Severity.ERROR)
    assert "push" in finding.message


def test_registry_posture() -> None:
    report = review(
        repositories=[
            docker_hosted("tls", https_port=8443),
            docker_hosted("plain", http_port=8082),
            docker_hosted("unreachable"),
            docker_proxy("hub", https_port=8444),
            docker_hosted("internal", https_port=8446),
            docker_group("pull-all", members=["internal", "hub"], https_port=8445),
            docker_group("internal-only", members=["internal"], https_port=8447),
        ]
    )
    posture = {i.repository.name: i.posture for i in report.repositories}
    assert posture["tls"] == ()
    assert posture["plain"] == ("HTTP_ONLY",)
    assert posture["unreachable"] == ("NO_CONNECTOR",)
    assert posture["pull-all"] == ("GROUP_INCLUDES_UPSTREAM_PROXY",)
    assert posture["internal-only"] == ()
    info = next(i for i in report.repositories if i.repository.name == "plain")
    assert info.registry is not None and info.registry.scheme == "http"
    assert {f.repository for f in codes(report, "HTTP_ONLY")} == {"plain"}
    (group,) = codes(report, "GROUP_INCLUDES_UPSTREAM_PROXY")
    assert "hub" in group.message


# --------------------------------------------------------------------------- exclusions


def exclusions(*rules: JSON) -> Exclusions:
    return Exclusions.from_document({"nexus_audit_exclusions": 1, "rules": list(rules)})


def test_exclusions_silence_by_code_principal_and_repository_but_still_count() -> None:
    inst = instance(
        users=[user("root", roles=["nx-admin"])],
        repositories=[docker_hosted("plain", http_port=8082), docker_hosted("old", http_port=8083)],
    )
    rules = exclusions(
        {"code": "FULL_ADMIN", "principal": "ADMIN", "reason": "break-glass account"},
        {"code": "HTTP_ONLY", "repository": "pl*"},
    )
    report = build_report(inst, rules)
    admins = {f.principal: f for f in codes(report, "FULL_ADMIN")}
    assert admins["admin"].silenced and admins["admin"].silenced_reason == "break-glass account"
    assert not admins["root"].silenced
    http = {f.repository: f.silenced for f in codes(report, "HTTP_ONLY")}
    assert http == {"plain": True, "old": False}
    assert report.silenced == 2
    unsilenced = build_report(inst)
    assert report.counts()["warning"] == unsilenced.counts()["warning"] - 2
    assert len(report.findings) == len(unsilenced.findings)
    assert all(
        f.code != "FULL_ADMIN" or f.principal != "admin" for f in report.failing(Severity.WARNING)
    )


def test_a_rule_matches_only_findings_that_have_every_field() -> None:
    inst = instance(
        users=[user("root", roles=["nx-admin"])], repositories=[docker_hosted("p", http_port=80)]
    )
    report = build_report(inst, exclusions({"principal": "*"}))
    kinds = {(f.code, f.silenced) for f in report.findings}
    assert ("FULL_ADMIN", True) in kinds and ("HTTP_ONLY", False) in kinds
    for finding in report.findings:
        assert finding.silenced is (finding.principal is not None), finding.code
    both = build_report(inst, exclusions({"code": "HTTP_ONLY", "principal": "root"}))
    assert not any(f.silenced for f in both.findings)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"rules": {}}, "expected a JSON object"),
        ({"nexus_audit_exclusions": 2, "rules": []}, "unsupported exclusions format"),
        ({"rules": [{"reason": "everything"}]}, "matches every finding"),
        ({"rules": [{"code": "HTTP_ONLY", "repo": "x"}]}, "unknown field"),
        ({"rules": [{"code": ""}]}, "non-empty string"),
        ({"rules": [{"code": 3}]}, "non-empty string"),
        ({"rules": [], "extra": 1}, "unknown key"),
    ],
)
def test_bad_exclusions_are_refused(document: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Exclusions.from_document(document, "x.json")


# --------------------------------------------------------------------------- diff


def test_diff_reports_gained_lost_and_changed_access() -> None:
    old_data = snapshot(
        users=[user("dev", roles=["dev"]), user("ops", roles=["ops"]), user("lib", roles=["lib"])],
        roles=[
            role("dev", privileges=[view(HOSTED, "read")]),
            role("ops", privileges=[view(HOSTED, "read"), view(OTHER, "read")]),
            role("lib", privileges=["library-only"]),
        ],
        extra_privileges=[
            content_selector_privilege(
                "library-only", content_selector="library", repository=HOSTED
            )
        ],
        content_selectors=[content_selector("library", 'path =^ "/v2/library/"')],
        repositories=[
            docker_hosted(HOSTED, https_port=8443),
            docker_hosted(OTHER, https_port=8444),
        ],
        anonymous=anonymous_settings(enabled=False),
        realms=REALMS,
    )
    new_data = copy.deepcopy(old_data)
    roles = {r["id"]: r for r in new_data["roles"]}
    roles["dev"]["privileges"].append(view(OTHER, "read"))  # gained
    roles["ops"]["privileges"].remove(view(OTHER, "read"))  # lost
    roles["lib"]["privileges"].append(view(HOSTED, "read"))  # partial -> granted
    old = build_report(parse_instance(old_data))
    new = build_report(parse_instance(new_data))
    diff = diff_sides(side_from_report(old), side_from_report(new))
    gained = {(c.user_id, c.repository, c.action, c.before, c.after) for c in diff.gained}
    lost = {(c.user_id, c.repository, c.action, c.before, c.after) for c in diff.lost}
    assert gained == {
        ("dev", OTHER, "read", None, "granted"),
        ("lib", HOSTED, "read", "partial", "granted"),
    }
    assert lost == {("ops", OTHER, "read", "granted", None)}
    back = diff_sides(side_from_report(new), side_from_report(old))
    assert {(c.user_id, c.repository) for c in back.gained} == {("ops", OTHER)}
    assert diff_sides(side_from_report(old), side_from_report(old)).gained == ()


def test_diff_of_json_documents_equals_diff_of_reviews() -> None:
    old = build_report(demo_instance())
    data = load_dataset("demo")
    data.pop("emulator")
    data["anonymous"]["enabled"] = False
    for body in data["users"]:
        if body["userId"] == "trivy":
            body["roles"].append("devs")
    new = build_report(parse_instance(data))
    from_reports = diff_sides(side_from_report(old), side_from_report(new))
    from_documents = diff_sides(
        side_from_document(report_document(old)), side_from_document(report_document(new))
    )
    assert from_documents.gained == from_reports.gained
    assert from_documents.lost == from_reports.lost
    assert [f.key for f in from_documents.new_findings] == [
        f.key for f in from_reports.new_findings
    ]
    assert {(c.user_id, c.action) for c in from_reports.gained} >= {("trivy", "push")}
    assert {c.user_id for c in from_reports.lost} == {"anonymous"}
    removed = {f.code for f in from_reports.removed_findings}
    assert "ANONYMOUS_ENABLED" in removed


def test_a_diff_side_must_be_an_access_report() -> None:
    with pytest.raises(UsageError, match="not a nexus-audit access report"):
        side_from_document({"nexus_audit_snapshot": 1})
    with pytest.raises(UsageError, match="malformed access report"):
        side_from_document({"nexus_audit_access_report": 1, "repositories": [{}]})
