"""Security writes of the emulated Nexus: Nexus's checks, in Nexus's order, then the change.

Each public function takes the emulator's live ``state``, the path parameters and the raw request
body. It checks the request as Nexus 3.77 does, then either changes ``state`` and returns an
:class:`Answer`, or raises :class:`Rejected` and leaves ``state`` alone. Changes replace whole
lists (copy on write), so a request reading the old list is never disturbed; the caller runs one
writer at a time. The rules come from nexus-public 3.77: ``PrivilegeApiResourceSupport``,
``PrivilegeDescriptorSupport``, ``RepositoryPrivilegeDescriptorSupport``, ``RoleApiResource``,
``SecurityConfigurationManagerImpl``, ``SecurityConfigurationCleanerImpl`` and ``UserApiResource``.

Error bodies are Nexus 3.77's (``WebApplicationMessageException`` and the nexus-siesta mappers):

- a broken rule (duplicate, unknown reference, read-only, name mismatch, not found) gives **one**
  ``ValidationErrorXO`` object, ``application/json``. Its message keeps the double quotes Nexus
  wraps it in: ``{"id": "*", "message": "\\"Role 'x' not found.\\""}`` (see :func:`message`);
- bean validation of the body (``@NotBlank``, ``@NotEmpty``, the name pattern) and the user
  endpoint's role check give a **list** such as ``[{"id": "PARAMETER name", "message": ...}]``.
  Its type is ``application/vnd.siesta-validation-errors-v1+json``, or ``application/json``
  when the caller's ``Accept`` prefers that (see :func:`validation_content_type`);
- a body Jackson cannot map onto the request class (a list where text belongs, an unknown enum
  name) gives a list, ``application/json``, one item per offending field;
- a body that is not JSON gives one object: ``{"id": "*", "message": "Could not process the
  input: ..."}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]
State = MutableMapping[str, Any]

VALIDATION_ERRORS_JSON = "application/vnd.siesta-validation-errors-v1+json"
DEFAULT_SOURCE = "default"

#: ``NamePatternConstants.REGEX``: the names of privileges (and repositories) Nexus accepts.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9\-][a-zA-Z0-9_\-.]*")
NAME_RULE = (
    "Only letters, digits, underscores(_), hyphens(-), and dots(.) are allowed and may not start "
    "with underscore or dot."
)
NOT_BLANK = "must not be blank"
NOT_EMPTY = "must not be empty"
NOT_NULL = "must not be null"
NOT_EMAIL = "must be a well-formed email address"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

#: ``PrivilegeAction``, in declaration order (what Jackson lists for an unknown name).
PRIVILEGE_ACTIONS = (
    "READ",
    "BROWSE",
    "EDIT",
    "ADD",
    "DELETE",
    "RUN",
    "START",
    "STOP",
    "ASSOCIATE",
    "DISASSOCIATE",
    "ALL",
)
#: ``PrivilegeAction.getBreadActions``: repository-view, -admin and -content-selector.
REPOSITORY_ACTIONS = ("BROWSE", "READ", "EDIT", "ADD", "DELETE", "ALL")
#: ``PrivilegeAction.getCrudTaskAction``: application privileges.
APPLICATION_ACTIONS = (
    "READ",
    "EDIT",
    "ADD",
    "DELETE",
    "ASSOCIATE",
    "DISASSOCIATE",
    "START",
    "STOP",
    "ALL",
)
#: ``PrivilegeAction.getBreadRunActions``: script privileges.
SCRIPT_ACTIONS = ("BROWSE", "READ", "EDIT", "ADD", "DELETE", "RUN", "ALL")
#: ``ApiUserStatus``.
USER_STATUSES = ("active", "locked", "disabled", "changepassword")

#: Formats a Nexus 3.77 server knows without any repository of them (its ``Format`` beans).
BUILTIN_FORMATS = frozenset(
    {
        "docker",
        "maven2",
        "npm",
        "nuget",
        "pypi",
        "raw",
        "helm",
        "go",
        "apt",
        "yum",
        "rubygems",
        "r",
        "conda",
        "conan",
        "cocoapods",
        "p2",
        "gitlfs",
        "bower",
        "cargo",
        "huggingface",
        "composer",
    }
)

_PRIVILEGE_ACTION_CLASS = "org.sonatype.nexus.security.privilege.rest.PrivilegeAction"
_USER_STATUS_CLASS = "org.sonatype.nexus.security.internal.rest.ApiUserStatus"


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """What a write endpoint answers: a status and maybe a JSON body."""

    status: int
    payload: Any = None
    """The JSON value to send; ``None``: no body."""
    validation: bool = False
    """A validation-error list, whose content type follows the caller's ``Accept``."""


