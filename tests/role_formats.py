"""Independent checks of what ``nexus-audit role`` renders: Nexus's request models, HCL, shell.

The JSON bodies are checked against nexus-api-client's request models (generated from Sonatype's
OpenAPI spec), strictly and key by key, since the models ignore unknown keys. HCL is parsed with
python-hcl2 and every quoted string is decoded here from its parse tree, refusing what Terraform
refuses (a raw newline, an escape HCL does not define, an unescaped ``${``/``%{`` template).
Shell scripts go through ``bash -n``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import hcl2
from hcl2.rules.base import AttributeRule
from hcl2.rules.strings import StringRule
from hcl2.utils import process_escape_sequences
from nexus_api_client.models import (
    ApiPrivilegeApplicationRequest,
    ApiPrivilegeRepositoryAdminRequest,
    ApiPrivilegeRepositoryViewRequest,
    ApiUser,
    RoleXORequest,
)
from pydantic import BaseModel

PRIVILEGE_REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "application": ApiPrivilegeApplicationRequest,
    "repository-view": ApiPrivilegeRepositoryViewRequest,
    "repository-admin": ApiPrivilegeRepositoryAdminRequest,
}

#: Escapes HCL defines inside a quoted string (hclsyntax spec, "Template Literals").
_HCL_ESCAPE = re.compile(r"\\(?:[nrt\"\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})")


def _aliases(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def validate_request(model: type[BaseModel], body: Any) -> BaseModel:
    """``body`` is exactly a ``model`` request: strict types, no key the API does not define."""
    assert isinstance(body, dict), body
    unknown = set(body) - _aliases(model)
    assert not unknown, f"keys {sorted(unknown)} are not in {model.__name__}"
    return model.model_validate(body, strict=True)


def validate_role_body(body: Any) -> RoleXORequest:
    """A ``POST /v1/security/roles`` body, with every key present (no nested roles)."""
    validated = validate_request(RoleXORequest, body)
    assert isinstance(validated, RoleXORequest)
    assert set(body) == {"id", "name", "description", "privileges", "roles"}
    assert body["roles"] == []
    assert len(set(body["privileges"])) == len(body["privileges"]), "duplicate privileges"
    return validated


def validate_privilege_body(kind: str, body: Any) -> BaseModel:
    """A ``POST /v1/security/privileges/{kind}`` body."""
    assert kind in PRIVILEGE_REQUEST_MODELS, f"unexpected privilege type {kind!r}"
    return validate_request(PRIVILEGE_REQUEST_MODELS[kind], body)


def validate_user_body(body: Any) -> BaseModel:
    """A ``PUT /v1/security/users/{id}`` body."""
    return validate_request(ApiUser, body)


def validate_plan(document: Any) -> None:
    """The ``--format plan`` document: privileges to create, the role, who gets it."""
    assert isinstance(document, dict)
    assert {"privileges_to_create", "role", "assign_to"} <= set(document)
    for item in document["privileges_to_create"]:
        assert set(item) == {"type", "body"}, item
        validate_privilege_body(item["type"], item["body"])
    validate_role_body(document["role"])
    assert document["assign_to"] is None or isinstance(document["assign_to"], str)


# --------------------------------------------------------------------------- HCL


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", None) or ():
        if child is not None:
            yield from _walk(child)


def _literal(string: StringRule) -> str:
    """The value of a quoted HCL string that must hold literal text only."""
    parts: list[str] = []
    for part in string.string_parts:
        content = part.content
        kind = content.lark_name()
        text = content.serialize()
        if kind == "STRING_CHARS":
            assert not re.search(r"[\x00-\x1f]", text), f"raw control character in {text!r}"
            stray = _HCL_ESCAPE.sub("", text)
            assert "\\" not in stray, f"escape that HCL does not define in {text!r}"
            parts.append(process_escape_sequences(text))
        elif kind in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
            parts.append(text[1:])  # "$${" is a literal "${", "%%{" a literal "%{"
        else:
            raise AssertionError(f"template {kind} where a literal string belongs: {text!r}")
    return "".join(parts)


def hcl_literals(text: str) -> list[tuple[str, str]]:
    """Every ``name = "literal"`` attribute of an HCL document, decoded, in document order."""
    tree = hcl2.parses(text)
    found: list[tuple[str, str]] = []
    for node in _walk(tree):
        if isinstance(node, AttributeRule):
            strings = [n for n in _walk(node.expression) if isinstance(n, StringRule)]
            if len(strings) == 1 and list(_walk(node.expression))[1] is strings[0]:
                found.append((node.identifier.serialize(), _literal(strings[0])))
    for node in _walk(tree):
        if isinstance(node, StringRule):
            _literal(node)  # every string in the document, labels and list items included
    return found


def hcl_document(text: str) -> dict[str, Any]:
    """The document as python-hcl2 reads it (strings without their quotes)."""
    return hcl2.loads(
        text, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True)
    )


def hcl_blocks(text: str, kind: str) -> dict[str, dict[str, Any]]:
    """``resource``-style blocks of one type: ``{"<type>.<name>": body}``."""
    blocks: dict[str, dict[str, Any]] = {}
    for item in hcl_document(text).get(kind, []):
        for block_type, named in item.items():
            for name, body in named.items():
                blocks[f"{block_type}.{name}"] = body
    return blocks


# --------------------------------------------------------------------------- shell


def bash_syntax_ok(script: str) -> None:
    result = subprocess.run(
        ["bash", "-n"], input=script, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
