"""Read a Nexus instance over its REST API, with a fixed number of requests.

Every failure becomes a one-line :class:`~audit.errors.NexusError` that names the request, the
cause and the fix. Credentials live only inside the httpx auth object: they never reach a
message, a log line or a snapshot.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from audit import __version__
from audit.errors import (
    NexusAuthError,
    NexusConnectionError,
    NexusEndpointMissing,
    NexusError,
    NexusPermissionError,
    NexusResponseError,
    NexusTLSError,
    UsageError,
)
from audit.model import SNAPSHOT_FORMAT_VERSION, merge_users

REST = "/service/rest"
RETRY_STATUSES = frozenset({429, 502, 503, 504})

#: What each endpoint needs, so that a 403 can name the missing privilege.
REQUIRED_PRIVILEGES: Mapping[str, str] = {
    "/v1/security/users": "nx-users-read",
    "/v1/security/roles": "nx-roles-read",
    "/v1/security/privileges": "nx-privileges-read",
    "/v1/security/realms/active": "nx-settings-read",
    "/v1/security/anonymous": "nx-settings-read",
    "/v1/security/user-tokens": "nx-settings-read",
    "/v1/capabilities": "nx-capabilities-read",
    "/v1/security/content-selectors": "nx-selectors-read",
    "/v1/repositorySettings": "nx-repository-admin-*-*-read",
}


#: What each write needs: (method, path prefix, privilege).
WRITE_PRIVILEGES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v1/security/privileges", "nx-privileges-create"),
    ("PUT", "/v1/security/privileges", "nx-privileges-update"),
    ("POST", "/v1/security/roles", "nx-roles-create"),
    ("PUT", "/v1/security/roles", "nx-roles-update"),
    ("PUT", "/v1/security/users", "nx-users-update"),
)


def required_privilege(method: str, path: str) -> str | None:
    """The built-in privilege a request needs, to name it when Nexus answers 403."""
    bare = path.split("?")[0]
    if method == "GET":
        return REQUIRED_PRIVILEGES.get(bare)
    for write_method, prefix, privilege in WRITE_PRIVILEGES:
        if method == write_method and bare.startswith(prefix):
            return privilege
    return None


@dataclass(frozen=True)
class Credentials:
    """How the tool logs in; ``repr`` never shows the secret."""

    kind: str
    """``password``, ``token`` (a user token's name code and pass code) or ``none``."""
    username: str | None = None
    secret: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """Who is logging in, safe to print (a token's name code is not shown)."""
        if self.kind == "password":
            return f"'{self.username}'"
        if self.kind == "token":
            return "the user token"
        return "anonymous access"


@dataclass(frozen=True)
class ConnectionSettings:
    base_url: str
    credentials: Credentials
    verify: bool | str = True
    """True, False (``--insecure``) or a CA bundle path (``--ca-bundle``)."""
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5


def normalize_base_url(url: str) -> str:
    """Nexus's base URL, with or without a context path, from what the user typed.

    Accepts ``https://host``, ``https://host/nexus/``, ``https://host/service/rest`` and
    ``https://host/nexus/service/rest/v1``.
    """
    text = url.strip()
    if "://" not in text:
        raise UsageError(f"'{url}' is not a URL: include the scheme, e.g. https://{text}")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"'{url}' is not an http(s) URL with a host name")
    if parts.username or parts.password:
        raise UsageError("do not put credentials in the URL; use NEXUS_USERNAME and NEXUS_PASSWORD")
    path = parts.path.rstrip("/")
    marker = path.find(REST)
    if marker >= 0:
        path = path[:marker]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class NexusClient:
    """Read-only client for the Nexus security and repository endpoints."""

    def __init__(
        self, settings: ConnectionSettings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = normalize_base_url(settings.base_url)
        creds = settings.credentials
        auth = None
        if creds.kind != "none" and creds.username is not None:
            auth = httpx.BasicAuth(creds.username, creds.secret or "")
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            verify=self._verify(settings.verify),
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"nexus-audit/{__version__}"},
            transport=transport,
        )
        self.server: str | None = None

    @staticmethod
    def _verify(verify: bool | str) -> bool | ssl.SSLContext:
        if isinstance(verify, str):
            try:
                return ssl.create_default_context(cafile=verify)
            except (OSError, ssl.SSLError) as exc:
                raise UsageError(f"cannot use CA bundle '{verify}': {exc}") from None
        return verify

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NexusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests

    def _send(
        self, method: str, path: str, retry_dropped: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """One request with bounded retries on 429/502/503/504 and dropped connections.

        Writes pass ``retry_dropped=False``: a dropped connection may have been processed.
        """
        attempts = max(1, self.settings.retries + 1)
        for attempt in range(1, attempts + 1):
            retry_reason: str | None = None
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException:
                raise NexusConnectionError(
                    f"{method} {self._show(path)} timed out after {self.settings.timeout:g}s: "
                    "Nexus is slow or unreachable; raise --timeout or check the network"
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                retry_reason = f"connection dropped ({type(exc).__name__})"
                response = None
                if not retry_dropped:
                    raise NexusConnectionError(
                        f"{method} {self._show(path)}: {retry_reason}; it may or may not have "
                        "been applied: check in Nexus before running again"
                    ) from None
            except httpx.ConnectError as exc:
                raise self._connect_error(exc) from None
            except httpx.TransportError as exc:
                raise NexusConnectionError(
                    f"{method} {self._show(path)} failed: {type(exc).__name__}"
                ) from None
            if response is not None:
                if self.server is None:
                    self.server = response.headers.get("server")
                if response.status_code not in RETRY_STATUSES:
                    return response
                retry_reason = f"{response.status_code} {response.reason_phrase}"
            if attempt == attempts:
                raise NexusConnectionError(
                    f"{method} {self._show(path)}: {retry_reason} after {attempts} attempts; "
                    "Nexus or a proxy in front of it is failing, try again later"
                )
            time.sleep(self.settings.backoff * (2 ** (attempt - 1)))
        raise AssertionError("unreachable")  # pragma: no cover

    def _show(self, path: str) -> str:
        return path if path.startswith("/service") else f"{REST}{path}"

    def _connect_error(self, exc: httpx.ConnectError) -> NexusError:
        host = urlsplit(self.base_url).netloc
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLCertVerificationError):
                return NexusTLSError(
                    f"TLS verification failed for {host}: {cause.verify_message or cause}; "
                    "pass the CA that signed it with --ca-bundle FILE (or --insecure to skip "
                    "verification, at your own risk)"
                )
            if isinstance(cause, ssl.SSLError):
                return NexusTLSError(
                    f"TLS handshake with {host} failed ({cause.reason or cause}); is this port "
                    "speaking plain HTTP? Try http:// instead of https://"
                )
            cause = cause.__cause__ or cause.__context__
        text = str(exc)
        if (
            "Name or service not known" in text
            or "nodename nor servname" in text
            or ("getaddrinfo" in text or "Temporary failure in name resolution" in text)
        ):
            return NexusConnectionError(
                f"cannot resolve host '{urlsplit(self.base_url).hostname}': check the URL"
            )
        if "refused" in text.lower():
            return NexusConnectionError(
                f"connection refused by {host}: is Nexus running there, and is that its port?"
            )
        if "ssl" in text.lower() or "tls" in text.lower() or "certificate" in text.lower():
            return NexusTLSError(f"TLS connection to {host} failed: {text}")
        return NexusConnectionError(f"cannot connect to {host}: {text or type(exc).__name__}")

    def _fail(self, response: httpx.Response, method: str, path: str) -> NexusError:
        shown = self._show(path)
        status = f"{response.status_code} {response.reason_phrase}"
        creds = self.settings.credentials
        if response.status_code == 401:
            if creds.kind == "none":
                return NexusAuthError(
                    f"{status} on {method} {shown}: Nexus requires a login; set NEXUS_USERNAME "
                    "and NEXUS_PASSWORD (or use --password-stdin)"
                )
            hint = (
                "check the name code and pass code of the token"
                if creds.kind == "token"
                else "check NEXUS_USERNAME/NEXUS_PASSWORD; SAML/SSO accounts have no password "
                "here: log in with a user token (--user-token) instead"
            )
            return NexusAuthError(
                f"{status} on {method} {shown}: Nexus refused {creds.label}; {hint}"
            )
        if response.status_code == 403:
            privilege = required_privilege(method, path)
            who = creds.label if creds.kind != "none" else "the anonymous user"
            need = f" lacks {privilege}" if privilege else " lacks the privilege this needs"
            fix = (
                "; log in with an account that has it (NEXUS_USERNAME)"
                if creds.kind == "none"
                else f"; grant it to {who} or log in as an administrator"
            )
            return NexusPermissionError(
                f"{status} on {method} {shown}: {who}{need}{fix}", privilege
            )
        if response.status_code == 404:
            return NexusEndpointMissing(
                f"{status} on {method} {shown}: this endpoint is absent in this Nexus version or "
                f"edition, or {self.base_url} is not the Nexus base URL"
            )
        if response.is_redirect:
            location = response.headers.get("location", "?")
            return NexusResponseError(
                f"{status} on {method} {shown}: redirected to {location} (an SSO login or a "
                "reverse proxy?); point --url at Nexus itself"
            )
        detail = _error_detail(response)
        return NexusResponseError(f"{status} on {method} {shown}{': ' + detail if detail else ''}")

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        shown = self._show(path)
        content_type = response.headers.get("content-type", "")
        body = response.text
        if "html" in content_type or body.lstrip()[:1] == "<":
            return _raise(
                NexusResponseError(
                    f"{method} {shown} returned an HTML page instead of JSON (a login page, SSO "
                    f"redirect or reverse proxy?); check that {self.base_url} is the Nexus base URL"
                )
            )
        try:
            return json.loads(body)
        except ValueError as exc:
            return _raise(NexusResponseError(f"{method} {shown} returned malformed JSON ({exc})"))

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET ``/service/rest`` + ``path`` and decode its JSON, or raise a one-line error."""
        target = f"{REST}{path}"
        response = self._send("GET", target, params=dict(params or {}))
        if not response.is_success:
            raise self._fail(response, "GET", path)
        return self._decode(response, "GET", path)

    def send_json(self, method: str, path: str, body: Any) -> Any:
        """A write (POST/PUT) to ``/service/rest`` + ``path``; the decoded answer, if any."""
        response = self._send(method, f"{REST}{path}", json=body, retry_dropped=False)
        if not response.is_success:
            raise self._fail(response, method, path)
        if response.status_code == 204 or not response.content:
            return None
        return self._decode(response, method, path)

    def get_optional(
        self,
        path: str,
        unavailable: dict[str, str],
        section: str,
        params: Mapping[str, str] | None = None,
        expect: type = list,
    ) -> Any:
        """Like :meth:`get_json`, but a 402/403/404 records why the section is unknown."""
        try:
            body = self.get_json(path, params)
        except (NexusPermissionError, NexusEndpointMissing) as exc:
            unavailable[section] = _unavailable_reason(exc)
            return None
        except NexusResponseError as exc:
            if str(exc).startswith("402"):
                unavailable[section] = "402 Payment Required (a Pro feature)"
                return None
            raise
        return _expect(body, expect, path)

    def caller_permissions(self) -> list[Any] | None:
        """The caller's own permission strings, through the UI's ExtDirect API (any user)."""
        path = "/service/extdirect"
        body = {
            "action": "rapture_Security",
            "method": "getPermissions",
            "data": None,
            "type": "rpc",
            "tid": 1,
        }
        response = self._send("POST", path, json=body)
        if response.status_code in (401, 403, 404):
            return None
        if not response.is_success:
            raise self._fail(response, "POST", path)
        answer = self._decode(response, "POST", path)
        if isinstance(answer, list):
            answer = answer[0] if answer else {}
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict) or not result.get("success"):
            return None
        data = result.get("data")
        return data if isinstance(data, list) else None

    # ------------------------------------------------------------------ capture

    def capture(self, user_id: str | None = None, require_security: bool = True) -> dict[str, Any]:
        """Read everything an audit needs, in a constant number of requests.

        ``require_security``: users, roles and privileges must be readable (``snapshot`` and
        ``--user``); otherwise a self-audit goes on with what the caller can see.
        """
        unavailable: dict[str, str] = {}
        doc: dict[str, Any] = {
            "nexus_audit_snapshot": SNAPSHOT_FORMAT_VERSION,
            "captured_at": _now(),
            "base_url": self.base_url,
        }
        # Who the caller is (a token's name code is not a user id); any account may ask.
        caller = self.get_optional("/internal/ui/user", unavailable, "caller", expect=dict)
        doc["server"] = self.server
        creds = self.settings.credentials
        doc["captured_as"] = (
            caller.get("userId")
            if isinstance(caller, dict)
            else creds.username
            if creds.kind == "password"
            else None
        )
        security: dict[str, Any] = {}
        for section, path in (
            ("users", "/v1/security/users"),
            ("roles", "/v1/security/roles"),
            ("privileges", "/v1/security/privileges"),
        ):
            if require_security:
                security[section] = _expect(self.get_json(path), list, path)
            else:
                security[section] = self.get_optional(path, unavailable, section)
                if security[section] is None:
                    break
        users = security.get("users")
        if users is not None:
            local = self.get_json("/v1/security/users", {"source": "default"})
            extra: list[Any] = []
            if user_id is not None:
                extra = self.get_json("/v1/security/users", {"userId": user_id})
            users = merge_users(
                _expect(local, list, "/v1/security/users"),
                users,
                _expect(extra, list, "/v1/security/users"),
            )
        self_limited = any(security.get(s) is None for s in ("users", "roles", "privileges"))
        doc["users"] = users
        doc["roles"] = security.get("roles")
        doc["privileges"] = security.get("privileges")
        doc["realms_active"] = self.get_optional(
            "/v1/security/realms/active", unavailable, "realms_active"
        )
        doc["anonymous"] = self.get_optional(
            "/v1/security/anonymous", unavailable, "anonymous", expect=dict
        )
        doc["user_tokens"] = self.get_optional(
            "/v1/security/user-tokens", unavailable, "user_tokens", expect=dict
        )
        doc["capabilities"] = self.get_optional("/v1/capabilities", unavailable, "capabilities")
        doc["content_selectors"] = self.get_optional(
            "/v1/security/content-selectors", unavailable, "content_selectors"
        )
        doc["repositories"] = self.get_optional(
            "/v1/repositorySettings", unavailable, "repositories"
        )
        doc["repositories_browsable"] = self.get_optional(
            "/v1/repositories", unavailable, "repositories_browsable"
        )
        if caller is not None:
            doc["caller"] = caller
        if self_limited and caller is not None:
            permissions = self.caller_permissions()
            if permissions is None:
                unavailable["caller_permissions"] = "not answered by /service/extdirect"
            else:
                doc["caller_permissions"] = permissions
        doc["unavailable"] = unavailable
        return {k: v for k, v in doc.items() if v is not None or k in _SECTIONS}


_SECTIONS = frozenset(
    {
        "users",
        "roles",
        "privileges",
        "realms_active",
        "anonymous",
        "user_tokens",
        "capabilities",
        "content_selectors",
        "repositories",
    }
)


def _raise(error: NexusError) -> Any:
    raise error


def _expect(body: Any, kind: type, path: str) -> Any:
    if body is not None and not isinstance(body, kind):
        expected = "a list" if kind is list else "an object"
        raise NexusResponseError(
            f"GET {REST}{path} returned {type(body).__name__} where {expected} was expected; is "
            "this a Nexus Repository 3 server?"
        )
    return body


def _unavailable_reason(exc: NexusError) -> str:
    if isinstance(exc, NexusPermissionError):
        return f"403 Forbidden: needs {exc.privilege}" if exc.privilege else "403 Forbidden"
    return "404 Not Found"


def _error_detail(response: httpx.Response) -> str:
    """A short, single-line excerpt of an error body (JSON message or text)."""
    text = response.text.strip()
    if not text:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("error") or text)
    elif isinstance(body, list) and body and isinstance(body[0], dict):
        text = str(body[0].get("message") or text)
    if text.startswith("<"):
        return "an HTML error page"
    line = " ".join(text.split())
    return line[:160] + ("..." if len(line) > 160 else "")
