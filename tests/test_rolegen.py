"""The role generator's pure core: planning, the what-if proof, rendering and the apply steps.

Everything runs on parsed snapshot documents (the bundled "Acme" demo and small instances built
from realistic payloads); nothing here opens a socket. What the renderers produce is checked with
tools that know nothing of nexus-audit: nexus-api-client's request models, python-hcl2 and bash.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import nexus_payloads as nx
import pytest
from role_formats import (
    PRIVILEGE_REQUEST_MODELS,
    bash_syntax_ok,
    hcl_blocks,
    hcl_document,
    hcl_literals,
    validate_plan,
    validate_privilege_body,
    validate_role_body,
    validate_user_body,
)

from audit import rolegen
from audit.errors import UsageError
from audit.model import Instance, parse_instance
from audit.permissions import Access
from audit.rolegen import AUDITOR_PRIVILEGES, Profile, RolePlan

DOCKER_REPOS = (
    "docker-hosted",
    "docker-proxy",
    "docker-group",
    "docker-internal",
    "docker-archive",
)
HOSTED_DOCKER = ("docker-hosted", "docker-internal", "docker-archive")
#: Nexus's name pattern for privileges it creates (the request models enforce it).
NEXUS_NAME = re.compile(r"^[a-zA-Z0-9\-]{1}[a-zA-Z0-9_\-\.]*$")

NASTY = {
    "quotes-and-backslashes": 'say "hi" \\ then \\"quote\\" \\n (not a newline) \\\\',
    "newlines-and-tabs": "line one\nline two\r\n\tindented\x07bell",
    "terraform-templates": "${var.x} %{if true}y%{endif} $${z} %%{w} $ % { }",
    "shell-and-html": "$(rm -rf /) `id` '; DROP TABLE x; -- </script><b>&amp;",
    "unicode": "Ünïcødé ☃ 🚀 \u2028 \u00a0 — 日本語",
    "form-feed-and-backspace": "page\x0cbreak\x08back",
}


def acme(dataset: dict[str, Any]) -> Instance:
    return parse_instance(dataset)


def plan(
    instance: Instance | None,
    profile: Profile = Profile.HARBORGUARD_SCAN,
    repos: tuple[str, ...] = ("docker-hosted",),
    **options: Any,
) -> RolePlan:
    if profile is Profile.AUDITOR:
        targets = list(instance.docker_repositories) if instance is not None else []
        warnings: list[str] = []
    else:
        targets, warnings = rolegen.select_targets(instance, repos)
    return rolegen.plan_role(instance, profile, targets, warnings=warnings, **options)


def remove_privilege(dataset: dict[str, Any], name: str) -> None:
    before = len(dataset["privileges"])
    dataset["privileges"] = [p for p in dataset["privileges"] if p["name"] != name]
    assert len(dataset["privileges"]) == before - 1, name


def replace_privilege(dataset: dict[str, Any], name: str, **fields: Any) -> None:
    for privilege in dataset["privileges"]:
        if privilege["name"] == name:
            privilege.update(fields)
            return
    raise AssertionError(name)


def simulate_apply(dataset: dict[str, Any], steps: list[rolegen.Change]) -> None:
    """Store each change the way Nexus would, so that a re-read sees the result."""
    for step in steps:
        if step.method == "POST" and step.path.startswith("/v1/security/privileges/"):
            kind = step.path.rsplit("/", 1)[1]
            dataset["privileges"].append({"type": kind, "readOnly": False, **step.body})
        elif step.method == "POST" and step.path == "/v1/security/roles":
            dataset["roles"].append({"source": "default", "readOnly": False, **step.body})
        elif step.method == "PUT" and step.path.startswith("/v1/security/roles/"):
            dataset["roles"] = [r for r in dataset["roles"] if r["id"] != step.body["id"]]
            dataset["roles"].append({"source": "default", "readOnly": False, **step.body})
        elif step.method == "PUT" and step.path.startswith("/v1/security/users/"):
            for user in dataset["users"]:
                if user["userId"] == step.body["userId"]:
                    user["roles"] = list(step.body["roles"])
        else:
            raise AssertionError(f"unexpected step {step.method} {step.path}")


# --------------------------------------------------------------------------- profiles


def test_scan_profile_uses_each_targets_auto_created_privileges(
    demo_dataset: dict[str, Any],
) -> None:
    result = plan(acme(demo_dataset), repos=("docker-hosted", "docker-group"))
    assert set(result.role.privileges) == {
        nx.view("docker-hosted", "read"),
        nx.view("docker-hosted", "browse"),
        nx.view("docker-group", "read"),
        nx.view("docker-group", "browse"),
    }
    assert result.role.roles == ()
    assert result.role.id == "harborguard-scan"
    assert result.privileges_to_create == ()
    assert result.verified
    assert set(result.needed) == {
        (repo, action)
        for repo in ("docker-hosted", "docker-group")
        for action in ("read", "browse")
    }


def test_pull_only_profile_reads_only(demo_dataset: dict[str, Any]) -> None:
    result = plan(acme(demo_dataset), Profile.PULL_ONLY, ("docker-hosted", "docker-internal"))
    assert set(result.role.privileges) == {
        nx.view("docker-hosted", "read"),
        nx.view("docker-internal", "read"),
    }
    proof = rolegen.prove(acme(demo_dataset), result)
    assert proof.holds, proof
    hosted = next(r for r in proof.rows if r.repository == "docker-hosted")
    assert hosted.access["read"] is Access.GRANTED
    assert hosted.access["browse"] is Access.DENIED


def test_export_profile_pushes_to_one_hosted_repository(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(
        instance,
        Profile.HARBORGUARD_EXPORT,
        ("docker-hosted",),
        push_repository="docker-internal",
    )
    assert set(result.role.privileges) == {
        nx.view("docker-hosted", "read"),
        nx.view("docker-hosted", "browse"),
        nx.view("docker-internal", "read"),
        nx.view("docker-internal", "add"),
        nx.view("docker-internal", "edit"),
    }
    proof = rolegen.prove(instance, result)
    assert proof.holds, proof
    rows = {row.repository: row.access for row in proof.rows}
    assert rows["docker-internal"]["add"] is Access.GRANTED
    assert rows["docker-internal"]["edit"] is Access.GRANTED
    assert rows["docker-internal"]["delete"] is Access.DENIED
    assert rows["docker-hosted"]["add"] is Access.DENIED
    assert all(a is Access.DENIED for a in rows["docker-archive"].values())


@pytest.mark.parametrize(
    ("profile", "push", "message"),
    [
        (Profile.HARBORGUARD_EXPORT, None, "--push-repo"),
        (Profile.HARBORGUARD_EXPORT, "docker-group", "hosted"),
        (Profile.HARBORGUARD_EXPORT, "docker-proxy", "hosted"),
        (Profile.HARBORGUARD_EXPORT, "maven-releases", "not a Docker repository"),
        (Profile.HARBORGUARD_EXPORT, "no-such-repo", "not a Docker repository"),
        (Profile.HARBORGUARD_SCAN, "docker-internal", "harborguard-export"),
        (Profile.PULL_ONLY, "docker-internal", "harborguard-export"),
    ],
)
def test_push_repository_rules(
    demo_dataset: dict[str, Any], profile: Profile, push: str | None, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        plan(acme(demo_dataset), profile, ("docker-hosted",), push_repository=push)


def test_auditor_profile_is_exactly_the_audit_reads(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, Profile.AUDITOR)
    admin_reads = {f"nx-repository-admin-docker-{repo}-read" for repo in DOCKER_REPOS}
    assert set(result.role.privileges) == set(AUDITOR_PRIVILEGES) | admin_reads
    assert len(result.role.privileges) == len(AUDITOR_PRIVILEGES) + len(DOCKER_REPOS)
    assert result.role.roles == ()
    assert result.privileges_to_create == ()
    assert result.needed == ()
    # Every privilege it names exists and is what its name says.
    for name in result.role.privileges:
        privilege = (instance.privileges or {})[name]
        assert privilege.actions == ("READ",)
    proof = rolegen.prove(instance, result)
    assert proof.holds, proof
    assert all(a is Access.DENIED for row in proof.rows for a in row.access.values())


def test_auditor_profile_without_an_instance_adds_one_custom_admin_read() -> None:
    result = plan(None, Profile.AUDITOR)
    assert not result.verified
    assert result.role.privileges[: len(AUDITOR_PRIVILEGES)] == AUDITOR_PRIVILEGES
    (custom,) = result.privileges_to_create
    assert result.role.privileges == (*AUDITOR_PRIVILEGES, custom.name)
    assert custom.type == "repository-admin"
    body = custom.request_body()
    assert (body["format"], body["repository"], body["actions"]) == ("docker", "*", ["READ"])
    validate_privilege_body(custom.type, body)
    assert rolegen.prove(None, result).holds


def test_auditor_proof_notices_a_missing_security_read(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, Profile.AUDITOR)
    weaker = dataclasses.replace(
        result,
        role=dataclasses.replace(
            result.role, privileges=tuple(p for p in result.role.privileges if p != "nx-users-read")
        ),
    )
    proof = rolegen.prove(instance, weaker)
    assert not proof.holds
    assert ("*", "nexus:users:read") in proof.missing


def test_custom_id_name_and_description(demo_dataset: dict[str, Any]) -> None:
    result = plan(acme(demo_dataset), role_id="hg.scan_2", name="HarborGuard", description="for HG")
    assert (result.role.id, result.role.name, result.role.description) == (
        "hg.scan_2",
        "HarborGuard",
        "for HG",
    )
    default = plan(acme(demo_dataset), repos=("docker-hosted", "docker-group"))
    assert default.role.name == default.role.id
    assert "docker-group" in default.role.description
    assert "docker-hosted" in default.role.description


# --------------------------------------------------------------------------- targets


def test_unknown_repository_lists_the_docker_repositories(demo_dataset: dict[str, Any]) -> None:
    with pytest.raises(UsageError) as caught:
        rolegen.select_targets(acme(demo_dataset), ["docker-hostd"])
    message = str(caught.value)
    assert "docker-hostd" in message
    for repo in DOCKER_REPOS:
        assert repo in message
    assert "maven-releases" not in message


def test_a_non_docker_repository_is_refused(demo_dataset: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="maven2 repository, not Docker"):
        rolegen.select_targets(acme(demo_dataset), ["docker-hosted", "maven-releases"])


def test_proxy_and_group_targets_are_warned_about(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    _, hosted = rolegen.select_targets(instance, ["docker-hosted"])
    assert hosted == []
    _, proxy = rolegen.select_targets(instance, ["docker-proxy"])
    assert len(proxy) == 1
    assert "proxy" in proxy[0] and "https://registry-1.docker.io" in proxy[0]
    _, group = rolegen.select_targets(instance, ["docker-group"])
    assert len(group) == 1
    assert "docker-group" in group[0] and "docker-proxy" in group[0]


def test_a_group_of_private_repositories_is_not_warned_about() -> None:
    instance = nx.instance(
        repositories=[
            nx.docker_hosted("team-a"),
            nx.docker_proxy("mirror", remote_url="https://registry.internal.example"),
            nx.docker_group("team", members=["team-a"]),
        ]
    )
    targets, warnings = rolegen.select_targets(instance, ["team"])
    assert [t.name for t in targets] == ["team"]
    assert warnings == []


def test_all_hosted_and_all_docker(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    hosted, _ = rolegen.select_targets(instance, [], all_hosted=True)
    assert sorted(r.name for r in hosted) == sorted(HOSTED_DOCKER)
    docker, warnings = rolegen.select_targets(instance, [], all_docker=True)
    assert sorted(r.name for r in docker) == sorted(DOCKER_REPOS)
    assert any("docker-proxy" in w for w in warnings)
    both, _ = rolegen.select_targets(instance, ["docker-proxy"], all_hosted=True)
    assert sorted(r.name for r in both) == sorted((*HOSTED_DOCKER, "docker-proxy"))


def test_selecting_all_needs_an_instance() -> None:
    with pytest.raises(UsageError, match="--all-hosted"):
        rolegen.select_targets(None, [], all_hosted=True)


def test_no_targets_is_refused(demo_dataset: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="--repo"):
        rolegen.plan_role(acme(demo_dataset), Profile.HARBORGUARD_SCAN, [])


# --------------------------------------------------------------------------- minimality


def test_a_missing_auto_privilege_becomes_a_custom_privilege_to_create(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted", "docker-group"))
    (custom,) = result.privileges_to_create
    assert custom.type == "repository-view"
    assert (custom.format, custom.repository, custom.actions) == (
        "docker",
        "docker-hosted",
        ("BROWSE",),
    )
    assert NEXUS_NAME.match(custom.name)
    assert custom.name not in (instance.privileges or {})
    validate_privilege_body(custom.type, custom.request_body())
    assert nx.view("docker-hosted", "browse") not in result.role.privileges
    assert custom.name in result.role.privileges
    assert nx.view("docker-hosted", "read") in result.role.privileges
    proof = rolegen.prove(instance, result)
    assert proof.holds, proof


def test_missing_actions_of_one_repository_share_one_custom_privilege(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    remove_privilege(demo_dataset, nx.view("docker-hosted", "read"))
    remove_privilege(demo_dataset, nx.view("docker-group", "read"))
    result = plan(acme(demo_dataset), repos=("docker-hosted", "docker-group"))
    created = {p.repository: p for p in result.privileges_to_create}
    assert set(created) == {"docker-hosted", "docker-group"}
    assert set(created["docker-hosted"].actions) == {"READ", "BROWSE"}
    assert created["docker-group"].actions == ("READ",)
    assert nx.view("docker-group", "browse") in result.role.privileges
    assert len(result.role.privileges) == 3
    assert rolegen.prove(acme(demo_dataset), result).holds


@pytest.mark.parametrize(
    "fields",
    [
        {"repository": "*"},
        {"actions": ["ALL"]},
        {"actions": ["BROWSE", "DELETE"]},
        {"format": "maven2"},
        {"repository": "docker-internal"},
        {"type": "wildcard", "pattern": "nexus:repository-view:*:*:*"},
    ],
    ids=["any-repository", "all-actions", "extra-action", "other-format", "other-repo", "wildcard"],
)
def test_a_privilege_with_the_auto_name_but_other_fields_is_not_trusted(
    demo_dataset: dict[str, Any], fields: dict[str, Any]
) -> None:
    name = nx.view("docker-hosted", "browse")
    replace_privilege(demo_dataset, name, **fields)
    instance = acme(demo_dataset)
    result = plan(instance)
    assert name not in result.role.privileges
    (custom,) = result.privileges_to_create
    assert (custom.repository, custom.actions) == ("docker-hosted", ("BROWSE",))
    proof = rolegen.prove(instance, result)
    assert proof.holds, proof


def test_a_custom_privilege_from_an_earlier_run_is_reused_not_recreated(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    custom = "nexus-audit-docker-docker-hosted-browse"
    demo_dataset["privileges"].append(
        nx.repository_view_privilege(custom, repository="docker-hosted", actions=["BROWSE"])
    )
    result = plan(acme(demo_dataset))
    assert custom in result.role.privileges
    assert result.privileges_to_create == ()


def test_a_custom_privilege_name_taken_by_something_else_is_an_error(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    custom = "nexus-audit-docker-docker-hosted-browse"
    demo_dataset["privileges"].append(
        nx.repository_view_privilege(custom, repository="docker-hosted", actions=["ALL"])
    )
    with pytest.raises(UsageError, match=custom):
        plan(acme(demo_dataset))


def test_a_privilege_with_the_auto_name_and_the_same_meaning_is_trusted(
    demo_dataset: dict[str, Any],
) -> None:
    # Nexus builds permissions from fields, never names: the same permission is the same right.
    name = nx.view("docker-hosted", "browse")
    replace_privilege(demo_dataset, name, description="re-described by an admin")
    result = plan(acme(demo_dataset))
    assert name in result.role.privileges
    assert result.privileges_to_create == ()


def test_auditor_does_not_trust_an_admin_privilege_by_its_name(
    demo_dataset: dict[str, Any],
) -> None:
    name = "nx-repository-admin-docker-docker-hosted-read"
    replace_privilege(demo_dataset, name, actions=["ALL"])
    instance = acme(demo_dataset)
    result = plan(instance, Profile.AUDITOR)
    assert name not in result.role.privileges, "an admin privilege granting ALL was trusted"
    assert rolegen.prove(instance, result).holds


def test_without_an_instance_nothing_is_verified() -> None:
    targets, _ = rolegen.select_targets(None, ["docker-hosted"])
    result = rolegen.plan_role(None, Profile.HARBORGUARD_SCAN, targets)
    assert not result.verified
    assert set(result.role.privileges) == {
        nx.view("docker-hosted", "read"),
        nx.view("docker-hosted", "browse"),
    }


def test_wildcard_uses_the_format_wide_privileges(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted",), wildcard=True)
    assert set(result.role.privileges) == {
        "nx-repository-view-docker-*-read",
        "nx-repository-view-docker-*-browse",
    }
    assert result.privileges_to_create == ()
    assert any("future" in w for w in result.warnings)


def test_wildcard_without_repositories_still_grants_the_profile(
    demo_dataset: dict[str, Any],
) -> None:
    instance = acme(demo_dataset)
    result = rolegen.plan_role(instance, Profile.HARBORGUARD_SCAN, [], wildcard=True)
    assert set(result.role.privileges) == {
        "nx-repository-view-docker-*-read",
        "nx-repository-view-docker-*-browse",
    }, "--wildcard without --repo produced a role that grants nothing"


def test_wildcard_proof_accepts_every_docker_repository(demo_dataset: dict[str, Any]) -> None:
    # --wildcard opts into every Docker repository: rights on them are the request, not excess.
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted",), wildcard=True)
    proof = rolegen.prove(instance, result)
    assert proof.missing == ()
    assert proof.holds, proof.beyond
    for row in proof.rows:
        assert row.access["delete"] is Access.DENIED


# --------------------------------------------------------------------------- role ids


@pytest.mark.parametrize(
    "role_id", ["_scanner", ".scanner", "scan ner", "scan/ner", "scän", "scan\nner", "a*b", "x'y"]
)
def test_invalid_role_ids_are_refused(demo_dataset: dict[str, Any], role_id: str) -> None:
    with pytest.raises(UsageError, match="not valid"):
        plan(acme(demo_dataset), role_id=role_id)


@pytest.mark.parametrize("role_id", ["nx-admin", "nx-anonymous"])
def test_read_only_built_in_roles_are_refused(demo_dataset: dict[str, Any], role_id: str) -> None:
    with pytest.raises(UsageError, match="read-only"):
        plan(acme(demo_dataset), role_id=role_id)


def test_an_existing_custom_role_is_updated_to_exactly_the_plan(
    demo_dataset: dict[str, Any],
) -> None:
    result = plan(acme(demo_dataset), role_id="hg-scan", repos=("docker-hosted",))
    assert result.existing_role is not None and not result.role_unchanged
    (step,) = rolegen.changes(result)
    assert (step.method, step.path) == ("PUT", "/v1/security/roles/hg-scan")
    validate_role_body(step.body)
    assert step.body["roles"] == []  # hg-scan's nested ci-legacy goes


# --------------------------------------------------------------------------- what-if proof


def test_proof_for_a_fresh_principal(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted", "docker-group"))
    proof = rolegen.prove(instance, result)
    assert proof.principal == rolegen.WHAT_IF_USER
    assert proof.holds and proof.missing == () and proof.beyond == ()
    rows = {row.repository: row.access for row in proof.rows}
    assert set(rows) == set(DOCKER_REPOS)
    for repo, access in rows.items():
        for action, decision in access.items():
            wanted = repo in ("docker-hosted", "docker-group") and action in ("read", "browse")
            assert decision is (Access.GRANTED if wanted else Access.DENIED), (repo, action)
    assert proof.to_remove == () and proof.to_add == ()


@pytest.mark.parametrize(
    "extra",
    [
        "nx-repository-view-docker-*-*",
        "nx-repository-view-docker-docker-hosted-delete",
        "nx-repository-view-docker-docker-internal-read",
        "nx-search-read",
        "nx-repository-admin-docker-docker-group-read",
        "nx-repository-admin-docker-docker-hosted-*",
    ],
)
def test_proof_fails_when_the_role_grants_more(demo_dataset: dict[str, Any], extra: str) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted", "docker-group"))
    wider = dataclasses.replace(
        result, role=dataclasses.replace(result.role, privileges=(*result.role.privileges, extra))
    )
    proof = rolegen.prove(instance, wider)
    assert not proof.holds, f"{extra} on top of the role passed the proof"
    assert proof.beyond


@pytest.mark.parametrize(
    "extra", ["nx-users-all", "nx-repository-admin-docker-docker-hosted-*", "nx-search-read"]
)
def test_auditor_proof_fails_when_the_role_grants_more(
    demo_dataset: dict[str, Any], extra: str
) -> None:
    # The auditor holds exactly the audit reads; anything more must fail its proof too.
    instance = acme(demo_dataset)
    result = plan(instance, Profile.AUDITOR)
    wider = dataclasses.replace(
        result, role=dataclasses.replace(result.role, privileges=(*result.role.privileges, extra))
    )
    proof = rolegen.prove(instance, wider)
    assert not proof.holds, f"{extra} on top of the auditor role passed the proof"


def test_proof_fails_when_the_role_grants_less(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted", "docker-group"))
    narrower = dataclasses.replace(
        result,
        role=dataclasses.replace(
            result.role,
            privileges=tuple(p for p in result.role.privileges if not p.endswith("group-browse")),
        ),
    )
    proof = rolegen.prove(instance, narrower)
    assert not proof.holds
    assert proof.missing == (("docker-group", "browse"),)


def test_proof_for_a_user_shows_the_least_privilege_diff(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted", "docker-group"))
    proof = rolegen.prove(instance, result, for_user="scanner")
    assert proof.principal == "scanner"
    assert proof.holds
    admin = [item for item in proof.to_remove if "nx-repository-admin-*-*-*" in item]
    assert len(admin) == 1
    assert admin[0].endswith("via hg-scan > ci-legacy")
    # What scanner already has for the profile is not listed for removal.
    assert not any("docker-hosted-read" in item for item in proof.to_remove)
    assert proof.to_add[0] == "role:harborguard-scan"
    assert set(proof.to_add[1:]) == {"browse on docker-hosted", "browse on docker-group"}


def test_proof_for_a_user_who_already_fits_has_nothing_to_remove(
    demo_dataset: dict[str, Any],
) -> None:
    instance = acme(demo_dataset)
    result = plan(instance, repos=("docker-hosted", "docker-group"))
    proof = rolegen.prove(instance, result, for_user="harbor-ok")
    assert proof.holds
    assert proof.to_remove == ()
    assert proof.to_add == ("role:harborguard-scan",)


def test_proof_for_an_unknown_user(demo_dataset: dict[str, Any]) -> None:
    instance = acme(demo_dataset)
    with pytest.raises(UsageError, match="ghost"):
        rolegen.prove(instance, plan(instance), for_user="ghost")


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("profile", list(Profile))
def test_json_is_exactly_the_role_request_body(
    demo_dataset: dict[str, Any], profile: Profile
) -> None:
    push = "docker-internal" if profile is Profile.HARBORGUARD_EXPORT else None
    result = plan(acme(demo_dataset), profile, push_repository=push)
    body = json.loads(rolegen.render(result, "json"))
    assert body == result.role.request_body()
    validate_role_body(body)


def test_plan_lists_the_privileges_to_create_with_valid_bodies(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-group", "read"))
    result = plan(acme(demo_dataset), repos=("docker-hosted", "docker-group"), assign_to="scanner")
    document = json.loads(rolegen.render(result, "plan"))
    validate_plan(document)
    (item,) = document["privileges_to_create"]
    assert item["type"] == "repository-view"
    assert item["body"]["repository"] == "docker-group"
    assert item["body"]["actions"] == ["READ"]
    assert item["body"]["name"] in document["role"]["privileges"]
    assert document["assign_to"] == "scanner"
    assert document["role"] == result.role.request_body()


def test_plan_of_the_auditor_without_an_instance() -> None:
    document = json.loads(rolegen.render(plan(None, Profile.AUDITOR), "plan"))
    validate_plan(document)
    assert [i["type"] for i in document["privileges_to_create"]] == ["repository-admin"]


@pytest.mark.parametrize(
    ("provider", "role_type", "id_key"),
    [("datadrivers", "nexus_security_role", "roleid"), ("sonatyperepo", "sonatyperepo_role", "id")],
)
def test_terraform_creates_missing_privileges_and_references_them(
    demo_dataset: dict[str, Any], provider: str, role_type: str, id_key: str
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    result = plan(acme(demo_dataset), repos=("docker-hosted", "docker-group"))
    text = rolegen.render(result, "terraform", provider)
    hcl_literals(text)
    resources = hcl_blocks(text, "resource")
    prefix = "nexus" if provider == "datadrivers" else "sonatyperepo"
    created = {k: v for k, v in resources.items() if k.startswith(f"{prefix}_privilege_")}
    (address,) = created
    assert address.startswith(f"{prefix}_privilege_repository_view.")
    (custom,) = result.privileges_to_create
    body = created[address]
    assert body["name"] == custom.name
    assert (body["format"], body["repository"], body["actions"]) == (
        "docker",
        "docker-hosted",
        ["BROWSE"],
    )
    (role_address,) = [k for k in resources if k.startswith(f"{role_type}.")]
    role = resources[role_address]
    assert role[id_key] == "harborguard-scan"
    assert role["roles"] == []
    # The role depends on the created privilege through a reference, not a copied name.
    assert f"${{{address}.name}}" in role["privileges"]
    assert len(role["privileges"]) == 4
    assert "import" not in hcl_document(text)


@pytest.mark.parametrize(
    ("provider", "role_type"),
    [("datadrivers", "nexus_security_role"), ("sonatyperepo", "sonatyperepo_role")],
)
def test_terraform_imports_an_existing_role(
    demo_dataset: dict[str, Any], provider: str, role_type: str
) -> None:
    result = plan(acme(demo_dataset), role_id="hg-scan")
    text = rolegen.render(result, "terraform", provider)
    hcl_literals(text)
    imports = hcl_document(text)["import"]
    assert len(imports) == 1
    assert imports[0]["id"] == "hg-scan"
    assert imports[0]["to"] == f"${{{role_type}.hg-scan}}"
    fresh = rolegen.render(plan(acme(demo_dataset)), "terraform", provider)
    assert "import" not in hcl_document(fresh)


def test_curl_script_is_valid_bash_with_each_call(demo_dataset: dict[str, Any]) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    result = plan(acme(demo_dataset), assign_to="scanner")
    script = rolegen.render(result, "curl")
    bash_syntax_ok(script)
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert "nexus POST /v1/security/privileges/repository-view" in script
    assert "nexus POST /v1/security/roles" in script
    assert "nexus PUT /v1/security/users/scanner" in script
    bodies = re.findall(r"<<'NEXUS_AUDIT_JSON'\n(.*)\nNEXUS_AUDIT_JSON\n", script)
    assert len(bodies) == 3
    validate_privilege_body("repository-view", json.loads(bodies[0]))
    validate_role_body(json.loads(bodies[1]))
    user = json.loads(bodies[2])
    validate_user_body(user)
    assert user["roles"] == ["hg-scan", "harborguard-scan"]


@pytest.mark.parametrize("value", list(NASTY.values()), ids=list(NASTY))
def test_nasty_names_and_descriptions_survive_every_format(
    demo_dataset: dict[str, Any], value: str
) -> None:
    result = plan(acme(demo_dataset), name=value, description=value)
    body = json.loads(rolegen.render(result, "json"))
    validate_role_body(body)
    assert body["name"] == body["description"] == value
    document = json.loads(rolegen.render(result, "plan"))
    validate_plan(document)
    assert document["role"]["description"] == value
    script = rolegen.render(result, "curl")
    bash_syntax_ok(script)
    (role_json,) = re.findall(r"nexus POST /v1/security/roles <<'NEXUS_AUDIT_JSON'\n(.*)\n", script)
    assert json.loads(role_json)["description"] == value
    for provider in rolegen.TERRAFORM_PROVIDERS:
        literals = dict(hcl_literals(rolegen.render(result, "terraform", provider)))
        assert literals["description"] == value, provider
        assert literals["name"] == value, provider


def test_the_hcl_checker_refuses_what_terraform_refuses() -> None:
    assert hcl_literals('a = "x $${y} %%{z} \\u00e9"\n') == [("a", "x ${y} %{z} \u00e9")]
    for bad in ('a = "${y}"\n', 'a = "%{if x}y%{endif}"\n', 'a = "\\f"\n', 'a = "x\ny"\n'):
        with pytest.raises(AssertionError):
            hcl_literals(bad)


def test_unknown_format_is_refused(demo_dataset: dict[str, Any]) -> None:
    result = plan(acme(demo_dataset))
    with pytest.raises(UsageError):
        rolegen.render(result, "yaml")
    with pytest.raises(UsageError):
        rolegen.render(result, "terraform", "pulumi")


def test_every_privilege_type_the_planner_creates_has_a_request_model(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "read"))
    kinds = {p.type for p in plan(acme(demo_dataset)).privileges_to_create}
    kinds |= {p.type for p in plan(None, Profile.AUDITOR).privileges_to_create}
    assert kinds <= set(PRIVILEGE_REQUEST_MODELS)


# --------------------------------------------------------------------------- changes


def test_changes_for_a_new_role(demo_dataset: dict[str, Any]) -> None:
    (step,) = rolegen.changes(plan(acme(demo_dataset)))
    assert (step.method, step.path) == ("POST", "/v1/security/roles")
    validate_role_body(step.body)
    assert not step.done


def test_changes_create_privileges_then_the_role_then_assign(
    demo_dataset: dict[str, Any],
) -> None:
    remove_privilege(demo_dataset, nx.view("docker-hosted", "browse"))
    steps = rolegen.changes(plan(acme(demo_dataset), assign_to="scanner"))
    assert [(s.method, s.path) for s in steps] == [
        ("POST", "/v1/security/privileges/repository-view"),
        ("POST", "/v1/security/roles"),
        ("PUT", "/v1/security/users/scanner"),
    ]
    validate_privilege_body("repository-view", steps[0].body)
    validate_role_body(steps[1].body)
    validate_user_body(steps[2].body)
    scanner = next(u for u in demo_dataset["users"] if u["userId"] == "scanner")
    # The user body is the user as read, with one role more: nothing else changes.
    assert steps[2].body == {**scanner, "roles": ["hg-scan", "harborguard-scan"]}


def test_assigning_to_an_unknown_user_is_refused(demo_dataset: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="ghost"):
        plan(acme(demo_dataset), assign_to="ghost")


def test_assigning_needs_users(demo_dataset: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="--assign-to"):
        plan(None, assign_to="scanner")


@pytest.mark.parametrize(
    ("missing", "assign_to", "profile"),
    [
        ((), None, Profile.HARBORGUARD_SCAN),
        ((), "scanner", Profile.HARBORGUARD_SCAN),
        ((nx.view("docker-hosted", "browse"),), "scanner", Profile.HARBORGUARD_SCAN),
        ((nx.view("docker-internal", "add"),), None, Profile.HARBORGUARD_EXPORT),
        ((), "harbor-ok", Profile.AUDITOR),
    ],
    ids=["role", "role-and-user", "custom-privilege", "export-custom-privilege", "auditor"],
)
def test_after_the_changes_there_is_nothing_left_to_change(
    demo_dataset: dict[str, Any],
    missing: tuple[str, ...],
    assign_to: str | None,
    profile: Profile,
) -> None:
    for name in missing:
        remove_privilege(demo_dataset, name)
    push = "docker-internal" if profile is Profile.HARBORGUARD_EXPORT else None
    first = plan(acme(demo_dataset), profile, assign_to=assign_to, push_repository=push)
    steps = rolegen.changes(first)
    assert steps
    simulate_apply(demo_dataset, steps)
    again = plan(acme(demo_dataset), profile, assign_to=assign_to, push_repository=push)
    assert again.role_unchanged
    leftover = [f"{s.method} {s.path}" for s in rolegen.changes(again)]
    assert leftover == [], "a second run would change Nexus again"
    assert again.role.privileges == first.role.privileges
