"""A stand-in Nexus Repository 3 that serves the REST API nexus-audit reads, over real HTTP.

:class:`NexusEmulator` runs a stdlib ``ThreadingHTTPServer`` on a loopback port in a daemon
thread. It authenticates like Nexus (HTTP Basic against the realm of the user's source, user
tokens on Pro, the anonymous user when no credentials are sent) and authorizes every endpoint
with the project's own permission engine (:mod:`audit.permissions`), so an answer it gives is
the answer the audit predicts. Faults (HTML login pages, truncated JSON, resets, slowness,
status codes) can be injected per endpoint to exercise a client's error paths.

Denials follow Nexus 3: wrong credentials and "no credentials while anonymous access is off" get
``401`` with a Basic challenge; a subject (the anonymous user included) lacking a permission gets
``403`` with an empty body; unknown REST paths get ``404`` with an empty body.

Besides the reads, it takes the security writes a role manager needs (create, update and delete
privileges and roles; update users), checked and applied as Nexus does by
:mod:`audit.emulator.writes`; later requests see the change. Refusals, on reads and writes alike,
carry Nexus 3.77's error bodies: one ``ValidationErrorXO`` object for a broken rule (``{"id": "*",
"message": "\\"Role 'x' not found.\\""}``, quotes included), a list of them for a body that fails
validation (see :mod:`audit.emulator.writes`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, unquote, urlsplit

from audit.checks import effective_permissions, principal_for
from audit.emulator.builder import (
    EDITION_COMMUNITY,
    EDITION_PRO,
    available_realms,
    browsable_entry,
    repository_url,
    user_sources,
)
from audit.emulator.writes import (
    PRIVILEGE_TYPES,
    Answer,
    Rejected,
    create_privilege,
    create_role,
    delete_privilege,
    delete_role,
    message,
    update_privilege,
    update_role,
    update_user,
    validation_content_type,
)
from audit.errors import SnapshotError
from audit.model import (
    REALM_USER_TOKEN,
    SOURCE_REALMS,
    SSO_SOURCES,
    Instance,
    Repository,
    User,
    parse_instance,
)
from audit.permissions import (
    Access,
    EffectivePermissions,
    InvalidPermission,
    WildcardPermission,
    decide,
    permission_of,
    selector_names,
)

REST = "/service/rest"
EXTDIRECT = "/service/extdirect"
BASIC_CHALLENGE = 'BASIC realm="Sonatype Nexus Repository Manager"'
DEFAULT_SERVER = "Nexus/3.77.1-02 (COMMUNITY)"
#: Statuses a user may log in with; ``changepassword`` only matters to the UI.
LOGIN_STATUSES = frozenset({"active", "changepassword"})

FaultKind = Literal["html", "malformed", "status", "slow", "reset", "wrong-shape"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass
class Fault:
    """A misbehaviour to inject on one endpoint (see :meth:`NexusEmulator.inject`)."""

    kind: FaultKind
    """``html`` (a login page), ``malformed`` (truncated JSON), ``status`` (answer ``status``),
    ``slow`` (sleep ``delay`` seconds first), ``reset`` (drop the connection) or ``wrong-shape``
    (an object where a list is expected, and vice versa)."""
    status: int = 500
    delay: float = 0.0
    times: int | None = None
    """Apply this many times, then answer normally; ``None``: always."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.delay < 0 or (self.times is not None and self.times < 0):
            raise ValueError("delay and times cannot be negative")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it, for assertions on what a client sent."""

    method: str
    path: str
    """Endpoint path without the context path, e.g. ``/service/rest/v1/security/users``."""
    query: dict[str, str]
    auth_scheme: str | None
    """Scheme of the ``Authorization`` header sent (``Basic``), ``None`` when none was sent."""
    user_id: str | None
    """Who the request ran as (the anonymous user included); ``None`` when it was refused."""
    anonymous: bool
    status: int
    """The status answered; ``0`` when the connection was dropped (``reset`` fault)."""

    @property
    def sent_credentials(self) -> bool:
        return self.auth_scheme is not None


# --------------------------------------------------------------------------- datasets


def load_dataset(name_or_path: str | PathLike[str]) -> dict[str, Any]:
    """A dataset by bundled name (``demo``) or file path, as a fresh dict."""
    text_name = str(name_or_path)
    bundled = resources.files("audit.emulator").joinpath(f"datasets/{text_name}.json")
    try:
        if "/" not in text_name and "\\" not in text_name and bundled.is_file():
            text = bundled.read_text("utf-8")
        else:
            text = Path(name_or_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SnapshotError(
            f"cannot read dataset '{text_name}': {exc.strerror or exc}; give 'demo' or the path "
            "of a snapshot file"
        ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SnapshotError(f"dataset '{text_name}' is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise SnapshotError(f"dataset '{text_name}' is not a JSON object")
    return data


def _server_parts(dataset: Mapping[str, Any]) -> tuple[str, str]:
    """(version, edition) from the emulator block, else from the ``server`` string."""
    block = dataset.get("emulator") or {}
    server = str(dataset.get("server") or DEFAULT_SERVER)
    match = re.match(r"Nexus/(\S+)\s*\(([^)]*)\)", server)
    version = match.group(1) if match else "3.77.1-02"
    edition = match.group(2).strip().upper() if match else EDITION_COMMUNITY
    return str(block.get("version") or version), str(block.get("edition") or edition).upper()


# --------------------------------------------------------------------------- JSON rendering


def render_json(value: Any, nesting: int = 0) -> str:
    """JSON laid out as Nexus's Jackson pretty printer does (``"key" : value``, inline arrays)."""
    if isinstance(value, Mapping):
        if not value:
            return "{ }"
        inner = "  " * (nesting + 1)
        entries = ",".join(
            f"\n{inner}{json.dumps(str(k), ensure_ascii=False)} : {render_json(v, nesting + 1)}"
            for k, v in value.items()
        )
        return "{" + entries + "\n" + "  " * nesting + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(render_json(v, nesting) for v in value) + " ]"
    return json.dumps(value, ensure_ascii=False)


_LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Sonatype Nexus Repository</title>
  <meta name="description" content="Sonatype Nexus Repository"/>
  <link rel="icon" type="image/png" href="/static/rapture/resources/safari-favicon-32x32.png">
</head>
<body class="x-body">
  <div id="loading-mask"></div>
  <div id="loading">
    <div class="loading-indicator">Loading Sonatype Nexus Repository&hellip;</div>
    <form id="login-form" action="/service/rapture/session" method="post">
      <input type="text" name="username" placeholder="Username">
      <input type="password" name="password" placeholder="Password">
      <button type="submit">Sign in</button>
    </form>
  </div>
</body>
</html>
"""

_NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>404 - Sonatype Nexus Repository</title></head>
<body><div class="nexus-header"><span class="product-name">Sonatype Nexus Repository</span>
</div><div class="nexus-body"><h1>Error 404</h1><p>Not Found</p></div></body>
</html>
"""


# --------------------------------------------------------------------------- responses


@dataclass
class _Response:
    status: int
    payload: Any = None
    """A JSON value to send; ``None`` with ``text`` empty sends no body."""
    text: str = ""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    has_json: bool = False

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> _Response:
        return cls(status, payload, content_type="application/json", has_json=True)

    @classmethod
    def empty(cls, status: int) -> _Response:
        return cls(status)

    @classmethod
    def challenge(cls) -> _Response:
        return cls(401, headers={"WWW-Authenticate": BASIC_CHALLENGE})

    def body(self) -> bytes:
        if self.has_json:
            return render_json(self.payload).encode("utf-8")
        return self.text.encode("utf-8")