class Rejected(Exception):
    """Nexus refuses the request; ``answer`` is what it says."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(f"{answer.status}: {answer.payload}")
        self.answer = answer


def message(text: str) -> JSON:
    """The entity of a ``WebApplicationMessageException``: one ``ValidationErrorXO``.

    Nexus's message constants carry their own double quotes (``"\\"Role '%s' not found.\\""``,
    from the days the body was a bare JSON string), and 3.77 keeps them inside ``message``.
    """
    return {"id": "*", "message": f'"{text}"'}


def _refuse(status: int, text: str) -> Rejected:
    return Rejected(Answer(status, message(text)))


def _invalid(errors: Iterable[tuple[str, str]]) -> Rejected:
    items = [{"id": error_id, "message": text} for error_id, text in errors]
    return Rejected(Answer(400, items, validation=True))


def _unmappable(field: str, text: str) -> Rejected:
    """``JsonMappingExceptionMapper``: a list, always ``application/json``."""
    return Rejected(Answer(400, [{"id": field, "message": text}]))


def validation_content_type(accept: str | None) -> str | None:
    """The type ``Request.selectVariant`` picks for a validation-error list; ``None``: no body.

    Nexus offers its vendor type first and ``application/json`` after it (and XML, which the
    emulator never sends), so ``*/*`` or no ``Accept`` at all gets the vendor type.
    """
    offered = (VALIDATION_ERRORS_JSON, "application/json")
    ranges = _accept_ranges(accept or "*/*")
    best, best_quality = None, 0.0
    for media_type in offered:
        quality = _quality(media_type, ranges)
        if quality > best_quality:
            best, best_quality = media_type, quality
    return best


def _accept_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media_range, *params = (piece.strip() for piece in part.split(";"))
        if not media_range:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range.lower(), quality))
    return ranges


def _quality(media_type: str, ranges: Sequence[tuple[str, float]]) -> float:
    """The quality of the most specific range that matches ``media_type`` (0: none does)."""
    kind = media_type.split("/")[0]
    by_specificity = {media_type: 3, f"{kind}/*": 2, "*/*": 1}
    matches = [(by_specificity[r], q) for r, q in ranges if r in by_specificity]
    return max(matches)[1] if matches else 0.0


# --------------------------------------------------------------------------- request bodies


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Floating-point"
    if isinstance(value, str):
        return "String"
    return "Array" if isinstance(value, list) else "Object"


class _Body:
    """A request body as Jackson maps it onto a Nexus request class.

    Scalars are coerced to text, enum names match case-insensitively (Nexus's ObjectMapper
    enables ``ACCEPT_CASE_INSENSITIVE_ENUMS``) and unknown keys are ignored. Anything else
    Jackson cannot map raises :class:`Rejected`.
    """

    def __init__(self, raw: bytes, request_class: str) -> None:
        try:
            document = json.loads(raw) if raw.strip() else None
            # Text that cannot be sent back (lone surrogates) is refused here, not when echoed.
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except (ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
            text = f"Could not process the input: {exc}"
            raise Rejected(Answer(400, {"id": "*", "message": text})) from None
        if document is None:
            # NOTE: Nexus checks the body parameter with @NotNull; the id it reports depends on
            # how Nexus was compiled, so the emulator says "*".
            raise _invalid([("*", NOT_NULL)])
        if not isinstance(document, dict):
            kind = _json_kind(document)
            raise _unmappable(
                "*", f"Cannot deserialize value of type `{request_class}` from {kind} value"
            )
        self._document: dict[str, Any] = document

    def _mismatch(self, key: str, java_type: str, value: Any) -> Rejected:
        kind = _json_kind(value)
        return _unmappable(key, f"Cannot deserialize value of type `{java_type}` from {kind} value")

    def text(self, key: str) -> str | None:
        value = self._document.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (bool, int, float)):
            return json.dumps(value)  # Jackson turns scalars into their JSON text
        raise self._mismatch(key, "java.lang.String", value)

    def texts(self, key: str) -> list[str] | None:
        value = self._document.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._mismatch(key, "java.util.Set<java.lang.String>", value)
        texts = []
        for item in value:
            if isinstance(item, (dict, list)):
                raise self._mismatch(key, "java.lang.String", item)
            if item is not None:
                texts.append(item if isinstance(item, str) else json.dumps(item))
        return texts

    def flag(self, key: str) -> bool | None:
        value = self._document.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self._mismatch(key, "boolean", value)

    def choice(self, key: str, names: Sequence[str], enum_class: str) -> str | None:
        """An enum name (in its declared spelling), or ``None`` when absent."""
        value = self._document.get(key)
        return None if value is None else self._enum(key, value, names, enum_class)

    def choices(self, key: str, names: Sequence[str], enum_class: str) -> list[str] | None:
        value = self._document.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._mismatch(key, f"java.util.Collection<{enum_class}>", value)
        return [self._enum(key, item, names, enum_class) for item in value]

    def _enum(self, key: str, value: Any, names: Sequence[str], enum_class: str) -> str:
        if not isinstance(value, str):
            raise self._mismatch(key, enum_class, value)
        for name in names:
            if name.lower() == value.lower():
                return name
        raise _unmappable(
            key,
            f'Cannot deserialize value of type `{enum_class}` from String "{value}": not one of '
            f"the values accepted for Enum class: [{', '.join(names)}]",
        )


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _parameter(field: str) -> str:
    """How RESTEasy's violation mapper names a field of the body: ``PARAMETER <field>``."""
    return f"PARAMETER {field}"


