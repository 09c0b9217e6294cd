"""Every body the emulator serves (and every section of demo.json) obeys Nexus's API models.

The models are nexus-api-client's (generated from Sonatype's OpenAPI spec). They ignore unknown
keys, so each body is also checked key by key, nested blocks included, against the model's
aliases: an invented field fails here. One rule is skipped: the response models wrongly apply the
request-only name pattern, which real built-in names such as ``nx-repository-view-*-*-read``
break; the names are never changed to please it.

The bodies the write tests send obey the request models (name pattern included), and the ones
the emulator refuses as invalid break them: the emulator is no stricter, nor laxer, than the spec
where the spec has a rule.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nexus_api_client.models.anonymous_access_settings_xo import AnonymousAccessSettingsXO
from nexus_api_client.models.api_privilege_application import ApiPrivilegeApplication
from nexus_api_client.models.api_privilege_application_request import (
    ApiPrivilegeApplicationRequest,
)
from nexus_api_client.models.api_privilege_repository_admin import ApiPrivilegeRepositoryAdmin
from nexus_api_client.models.api_privilege_repository_admin_request import (
    ApiPrivilegeRepositoryAdminRequest,
)
from nexus_api_client.models.api_privilege_repository_content_selector import (
    ApiPrivilegeRepositoryContentSelector,
)
from nexus_api_client.models.api_privilege_repository_content_selector_request import (
    ApiPrivilegeRepositoryContentSelectorRequest,
)
from nexus_api_client.models.api_privilege_repository_view import ApiPrivilegeRepositoryView
from nexus_api_client.models.api_privilege_repository_view_request import (
    ApiPrivilegeRepositoryViewRequest,
)
from nexus_api_client.models.api_privilege_script import ApiPrivilegeScript
from nexus_api_client.models.api_privilege_script_request import ApiPrivilegeScriptRequest
from nexus_api_client.models.api_privilege_wildcard import ApiPrivilegeWildcard
from nexus_api_client.models.api_privilege_wildcard_request import ApiPrivilegeWildcardRequest
from nexus_api_client.models.api_user import ApiUser
from nexus_api_client.models.api_user_source import ApiUserSource
from nexus_api_client.models.capability_dto import CapabilityDTO
from nexus_api_client.models.content_selector_api_response import ContentSelectorApiResponse
from nexus_api_client.models.docker_group_api_repository import DockerGroupApiRepository
from nexus_api_client.models.docker_hosted_api_repository import DockerHostedApiRepository
from nexus_api_client.models.docker_proxy_api_repository import DockerProxyApiRepository
from nexus_api_client.models.maven_hosted_api_repository import MavenHostedApiRepository
from nexus_api_client.models.maven_proxy_api_repository import MavenProxyApiRepository
from nexus_api_client.models.realm_api_xo import RealmApiXO
from nexus_api_client.models.repository_xo import RepositoryXO
from nexus_api_client.models.role_xo_request import RoleXORequest
from nexus_api_client.models.role_xo_response import RoleXOResponse
from nexus_api_client.models.user_tokens_api_model import UserTokensApiModel
from pydantic import BaseModel, ValidationError
from test_emulator_writes import (
    HG_PULL,
    HG_SCAN,
    INVALID_REQUESTS,
    MODEL_VALID_REQUESTS,
    PRIVILEGE_REQUESTS,
    SCANNER_WITH_HG_PULL,
    SCRIPT,
    VIEW,
)

from audit.emulator import NexusEmulator
from audit.emulator.builder import pro_edition

REST = "/service/rest"
ADMIN = ("admin", "admin123")
NAME_PATTERN_MESSAGE = "must validate the regular expression"

PRIVILEGE_MODELS: dict[str, type[BaseModel]] = {
    "application": ApiPrivilegeApplication,
    "repository-view": ApiPrivilegeRepositoryView,
    "repository-admin": ApiPrivilegeRepositoryAdmin,
    "repository-content-selector": ApiPrivilegeRepositoryContentSelector,
    "wildcard": ApiPrivilegeWildcard,
    "script": ApiPrivilegeScript,
}

#: The model of each write request body, by privilege type, ``role`` or ``user``.
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "application": ApiPrivilegeApplicationRequest,
    "repository-view": ApiPrivilegeRepositoryViewRequest,
    "repository-admin": ApiPrivilegeRepositoryAdminRequest,
    "repository-content-selector": ApiPrivilegeRepositoryContentSelectorRequest,
    "wildcard": ApiPrivilegeWildcardRequest,
    "script": ApiPrivilegeScriptRequest,
    "role": RoleXORequest,
    "user": ApiUser,
}

REPOSITORY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("docker", "hosted"): DockerHostedApiRepository,
    ("docker", "proxy"): DockerProxyApiRepository,
    ("docker", "group"): DockerGroupApiRepository,
    ("maven2", "hosted"): MavenHostedApiRepository,
    ("maven2", "proxy"): MavenProxyApiRepository,
}


# --------------------------------------------------------------------------- the contract


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models named anywhere in a field's annotation (Optional, List, Annotated...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def unknown_keys(model: type[BaseModel], body: dict[str, Any], where: str) -> list[str]:
    """Keys of ``body`` (recursively) that ``model`` does not define, as dotted paths."""
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    found = [f"{where}.{key}" for key in body if key not in fields]
    for key, info in fields.items():
        value = body.get(key)
        nested = _models_in(info.annotation)
        if not nested or value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, dict):
                suffix = f"[{index}]" if isinstance(value, list) else ""
                found += unknown_keys(nested[0], item, f"{where}.{key}{suffix}")
    return found


def _is_request_name_rule(error: Any) -> bool:
    return error["loc"] == ("name",) and NAME_PATTERN_MESSAGE in error["msg"]


def assert_contract(
    model: type[BaseModel], body: Any, where: str, *, request: bool = False
) -> None:
    """``body`` validates strictly against ``model`` and carries no key the model lacks.

    ``request``: the body is sent to Nexus, so the name pattern applies to it too.
    """
    assert isinstance(body, dict), f"{where}: expected a JSON object, got {type(body).__name__}"
    try:
        model.model_validate(body, strict=True)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if request or not _is_request_name_rule(e)]
        assert not errors, f"{where} breaks {model.__name__}: {errors}"
    extra = unknown_keys(model, body, where)
    assert not extra, f"{where}: keys unknown to {model.__name__}: {extra}"


def assert_each(model: type[BaseModel], body: Any, where: str) -> None:
    assert isinstance(body, list) and body, f"{where}: expected a non-empty JSON list"
    for index, item in enumerate(body):
        assert_contract(model, item, f"{where}[{index}]")


def assert_privileges(body: Any, where: str) -> None:
    assert isinstance(body, list) and body
    for index, item in enumerate(body):
        assert_contract(PRIVILEGE_MODELS[item["type"]], item, f"{where}[{index}]")


def assert_repository_settings(body: Any, where: str) -> None:
    assert isinstance(body, list) and body
    for index, item in enumerate(body):
        model = REPOSITORY_MODELS[(item["format"], item["type"])]
        assert_contract(model, item, f"{where}[{index}]({item['name']})")


# --------------------------------------------------------------------------- the checker itself


def test_the_contract_catches_an_invented_nested_field() -> None:
    body = {
        "name": "docker-hosted",
        "format": "docker",
        "type": "hosted",
        "online": True,
        "storage": {
            "blobStoreName": "default",
            "strictContentTypeValidation": True,
            "writePolicy": "ALLOW_ONCE",
        },
        "docker": {"v1Enabled": False, "forceBasicAuth": True, "anonymousPull": True},
    }
    with pytest.raises(AssertionError, match=r"docker\.anonymousPull"):
        assert_contract(DockerHostedApiRepository, body, "repo")


def test_the_contract_catches_a_wrong_type_but_not_the_request_name_rule() -> None:
    builtin = {
        "type": "repository-view",
        "name": "nx-repository-view-*-*-read",
        "description": "Read permission for all repository views",
        "readOnly": True,
        "format": "*",
        "repository": "*",
        "actions": ["READ"],
    }
    assert_contract(ApiPrivilegeRepositoryView, builtin, "builtin")
    with pytest.raises(AssertionError, match="actions"):
        assert_contract(ApiPrivilegeRepositoryView, {**builtin, "actions": "READ"}, "broken")


# --------------------------------------------------------------------------- served bodies


@pytest.fixture()
def admin(emulator: NexusEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url + REST, auth=ADMIN) as client:
        yield client


def _get(client: httpx.Client, path: str, **params: str) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_users_match_api_user(admin: httpx.Client) -> None:
    assert_each(ApiUser, _get(admin, "/v1/security/users"), "users")
    assert_each(ApiUser, _get(admin, "/v1/security/users", source="LDAP"), "users(LDAP)")


def test_user_sources_match(admin: httpx.Client) -> None:
    assert_each(ApiUserSource, _get(admin, "/v1/security/user-sources"), "user-sources")


def test_roles_match_role_xo_response(admin: httpx.Client) -> None:
    assert_each(RoleXOResponse, _get(admin, "/v1/security/roles"), "roles")
    assert_contract(RoleXOResponse, _get(admin, "/v1/security/roles/hg-scan"), "roles/hg-scan")


def test_privileges_match_their_type_model(admin: httpx.Client) -> None:
    body = _get(admin, "/v1/security/privileges")
    assert {p["type"] for p in body} >= {
        "application",
        "wildcard",
        "repository-view",
        "repository-admin",
        "repository-content-selector",
    }
    assert_privileges(body, "privileges")
    single = _get(admin, "/v1/security/privileges/nx-repository-view-docker-*-read")
    assert_contract(ApiPrivilegeRepositoryView, single, "privileges/nx-repository-view-docker-*")


def test_realms_and_anonymous_match(admin: httpx.Client) -> None:
    assert_each(RealmApiXO, _get(admin, "/v1/security/realms/available"), "realms/available")
    active = _get(admin, "/v1/security/realms/active")
    assert isinstance(active, list) and all(isinstance(r, str) for r in active)
    assert_contract(AnonymousAccessSettingsXO, _get(admin, "/v1/security/anonymous"), "anonymous")


def test_capabilities_and_content_selectors_match(admin: httpx.Client) -> None:
    assert_each(CapabilityDTO, _get(admin, "/v1/capabilities"), "capabilities")
    assert_each(
        ContentSelectorApiResponse,
        _get(admin, "/v1/security/content-selectors"),
        "content-selectors",
    )


def test_repository_settings_match_their_format_and_type_model(admin: httpx.Client) -> None:
    body = _get(admin, "/v1/repositorySettings")
    assert {(r["format"], r["type"]) for r in body} == set(REPOSITORY_MODELS)
    assert_repository_settings(body, "repositorySettings")


def test_repositories_match_repository_xo(admin: httpx.Client) -> None:
    assert_each(RepositoryXO, _get(admin, "/v1/repositories"), "repositories")


def test_user_token_settings_match_on_pro(demo_dataset: dict[str, Any], make_emulator: Any) -> None:
    emulator = make_emulator(pro_edition(demo_dataset))
    with httpx.Client(base_url=emulator.url + REST, auth=ADMIN) as client:
        assert_contract(UserTokensApiModel, _get(client, "/v1/security/user-tokens"), "tokens")


# --------------------------------------------------------------------------- writes


@pytest.mark.parametrize(("model", "body"), MODEL_VALID_REQUESTS)
def test_write_request_bodies_match_their_request_model(model: str, body: Any) -> None:
    assert_contract(REQUEST_MODELS[model], body, f"{model} request", request=True)


@pytest.mark.parametrize(("model", "method", "path", "body", "errors"), INVALID_REQUESTS)
def test_bodies_the_emulator_finds_invalid_break_the_request_model_too(
    model: str, method: str, path: str, body: Any, errors: Any
) -> None:
    with pytest.raises(ValidationError):
        REQUEST_MODELS[model].model_validate(body, strict=True)


def test_write_responses_match_role_xo_response(admin: httpx.Client) -> None:
    assert admin.post("/v1/security/privileges/repository-view", json=VIEW).status_code == 201
    created = admin.post("/v1/security/roles", json=HG_PULL)
    assert created.status_code == 200
    assert_contract(RoleXOResponse, created.json(), "POST roles")
    updated = {**HG_SCAN, "roles": [], "description": None}
    assert_contract(RoleXORequest, updated, "PUT roles/hg-scan", request=True)
    assert admin.put("/v1/security/roles/hg-scan", json=updated).status_code == 204
    assert_each(RoleXOResponse, _get(admin, "/v1/security/roles"), "roles after writes")
    assert admin.put("/v1/security/users/scanner", json=SCANNER_WITH_HG_PULL).status_code == 204
    assert_each(ApiUser, _get(admin, "/v1/security/users"), "users after writes")


def test_created_privileges_match_their_type_model(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    demo_dataset["emulator"]["scripts"] = [SCRIPT]
    emulator = make_emulator(demo_dataset)
    with httpx.Client(base_url=emulator.url + REST, auth=ADMIN) as client:
        for kind, body in PRIVILEGE_REQUESTS.items():
            response = client.post(f"/v1/security/privileges/{kind}", json=body)
            assert response.status_code == 201, (kind, response.text)
        served = _get(client, "/v1/security/privileges")
    assert {p["name"] for p in served} >= {body["name"] for body in PRIVILEGE_REQUESTS.values()}
    assert_privileges(served, "privileges after writes")


# --------------------------------------------------------------------------- demo.json itself


def test_demo_snapshot_sections_match(demo_dataset: dict[str, Any]) -> None:
    assert_each(ApiUser, demo_dataset["users"], "demo.users")
    assert_each(RoleXOResponse, demo_dataset["roles"], "demo.roles")
    assert_privileges(demo_dataset["privileges"], "demo.privileges")
    assert_contract(AnonymousAccessSettingsXO, demo_dataset["anonymous"], "demo.anonymous")
    assert_each(CapabilityDTO, demo_dataset["capabilities"], "demo.capabilities")
    assert_each(
        ContentSelectorApiResponse, demo_dataset["content_selectors"], "demo.content_selectors"
    )
    assert_repository_settings(demo_dataset["repositories"], "demo.repositories")


def test_pro_variant_token_section_matches(demo_dataset: dict[str, Any]) -> None:
    pro = pro_edition(copy.deepcopy(demo_dataset))
    assert_contract(UserTokensApiModel, pro["user_tokens"], "pro.user_tokens")