@dataclass(frozen=True)
class _Subject:
    """Who a request runs as: a user (maybe the anonymous one) and its effective permissions."""

    user: User | None
    anonymous: bool
    effective: EffectivePermissions

    @property
    def user_id(self) -> str | None:
        return self.user.user_id if self.user else None

    def may(self, permission: str) -> bool:
        return self.effective.allows(WildcardPermission.parse(permission))


@dataclass(frozen=True)
class _Call:
    """A routed request: what the endpoint handler needs."""

    instance: Instance
    subject: _Subject
    query: dict[str, str]
    params: tuple[str, ...]
    body: bytes
    base_url: str
    content_type: str | None = None
    """The request's ``Content-Type``, ``None`` when it sent none."""
    accept: str = ""


_Handler = Callable[["NexusEmulator", _Call], _Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: _Handler
    permission: str | None = None
    """Required permission; ``None``: any subject may call."""
    authenticated: bool = False
    """Whether the anonymous user is refused even without a named permission."""
    edition: str | None = None
    """The endpoint exists only on this edition (404 elsewhere)."""


# --------------------------------------------------------------------------- the emulator


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], emulator: NexusEmulator) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.emulator = emulator
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (timeouts, resets) is part of the tests, not an error to print.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class NexusEmulator:
    """A running emulated Nexus; ``with NexusEmulator(load_dataset("demo")) as nexus: nexus.url``.

    ``state`` is a private deep copy of ``dataset`` that tests may change between requests;
    ``passwords`` and ``user_tokens`` live in its ``emulator`` block.
    """

    def __init__(
        self,
        dataset: Mapping[str, Any],
        context_path: str = "",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state: dict[str, Any] = copy.deepcopy(dict(dataset))
        parse_instance(self.state)  # fail now, not on the first request, on a broken dataset
        self.context_path = "/" + context_path.strip("/") if context_path.strip("/") else ""
        self.requests: list[RecordedRequest] = []
        self.log_requests = False
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._server = _Server((host, port), self)
        bound_host, bound_port = str(host), int(self._server.server_address[1])
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}{self.context_path}"
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> NexusEmulator:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            # A short poll interval keeps stop() (and so every test teardown) fast.
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=f"nexus-emulator {self.url}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> NexusEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ configuration

    @property
    def version(self) -> str:
        return _server_parts(self.state)[0]

    @property
    def edition(self) -> str:
        """``COMMUNITY``, ``PRO`` or ``OSS``: decides which endpoints and realms exist."""
        return _server_parts(self.state)[1]

    @property
    def server_header(self) -> str:
        return f"Nexus/{self.version} ({self.edition})"

    @property
    def passwords(self) -> dict[str, str]:
        """User id -> password the emulator accepts (live: changes apply to the next request)."""
        block = self.state.setdefault("emulator", {})
        passwords: dict[str, str] = block.setdefault("passwords", {})
        return passwords

    @property
    def user_tokens(self) -> list[dict[str, str]]:
        """``{"nameCode", "passCode", "userId"}`` items accepted on Pro with tokens enabled."""
        block = self.state.setdefault("emulator", {})
        tokens: list[dict[str, str]] = block.setdefault("user_tokens", [])
        return tokens

    def inject(self, path: str, fault: Fault) -> None:
        """Misbehave on ``path`` (an endpoint path without context path, query ignored)."""
        with self._lock:
            self._faults[_fault_key(path)] = dataclasses.replace(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        """The fault for ``path``, counting one use of it; ``None`` once it is used up."""
        key = _fault_key(path)
        with self._lock:
            fault = self._faults.get(key)
            if fault is None or fault.times is None:
                return fault
            if fault.times <= 0:
                del self._faults[key]
                return None
            fault.times -= 1
            return fault

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # ------------------------------------------------------------------ authentication

    def _authenticate(self, instance: Instance, authorization: str | None) -> _Subject | None:
        """The subject of a request, or ``None`` when Nexus would answer 401."""
        if authorization is None or not authorization.strip():
            return self._anonymous_subject(instance)
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            # Nexus's Basic filter ignores other schemes: the request goes on unauthenticated.
            return self._anonymous_subject(instance)
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, separator, password = decoded.partition(":")
        if not separator or not username:
            return None
        user = self._token_user(instance, username, password)
        if user is None:
            user = self._password_user(instance, username, password)
        if user is None:
            return None
        principal = principal_for(instance, user, anonymous=False)
        return _Subject(user, False, effective_permissions(instance, principal))

    def _anonymous_subject(self, instance: Instance) -> _Subject | None:
        settings = instance.anonymous
        if settings is None or not settings.enabled:
            return None
        matches = instance.find_users(settings.user_id)
        user = matches[0] if matches else None
        if user is None:
            return _Subject(None, True, EffectivePermissions(()))
        principal = principal_for(instance, user, anonymous=True)
        return _Subject(user, True, effective_permissions(instance, principal))

    def _password_user(self, instance: Instance, username: str, password: str) -> User | None:
        """The user a Basic login authenticates, trying the active realms in order."""
        realms = instance.realms_active or ()
        candidates = [
            user
            for user in instance.find_users(username)
            if user.source.lower() not in SSO_SOURCES
            and SOURCE_REALMS.get(user.source.lower()) in realms
        ]
        candidates.sort(key=lambda u: realms.index(SOURCE_REALMS[u.source.lower()]))
        for user in candidates:
            expected = self.passwords.get(user.user_id)
            if expected is not None and expected == password:
                return user if user.status in LOGIN_STATUSES else None
        return None

    def _token_user(self, instance: Instance, name_code: str, pass_code: str) -> User | None:
        """The owner of a user token, when this is Pro with tokens on and the token realm active."""
        if self.edition != EDITION_PRO or REALM_USER_TOKEN not in (instance.realms_active or ()):
            return None
        if instance.user_tokens is None or not instance.user_tokens.enabled:
            return None
        for token in self.user_tokens:
            if token.get("nameCode") == name_code and token.get("passCode") == pass_code:
                owners = instance.find_users(str(token.get("userId", "")))
                if owners and owners[0].status in LOGIN_STATUSES:
                    return owners[0]
        return None

    # ------------------------------------------------------------------ dispatch

    def _split_context(self, path: str) -> str | None:
        if not self.context_path:
            return path
        if path == self.context_path or path.startswith(self.context_path + "/"):
            return path[len(self.context_path) :] or "/"
        return None

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[_Response, RecordedRequest]:
        """Answer one request (``headers`` keyed in lower case); status 0: drop the connection."""
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        authorization = headers.get("authorization")
        scheme = authorization.strip().partition(" ")[0] if authorization else None
        path = self._split_context(unquote(parts.path)) or ""

        def record(response: _Response, subject: _Subject | None) -> RecordedRequest:
            return RecordedRequest(
                method=method,
                path=path or parts.path,
                query=query,
                auth_scheme=scheme or None,
                user_id=subject.user_id if subject else None,
                anonymous=bool(subject and subject.anonymous),
                status=response.status,
            )

        fault = self._take_fault(path) if path else None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind in ("html", "status", "reset"):
            response = _fault_response(fault)
            return response, record(response, None)

        instance = parse_instance(self.state)
        host = headers.get("host")
        base_url = f"http://{host}{self.context_path}" if host else self.url
        subject = self._authenticate(instance, authorization)
        if subject is None and (authorization or path.rstrip("/") != f"{REST}/v1/status"):
            response = _Response.challenge()
        elif not path:
            response = _Response(404, text=_NOT_FOUND_PAGE, content_type="text/html")
        else:
            response = self._route(method, path, query, body, instance, subject, base_url, headers)
        if fault is not None:
            response = _mangle(fault, response)
        return response, record(response, subject)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        instance: Instance,
        subject: _Subject | None,
        base_url: str,
        headers: Mapping[str, str],
    ) -> _Response:
        allowed_methods: set[str] = set()
        for route in _ROUTES:
            match = route.pattern.fullmatch(path)
            if match is None or (route.edition and route.edition != self.edition):
                continue
            if route.method != method:
                allowed_methods.add(route.method)
                continue
            if subject is None:
                # Only /v1/status gets here without a subject.
                subject = _Subject(None, False, EffectivePermissions(()))
            if route.authenticated and subject.anonymous:
                return _Response.empty(403)
            if route.permission and not subject.may(route.permission):
                return _Response.empty(403)
            call = _Call(
                instance,
                subject,
                query,
                match.groups(),
                body,
                base_url,
                content_type=headers.get("content-type"),
                accept=headers.get("accept", ""),
            )
            return route.handler(self, call)
        if allowed_methods:
            return _Response(405, headers={"Allow": ", ".join(sorted(allowed_methods))})
        if path.startswith((REST + "/", EXTDIRECT)):
            return _Response.empty(404)
        return _Response(404, text=_NOT_FOUND_PAGE, content_type="text/html")

    # ------------------------------------------------------------------ endpoints

    def _users(self, call: _Call) -> _Response:
        users = self.state.get("users") or []
        prefix = call.query.get("userId", "").lower()
        source = call.query.get("source", "")
        return _Response.json(
            [
                user
                for user in users
                if str(user.get("userId", "")).lower().startswith(prefix)
                and (not source or str(user.get("source", "")).lower() == source.lower())
            ]
        )

    def _user_sources(self, call: _Call) -> _Response:
        return _Response.json(user_sources(self.edition, self.state.get("users") or []))

    def _known_source(self, source: str) -> bool:
        sources = user_sources(self.edition, self.state.get("users") or [])
        return any(s["id"].lower() == source.lower() for s in sources)

    def _roles(self, call: _Call) -> _Response:
        source = call.query.get("source")
        if source and not self._known_source(source):
            return _Response.json(message(f"Source '{source}' not found."), 400)
        roles = [
            role
            for role in self.state.get("roles") or []
            if not source or str(role.get("source", "default")).lower() == source.lower()
        ]
        return _Response.json(sorted(roles, key=lambda r: str(r.get("id", ""))))

    def _role(self, call: _Call) -> _Response:
        (role_id,) = call.params
        source = call.query.get("source", "default")
        if not self._known_source(source):
            return _Response.json(message(f"Source '{source}' not found."), 400)
        for role in self.state.get("roles") or []:
            if role.get("id") == role_id and str(role.get("source", "default")).lower() == (
                source.lower()
            ):
                return _Response.json(role)
        return _Response.json(message(f"Role '{role_id}' not found."), 404)

    def _privileges(self, call: _Call) -> _Response:
        return _Response.json(list(self.state.get("privileges") or []))

    def _privilege(self, call: _Call) -> _Response:
        (name,) = call.params
        for privilege in self.state.get("privileges") or []:
            if privilege.get("name") == name:
                return _Response.json(privilege)
        return _Response.json(message(f"Privilege '{name}' not found."), 404)

    # ------------------------------------------------------------------ security writes

    def _write(
        self, call: _Call, action: Callable[[dict[str, Any]], Answer], reads_body: bool = True
    ) -> _Response:
        """Run one write on ``state`` (one at a time) and turn its answer into a response."""
        if reads_body and not _is_json(call.content_type):
            return _Response.empty(415)  # the resources @Consumes(APPLICATION_JSON)
        try:
            with self._write_lock:
                answer = action(self.state)
        except Rejected as rejected:
            answer = rejected.answer
        if answer.payload is None:
            return _Response.empty(answer.status)
        content_type: str | None = "application/json"
        if answer.validation:
            content_type = validation_content_type(call.accept)
            if content_type is None:
                return _Response.empty(answer.status)  # nothing the caller accepts: no body
        return _Response(answer.status, answer.payload, content_type=content_type, has_json=True)

    def _create_privilege(self, call: _Call) -> _Response:
        (kind,) = call.params
        return self._write(call, lambda state: create_privilege(state, kind, call.body))

    def _update_privilege(self, call: _Call) -> _Response:
        kind, name = call.params
        return self._write(call, lambda state: update_privilege(state, kind, name, call.body))

    def _delete_privilege(self, call: _Call) -> _Response:
        (name,) = call.params
        return self._write(call, lambda state: delete_privilege(state, name), reads_body=False)

    def _create_role(self, call: _Call) -> _Response:
        return self._write(call, lambda state: create_role(state, call.body))

    def _update_role(self, call: _Call) -> _Response:
        (role_id,) = call.params
        return self._write(call, lambda state: update_role(state, role_id, call.body))

    def _delete_role(self, call: _Call) -> _Response:
        (role_id,) = call.params
        return self._write(call, lambda state: delete_role(state, role_id), reads_body=False)

    def _update_user(self, call: _Call) -> _Response:
        (user_id,) = call.params
        sources = [s["id"] for s in user_sources(self.edition, self.state.get("users") or [])]
        return self._write(call, lambda state: update_user(state, user_id, call.body, sources))

    def _realms_active(self, call: _Call) -> _Response:
        return _Response.json(list(self.state.get("realms_active") or []))

    def _realms_available(self, call: _Call) -> _Response:
        return _Response.json(available_realms(self.edition))

    def _anonymous(self, call: _Call) -> _Response:
        settings = self.state.get("anonymous") or {
            "enabled": False,
            "userId": "anonymous",
            "realmName": "NexusAuthorizingRealm",
        }
        return _Response.json(settings)

    def _user_token_settings(self, call: _Call) -> _Response:
        settings = self.state.get("user_tokens") or {
            "enabled": False,
            "expirationEnabled": False,
            "expirationDays": 30,
            "protectContent": False,
        }
        return _Response.json(settings)

    def _capabilities(self, call: _Call) -> _Response:
        return _Response.json(list(self.state.get("capabilities") or []))

    def _content_selectors(self, call: _Call) -> _Response:
        return _Response.json(list(self.state.get("content_selectors") or []))

    def _repository_bodies(self, call: _Call) -> list[tuple[Repository, dict[str, Any]]]:
        bodies = self.state.get("repositories") or []
        return list(zip(call.instance.repositories or (), bodies, strict=True))

    def _repository_settings(self, call: _Call) -> _Response:
        """Only repositories the caller may administer-read; the rest are silently left out."""
        visible = []
        for repo, body in self._repository_bodies(call):
            required = f"nexus:repository-admin:{repo.format}:{repo.name}:read"
            if call.subject.may(required):
                visible.append({**body, "url": repository_url(call.base_url, repo.name)})
        return _Response.json(visible)

    def _repositories(self, call: _Call) -> _Response:
        """Only repositories the caller may browse, directly or through a content selector."""
        effective = call.subject.effective
        selectors = selector_names(call.instance, effective)
        visible = [
            browsable_entry(body, call.base_url)
            for repo, body in self._repository_bodies(call)
            if decide(effective, repo, "browse", selectors).access
            in (Access.GRANTED, Access.PARTIAL)
        ]
        return _Response.json(visible)

    def _status(self, call: _Call) -> _Response:
        return _Response.empty(200)

    def _current_user(self, call: _Call) -> _Response:
        user = call.subject.user
        if user is None:
            return _Response.empty(403)
        return _Response.json(
            {
                "userId": user.user_id,
                "firstName": user.first_name,
                "lastName": user.last_name,
                "email": user.email,
                "external": not user.is_local,
            }
        )

    def _extdirect(self, call: _Call) -> _Response:
        try:
            request = json.loads(call.body or b"null")
        except ValueError:
            return _Response.json({"type": "exception", "message": "Invalid JSON request"}, 400)
        batch = request if isinstance(request, list) else [request]
        answers = [self._extdirect_call(call, item) for item in batch]
        return _Response.json(answers if isinstance(request, list) else answers[0])

    def _extdirect_call(self, call: _Call, item: Any) -> dict[str, Any]:
        item = item if isinstance(item, dict) else {}
        action, method = item.get("action"), item.get("method")
        if (action, method) == ("rapture_Security", "getPermissions"):
            result: dict[str, Any] = {"success": True, "data": self._permitted(call)}
        else:
            result = {"success": False, "message": f"Unknown method: {action}.{method}"}
        return {
            "tid": item.get("tid"),
            "action": action,
            "method": method,
            "result": result,
            "type": "rpc",
        }

    def _permitted(self, call: _Call) -> list[dict[str, str]]:
        """One ``{"id": permission}`` per defined privilege whose permission the caller holds."""
        seen: set[str] = set()
        data: list[dict[str, str]] = []
        for privilege in (call.instance.privileges or {}).values():
            try:
                permission = permission_of(privilege)
            except InvalidPermission:
                continue
            if permission is None or not call.subject.effective.allows(permission):
                continue
            text = str(permission)
            if text not in seen:
                seen.add(text)
                data.append({"id": text})
        return data