# --------------------------------------------------------------------------- state helpers


def _listed(state: State, key: str) -> list[JSON]:
    return [item for item in state.get(key) or [] if isinstance(item, dict)]


def _is_default(item: Mapping[str, Any]) -> bool:
    return str(item.get("source") or DEFAULT_SOURCE).lower() == DEFAULT_SOURCE


def _default_roles(state: State) -> dict[str, JSON]:
    """Nexus's own roles (what ``AuthorizationManager`` for ``default`` knows), by id."""
    return {str(role.get("id")): role for role in _listed(state, "roles") if _is_default(role)}


def _privilege_names(state: State) -> set[str]:
    return {str(privilege.get("name")) for privilege in _listed(state, "privileges")}


def _replace(items: Sequence[JSON], old: JSON, new: JSON | None) -> list[JSON]:
    """A copy of ``items`` with ``old`` (by identity) replaced by ``new``; dropped if ``None``."""
    replaced = []
    for item in items:
        if item is not old:
            replaced.append(item)
        elif new is not None:
            replaced.append(new)
    return replaced


def _without(
    items: Sequence[JSON], key: str, value: str, editable: Callable[[JSON], bool]
) -> list[JSON]:
    """A copy of ``items`` where every editable one has ``value`` removed from its ``key`` list."""
    cleaned = []
    for item in items:
        values = item.get(key) or []
        if editable(item) and value in values:
            item = {**item, key: [v for v in values if v != value]}
        cleaned.append(item)
    return cleaned


def _editable_role(role: JSON) -> bool:
    """Whether Nexus's cleaner may edit ``role``: contributed (read-only) roles are left alone."""
    return _is_default(role) and not role.get("readOnly")


def _unique(values: Iterable[str]) -> list[str]:
    """Nexus keeps role contents in sets: duplicates go, the emulator keeps the first order."""
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------- privileges


def _check_repository(state: State, privilege: JSON) -> None:
    """``validateRepositoryAndFormat``: an existing repository, a known format, and a match."""
    repository, fmt = privilege["repository"], privilege["format"]
    target = next((r for r in _listed(state, "repositories") if r.get("name") == repository), None)
    if repository != "*" and target is None:
        raise _refuse(400, f"Invalid repository '{repository}' supplied.")
    if fmt != "*" and target is not None and target.get("format") != fmt:
        raise _refuse(400, f"Invalid format '{fmt}' supplied for repository '{repository}'.")
    formats = BUILTIN_FORMATS | {str(r.get("format")) for r in _listed(state, "repositories")}
    if fmt != "*" and fmt not in formats:
        raise _refuse(400, f"Invalid format '{fmt}' supplied.")


def _check_selector(state: State, privilege: JSON) -> None:
    selector = privilege["contentSelector"]
    if selector not in {s.get("name") for s in _listed(state, "content_selectors")}:
        raise _refuse(400, f"Invalid selector '{selector}' supplied.")


def _check_script(state: State, privilege: JSON) -> None:
    """Nexus needs the script to exist; the emulator's scripts are ``emulator.scripts`` (names)."""
    scripts = (state.get("emulator") or {}).get("scripts") or []
    if privilege["scriptName"] not in scripts:
        raise _refuse(400, f"Invalid script '{privilege['scriptName']}' supplied.")


