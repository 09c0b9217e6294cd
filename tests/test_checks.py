"""Unit tests of audit.checks: every finding code, when it fires and when it must not.

Each scenario is a realistic Nexus configuration built from REST bodies (tests/nexus_payloads.py):
a scanner account ``scanner`` with a ``docker-scanner`` role holding the auto-created
``nx-repository-view-docker-<repo>-{read,browse}`` privileges, on top of the built-in security
objects of a fresh Nexus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
    REALM_USER_TOKEN,
    SERVER_COMMUNITY,
    SERVER_PRO,
    anonymous_settings,
    browsable_entry,
    content_selector,
    content_selector_privilege,
    default_role_capability,
    docker_group,
    docker_hosted,
    docker_proxy,
    ldap_user,
    maven_hosted,
    repository_privileges,
    role,
    saml_user,
    self_limited_snapshot,
    snapshot,
    user,
    user_token_settings,
    view,
    wildcard_privilege,
)

from audit import checks as checks_module
from audit.checks import AuditResult, AuthMode, Finding, Severity, audit, can_i
from audit.errors import UsageError
from audit.model import Instance, parse_instance
from audit.permissions import Access

REPO = "docker-internal"
SCANNER_ROLE = "docker-scanner"
READ_PATH = ("user:scanner", f"role:{SCANNER_ROLE}", f"privilege:{view(REPO, 'read')}")
BROWSE_PATH = ("user:scanner", f"role:{SCANNER_ROLE}", f"privilege:{view(REPO, 'browse')}")


def setup(
    *,
    privileges: Sequence[str] = (view(REPO, "read"), view(REPO, "browse")),
    scanner: JSON | None = None,
    users: Sequence[JSON] = (),
    roles: Sequence[JSON] = (),
    repositories: Sequence[JSON] | None = None,
    realms: Sequence[str] = (REALM_LOCAL, REALM_DOCKER_TOKEN),
    anonymous: JSON | None = None,
    **kwargs: Any,
) -> Instance:
    """A healthy scanner setup; every argument changes one aspect of it."""
    return parse_instance(
        snapshot(
            users=[scanner or user("scanner", roles=[SCANNER_ROLE]), *users],
            roles=[role(SCANNER_ROLE, privileges=privileges), *roles],
            repositories=(
                repositories if repositories is not None else [docker_hosted(REPO, https_port=8443)]
            ),
            realms=realms,
            anonymous=anonymous or anonymous_settings(enabled=False),
            **kwargs,
        )
    )


def codes(result: AuditResult) -> set[str]:
    return {f.code for f in result.findings}


def only(result: AuditResult, code: str, repository: str | None = None) -> Finding:
    found = [
        f
        for f in result.findings
        if f.code == code and (repository is None or f.repository == repository)
    ]
    assert len(found) == 1, [f"{f.code} {f.repository}: {f.message}" for f in result.findings]
    return found[0]


# --------------------------------------------------------------------------- the healthy case


def test_healthy_scanner_has_no_findings_and_grant_paths() -> None:
    result = audit(setup(), "scanner")
    assert result.findings == ()
    assert result.passed(Severity.INFO)
    assert not result.self_limited
    assert result.principal.found
    assert (result.principal.user_id, result.principal.source, result.principal.status) == (
        "scanner",
        "default",
        "active",
    )
    assert result.principal.roles == (SCANNER_ROLE,)
    [target] = result.repositories
    assert target.repository.name == REPO
    assert target.read.access is Access.GRANTED
    assert target.browse.access is Access.GRANTED
    assert [g.path for g in target.read.grants] == [READ_PATH]
    assert [g.path for g in target.browse.grants] == [BROWSE_PATH]
    assert target.decision("read") is target.read
    assert target.decision("browse") is target.browse
    assert target.registry is not None
    assert target.registry.address == "nexus.example.com:8443"


def test_user_id_is_matched_case_insensitively() -> None:
    result = audit(setup(), "SCANNER")
    assert result.principal.user_id == "scanner"
    assert result.findings == ()


# --------------------------------------------------------------------------- triggers per code


def _anonymous_pull_setup(**kwargs: Any) -> Instance:
    return setup(
        repositories=[docker_hosted(REPO, https_port=8443, force_basic_auth=False)],
        anonymous=anonymous_settings(enabled=True),
        **kwargs,
    )


def _self_limited(permissions: Sequence[str], browsable: Sequence[str]) -> Instance:
    return parse_instance(
        self_limited_snapshot(
            caller_id="scanner",
            permissions=permissions,
            browsable=[browsable_entry(docker_hosted(name)) for name in browsable],
        )
    )


TRIGGERS: dict[str, Callable[[], AuditResult]] = {
    "READ_MISSING": lambda: audit(setup(privileges=[view(REPO, "browse")]), "scanner"),
    "BROWSE_MISSING": lambda: audit(setup(privileges=[view(REPO, "read")]), "scanner"),
    "ACCESS_PARTIAL": lambda: audit(
        setup(
            privileges=["team-a-internal"],
            content_selectors=[content_selector("team-a", 'path =^ "/v2/team-a/"')],
            extra_privileges=[
                content_selector_privilege(
                    "team-a-internal", content_selector="team-a", repository=REPO
                )
            ],
        ),
        "scanner",
    ),
    "ACCESS_UNKNOWN": lambda: audit(setup(omit=["realms_active"]), "scanner"),
    "PRINCIPAL_NOT_FOUND": lambda: audit(setup(), "scaner"),
    "PRINCIPAL_NOT_ACTIVE": lambda: audit(
        setup(scanner=user("scanner", roles=[SCANNER_ROLE], status="disabled")), "scanner"
    ),
    "PRINCIPAL_MUST_CHANGE_PASSWORD": lambda: audit(
        setup(scanner=user("scanner", roles=[SCANNER_ROLE], status="changepassword")), "scanner"
    ),
    "ROLE_UNDEFINED": lambda: audit(
        setup(scanner=user("scanner", roles=[SCANNER_ROLE, "legacy-readers"])), "scanner"
    ),
    "ROLE_CYCLE": lambda: audit(
        setup(
            scanner=user("scanner", roles=[SCANNER_ROLE, "team-a"]),
            roles=[role("team-a", roles=["team-b"]), role("team-b", roles=["team-a"])],
        ),
        "scanner",
    ),
    "PRIVILEGE_UNDEFINED": lambda: audit(
        setup(privileges=[view(REPO, "read"), view(REPO, "browse"), view("deleted", "read")]),
        "scanner",
    ),
    "PRIVILEGE_INVALID": lambda: audit(
        setup(
            privileges=[view(REPO, "read"), view(REPO, "browse"), "broken-pattern"],
            extra_privileges=[wildcard_privilege("broken-pattern", pattern=":")],
        ),
        "scanner",
    ),
    "EXCESS_PRIVILEGE": lambda: audit(
        setup(scanner=user("scanner", roles=[SCANNER_ROLE, "nx-admin"])), "scanner"
    ),
    "EXTERNAL_USER_NEEDS_TOKEN": lambda: audit(
        setup(
            scanner=saml_user("scanner", roles=[SCANNER_ROLE]),
            realms=[REALM_LOCAL, REALM_SAML, REALM_DOCKER_TOKEN],
        ),
        "scanner",
    ),
    "SOURCE_REALM_INACTIVE": lambda: audit(
        setup(scanner=ldap_user("scanner", groups=[SCANNER_ROLE])), "scanner"
    ),
    "DEFAULT_ROLE_GRANTS": lambda: audit(
        setup(
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_DEFAULT_ROLE],
            capabilities=[default_role_capability("nx-anonymous")],
            privileges=[],
            scanner=user("scanner"),
        ),
        "scanner",
    ),
    "NO_CONNECTOR": lambda: audit(setup(repositories=[docker_hosted(REPO)]), "scanner"),
    "HTTP_ONLY": lambda: audit(
        setup(repositories=[docker_hosted(REPO, http_port=8082)]), "scanner"
    ),
    "REPOSITORY_OFFLINE": lambda: audit(
        setup(repositories=[docker_hosted(REPO, https_port=8443, online=False)]), "scanner"
    ),
    "GROUP_INCLUDES_UPSTREAM_PROXY": lambda: audit(
        setup(
            privileges=[view("docker-all", "read"), view("docker-all", "browse")],
            repositories=[
                docker_hosted(REPO, https_port=8443),
                docker_proxy("docker-hub"),
                docker_group("docker-all", members=[REPO, "docker-hub"], https_port=8444),
            ],
        ),
        "scanner",
        repositories=["docker-all"],
    ),
    "DOCKER_TOKEN_REALM_INACTIVE": lambda: audit(
        setup(
            repositories=[docker_hosted(REPO, https_port=8443, force_basic_auth=False)],
            realms=[REALM_LOCAL],
        ),
        "scanner",
    ),
    "ANONYMOUS_DISABLED": lambda: audit(
        setup(
            repositories=[docker_hosted(REPO, https_port=8443, force_basic_auth=False)],
            anonymous=anonymous_settings(enabled=False),
        ),
        auth=AuthMode.ANONYMOUS,
    ),
    "ANONYMOUS_BLOCKED_BY_BASIC_AUTH": lambda: audit(
        setup(anonymous=anonymous_settings(enabled=True)), auth=AuthMode.ANONYMOUS
    ),
    "USER_TOKENS_UNAVAILABLE": lambda: audit(
        setup(unavailable={"user_tokens": "404 Not Found"}), "scanner", auth=AuthMode.TOKEN
    ),
    "USER_TOKENS_DISABLED": lambda: audit(
        setup(
            server=SERVER_PRO,
            user_tokens=user_token_settings(enabled=False),
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
        ),
        "scanner",
        auth=AuthMode.TOKEN,
    ),
    "USER_TOKEN_REALM_INACTIVE": lambda: audit(
        setup(server=SERVER_PRO, user_tokens=user_token_settings(enabled=True)),
        "scanner",
        auth=AuthMode.TOKEN,
    ),
    "TOKENS_REQUIRED_FOR_CONTENT": lambda: audit(
        setup(
            server=SERVER_PRO,
            user_tokens=user_token_settings(enabled=True, protect_content=True),
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
        ),
        "scanner",
    ),
    "ANONYMOUS_CAN_PULL": lambda: audit(_anonymous_pull_setup(), "scanner"),
}

ERRORS = {
    "READ_MISSING",
    "BROWSE_MISSING",
    "PRINCIPAL_NOT_FOUND",
    "PRINCIPAL_NOT_ACTIVE",
    "EXTERNAL_USER_NEEDS_TOKEN",
    "NO_CONNECTOR",
    "REPOSITORY_OFFLINE",
    "SOURCE_REALM_INACTIVE",
    "DOCKER_TOKEN_REALM_INACTIVE",
    "ANONYMOUS_DISABLED",
    "ANONYMOUS_BLOCKED_BY_BASIC_AUTH",
    "USER_TOKENS_UNAVAILABLE",
    "USER_TOKENS_DISABLED",
    "USER_TOKEN_REALM_INACTIVE",
    "TOKENS_REQUIRED_FOR_CONTENT",
}
WARNINGS = {
    "ACCESS_PARTIAL",
    "ACCESS_UNKNOWN",
    "ROLE_UNDEFINED",
    "ROLE_CYCLE",
    "PRIVILEGE_UNDEFINED",
    "PRIVILEGE_INVALID",
    "EXCESS_PRIVILEGE",
    "HTTP_ONLY",
    "GROUP_INCLUDES_UPSTREAM_PROXY",
    "ANONYMOUS_CAN_PULL",
}
# Nexus 3.77's AuthenticatingRealmImpl accepts `changepassword` like `active` (CUser.isActive),
# so registry logins still work: context, not an error.
INFOS = {"DEFAULT_ROLE_GRANTS", "PRINCIPAL_MUST_CHANGE_PASSWORD"}
EXPECTED_SEVERITY = {
    **dict.fromkeys(ERRORS, Severity.ERROR),
    **dict.fromkeys(WARNINGS, Severity.WARNING),
    **dict.fromkeys(INFOS, Severity.INFO),
}


def _codes_in_checks_module() -> set[str]:
    source = Path(checks_module.__file__).read_text(encoding="utf-8")
    return set(re.findall(r'Finding\(\s*"([A-Z][A-Z_]+)"', source)) | set(
        re.findall(r'"(READ_MISSING|BROWSE_MISSING)"', source)
    )


def test_every_finding_code_has_a_trigger_and_a_severity() -> None:
    assert _codes_in_checks_module() == set(TRIGGERS) == set(EXPECTED_SEVERITY)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_finding_is_triggered_with_its_severity(code: str) -> None:
    result = TRIGGERS[code]()
    matching = [f for f in result.findings if f.code == code]
    assert matching, [f.code for f in result.findings]
    for finding in matching:
        assert finding.severity is EXPECTED_SEVERITY[code]
        assert finding.message and "\n" not in finding.message
        assert finding.remedy


def test_findings_are_sorted_errors_first() -> None:
    result = audit(
        setup(
            privileges=[view(REPO, "browse"), "nx-search-read"],
            repositories=[docker_hosted(REPO, http_port=8082)],
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_DEFAULT_ROLE],
            capabilities=[default_role_capability(SCANNER_ROLE)],
        ),
        "scanner",
    )
    ranks = [f.severity.rank for f in result.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert {f.severity for f in result.findings} == set(Severity)


# --------------------------------------------------------------------------- access


def test_read_missing_names_repository_and_fix() -> None:
    result = TRIGGERS["READ_MISSING"]()
    finding = only(result, "READ_MISSING", REPO)
    assert view(REPO, "read") in finding.remedy
    assert "BROWSE_MISSING" not in codes(result)
    assert result.repositories[0].read.access is Access.DENIED


def test_browse_missing_names_repository_and_fix() -> None:
    result = TRIGGERS["BROWSE_MISSING"]()
    finding = only(result, "BROWSE_MISSING", REPO)
    assert view(REPO, "browse") in finding.remedy
    assert "READ_MISSING" not in codes(result)


def test_no_access_at_all_gives_both_missing_codes() -> None:
    result = audit(setup(privileges=[]), "scanner")
    assert {"READ_MISSING", "BROWSE_MISSING"} <= codes(result)
    assert not result.passed()


def test_wildcard_docker_privileges_satisfy_the_scanner_without_excess() -> None:
    result = audit(
        setup(
            privileges=["nx-repository-view-docker-*-read", "nx-repository-view-docker-*-browse"],
            repositories=[
                docker_hosted(REPO, https_port=8443),
                docker_hosted("docker-releases", https_port=8445),
            ],
        ),
        "scanner",
    )
    assert result.findings == ()
    assert all(t.read.access is Access.GRANTED for t in result.repositories)


def test_access_partial_through_content_selector() -> None:
    result = TRIGGERS["ACCESS_PARTIAL"]()
    partial = [f for f in result.findings if f.code == "ACCESS_PARTIAL"]
    assert len(partial) == 2  # read and browse
    assert all("team-a" in f.message for f in partial)
    assert not {"READ_MISSING", "BROWSE_MISSING", "EXCESS_PRIVILEGE"} & codes(result)
    target = result.repositories[0]
    assert target.read.access is Access.PARTIAL
    assert [g.path for g in target.read.grants] == [
        ("user:scanner", f"role:{SCANNER_ROLE}", "privilege:team-a-internal")
    ]


def test_access_partial_absent_when_repository_view_also_granted() -> None:
    result = audit(
        setup(
            privileges=[view(REPO, "read"), view(REPO, "browse"), "team-a-internal"],
            content_selectors=[content_selector("team-a", 'path =^ "/v2/team-a/"')],
            extra_privileges=[
                content_selector_privilege(
                    "team-a-internal", content_selector="team-a", repository=REPO
                )
            ],
        ),
        "scanner",
    )
    assert "ACCESS_PARTIAL" not in codes(result)


def test_content_selector_privilege_of_deleted_selector_is_no_access() -> None:
    result = audit(
        setup(
            privileges=["old-selector-internal"],
            content_selectors=[content_selector("team-a", 'path =^ "/v2/team-a/"')],
            extra_privileges=[
                content_selector_privilege(
                    "old-selector-internal", content_selector="old-selector", repository=REPO
                )
            ],
        ),
        "scanner",
    )
    assert {"READ_MISSING", "BROWSE_MISSING"} <= codes(result)
    assert "ACCESS_PARTIAL" not in codes(result)


def test_group_read_on_members_only_is_missing_on_the_group() -> None:
    result = audit(
        setup(
            privileges=[view(REPO, "read"), view(REPO, "browse")],
            repositories=[
                docker_hosted(REPO, https_port=8443),
                docker_group("docker-all", members=[REPO], https_port=8444),
            ],
        ),
        "scanner",
        repositories=["docker-all"],
    )
    only(result, "READ_MISSING", "docker-all")
    only(result, "BROWSE_MISSING", "docker-all")


# --------------------------------------------------------------------------- access unknown


def test_access_unknown_when_realms_unknown() -> None:
    finding = only(TRIGGERS["ACCESS_UNKNOWN"](), "ACCESS_UNKNOWN")
    assert finding.repository is None
    assert "realm" in finding.message.lower()


def test_access_unknown_when_connector_settings_unreadable() -> None:
    # The repository is listed by /v1/repositories but absent from /v1/repositorySettings.
    hidden = docker_hosted("docker-team", https_port=8446)
    result = audit(
        setup(
            privileges=[
                view(REPO, "read"),
                view(REPO, "browse"),
                view("docker-team", "read"),
                view("docker-team", "browse"),
            ],
            browsable=[browsable_entry(docker_hosted(REPO)), browsable_entry(hidden)],
            extra_privileges=repository_privileges("docker-team"),
        ),
        "scanner",
    )
    finding = only(result, "ACCESS_UNKNOWN", "docker-team")
    assert "nx-repository-admin-docker-docker-team-read" in finding.remedy
    team = next(t for t in result.repositories if t.repository.name == "docker-team")
    assert not team.connector_known
    assert team.registry is None
    assert team.read.access is Access.GRANTED
    assert "NO_CONNECTOR" not in codes(result)


def test_access_unknown_when_default_role_capability_unreadable() -> None:
    result = audit(
        setup(realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_DEFAULT_ROLE], omit=["capabilities"]),
        "scanner",
    )
    finding = only(result, "ACCESS_UNKNOWN")
    assert "DefaultRole" in finding.message


def test_access_unknown_when_token_settings_unreadable_on_pro() -> None:
    result = audit(
        setup(
            server=SERVER_PRO,
            unavailable={"user_tokens": "403 Forbidden: needs nx-settings-read"},
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
        ),
        "scanner",
        auth=AuthMode.TOKEN,
    )
    assert "ACCESS_UNKNOWN" in codes(result)
    assert "USER_TOKENS_UNAVAILABLE" not in codes(result)


# --------------------------------------------------------------------------- principal


def test_principal_not_found_skips_access_findings() -> None:
    result = TRIGGERS["PRINCIPAL_NOT_FOUND"]()
    finding = only(result, "PRINCIPAL_NOT_FOUND")
    assert "scaner" in finding.message
    assert not result.principal.found
    assert not {"READ_MISSING", "BROWSE_MISSING", "EXCESS_PRIVILEGE"} & codes(result)
    assert not result.passed()


@pytest.mark.parametrize("status", ["disabled", "locked"])
def test_principal_not_active(status: str) -> None:
    result = audit(setup(scanner=user("scanner", roles=[SCANNER_ROLE], status=status)), "scanner")
    finding = only(result, "PRINCIPAL_NOT_ACTIVE")
    assert status in finding.message
    assert "PRINCIPAL_MUST_CHANGE_PASSWORD" not in codes(result)


def test_principal_must_change_password_is_not_inactive() -> None:
    result = TRIGGERS["PRINCIPAL_MUST_CHANGE_PASSWORD"]()
    only(result, "PRINCIPAL_MUST_CHANGE_PASSWORD")
    assert "PRINCIPAL_NOT_ACTIVE" not in codes(result)


def test_active_principal_has_no_principal_findings() -> None:
    result = audit(setup(), "scanner")
    assert not {c for c in codes(result) if c.startswith("PRINCIPAL_")}


def test_user_found_in_the_source_whose_realm_comes_first() -> None:
    both = [ldap_user("scanner", groups=[SCANNER_ROLE])]
    ldap_first = setup(users=both, realms=[REALM_LDAP, REALM_LOCAL, REALM_DOCKER_TOKEN])
    assert audit(ldap_first, "scanner").principal.source == "LDAP"
    local_first = setup(users=both, realms=[REALM_LOCAL, REALM_LDAP, REALM_DOCKER_TOKEN])
    assert audit(local_first, "scanner").principal.source == "default"


# --------------------------------------------------------------------------- role resolution


def test_role_undefined_names_the_role() -> None:
    finding = only(TRIGGERS["ROLE_UNDEFINED"](), "ROLE_UNDEFINED")
    assert "legacy-readers" in finding.message


def test_unmatched_external_groups_are_not_undefined_roles() -> None:
    result = audit(
        setup(
            scanner=ldap_user("scanner", groups=[SCANNER_ROLE, "Domain Users", "vpn"]),
            realms=[REALM_LOCAL, REALM_LDAP, REALM_DOCKER_TOKEN],
        ),
        "scanner",
    )
    assert result.findings == ()
    [target] = result.repositories
    assert target.read.access is Access.GRANTED
    assert target.read.grants[0].path == (
        "user:scanner",
        f"external-role:{SCANNER_ROLE}",
        f"privilege:{view(REPO, 'read')}",
    )


def test_external_group_mapping_not_shadowed_by_the_ldap_role_listing() -> None:
    # GET /v1/security/roles without ?source= lists the roles of every authorization manager:
    # the LDAP group shows up as an LDAP-source role next to the Nexus role mapping it. Nexus
    # resolves privileges from its own (default-source) roles only.
    result = audit(
        setup(
            scanner=ldap_user("scanner", groups=[SCANNER_ROLE]),
            roles=[role(SCANNER_ROLE, source="LDAP", read_only=True)],
            realms=[REALM_LOCAL, REALM_LDAP, REALM_DOCKER_TOKEN],
        ),
        "scanner",
    )
    assert result.repositories[0].read.access is Access.GRANTED
    assert "READ_MISSING" not in codes(result)


def test_role_cycle_reported_once_and_audit_terminates() -> None:
    result = TRIGGERS["ROLE_CYCLE"]()
    finding = only(result, "ROLE_CYCLE")
    assert "team-a" in finding.message and "team-b" in finding.message
    assert result.repositories[0].read.access is Access.GRANTED


def test_privilege_undefined_names_the_privilege() -> None:
    finding = only(TRIGGERS["PRIVILEGE_UNDEFINED"](), "PRIVILEGE_UNDEFINED")
    assert view("deleted", "read") in finding.message


def test_privilege_invalid_names_the_privilege() -> None:
    finding = only(TRIGGERS["PRIVILEGE_INVALID"](), "PRIVILEGE_INVALID")
    assert "broken-pattern" in finding.message


def test_builtin_roles_resolve_without_resolution_findings() -> None:
    result = audit(setup(scanner=user("scanner", roles=[SCANNER_ROLE, "nx-anonymous"])), "scanner")
    resolution = {"ROLE_UNDEFINED", "ROLE_CYCLE", "PRIVILEGE_UNDEFINED", "PRIVILEGE_INVALID"}
    assert not resolution & codes(result)


# --------------------------------------------------------------------------- excess


def test_excess_privilege_for_administrator() -> None:
    result = TRIGGERS["EXCESS_PRIVILEGE"]()
    finding = only(result, "EXCESS_PRIVILEGE")
    assert "nx-all" in finding.message
    assert "role:nx-admin" in finding.message


@pytest.mark.parametrize(
    ("privilege", "fragment"),
    [
        ("nx-repository-view-docker-*-*", "beyond read/browse"),
        (view(REPO, "*"), "beyond read/browse"),
        (view(REPO, "delete"), "delete"),
        ("nx-repository-view-*-*-read", "every repository of every format"),
        ("nx-repository-admin-*-*-read", "repository administration"),
        ("nx-users-read", "application rights"),
        (view("docker-releases", "read"), "docker-releases"),
    ],
)
def test_excess_privilege_reasons(privilege: str, fragment: str) -> None:
    result = audit(
        setup(
            privileges=[view(REPO, "read"), view(REPO, "browse"), privilege],
            repositories=[
                docker_hosted(REPO, https_port=8443),
                docker_hosted("docker-releases", https_port=8445),
            ],
        ),
        "scanner",
        repositories=[REPO],
    )
    finding = only(result, "EXCESS_PRIVILEGE")
    assert f"privilege:{privilege}" in finding.message
    assert fragment in finding.message


def test_docker_wide_read_is_excess_when_only_some_repositories_are_targets() -> None:
    result = audit(
        setup(
            privileges=["nx-repository-view-docker-*-read", "nx-repository-view-docker-*-browse"],
            repositories=[
                docker_hosted(REPO, https_port=8443),
                docker_hosted("docker-releases", https_port=8445),
            ],
        ),
        "scanner",
        repositories=[REPO],
    )
    excess = [f for f in result.findings if f.code == "EXCESS_PRIVILEGE"]
    assert len(excess) == 2
    assert all("docker-releases" in f.message for f in excess)


def test_permission_outside_the_nexus_domain_is_not_excess() -> None:
    # Every Nexus permission starts with "nexus" (NEXUS.md §1): "other:*" implies none of them.
    result = audit(
        setup(
            privileges=[view(REPO, "read"), view(REPO, "browse"), "foreign-pattern"],
            extra_privileges=[wildcard_privilege("foreign-pattern", pattern="other:*")],
        ),
        "scanner",
    )
    assert not [f.message for f in result.findings if f.code == "EXCESS_PRIVILEGE"]


def test_no_excess_for_exact_read_and_browse() -> None:
    assert "EXCESS_PRIVILEGE" not in codes(audit(setup(), "scanner"))


# --------------------------------------------------------------------------- sources and realms


def test_external_user_needs_token_not_with_token_auth() -> None:
    only(TRIGGERS["EXTERNAL_USER_NEEDS_TOKEN"](), "EXTERNAL_USER_NEEDS_TOKEN")
    with_token = audit(
        setup(
            scanner=saml_user("scanner", roles=[SCANNER_ROLE]),
            realms=[REALM_LOCAL, REALM_SAML, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
            server=SERVER_PRO,
            user_tokens=user_token_settings(enabled=True),
        ),
        "scanner",
        auth=AuthMode.TOKEN,
    )
    assert with_token.findings == ()


def test_ldap_user_with_password_needs_no_token() -> None:
    result = audit(
        setup(
            scanner=ldap_user("scanner", groups=[SCANNER_ROLE]),
            realms=[REALM_LOCAL, REALM_LDAP, REALM_DOCKER_TOKEN],
        ),
        "scanner",
    )
    assert "EXTERNAL_USER_NEEDS_TOKEN" not in codes(result)
    assert "SOURCE_REALM_INACTIVE" not in codes(result)


def test_source_realm_not_claimed_inactive_when_realms_unknown() -> None:
    result = audit(
        setup(scanner=ldap_user("scanner", groups=[SCANNER_ROLE]), omit=["realms_active"]),
        "scanner",
    )
    assert "SOURCE_REALM_INACTIVE" not in codes(result)
    assert "ACCESS_UNKNOWN" in codes(result)


def test_source_realm_inactive_names_the_realm() -> None:
    finding = only(TRIGGERS["SOURCE_REALM_INACTIVE"](), "SOURCE_REALM_INACTIVE")
    assert REALM_LDAP in finding.message


def test_default_role_grants_access_and_is_reported() -> None:
    result = TRIGGERS["DEFAULT_ROLE_GRANTS"]()
    finding = only(result, "DEFAULT_ROLE_GRANTS")
    assert "nx-anonymous" in finding.message
    assert result.principal.default_role == "nx-anonymous"
    target = result.repositories[0]
    assert target.read.access is Access.GRANTED
    assert target.read.grants[0].path == (
        "user:scanner",
        "default-role:nx-anonymous",
        "privilege:nx-repository-view-*-*-read",
    )


def test_default_role_capability_without_its_realm_grants_nothing() -> None:
    result = audit(
        setup(
            capabilities=[default_role_capability("nx-anonymous")],
            privileges=[],
            scanner=user("scanner"),
        ),
        "scanner",
    )
    assert "DEFAULT_ROLE_GRANTS" not in codes(result)
    assert result.principal.default_role is None
    assert {"READ_MISSING", "BROWSE_MISSING"} <= codes(result)


# --------------------------------------------------------------------------- repository settings


def test_no_connector_absent_with_path_based_routing() -> None:
    only(TRIGGERS["NO_CONNECTOR"](), "NO_CONNECTOR", REPO)
    result = audit(setup(repositories=[docker_hosted(REPO, path_enabled=True)]), "scanner")
    assert "NO_CONNECTOR" not in codes(result)
    assert result.repositories[0].registry is not None
    assert result.repositories[0].registry.address == f"nexus.example.com/{REPO}"
    assert result.findings == ()


def test_http_only_names_the_address() -> None:
    finding = only(TRIGGERS["HTTP_ONLY"](), "HTTP_ONLY", REPO)
    assert "nexus.example.com:8082" in finding.message


def test_http_only_absent_when_https_connector_exists() -> None:
    result = audit(
        setup(repositories=[docker_hosted(REPO, http_port=8082, https_port=8443)]), "scanner"
    )
    assert "HTTP_ONLY" not in codes(result)


def test_path_routing_on_a_plain_http_base_url_is_http_only() -> None:
    result = audit(
        setup(repositories=[docker_hosted(REPO, path_enabled=True)], base_url="http://nexus:8081"),
        "scanner",
    )
    only(result, "HTTP_ONLY", REPO)


def test_host_override_changes_the_registry_address() -> None:
    result = audit(setup(), "scanner", host="registry.example.com")
    registry = result.repositories[0].registry
    assert registry is not None
    assert registry.address == "registry.example.com:8443"


def test_repository_offline() -> None:
    only(TRIGGERS["REPOSITORY_OFFLINE"](), "REPOSITORY_OFFLINE", REPO)
    assert "REPOSITORY_OFFLINE" not in codes(audit(setup(), "scanner"))


def test_group_includes_upstream_proxy_names_the_proxy() -> None:
    finding = only(
        TRIGGERS["GROUP_INCLUDES_UPSTREAM_PROXY"](), "GROUP_INCLUDES_UPSTREAM_PROXY", "docker-all"
    )
    assert "docker-hub" in finding.message


def test_group_includes_upstream_proxy_through_nested_groups() -> None:
    result = audit(
        setup(
            privileges=[view("docker-all", "read"), view("docker-all", "browse")],
            repositories=[
                docker_proxy("docker-hub"),
                docker_group("docker-mirrors", members=["docker-hub"]),
                docker_group("docker-all", members=["docker-mirrors"], https_port=8444),
            ],
        ),
        "scanner",
        repositories=["docker-all"],
    )
    finding = only(result, "GROUP_INCLUDES_UPSTREAM_PROXY", "docker-all")
    assert "docker-hub" in finding.message


def test_group_of_hosted_and_private_mirror_is_fine() -> None:
    result = audit(
        setup(
            privileges=[view("docker-all", "read"), view("docker-all", "browse")],
            repositories=[
                docker_hosted(REPO, https_port=8443),
                docker_proxy(
                    "docker-mirror",
                    remote_url="https://registry.corp.example.com",
                    index_type="REGISTRY",
                ),
                docker_group("docker-all", members=[REPO, "docker-mirror"], https_port=8444),
            ],
        ),
        "scanner",
        repositories=["docker-all"],
    )
    assert "GROUP_INCLUDES_UPSTREAM_PROXY" not in codes(result)
    assert result.findings == ()


def test_docker_token_realm_inactive_for_bearer_repository() -> None:
    only(TRIGGERS["DOCKER_TOKEN_REALM_INACTIVE"](), "DOCKER_TOKEN_REALM_INACTIVE", REPO)


def test_docker_token_realm_not_needed_with_force_basic_auth() -> None:
    result = audit(setup(realms=[REALM_LOCAL]), "scanner")
    assert "DOCKER_TOKEN_REALM_INACTIVE" not in codes(result)
    assert result.findings == ()


def test_docker_token_realm_active_for_bearer_repository() -> None:
    result = audit(
        setup(repositories=[docker_hosted(REPO, https_port=8443, force_basic_auth=False)]),
        "scanner",
    )
    assert "DOCKER_TOKEN_REALM_INACTIVE" not in codes(result)


# --------------------------------------------------------------------------- anonymous


def test_anonymous_audit_of_nx_anonymous_grants_every_repository() -> None:
    inst = setup(
        repositories=[
            docker_hosted(REPO, https_port=8443, force_basic_auth=False),
            docker_proxy("docker-hub", https_port=8447, force_basic_auth=False),
            docker_group(
                "docker-all", members=[REPO, "docker-hub"], https_port=8444, force_basic_auth=False
            ),
        ],
        anonymous=anonymous_settings(enabled=True),
    )
    result = audit(inst, auth=AuthMode.ANONYMOUS)
    assert result.auth is AuthMode.ANONYMOUS
    assert (result.principal.user_id, result.principal.anonymous) == ("anonymous", True)
    assert [t.repository.name for t in result.repositories] == ["docker-all", "docker-hub", REPO]
    for target in result.repositories:
        assert target.read.access is Access.GRANTED
        assert target.browse.access is Access.GRANTED
        assert target.read.grants[0].path == (
            "user:anonymous",
            "role:nx-anonymous",
            "privilege:nx-repository-view-*-*-read",
        )
    assert not {"READ_MISSING", "BROWSE_MISSING", "ANONYMOUS_DISABLED"} & codes(result)
    assert not {"ANONYMOUS_BLOCKED_BY_BASIC_AUTH", "DOCKER_TOKEN_REALM_INACTIVE"} & codes(result)
    pulls = [f for f in result.findings if f.code == "ANONYMOUS_CAN_PULL"]
    assert {f.repository for f in pulls} == {"docker-all", "docker-hub", REPO}
    assert all(f.severity is Severity.INFO for f in pulls)


def test_anonymous_audit_uses_the_user_named_in_the_settings() -> None:
    inst = setup(
        users=[user("guest", roles=["guest-pull"])],
        roles=[role("guest-pull", privileges=[view(REPO, "read")])],
        repositories=[docker_hosted(REPO, https_port=8443, force_basic_auth=False)],
        anonymous=anonymous_settings(enabled=True, user_id="guest"),
        realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_DEFAULT_ROLE],
        capabilities=[default_role_capability(SCANNER_ROLE)],
    )
    result = audit(inst, auth=AuthMode.ANONYMOUS)
    assert result.principal.user_id == "guest"
    # the DefaultRole realm never applies to the anonymous subject
    assert result.principal.default_role is None
    assert "DEFAULT_ROLE_GRANTS" not in codes(result)
    target = result.repositories[0]
    assert target.read.access is Access.GRANTED
    assert target.browse.access is Access.DENIED
    only(result, "BROWSE_MISSING", REPO)


def test_anonymous_audit_of_missing_anonymous_user() -> None:
    inst = setup(anonymous=anonymous_settings(enabled=True, user_id="guest"))
    finding = only(audit(inst, auth=AuthMode.ANONYMOUS), "PRINCIPAL_NOT_FOUND")
    assert "guest" in finding.message


def test_anonymous_audit_refuses_a_user_and_unknown_settings() -> None:
    with pytest.raises(UsageError):
        audit(setup(anonymous=anonymous_settings(enabled=True)), "scanner", AuthMode.ANONYMOUS)
    with pytest.raises(UsageError):
        audit(setup(omit=["anonymous"]), auth=AuthMode.ANONYMOUS)


def test_anonymous_disabled_absent_when_enabled() -> None:
    only(TRIGGERS["ANONYMOUS_DISABLED"](), "ANONYMOUS_DISABLED")
    result = audit(_anonymous_pull_setup(), auth=AuthMode.ANONYMOUS)
    assert "ANONYMOUS_DISABLED" not in codes(result)


def test_anonymous_blocked_by_basic_auth_per_repository() -> None:
    only(TRIGGERS["ANONYMOUS_BLOCKED_BY_BASIC_AUTH"](), "ANONYMOUS_BLOCKED_BY_BASIC_AUTH", REPO)
    result = audit(_anonymous_pull_setup(), auth=AuthMode.ANONYMOUS)
    assert "ANONYMOUS_BLOCKED_BY_BASIC_AUTH" not in codes(result)


def test_anonymous_pull_needs_the_docker_token_realm() -> None:
    result = audit(
        setup(anonymous=anonymous_settings(enabled=True), realms=[REALM_LOCAL]),
        auth=AuthMode.ANONYMOUS,
    )
    finding = only(result, "DOCKER_TOKEN_REALM_INACTIVE")
    assert finding.severity is Severity.ERROR


def test_anonymous_checks_do_not_run_for_password_audits() -> None:
    result = audit(setup(anonymous=anonymous_settings(enabled=False)), "scanner")
    assert not {"ANONYMOUS_DISABLED", "ANONYMOUS_BLOCKED_BY_BASIC_AUTH"} & codes(result)


def test_anonymous_can_pull_is_a_warning_for_account_audits() -> None:
    finding = only(TRIGGERS["ANONYMOUS_CAN_PULL"](), "ANONYMOUS_CAN_PULL", REPO)
    assert finding.severity is Severity.WARNING
    assert "role:nx-anonymous" in finding.message


@pytest.mark.parametrize(
    "change",
    [
        {"anonymous": anonymous_settings(enabled=False)},
        {"realms": [REALM_LOCAL]},
        {"repositories": [docker_hosted(REPO, https_port=8443, force_basic_auth=True)]},
        {
            "repositories": [
                docker_hosted(REPO, https_port=8443, force_basic_auth=False, online=False)
            ]
        },
        {
            "anonymous": anonymous_settings(enabled=True, user_id="guest"),
            "users": [user("guest", roles=["search-only"])],
            "roles": [role("search-only", privileges=["nx-search-read"])],
        },
    ],
    ids=["anonymous-disabled", "no-token-realm", "force-basic", "offline", "no-read"],
)
def test_anonymous_can_pull_absent(change: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {
        "repositories": [docker_hosted(REPO, https_port=8443, force_basic_auth=False)],
        "anonymous": anonymous_settings(enabled=True),
        **change,
    }
    result = audit(setup(**kwargs), "scanner")
    assert "ANONYMOUS_CAN_PULL" not in codes(result)


# --------------------------------------------------------------------------- user tokens


def test_user_tokens_unavailable_on_community_edition() -> None:
    only(TRIGGERS["USER_TOKENS_UNAVAILABLE"](), "USER_TOKENS_UNAVAILABLE")
    community = audit(setup(server=SERVER_COMMUNITY), "scanner", auth=AuthMode.TOKEN)
    only(community, "USER_TOKENS_UNAVAILABLE")


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("404 Not Found", "USER_TOKENS_UNAVAILABLE"),
        ("402 Payment Required", "USER_TOKENS_UNAVAILABLE"),
        ("403 Forbidden: needs nx-settings-read", "ACCESS_UNKNOWN"),
    ],
)
def test_token_settings_unreadable_with_unknown_edition(reason: str, expected: str) -> None:
    doc = snapshot(
        users=[user("scanner", roles=[SCANNER_ROLE])],
        roles=[role(SCANNER_ROLE, privileges=[view(REPO, "read"), view(REPO, "browse")])],
        repositories=[docker_hosted(REPO, https_port=8443)],
        realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
        anonymous=anonymous_settings(enabled=False),
        unavailable={"user_tokens": reason},
    )
    del doc["server"]
    result = audit(parse_instance(doc), "scanner", auth=AuthMode.TOKEN)
    assert codes(result) == {expected}


def test_token_login_ready_on_pro() -> None:
    result = audit(
        setup(
            server=SERVER_PRO,
            user_tokens=user_token_settings(enabled=True, protect_content=True),
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
        ),
        "scanner",
        auth=AuthMode.TOKEN,
    )
    assert result.findings == ()


def test_user_tokens_disabled() -> None:
    result = TRIGGERS["USER_TOKENS_DISABLED"]()
    only(result, "USER_TOKENS_DISABLED")
    assert "USER_TOKEN_REALM_INACTIVE" not in codes(result)


def test_user_token_realm_inactive() -> None:
    result = TRIGGERS["USER_TOKEN_REALM_INACTIVE"]()
    only(result, "USER_TOKEN_REALM_INACTIVE")
    assert "USER_TOKENS_DISABLED" not in codes(result)


def test_tokens_required_for_content_only_for_password_logins() -> None:
    only(TRIGGERS["TOKENS_REQUIRED_FOR_CONTENT"](), "TOKENS_REQUIRED_FOR_CONTENT")
    not_protected = audit(
        setup(
            server=SERVER_PRO,
            user_tokens=user_token_settings(enabled=True, protect_content=False),
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_USER_TOKEN],
        ),
        "scanner",
    )
    assert not_protected.findings == ()
    tokens_off = audit(
        setup(
            server=SERVER_PRO,
            user_tokens=user_token_settings(enabled=False, protect_content=True),
        ),
        "scanner",
    )
    assert "TOKENS_REQUIRED_FOR_CONTENT" not in codes(tokens_off)


# --------------------------------------------------------------------------- --repo targets


def _targets_setup() -> Instance:
    return setup(
        repositories=[
            docker_hosted(REPO, https_port=8443),
            docker_hosted("docker-releases", https_port=8445),
            maven_hosted("maven-releases"),
        ]
    )


def test_default_targets_are_every_docker_repository_sorted() -> None:
    result = audit(_targets_setup(), "scanner")
    assert [t.repository.name for t in result.repositories] == [REPO, "docker-releases"]


def test_explicit_targets_limit_the_audit() -> None:
    result = audit(_targets_setup(), "scanner", repositories=[REPO])
    assert [t.repository.name for t in result.repositories] == [REPO]
    assert result.findings == ()


def test_unknown_target_lists_the_docker_repositories() -> None:
    with pytest.raises(UsageError) as caught:
        audit(_targets_setup(), "scanner", repositories=["docker-intrenal"])
    message = str(caught.value)
    assert "docker-intrenal" in message
    assert REPO in message and "docker-releases" in message
    assert "maven-releases" not in message
    assert "\n" not in message


def test_non_docker_target_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        audit(_targets_setup(), "scanner", repositories=["maven-releases"])
    assert "maven-releases" in str(caught.value)
    assert "maven2" in str(caught.value)


# --------------------------------------------------------------------------- self-limited mode


def test_self_limited_audit_from_own_permissions() -> None:
    inst = _self_limited(
        [
            "nexus:repository-view:docker:docker-internal:read",
            "nexus:repository-view:docker:docker-internal:browse",
            "nexus:search:read",
        ],
        browsable=[REPO, "docker-team"],
    )
    result = audit(inst, repositories=[REPO, "docker-team", "docker-secret"])
    assert result.self_limited
    assert result.principal.user_id == "scanner" and result.principal.found
    by_name = {t.repository.name: t for t in result.repositories}
    internal = by_name[REPO]
    assert internal.read.access is Access.GRANTED
    assert internal.browse.access is Access.GRANTED
    assert internal.read.grants[0].path == (
        "user:scanner",
        "permission:nexus:repository-view:docker:docker-internal:read",
    )
    # listed by /v1/repositories without a browse permission: some content selector opens it
    assert by_name["docker-team"].browse.access is Access.PARTIAL
    assert by_name["docker-team"].read.access is Access.UNKNOWN
    # not browsable: browse denied; read is never concluded denied without the privileges
    assert by_name["docker-secret"].browse.access is Access.DENIED
    assert by_name["docker-secret"].read.access is Access.UNKNOWN
    assert "READ_MISSING" not in codes(result)
    only(result, "BROWSE_MISSING", "docker-secret")
    assert {f.repository for f in result.findings if f.code == "ACCESS_UNKNOWN"} >= {
        "docker-team",
        "docker-secret",
    }
    assert not {c for c in codes(result) if c.startswith("PRINCIPAL_")}
    assert "ACCESS_PARTIAL" in codes(result)


def test_self_limited_audit_defaults_to_browsable_docker_repositories() -> None:
    inst = _self_limited(["nexus:repository-view:docker:*:read"], browsable=[REPO])
    result = audit(inst, "scanner")
    assert [t.repository.name for t in result.repositories] == [REPO]
    assert result.repositories[0].read.access is Access.GRANTED
    assert not result.repositories[0].connector_known


def test_self_limited_cannot_audit_someone_else() -> None:
    inst = _self_limited(["nexus:search:read"], browsable=[REPO])
    with pytest.raises(UsageError):
        audit(inst, "admin")


# --------------------------------------------------------------------------- can_i


def test_can_i_with_grant_paths() -> None:
    summary, answers = can_i(
        setup(),
        [
            "nexus:repository-view:docker:docker-internal:read",
            "nexus:repository-view:docker:docker-internal:delete",
        ],
        "scanner",
    )
    assert summary.user_id == "scanner"
    (read_text, read_ok, read_grants), (del_text, del_ok, del_grants) = answers
    assert (read_text, read_ok) == ("nexus:repository-view:docker:docker-internal:read", True)
    assert [g.path for g in read_grants] == [READ_PATH]
    assert (del_text, del_ok, del_grants) == (
        "nexus:repository-view:docker:docker-internal:delete",
        False,
        (),
    )


def test_can_i_admin_through_nx_all() -> None:
    _, [(_, allowed, grants)] = can_i(setup(), ["nexus:users:create"], "admin")
    assert allowed
    assert [g.path for g in grants] == [("user:admin", "role:nx-admin", "privilege:nx-all")]


def test_can_i_anonymous() -> None:
    summary, [(_, allowed, _)] = can_i(
        setup(anonymous=anonymous_settings(enabled=True)),
        ["nexus:repository-view:docker:docker-internal:read"],
        auth=AuthMode.ANONYMOUS,
    )
    assert summary.anonymous and allowed


def test_can_i_self_limited() -> None:
    inst = _self_limited(["nexus:repository-view:docker:*:read"], browsable=[REPO])
    _, [(_, allowed, grants)] = can_i(inst, ["nexus:repository-view:docker:web:read"])
    assert allowed
    assert grants[0].path == ("user:scanner", "permission:nexus:repository-view:docker:*:read")


def test_can_i_unknown_user_and_bad_permission() -> None:
    with pytest.raises(UsageError):
        can_i(setup(), ["nexus:users:read"], "nobody")
    with pytest.raises(UsageError):
        can_i(setup(), ["nexus:,:read"], "scanner")


# --------------------------------------------------------------------------- pass/fail


def test_passed_thresholds() -> None:
    warning_only = TRIGGERS["HTTP_ONLY"]()
    assert {f.severity for f in warning_only.findings} == {Severity.WARNING}
    assert warning_only.passed()
    assert warning_only.passed(Severity.ERROR)
    assert not warning_only.passed(Severity.WARNING)
    assert not warning_only.passed(Severity.INFO)
    assert [f.code for f in warning_only.failing(Severity.WARNING)] == ["HTTP_ONLY"]

    info_only = audit(
        setup(
            realms=[REALM_LOCAL, REALM_DOCKER_TOKEN, REALM_DEFAULT_ROLE],
            capabilities=[default_role_capability(SCANNER_ROLE)],
        ),
        "scanner",
    )
    assert {f.severity for f in info_only.findings} == {Severity.INFO}
    assert info_only.passed(Severity.WARNING)
    assert not info_only.passed(Severity.INFO)

    error = TRIGGERS["READ_MISSING"]()
    assert not error.passed()
    assert error.failing(Severity.ERROR) == [f for f in error.findings if f.code == "READ_MISSING"]

    clean = audit(setup(), "scanner")
    assert clean.passed(Severity.INFO) and clean.failing(Severity.INFO) == []