def _is_json(content_type: str | None) -> bool:
    """Whether a request body may go to a JSON resource (no ``Content-Type`` is let through)."""
    if content_type is None:
        return True
    return content_type.split(";")[0].strip().lower() == "application/json"


def _fault_key(path: str) -> str:
    return path.split("?")[0].rstrip("/") or "/"


def _fault_response(fault: Fault) -> _Response:
    """The answer of a fault that replaces the endpoint entirely."""
    if fault.kind == "html":
        return _Response(200, text=_LOGIN_PAGE, content_type="text/html;charset=UTF-8")
    if fault.kind == "reset":
        return _Response(0)
    if fault.status == 401:
        return _Response.challenge()
    if fault.status >= 500:
        # What Nexus's UnexpectedExceptionMapper answers (a proxy's 502/503 would say less).
        return _Response(
            fault.status,
            text=f"ERROR: (ID {uuid.uuid4()}). More information is available in the Nexus "
            "Repository Manager log files.",
            content_type="text/plain",
        )
    try:
        reason = HTTPStatus(fault.status).phrase
    except ValueError:
        reason = "Error"
    return _Response.json(reason, fault.status)


def _mangle(fault: Fault, response: _Response) -> _Response:
    """Turn the normal answer into a 200 with a broken body (``malformed``/``wrong-shape``)."""
    payload = response.payload if response.has_json else None
    if fault.kind == "malformed":
        text = render_json(payload) if payload is not None else '[ {\n  "userId" : "adm'
        cut = text[: max(1, len(text) // 2)]
        return _Response(200, text=cut, content_type="application/json")
    if isinstance(payload, list):
        wrong: Any = {"items": payload, "continuationToken": None}
    elif isinstance(payload, dict):
        wrong = [payload]
    else:
        wrong = {"message": "unexpected"}
    return _Response.json(wrong)


def _path(template: str) -> re.Pattern[str]:
    return re.compile(template.replace("{}", "([^/]+)"))


#: ``(application|wildcard|...)``: the privilege types that have a create/update path each.
_PRIVILEGE_TYPE = "(" + "|".join(re.escape(kind) for kind in PRIVILEGE_TYPES) + ")"


_ROUTES: tuple[_Route, ...] = (
    _Route("GET", _path(f"{REST}/v1/security/users"), NexusEmulator._users, "nexus:users:read"),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/user-sources"),
        NexusEmulator._user_sources,
        "nexus:users:read",
    ),
    _Route("GET", _path(f"{REST}/v1/security/roles"), NexusEmulator._roles, "nexus:roles:read"),
    _Route("GET", _path(f"{REST}/v1/security/roles/{{}}"), NexusEmulator._role, "nexus:roles:read"),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/privileges"),
        NexusEmulator._privileges,
        "nexus:privileges:read",
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/privileges/{{}}"),
        NexusEmulator._privilege,
        "nexus:privileges:read",
    ),
    _Route(
        "POST",
        _path(f"{REST}/v1/security/privileges/{_PRIVILEGE_TYPE}"),
        NexusEmulator._create_privilege,
        "nexus:privileges:create",
        authenticated=True,
    ),
    _Route(
        "PUT",
        _path(f"{REST}/v1/security/privileges/{_PRIVILEGE_TYPE}/{{}}"),
        NexusEmulator._update_privilege,
        "nexus:privileges:update",
        authenticated=True,
    ),
    _Route(
        "DELETE",
        _path(f"{REST}/v1/security/privileges/{{}}"),
        NexusEmulator._delete_privilege,
        "nexus:privileges:delete",
        authenticated=True,
    ),
    _Route(
        "POST",
        _path(f"{REST}/v1/security/roles"),
        NexusEmulator._create_role,
        "nexus:roles:create",
        authenticated=True,
    ),
    _Route(
        "PUT",
        _path(f"{REST}/v1/security/roles/{{}}"),
        NexusEmulator._update_role,
        "nexus:roles:update",
        authenticated=True,
    ),
    _Route(
        "DELETE",
        _path(f"{REST}/v1/security/roles/{{}}"),
        NexusEmulator._delete_role,
        "nexus:roles:delete",
        authenticated=True,
    ),
    _Route(
        "PUT",
        _path(f"{REST}/v1/security/users/{{}}"),
        NexusEmulator._update_user,
        "nexus:users:update",
        authenticated=True,
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/realms/active"),
        NexusEmulator._realms_active,
        "nexus:settings:read",
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/realms/available"),
        NexusEmulator._realms_available,
        "nexus:settings:read",
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/anonymous"),
        NexusEmulator._anonymous,
        "nexus:settings:read",
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/user-tokens"),
        NexusEmulator._user_token_settings,
        "nexus:settings:read",
        edition=EDITION_PRO,
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/capabilities"),
        NexusEmulator._capabilities,
        "nexus:capabilities:read",
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/security/content-selectors"),
        NexusEmulator._content_selectors,
        "nexus:selectors:read",
    ),
    _Route(
        "GET",
        _path(f"{REST}/v1/repositorySettings"),
        NexusEmulator._repository_settings,
        authenticated=True,
    ),
    _Route("GET", _path(f"{REST}/v1/repositories"), NexusEmulator._repositories),
    _Route("GET", _path(f"{REST}/v1/status"), NexusEmulator._status),
    _Route("GET", _path(f"{REST}/internal/ui/user"), NexusEmulator._current_user),
    _Route("POST", _path(EXTDIRECT), NexusEmulator._extdirect),
)


# --------------------------------------------------------------------------- HTTP plumbing


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, lets the emulator answer it, writes the answer."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    # Headers and body go out in two writes; with Nagle on, keep-alive clients wait ~40 ms each.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server.emulator.server_header

    def _serve(self) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            response, record = emulator._handle(self.command, self.path, headers, body)
        except Exception:  # a bug in the emulator must not look like a dropped connection
            traceback.print_exc(file=sys.stderr)
            response = _fault_response(Fault("status", status=500))
            record = RecordedRequest(self.command, self.path, {}, None, None, False, 500)
        if response.status == 0:
            emulator._record(record)
            self._reset()
            return
        # Recorded before answering, so a client that has its answer also sees the record.
        emulator._record(record)
        payload = response.body()
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Close with a TCP reset: the client sees the connection dropped, no response at all."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.log_requests:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")