@dataclass(frozen=True)
class PrivilegeType:
    """What one ``POST /v1/security/privileges/<type>`` accepts."""

    request_class: str
    """The Java class Jackson maps the body onto (named in mapping errors)."""
    fields: tuple[str, ...]
    """Required (``@NotBlank``) text fields besides name, in the order GET renders them."""
    actions: tuple[str, ...] | None
    """The actions the type may use; ``None``: the type has no ``actions`` (wildcard)."""
    checks: tuple[Callable[[State, JSON], None], ...] = ()
    """Checks of the objects the privilege names, in Nexus's order."""


_SECURITY_REST = "org.sonatype.nexus.security.privilege.rest"
_REPOSITORY_REST = "org.sonatype.nexus.repository.security.rest"
_SCRIPT_REST = "org.sonatype.nexus.script.plugin.internal.rest"

PRIVILEGE_TYPES: Mapping[str, PrivilegeType] = {
    "application": PrivilegeType(
        f"{_SECURITY_REST}.ApiPrivilegeApplicationRequest", ("domain",), APPLICATION_ACTIONS
    ),
    "wildcard": PrivilegeType(f"{_SECURITY_REST}.ApiPrivilegeWildcardRequest", ("pattern",), None),
    "repository-view": PrivilegeType(
        f"{_REPOSITORY_REST}.ApiPrivilegeRepositoryViewRequest",
        ("format", "repository"),
        REPOSITORY_ACTIONS,
        (_check_repository,),
    ),
    "repository-admin": PrivilegeType(
        f"{_REPOSITORY_REST}.ApiPrivilegeRepositoryAdminRequest",
        ("format", "repository"),
        REPOSITORY_ACTIONS,
        (_check_repository,),
    ),
    "repository-content-selector": PrivilegeType(
        f"{_REPOSITORY_REST}.ApiPrivilegeRepositoryContentSelectorRequest",
        ("format", "repository", "contentSelector"),
        REPOSITORY_ACTIONS,
        (_check_repository, _check_selector),
    ),
    "script": PrivilegeType(
        f"{_SCRIPT_REST}.ApiPrivilegeScriptRequest",
        ("scriptName",),
        SCRIPT_ACTIONS,
        (_check_script,),
    ),
}


def _privilege_request(kind: str, raw: bytes) -> JSON:
    """The privilege a request body describes, shaped as GET will render it (bean validation)."""
    spec = PRIVILEGE_TYPES[kind]
    body = _Body(raw, spec.request_class)
    name = body.text("name")
    description = body.text("description")
    fields = {key: body.text(key) for key in spec.fields}
    actions = None
    if spec.actions is not None:
        actions = body.choices("actions", PRIVILEGE_ACTIONS, _PRIVILEGE_ACTION_CLASS)
    errors = []
    if _blank(name):
        errors.append((_parameter("name"), NOT_BLANK))
    if name is not None and not NAME_PATTERN.fullmatch(name):
        errors.append((_parameter("name"), NAME_RULE))
    errors += [(_parameter(key), NOT_BLANK) for key, value in fields.items() if _blank(value)]
    if spec.actions is not None and not actions:
        errors.append((_parameter("actions"), NOT_EMPTY))
    if errors:
        raise _invalid(errors)
    # Nexus stores a missing description as "" (ApiPrivilegeRequest.setDescription).
    privilege: JSON = {"type": kind, "name": name, "description": description or ""}
    privilege["readOnly"] = False
    privilege.update(fields)
    if actions is not None:
        privilege["actions"] = actions
    return privilege


def _validate_privilege(state: State, kind: str, privilege: JSON) -> None:
    """The type's ``PrivilegeDescriptor.validate``: actions first, then what it names."""
    spec = PRIVILEGE_TYPES[kind]
    if spec.actions is not None:
        wrong = [a for a in _unique(privilege["actions"]) if a not in spec.actions]
        if wrong:
            raise _refuse(
                400, f"Privilege of type '{kind}' cannot use action(s) of type '{','.join(wrong)}'."
            )
    for check in spec.checks:
        check(state, privilege)


def _find_privilege(state: State, name: str) -> JSON:
    for privilege in _listed(state, "privileges"):
        if privilege.get("name") == name:
            return privilege
    raise _refuse(404, f"Privilege '{name}' not found.")


def _check_writable_privilege(privilege: JSON) -> None:
    if privilege.get("readOnly"):
        name = privilege.get("name")
        raise _refuse(400, f"Privilege '{name}' is internal and cannot be modified or deleted.")


def create_privilege(state: State, kind: str, raw: bytes) -> Answer:
    """``POST /v1/security/privileges/<kind>``: 201 and no body."""
    privilege = _privilege_request(kind, raw)
    _validate_privilege(state, kind, privilege)
    if privilege["name"] in _privilege_names(state):
        raise _refuse(400, f"Privilege '{privilege['name']}' already exists, use a unique name.")
    state["privileges"] = [*_listed(state, "privileges"), privilege]
    return Answer(201)


def update_privilege(state: State, kind: str, name: str, raw: bytes) -> Answer:
    """``PUT /v1/security/privileges/<kind>/<name>``: 204.

    Nexus keeps the stored type and swaps in the new description and properties; the emulator
    stores the body as the path's type, so a PUT under another type changes the type.
    """
    privilege = _privilege_request(kind, raw)
    if privilege["name"] != name:
        raise _refuse(
            409,
            f"The privilege name '{privilege['name']}' does not match the name used in the path "
            f"'{name}'.",
        )
    _validate_privilege(state, kind, privilege)
    existing = _find_privilege(state, name)
    _check_writable_privilege(existing)
    state["privileges"] = _replace(_listed(state, "privileges"), existing, privilege)
    return Answer(204)


def delete_privilege(state: State, name: str) -> Answer:
    """``DELETE /v1/security/privileges/<name>``: 204; the privilege leaves every editable role."""
    existing = _find_privilege(state, name)
    _check_writable_privilege(existing)
    state["privileges"] = _replace(_listed(state, "privileges"), existing, None)
    state["roles"] = _without(_listed(state, "roles"), "privileges", name, _editable_role)
    return Answer(204)


# --------------------------------------------------------------------------- roles


@dataclass(frozen=True)
class _RoleRequest:
    id: str
    name: str
    description: str | None
    privileges: list[str]
    roles: list[str]

    def body(self) -> JSON:
        """The stored role, as ``RoleXOResponse.fromRole`` renders it (no description: the id)."""
        return {
            "id": self.id,
            "source": DEFAULT_SOURCE,
            "name": self.name,
            "description": self.id if self.description is None else self.description,
            "readOnly": False,
            "privileges": _unique(self.privileges),
            "roles": _unique(self.roles),
        }


def _role_request(raw: bytes) -> _RoleRequest:
    body = _Body(raw, "org.sonatype.nexus.security.role.rest.RoleXORequest")
    role_id, name = body.text("id"), body.text("name")
    description = body.text("description")
    privileges, roles = body.texts("privileges") or [], body.texts("roles") or []
    errors = [
        (_parameter(key), NOT_EMPTY)
        for key, value in (("id", role_id), ("name", name))
        if not value
    ]
    if errors or not role_id or not name:
        raise _invalid(errors)
    return _RoleRequest(role_id, name, description, privileges, roles)


def _check_contents(state: State, request: _RoleRequest) -> None:
    """``validateContainedRolesAndPrivileges``: child roles first, then privileges."""
    roles = _default_roles(state)
    for child in request.roles:
        if child not in roles:
            raise _refuse(400, f"Role '{child}' contained in role '{request.id}' not found.")
    privileges = _privilege_names(state)
    for privilege in request.privileges:
        if privilege not in privileges:
            raise _refuse(
                400, f"Privilege '{privilege}' contained in role '{request.id}' not found."
            )


def _check_not_self_containing(state: State, request: _RoleRequest) -> None:
    """``validateRoleDoesntContainItself``: walk the new children and their stored children."""
    roles = _default_roles(state)
    pending, seen = list(request.roles), set()
    while pending:
        child = pending.pop()
        if child == request.id:
            raise _refuse(
                400,
                f"Role '{request.id}' cannot contain itself either directly or indirectly through "
                "child roles.",
            )
        if child in seen:
            continue
        seen.add(child)
        if child not in roles:
            raise _refuse(400, f"Role '{child}' contained in role '{request.id}' not found.")
        pending += [str(r) for r in roles[child].get("roles") or []]


def _find_role(state: State, role_id: str) -> JSON:
    role = _default_roles(state).get(role_id)
    if role is None:
        raise _refuse(404, f"Role '{role_id}' not found.")
    return role


def _check_writable_role(role: JSON) -> None:
    if role.get("readOnly"):
        raise _refuse(
            400, f"Role '{role.get('id')}' is internal and cannot be modified or deleted."
        )


def create_role(state: State, raw: bytes) -> Answer:
    """``POST /v1/security/roles``: 200 and the role.

    Nexus checks for containing itself only on update: on create the role does not exist yet,
    so naming it as a child is an unknown child role.
    """
    request = _role_request(raw)
    if request.id in _default_roles(state):
        raise _refuse(400, f"Role '{request.id}' already exists, use a unique roleId.")
    _check_contents(state, request)
    role = request.body()
    state["roles"] = [*_listed(state, "roles"), role]
    return Answer(200, role)


def update_role(state: State, role_id: str, raw: bytes) -> Answer:
    """``PUT /v1/security/roles/<id>``: 204."""
    request = _role_request(raw)
    if request.id != role_id:
        raise _refuse(
            409, f"The Role id '{request.id}' does not match the id used in the path '{role_id}'."
        )
    existing = _find_role(state, role_id)
    _check_writable_role(existing)
    _check_contents(state, request)
    _check_not_self_containing(state, request)
    state["roles"] = _replace(_listed(state, "roles"), existing, request.body())
    return Answer(204)


def delete_role(state: State, role_id: str) -> Answer:
    """``DELETE /v1/security/roles/<id>``: 204; the role leaves other roles and every user."""
    existing = _find_role(state, role_id)
    _check_writable_role(existing)
    roles = _replace(_listed(state, "roles"), existing, None)
    state["roles"] = _without(roles, "roles", role_id, _editable_role)
    state["users"] = _without(_listed(state, "users"), "roles", role_id, lambda user: True)
    return Answer(204)


# --------------------------------------------------------------------------- users


@dataclass(frozen=True)
class _UserRequest:
    user_id: str
    first_name: str
    last_name: str
    email: str
    source: str
    status: str
    roles: list[str]


def _user_request(raw: bytes) -> _UserRequest:
    body = _Body(raw, "org.sonatype.nexus.security.internal.rest.ApiUser")
    user_id, source = body.text("userId"), body.text("source")
    first, last, email = body.text("firstName"), body.text("lastName"), body.text("emailAddress")
    status = body.choice("status", USER_STATUSES, _USER_STATUS_CLASS)
    body.flag("readOnly")  # ignored, as Nexus ignores it, but it must still map
    roles = body.texts("roles")
    body.texts("externalRoles")
    errors = []
    if _blank(user_id):
        errors.append((_parameter("userId"), NOT_BLANK))
    errors += [
        (_parameter(key), NOT_EMPTY)
        for key, value in (("firstName", first), ("lastName", last), ("emailAddress", email))
        if not value
    ]
    if email and not _EMAIL.fullmatch(email):
        errors.append((_parameter("emailAddress"), NOT_EMAIL))
    if _blank(source):
        errors.append((_parameter("source"), NOT_BLANK))
    if status is None:
        errors.append((_parameter("status"), NOT_NULL))
    if not roles:
        errors.append((_parameter("roles"), NOT_EMPTY))
    if errors or not (user_id and first and last and email and source and status and roles):
        raise _invalid(errors)
    return _UserRequest(user_id, first, last, email, source, status, roles)


def update_user(state: State, user_id: str, raw: bytes, sources: Collection[str]) -> Answer:
    """``PUT /v1/security/users/<userId>``: 204.

    ``sources`` are the user source ids the server has. A local user takes every field; a user
    of another source keeps what its source says and only gets the Nexus roles mapped to it.
    """
    request = _user_request(raw)
    if request.user_id != user_id:
        raise _refuse(400, "The path's userId does not match the body")
    known = _default_roles(state)
    missing = [role for role in request.roles if role not in known]
    if missing:
        raise _invalid(("roles", f"Unable to locate roleId: {role}") for role in missing)
    if request.source != DEFAULT_SOURCE and request.source not in sources:
        raise _refuse(404, f"Unable to locate source: {request.source}")
    users = _listed(state, "users")
    existing = next(
        (
            user
            for user in users
            if user.get("userId") == user_id
            and str(user.get("source") or DEFAULT_SOURCE).lower() == request.source.lower()
        ),
        None,
    )
    if existing is None:
        raise _refuse(404, f"User '{user_id}' not found.")
    updated: JSON = {**existing, "roles": _unique(request.roles)}
    if request.source == DEFAULT_SOURCE:
        updated.update(
            firstName=request.first_name,
            lastName=request.last_name,
            emailAddress=request.email,
            status=request.status,
        )
    state["users"] = _replace(users, existing, updated)
    return Answer(204)
