"""Live registry probe: walk the scanner's own path through each Docker registry.

The REST audit says what *should* work; the probe checks what *does*, as an image scanner does
it: TCP and TLS, ``GET /v2/`` and its challenge, the login (HTTP Basic, or a Bearer token from the
challenge's realm), ``GET /v2/_catalog`` with paging, then one image's tags and manifest.

Two halves, kept apart so that every failure mode can be tested without a network:

* :class:`Prober` does the I/O (httpx) and records one :class:`StepOutcome` per step;
* :func:`diagnose` maps a :class:`ProbeResult` (and the REST audit, when known) to
  :class:`~audit.checks.Finding` objects with probe codes, naming the Nexus cause behind a failure.

Credentials go only over TLS unless the caller allowed ``insecure``; they never appear in an
outcome, a detail line or a URL.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from audit import __version__
from audit.checks import (
    AuditResult,
    AuthMode,
    Finding,
    PrincipalSummary,
    RepositoryResult,
    Severity,
    audit,
    transitive_members,
)
from audit.client import Credentials
from audit.errors import UsageError
from audit.model import Instance, RegistryAddress, Repository
from audit.permissions import Access, AccessDecision

#: Manifest media types a scanner accepts: OCI and Docker schema2, indexes and single images.
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
CATALOG_SCOPE = "registry:catalog:*"
USER_AGENT = f"nexus-audit/{__version__} (registry probe)"

# OpenSSL verify codes (X509_V_ERR_*): the name in the certificate is not the one dialled.
_NAME_MISMATCH_CODES = frozenset({62, 63, 64})
# TLS alerts and record errors seen when a TLS client talks to a plain-HTTP listener.
_PLAIN_HTTP_SIGNS = (
    "wrong_version_number",
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "http request",
    "unexpected_eof",
    "unexpected eof",
)


class Step(str, Enum):
    """The scanner's path through a registry, in order."""

    CONNECT = "connect"
    """TCP, TLS when the address is HTTPS, and an HTTP answer from ``/v2/``."""
    CHALLENGE = "challenge"
    """``GET /v2/`` without credentials: ``401`` and a Basic or Bearer challenge (or ``200``)."""
    LOGIN = "login"
    """Basic: ``GET /v2/`` with credentials; Bearer: a token from the realm for the catalog."""
    CATALOG = "catalog"
    TAGS = "tags"
    MANIFEST = "manifest"


class Status(str, Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class Failure(str, Enum):
    """What went wrong on the wire, as observed; :func:`diagnose` turns it into a finding."""

    REFUSED = "refused"
    UNRESOLVED = "unresolved"
    TIMEOUT = "timeout"
    TLS_UNTRUSTED = "tls-untrusted"
    TLS_MISMATCH = "tls-mismatch"
    TLS_ERROR = "tls-error"
    SPEAKS_HTTP = "speaks-http"
    """TLS was sent to a port that answers in plain HTTP."""
    SPEAKS_HTTPS = "speaks-https"
    """Plain HTTP was sent to a port that speaks TLS."""
    NETWORK = "network"
    STATUS = "status"
    """An HTTP answer other than the expected one (see ``http_status``)."""
    WITHHELD = "withheld"
    """Credentials were not sent over plain HTTP (no ``--insecure``)."""
    NO_ADDRESS = "no-address"
    """The repository has no registry address to probe."""


@dataclass(frozen=True)
class StepOutcome:
    """The result of one step; ``detail`` is one line for people, free of secrets."""

    step: Step
    status: Status
    detail: str
    url: str | None = None
    """The URL requested (registry or token realm), never with credentials."""
    http_status: int | None = None
    failure: Failure | None = None
    elapsed_ms: int = 0


@dataclass(frozen=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: ``basic``, ``bearer``, or ``none`` (no login)."""

    scheme: str
    realm: str | None = None
    service: str | None = None
    scope: str | None = None

    @classmethod
    def parse(cls, headers: Sequence[str]) -> Challenge | None:
        """The Bearer challenge if one is offered, else the Basic one; ``None`` if neither."""
        found: dict[str, Challenge] = {}
        for header in headers:
            match = re.match(r"\s*([A-Za-z]+)\s*(.*)", header)
            if not match:
                continue
            scheme = match.group(1).lower()
            params = {
                k.lower(): v if v else bare
                for k, v, bare in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))', match[2])
            }
            if scheme in ("basic", "bearer") and scheme not in found:
                found[scheme] = cls(
                    scheme, params.get("realm"), params.get("service"), params.get("scope")
                )
        return found.get("bearer") or found.get("basic")

    def describe(self) -> str:
        if self.scheme == "none":
            return "no login required"
        shown = [f'realm="{self.realm}"'] if self.realm else []
        if self.service:
            shown.append(f'service="{self.service}"')
        return f"{self.scheme.capitalize()} {','.join(shown)}".strip()


@dataclass(frozen=True)
class Endpoint:
    """Where to send registry requests: ``base_url`` plus an image-name prefix (path routing)."""

    base_url: str
    prefix: str = ""

    @classmethod
    def of(cls, registry: RegistryAddress) -> Endpoint:
        host, _, path = registry.address.partition("/")
        return cls(f"{registry.scheme}://{host}", f"{path.strip('/')}/" if path else "")

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    @property
    def netloc(self) -> tuple[str, int]:
        return _host_port(self.base_url)


def _netloc(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.hostname or "").lower(), parts.port or default


@dataclass(frozen=True)
class ProbeTarget:
    """One Docker repository to probe and the registry address the audit derived for it."""

    repository: Repository
    registry: RegistryAddress | None
    connector_known: bool = True


@dataclass(frozen=True)
class ProbeResult:
    """Every step's outcome for one repository, plus what the successful steps learnt."""

    repository: str
    endpoint: Endpoint | None
    login: str
    """``password``, ``token`` or ``anonymous``: what the probe logged in with."""
    steps: tuple[StepOutcome, ...]
    challenge: Challenge | None = None
    credentials_sent: bool = False
    plain_http_credentials: bool = False
    """Credentials went over plain HTTP (only ever with ``insecure``)."""
    catalog_count: int | None = None
    catalog_truncated: bool = False
    catalog_stop: str | None = None
    """Why the listing stopped early: ``limit`` (``--catalog-limit``) or ``time`` (the step's)."""
    catalog_pages: int = 0
    image: str | None = None
    tags_count: int | None = None
    tag: str | None = None
    manifest_type: str | None = None
    manifest_digest: str | None = None

    def outcome(self, step: Step) -> StepOutcome | None:
        return next((s for s in self.steps if s.step is step), None)

    @property
    def failed(self) -> StepOutcome | None:
        return next((s for s in self.steps if s.status is Status.FAILED), None)


@dataclass(frozen=True)
class ProbeSettings:
    """How to probe: who logs in, what trust, and the bounds on time and work."""

    credentials: Credentials
    insecure: bool = False
    """Skip TLS verification and allow credentials over plain HTTP."""
    ca_bundle: str | None = None
    """PEM file of extra CAs to trust, on top of the default ones."""
    concurrency: int = 4
    step_timeout: float = 10.0
    catalog_limit: int = 1000
    page_size: int = 100

    @property
    def login(self) -> str:
        return "anonymous" if self.credentials.kind == "none" else self.credentials.kind


@dataclass(frozen=True)
class RepositoryProbe:
    """A probe result with its findings, and the REST cause (a core code) behind each failure."""

    result: ProbeResult
    findings: tuple[Finding, ...]
    causes: Mapping[Step, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- I/O


@dataclass(frozen=True)
class _Auth:
    """An ``Authorization`` header; ``credential`` when it carries the scanner's secret.

    A token fetched anonymously grants only what anyone may do, so it is not withheld over
    plain HTTP; Basic credentials and tokens issued for them are.
    """

    header: str
    credential: bool


class _StepError(Exception):
    """Ends a step as failed; the message is the outcome's detail."""

    def __init__(
        self,
        failure: Failure,
        detail: str,
        url: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.failure = failure
        self.detail = detail
        self.url = url
        self.http_status = http_status


def ssl_context(insecure: bool, ca_bundle: str | None) -> ssl.SSLContext:
    """The default trust (as httpx has it) plus ``ca_bundle``; nothing verified if insecure."""
    context = httpx.create_ssl_context(verify=True)
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot use CA bundle '{ca_bundle}': {exc}") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _cause_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _link_next(header: str | None) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (RFC 8288), as the registry pages."""
    for part in (header or "").split(","):
        match = re.match(r"\s*<([^>]*)>\s*;(.*)", part)
        if match and re.search(r'rel\s*=\s*"?next"?', match.group(2)):
            return match.group(1)
    return None


class Prober:
    """Runs the steps for one target over its own httpx client (one per thread)."""

    def __init__(
        self,
        target: ProbeTarget,
        settings: ProbeSettings,
        context: ssl.SSLContext,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.context = context
        self.endpoint = Endpoint.of(target.registry) if target.registry else None
        self._http = httpx.Client(
            verify=context,
            timeout=httpx.Timeout(settings.step_timeout),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )
        self._steps: list[StepOutcome] = []
        self._learnt: dict[str, Any] = {}
        self._credentials_sent = False
        self._plain_http_credentials = False

    # ------------------------------------------------------------------ driver

    def run(self) -> ProbeResult:
        try:
            self._run_steps()
        finally:
            self._http.close()
        for step in Step:
            if all(s.step is not step for s in self._steps):
                self._steps.append(StepOutcome(step, Status.SKIPPED, self._skip_reason()))
        self._steps.sort(key=lambda s: list(Step).index(s.step))
        return ProbeResult(
            repository=self.target.repository.name,
            endpoint=self.endpoint,
            login=self.settings.login,
            steps=tuple(self._steps),
            credentials_sent=self._credentials_sent,
            plain_http_credentials=self._plain_http_credentials,
            **self._learnt,
        )

    def _skip_reason(self) -> str:
        failed = next((s for s in self._steps if s.status is Status.FAILED), None)
        if failed is not None:
            return f"not tried: {failed.step.value} failed"
        skipped = next((s for s in self._steps if s.status is Status.SKIPPED), None)
        return skipped.detail if skipped is not None else "not tried"

    def _record(self, step: Step, work: Callable[[], tuple[str, str | None, int | None]]) -> bool:
        """Run one step; record ok (detail, url, status) or the failure it raised."""
        start = time.monotonic()
        try:
            detail, url, status = work()
        except _StepError as error:
            self._steps.append(
                StepOutcome(
                    step,
                    Status.FAILED,
                    error.detail,
                    error.url,
                    error.http_status,
                    error.failure,
                    _ms(start),
                )
            )
            return False
        self._steps.append(StepOutcome(step, Status.OK, detail, url, status, None, _ms(start)))
        return True

    def _skip(self, step: Step, detail: str) -> None:
        self._steps.append(StepOutcome(step, Status.SKIPPED, detail))

    def _run_steps(self) -> None:
        if self.endpoint is None:
            reason = (
                "no registry address: the repository has no connector, subdomain or path routing"
                if self.target.connector_known
                else "no registry address: the connector settings are unknown"
            )
            self._steps.append(
                StepOutcome(Step.CONNECT, Status.FAILED, reason, failure=Failure.NO_ADDRESS)
            )
            return
        first: list[httpx.Response] = []
        if not self._record(Step.CONNECT, lambda: self._connect(first)):
            return
        if not self._record(Step.CHALLENGE, lambda: self._challenge(first[0])):
            return
        authorization: list[_Auth | None] = []
        if not self._record(Step.LOGIN, lambda: self._login(authorization)):
            return
        auth = authorization[0] if authorization else None
        if not self._record(Step.CATALOG, lambda: self._catalog(auth)):
            return
        image = self._learnt.get("image")
        if image is None:
            self._skip(Step.TAGS, "no image in the catalog to try")
            return
        pull_auth: list[_Auth | None] = [auth]
        if not self._record(Step.TAGS, lambda: self._tags(image, pull_auth)):
            return
        tag = self._learnt.get("tag")
        if tag is None:
            self._skip(Step.MANIFEST, f"'{image}' has no tags")
            return
        self._record(Step.MANIFEST, lambda: self._manifest(image, tag, pull_auth[0]))

    # ------------------------------------------------------------------ requests

    def _send(
        self,
        method: str,
        url: str,
        auth: _Auth | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> httpx.Response:
        """One request; transport failures become a classified :class:`_StepError`."""
        sent = dict(headers or {})
        plain = urlsplit(url).scheme != "https"
        if auth is not None:
            if auth.credential and plain and not self.settings.insecure:
                raise _StepError(
                    Failure.WITHHELD,
                    f"credentials not sent to {_without_query(url)}: plain HTTP "
                    "(allow with --insecure)",
                    url,
                )
            sent["Authorization"] = auth.header
        timeout = self.settings.step_timeout
        if deadline is not None:
            timeout = max(0.1, deadline - time.monotonic())
        try:
            response = self._http.request(method, url, headers=sent, timeout=httpx.Timeout(timeout))
        except httpx.TimeoutException:
            raise _StepError(
                Failure.TIMEOUT,
                f"{method} {_without_query(url)}: no answer within {timeout:g}s",
                url,
            ) from None
        except httpx.TransportError as exc:
            raise self._transport_error(method, url, exc) from None
        if auth is not None and auth.credential:
            self._credentials_sent = True
            self._plain_http_credentials = self._plain_http_credentials or plain
        return response

    def _transport_error(self, method: str, url: str, exc: httpx.TransportError) -> _StepError:
        host, port = _host_port(url)
        where = _netloc(host, port)
        for cause in _cause_chain(exc):
            if isinstance(cause, ssl.SSLCertVerificationError):
                message = cause.verify_message or str(cause)
                if cause.verify_code in _NAME_MISMATCH_CODES:
                    return _StepError(
                        Failure.TLS_MISMATCH,
                        f"certificate of {where} does not match the name dialled ({message})",
                        url,
                    )
                return _StepError(
                    Failure.TLS_UNTRUSTED,
                    f"certificate of {where} is not trusted ({message})",
                    url,
                )
            if isinstance(cause, ssl.SSLError):
                text = f"{cause.reason or ''} {cause}"
                if any(sign.lower() in text.lower() for sign in _PLAIN_HTTP_SIGNS) and (
                    self._speaks_plain_http(host, port)
                ):
                    return _StepError(
                        Failure.SPEAKS_HTTP,
                        f"{where} answers in plain HTTP, not TLS: the registry is http://{where}",
                        url,
                    )
                return _StepError(
                    Failure.TLS_ERROR, f"TLS handshake with {where} failed ({text.strip()})", url
                )
            if isinstance(cause, ConnectionRefusedError):
                return _StepError(Failure.REFUSED, f"connection refused by {where}", url)
            if isinstance(cause, socket.gaierror):
                return _StepError(Failure.UNRESOLVED, f"cannot resolve host '{host}'", url)
        text = str(exc) or type(exc).__name__
        if "refused" in text.lower():
            return _StepError(Failure.REFUSED, f"connection refused by {where}", url)
        if "name or service not known" in text.lower() or "name resolution" in text.lower():
            return _StepError(Failure.UNRESOLVED, f"cannot resolve host '{host}'", url)
        if urlsplit(url).scheme == "http" and self._speaks_tls(host, port):
            return _StepError(
                Failure.SPEAKS_HTTPS,
                f"{where} speaks TLS, not plain HTTP: the registry is https://{where}",
                url,
            )
        return _StepError(Failure.NETWORK, f"{method} {_without_query(url)} failed: {text}", url)

    def _speaks_plain_http(self, host: str, port: int) -> bool:
        """Whether the port answers a plain-HTTP ``GET /v2/`` (no credentials are sent)."""
        try:
            response = self._http.get(
                f"http://{_netloc(host, port)}/v2/", timeout=self._quick_timeout
            )
        except httpx.TransportError:
            return False
        return response.status_code > 0

    def _speaks_tls(self, host: str, port: int) -> bool:
        """Whether the port completes a TLS handshake (certificate not checked: only the scheme)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with (
                socket.create_connection((host, port), timeout=self._quick_timeout) as raw,
                context.wrap_socket(raw, server_hostname=host),
            ):
                return True
        except (OSError, ssl.SSLError):
            return False

    @property
    def _quick_timeout(self) -> float:
        return min(self.settings.step_timeout, 5.0)

    def _url(self, path: str) -> str:
        assert self.endpoint is not None
        return f"{self.endpoint.base_url}{path}"

    # ------------------------------------------------------------------ steps

    def _connect(self, first: list[httpx.Response]) -> tuple[str, str | None, int | None]:
        assert self.endpoint is not None
        url = self._url("/v2/")
        response = self._send("GET", url)
        host, port = self.endpoint.netloc
        if (
            self.endpoint.scheme == "http"
            and response.status_code == 400
            and self._speaks_tls(host, port)
        ):
            where = _netloc(host, port)
            raise _StepError(
                Failure.SPEAKS_HTTPS,
                f"{where} speaks TLS, not plain HTTP (it answered 400 to plain HTTP): "
                f"the registry is https://{where}",
                url,
                400,
            )
        first.append(response)
        if self.endpoint.scheme == "https":
            tls = "TLS"
            stream = response.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            version = getattr(ssl_object, "version", None)
            if callable(version) and version():
                tls = str(version())
            verified = "not verified (--insecure)" if self.settings.insecure else "verified"
            return f"{tls}, certificate {verified}", url, response.status_code
        return "plain HTTP", url, response.status_code

    def _challenge(self, response: httpx.Response) -> tuple[str, str | None, int | None]:
        url = str(response.request.url)
        status = response.status_code
        if status == 200:
            self._learnt["challenge"] = Challenge("none")
            return "200 without credentials: the registry needs no login", url, status
        if status == 401:
            challenge = Challenge.parse(response.headers.get_list("www-authenticate"))
            if challenge is None:
                raise _StepError(
                    Failure.STATUS,
                    "401 without a Basic or Bearer challenge: not a Docker registry answer",
                    url,
                    status,
                )
            if challenge.scheme == "bearer" and not challenge.realm:
                raise _StepError(
                    Failure.STATUS, "Bearer challenge without a realm (token URL)", url, status
                )
            self._learnt["challenge"] = challenge
            return f"401 {challenge.describe()}", url, status
        kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
        raise _StepError(
            Failure.STATUS,
            f"/v2/ answered {status} {response.reason_phrase} ({kind}), not a Docker registry's "
            "401 or 200",
            url,
            status,
        )

    def _basic(self) -> _Auth | None:
        creds = self.settings.credentials
        if creds.kind == "none" or creds.username is None:
            return None
        raw = f"{creds.username}:{creds.secret or ''}".encode()
        return _Auth("Basic " + base64.b64encode(raw).decode("ascii"), credential=True)

    def _login(self, authorization: list[_Auth | None]) -> tuple[str, str | None, int | None]:
        challenge: Challenge = self._learnt["challenge"]
        basic = self._basic()
        if challenge.scheme == "none":
            authorization.append(None)
            sent = "; credentials not sent" if basic else ""
            return f"no login needed{sent}", None, None
        if challenge.scheme == "basic":
            url = self._url("/v2/")
            if basic is None:
                raise _StepError(
                    Failure.STATUS,
                    "the registry demands HTTP Basic credentials; an anonymous scanner is refused",
                    url,
                    401,
                )
            response = self._send("GET", url, basic)
            if response.status_code == 200:
                authorization.append(basic)
                return "Basic credentials accepted", url, 200
            raise _StepError(
                Failure.STATUS,
                f"Basic credentials refused: {response.status_code} {response.reason_phrase}",
                url,
                response.status_code,
            )
        token, url, status = self._token(challenge, CATALOG_SCOPE)
        authorization.append(_Auth(f"Bearer {token}", credential=basic is not None))
        how = "with credentials" if basic else "anonymously"
        return f"token for {CATALOG_SCOPE} issued {how}", url, status

    def _token(self, challenge: Challenge, scope: str) -> tuple[str, str, int]:
        """A Bearer token for ``scope`` from the challenge's realm, as ``docker login`` gets it."""
        assert challenge.realm is not None
        params = {"scope": scope}
        if challenge.service:
            params["service"] = challenge.service
        creds = self.settings.credentials
        if creds.kind != "none" and creds.username:
            params["account"] = creds.username
        separator = "&" if "?" in challenge.realm else "?"
        url = f"{challenge.realm}{separator}{urlencode(params)}"
        shown = challenge.realm
        try:
            response = self._send("GET", url, self._basic())
        except _StepError as error:
            error.url = shown
            raise
        if response.status_code != 200:
            raise _StepError(
                Failure.STATUS,
                f"token URL {shown} refused the {'login' if creds.kind != 'none' else 'anonymous'}"
                f" request for {scope}: {response.status_code} {response.reason_phrase}",
                shown,
                response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise _StepError(
                Failure.STATUS,
                f"token URL {shown} answered 200 without a token: not a registry token service",
                shown,
                200,
            )
        return token, shown, 200

    def _catalog(self, authorization: _Auth | None) -> tuple[str, str | None, int | None]:
        assert self.endpoint is not None
        settings = self.settings
        deadline = time.monotonic() + settings.step_timeout
        prefix = self.endpoint.prefix
        names: list[str] = []
        pages = 0
        next_url: str | None = self._url(
            f"/v2/_catalog?n={min(settings.page_size, settings.catalog_limit)}"
        )
        first_url = next_url
        stop: str | None = None
        while next_url is not None:
            if len(names) >= settings.catalog_limit:
                stop = "limit"
                break
            if pages and time.monotonic() >= deadline:
                stop = "time"
                break
            try:
                response = self._send("GET", next_url, authorization, deadline=deadline)
            except _StepError as error:
                if error.failure is not Failure.TIMEOUT or not pages:
                    raise
                stop = "time"  # What the first pages listed still counts.
                break
            if response.status_code != 200:
                raise _StepError(
                    Failure.STATUS,
                    f"GET /v2/_catalog answered {response.status_code} "
                    f"{response.reason_phrase}{_registry_error(response)}",
                    next_url,
                    response.status_code,
                )
            pages += 1
            page = _catalog_names(response)
            if page is None:
                raise _StepError(
                    Failure.STATUS,
                    "GET /v2/_catalog answered 200 without a 'repositories' list",
                    next_url,
                    200,
                )
            names += [n for n in page if n.startswith(prefix)]
            link = _link_next(response.headers.get("link"))
            next_url = None
            if link is not None:
                left = settings.catalog_limit - len(names)
                next_url = _with_page_size(urljoin(self._url("/"), link), settings.page_size, left)
        names = names[: settings.catalog_limit]
        self._learnt.update(
            catalog_count=len(names),
            catalog_truncated=stop is not None,
            catalog_stop=stop,
            catalog_pages=pages,
            image=names[0] if names else None,
        )
        where = f" under '{prefix}'" if prefix else ""
        pages_text = f"{pages} page{'s' if pages != 1 else ''}"
        if stop is not None:
            why = (
                f"the limit of {settings.catalog_limit}"
                if stop == "limit"
                else f"the step timeout of {settings.step_timeout:g}s"
            )
            return f"{len(names)}+ images{where}: stopped at {why} ({pages_text})", first_url, 200
        count = f"{len(names)} image{'s' if len(names) != 1 else ''}"
        return f"{count}{where} ({pages_text})", first_url, 200

    def _pull_authorization(self, image: str, current: list[_Auth | None]) -> None:
        """Bearer registries need a token scoped to the image, as a scanner fetches before pulls."""
        challenge: Challenge = self._learnt["challenge"]
        if challenge.scheme != "bearer":
            return
        token, _, _ = self._token(challenge, f"repository:{image}:pull")
        current[0] = _Auth(f"Bearer {token}", credential=self._basic() is not None)

    def _tags(
        self, image: str, pull_auth: list[_Auth | None]
    ) -> tuple[str, str | None, int | None]:
        self._pull_authorization(image, pull_auth)
        url = self._url(f"/v2/{image}/tags/list")
        response = self._send("GET", url, pull_auth[0])
        if response.status_code != 200:
            raise _StepError(
                Failure.STATUS,
                f"GET /v2/{image}/tags/list answered {response.status_code} "
                f"{response.reason_phrase}{_registry_error(response)}",
                url,
                response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        tags = body.get("tags") if isinstance(body, dict) else None
        if tags is not None and not (
            isinstance(tags, list) and all(isinstance(t, str) for t in tags)
        ):
            raise _StepError(Failure.STATUS, "tags/list answered without a tag list", url, 200)
        tags = tags or []
        chosen = "latest" if "latest" in tags else (tags[0] if tags else None)
        self._learnt.update(tags_count=len(tags), tag=chosen)
        return f"{image}: {len(tags)} tag{'s' if len(tags) != 1 else ''}", url, 200

    def _manifest(
        self, image: str, tag: str, authorization: _Auth | None
    ) -> tuple[str, str | None, int | None]:
        url = self._url(f"/v2/{image}/manifests/{tag}")
        response = self._send("HEAD", url, authorization, headers={"Accept": MANIFEST_ACCEPT})
        if response.status_code != 200:
            raise _StepError(
                Failure.STATUS,
                f"HEAD /v2/{image}/manifests/{tag} answered {response.status_code} "
                f"{response.reason_phrase}",
                url,
                response.status_code,
            )
        media_type = response.headers.get("content-type", "").split(";")[0] or None
        digest = response.headers.get("docker-content-digest")
        self._learnt.update(manifest_type=media_type, manifest_digest=digest)
        short = digest[:19] if digest else "no digest"
        return f"{image}:{tag} {media_type or 'no media type'} {short}", url, 200


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _catalog_names(response: httpx.Response) -> list[str] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    names = body.get("repositories") if isinstance(body, dict) else None
    if names is None and isinstance(body, dict) and "repositories" in body:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return names


def _with_page_size(url: str, page_size: int, left: int) -> str:
    """The next-page URL with ``n`` lowered so the last page stops at the limit."""
    size = max(1, min(page_size, left))
    if re.search(r"([?&])n=\d+", url):
        return re.sub(r"([?&])n=\d+", rf"\g<1>n={size}", url)
    return f"{url}{'&' if '?' in url else '?'}n={size}"


def _registry_error(response: httpx.Response) -> str:
    """The first error code of a registry's JSON error body, e.g. ``: DENIED``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
        return f" ({code})" if isinstance(code, str) else ""
    return ""


def probe_targets(
    instance: Instance, names: Sequence[str] | None, host: str | None
) -> list[ProbeTarget]:
    """The Docker repositories to probe when no audit result chose them (principal unknown)."""
    docker = {r.name: r for r in instance.docker_repositories}
    known = {r.name: r for r in instance.repositories or ()}
    for entry in instance.browsable or ():
        if entry.format == "docker" and entry.name not in docker:
            docker[entry.name] = Repository(entry.name, entry.format, entry.type, url=entry.url)
    chosen: list[Repository] = []
    for name in names or sorted(docker):
        if name in docker:
            chosen.append(docker[name])
        elif name in known:
            raise UsageError(
                f"repository '{name}' is a {known[name].format} repository, not Docker"
            )
        else:
            listed = ", ".join(sorted(docker)) or "none"
            raise UsageError(f"no Docker repository named '{name}' (Docker repositories: {listed})")
    return [
        ProbeTarget(r, r.registry_address(instance.base_url, host), r.docker is not None)
        for r in chosen
    ]


def targets_of(results: Sequence[RepositoryResult]) -> list[ProbeTarget]:
    return [ProbeTarget(r.repository, r.registry, r.connector_known) for r in results]


def _probe_one(
    target: ProbeTarget,
    settings: ProbeSettings,
    context: ssl.SSLContext,
    transport: httpx.BaseTransport | None,
) -> ProbeResult:
    """One target, in a worker thread: its client lives and dies there."""
    return Prober(target, settings, context, transport).run()


def run_probes(
    targets: Sequence[ProbeTarget],
    settings: ProbeSettings,
    on_done: Callable[[ProbeResult], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[ProbeResult]:
    """Probe every target, at most ``settings.concurrency`` at a time; results in target order.

    ``on_done`` runs in the calling thread as each probe finishes (a progress bar need not be
    thread-safe).
    """
    if not targets:
        return []
    context = ssl_context(settings.insecure, settings.ca_bundle)
    workers = max(1, min(settings.concurrency, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        futures = {
            pool.submit(_probe_one, target, settings, context, transport): index
            for index, target in enumerate(targets)
        }
        results: dict[int, ProbeResult] = {}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_done is not None:
                on_done(results[futures[future]])
    return [results[index] for index in range(len(targets))]


# --------------------------------------------------------------------------- mapping (pure)

#: Core finding codes (from the REST audit) that explain each probe code, most specific first.
CAUSES: Mapping[str, tuple[str, ...]] = {
    "CONNECTION_REFUSED": ("NO_CONNECTOR", "REPOSITORY_OFFLINE"),
    "AUTH_FAILED": (
        "PRINCIPAL_NOT_FOUND",
        "PRINCIPAL_NOT_ACTIVE",
        "EXTERNAL_USER_NEEDS_TOKEN",
        "SOURCE_REALM_INACTIVE",
        "USER_TOKENS_UNAVAILABLE",
        "USER_TOKENS_DISABLED",
        "USER_TOKEN_REALM_INACTIVE",
        "ANONYMOUS_DISABLED",
        "ANONYMOUS_BLOCKED_BY_BASIC_AUTH",
        "DOCKER_TOKEN_REALM_INACTIVE",
    ),
    "CATALOG_DENIED": (
        "BROWSE_MISSING",
        "TOKENS_REQUIRED_FOR_CONTENT",
        "ANONYMOUS_DISABLED",
        "REPOSITORY_OFFLINE",
    ),
    "CATALOG_EMPTY": ("BROWSE_MISSING", "ACCESS_PARTIAL"),
    "CATALOG_LARGE": ("GROUP_INCLUDES_UPSTREAM_PROXY",),
    "PULL_DENIED": (
        "READ_MISSING",
        "TOKENS_REQUIRED_FOR_CONTENT",
        "ACCESS_PARTIAL",
        "REPOSITORY_OFFLINE",
    ),
}

PROBE_CODES = (
    "CONNECTION_REFUSED",
    "HOST_UNRESOLVED",
    "TLS_MISMATCH",
    "TLS_UNTRUSTED",
    "WRONG_SCHEME",
    "NOT_A_REGISTRY",
    "AUTH_FAILED",
    "CREDENTIALS_WITHHELD",
    "TOKEN_URL_UNREACHABLE",
    "TOKEN_URL_MISMATCH",
    "CATALOG_DENIED",
    "CATALOG_EMPTY",
    "CATALOG_LARGE",
    "PULL_DENIED",
    "PROBE_TIMEOUT",
    "REGISTRY_ERROR",
)

_TRANSPORT_FAILURES = frozenset(
    {
        Failure.REFUSED,
        Failure.UNRESOLVED,
        Failure.TIMEOUT,
        Failure.TLS_UNTRUSTED,
        Failure.TLS_MISMATCH,
        Failure.TLS_ERROR,
        Failure.SPEAKS_HTTP,
        Failure.SPEAKS_HTTPS,
        Failure.NETWORK,
    }
)
_DENIED = frozenset({401, 403, 404})


@dataclass(frozen=True)
class ProbeContext:
    """What the REST side knows about a probed repository; every part may be unknown."""

    repository: Repository
    audit: AuditResult | None = None
    instance: Instance | None = None
    catalog_limit: int = 1000

    @property
    def related(self) -> list[Finding]:
        """Core findings that concern this repository or the principal as a whole."""
        if self.audit is None:
            return []
        return [f for f in self.audit.findings if f.repository in (None, self.repository.name)]


@dataclass(frozen=True)
class _Cause:
    code: str
    text: str
    remedy: str


def _cause(code: str, ctx: ProbeContext, result: ProbeResult) -> _Cause | None:
    """The REST finding behind a probe failure, or a rule on the repository's own settings."""
    candidates = CAUSES.get(code, ())
    by_code = {f.code: f for f in ctx.related}
    for candidate in candidates:
        core = by_code.get(candidate)
        if core is None:
            continue
        repo = ctx.repository.name
        if candidate in ("BROWSE_MISSING", "READ_MISSING"):
            action = "browse" if candidate == "BROWSE_MISSING" else "read"
            text = f"missing nx-repository-view-docker-{repo}-{action} ({core.message})"
        else:
            text = core.message
        return _Cause(candidate, text, core.remedy)
    docker = ctx.repository.docker
    challenge = result.challenge
    if (
        code == "AUTH_FAILED"
        and result.login == "anonymous"
        and challenge is not None
        and challenge.scheme == "basic"
        and docker is not None
        and docker.force_basic_auth
    ):
        return _Cause(
            "ANONYMOUS_BLOCKED_BY_BASIC_AUTH",
            f"'{ctx.repository.name}' forces HTTP Basic authentication (forceBasicAuth): "
            "anonymous pulls are impossible",
            "Turn off forceBasicAuth ('Allow anonymous docker pull') on the repository and "
            "activate the Docker Bearer Token Realm, or give the scanner an account.",
        )
    if code == "CATALOG_LARGE" and ctx.instance is not None and ctx.repository.type == "group":
        upstream = [
            m.name
            for m in transitive_members(ctx.instance, ctx.repository)
            if m.proxies_public_registry
        ]
        if upstream:
            return _Cause(
                "GROUP_INCLUDES_UPSTREAM_PROXY",
                f"group '{ctx.repository.name}' includes proxies of public registries "
                f"({', '.join(upstream)})",
                "Point the scanner at the hosted repositories instead of the group, or filter "
                "the images it scans.",
            )
    return None


def _severity_of(code: str) -> Severity:
    if code in ("CATALOG_EMPTY", "CATALOG_LARGE", "TOKEN_URL_MISMATCH", "ACCESS_UNKNOWN"):
        return Severity.WARNING
    return Severity.ERROR


def _primary(result: ProbeResult, ctx: ProbeContext) -> tuple[str, str, str] | None:
    """(code, message, remedy) for the first failed step, from the guide's troubleshooting."""
    failed = result.failed
    if failed is None:
        return None
    repo = ctx.repository.name
    base = result.endpoint.base_url if result.endpoint else "?"
    failure, step, detail = failed.failure, failed.step, failed.detail
    if failure is Failure.NO_ADDRESS:
        docker = ctx.repository.docker
        if docker is not None and not docker.has_connector:
            return (
                "NO_CONNECTOR",
                f"'{repo}' was not probed: it has no HTTP or HTTPS connector, subdomain or "
                "path-based routing, so no Docker client can reach it",
                "Set an HTTP or HTTPS connector port in the repository's Repository Connectors "
                "settings (or enable path-based routing on 3.83+).",
            )
        return (
            "ACCESS_UNKNOWN",
            f"'{repo}' was not probed: its connector settings (the registry's port) could not "
            "be read",
            "Probe from a snapshot taken by an administrator (nexus-audit snapshot, then "
            f"--snapshot), or grant nx-repository-admin-docker-{repo}-read to the account.",
        )
    if failure is Failure.WITHHELD:
        return (
            "CREDENTIALS_WITHHELD",
            f"The probe of '{repo}' did not send credentials to "
            f"{_without_query(failed.url or base)} over plain HTTP; the login, catalog and pull "
            "were not tried",
            "Re-run with --insecure to probe over plain HTTP anyway (the scanner would have to "
            "allow insecure HTTP too), or put TLS in front of the connector.",
        )
    token_step = (
        step in (Step.LOGIN, Step.TAGS)
        and result.challenge is not None
        and result.challenge.scheme == "bearer"
        and failed.url == result.challenge.realm
    )
    if token_step and failure in _TRANSPORT_FAILURES:
        mismatch = token_url_mismatch(result)
        differs = f" (its {mismatch[1]})" if mismatch else ""
        return (
            "TOKEN_URL_UNREACHABLE",
            f"The Bearer challenge of '{repo}' names the token URL {failed.url}{differs}, which "
            f"cannot be reached from here: {detail}",
            "Nexus builds the token URL from the request it received: behind a reverse proxy, "
            "forward the Host header and X-Forwarded-Proto (or set Nexus's Base URL capability) "
            "so the realm names the address clients use.",
        )
    if failure is Failure.TIMEOUT:
        return (
            "PROBE_TIMEOUT",
            f"The {step.value} step of '{repo}' timed out at {base}: {detail}",
            "Check the network path to the registry (firewall, proxy), or raise --step-timeout "
            "for a slow registry.",
        )
    if failure is Failure.REFUSED:
        return (
            "CONNECTION_REFUSED",
            f"Connection refused at {base} for '{repo}': nothing listens on that port",
            "The Nexus connector listens on another port, or the connector is not configured: "
            "use the port in the repository's Repository Connectors setting (each Docker "
            "repository has its own), and check that a firewall does not block it.",
        )
    if failure is Failure.UNRESOLVED:
        return (
            "HOST_UNRESOLVED",
            f"The registry host of '{repo}' does not resolve: {detail}",
            "Check the host name (--host), and for subdomain routing a wildcard DNS entry for "
            "the repository's subdomain.",
        )
    if failure is Failure.TLS_MISMATCH:
        return (
            "TLS_MISMATCH",
            f"TLS name mismatch for '{repo}': {detail}",
            "The reverse proxy presents a certificate for another name than the one in the "
            "registry URL: use the name on the certificate (--host), or issue a certificate "
            "that covers this name.",
        )
    if failure is Failure.TLS_UNTRUSTED:
        return (
            "TLS_UNTRUSTED",
            f"TLS certificate not trusted for '{repo}': {detail}",
            "Pass the CA that signed it with --ca-bundle FILE (and give it to the scanner too), "
            "or use the scanner's insecure flag and --insecure here, at your own risk.",
        )
    if failure in (Failure.SPEAKS_HTTP, Failure.SPEAKS_HTTPS):
        configured = result.endpoint.scheme if result.endpoint else "?"
        actual = "http" if failure is Failure.SPEAKS_HTTP else "https"
        return (
            "WRONG_SCHEME",
            f"'{repo}' is configured as {configured}:// but {detail}",
            f"Point the scanner at {actual}:// for this registry, or fix the connector (an "
            "HTTP connector port behind a TLS proxy belongs in the proxy's URL, not the "
            "scanner's).",
        )
    status = failed.http_status
    if step is Step.CHALLENGE:
        return (
            "NOT_A_REGISTRY",
            f"{base} does not answer like a Docker registry for '{repo}': {detail}",
            "Check the port (the repository's own connector, not Nexus's web port) and, for "
            "path-based routing, that it is enabled on the repository (Nexus 3.83+).",
        )
    if step is Step.LOGIN and status in _DENIED:
        who = "anonymous requests" if result.login == "anonymous" else "the scanner's login"
        return (
            "AUTH_FAILED",
            f"The registry of '{repo}' refused {who}: {detail}",
            "Check the username and password; an SSO (SAML) account has no password a registry "
            "can check: issue a user token. Anonymous pulls need forceBasicAuth off, the Docker "
            "Bearer Token Realm and anonymous access on.",
        )
    if step is Step.CATALOG and status in _DENIED:
        extra = (
            " (a 404 to an unauthenticated catalog request: anonymous pull is off)"
            if status == 404 and result.login == "anonymous"
            else ""
        )
        return (
            "CATALOG_DENIED",
            f"The catalog of '{repo}' is refused: {detail}{extra}",
            f"The scanner needs browse on the repository "
            f"(nx-repository-view-docker-{repo}-browse) to list images.",
        )
    if step in (Step.TAGS, Step.MANIFEST) and status in _DENIED:
        image = result.image or "?"
        return (
            "PULL_DENIED",
            f"Pulling '{image}' from '{repo}' is refused: {detail}",
            f"The scanner needs read on the repository (nx-repository-view-docker-{repo}-read); "
            "a content selector may hide this image.",
        )
    return (
        "REGISTRY_ERROR",
        f"The {step.value} step of '{repo}' failed: {detail}",
        "Check the registry's and the reverse proxy's logs for this request.",
    )


def token_url_mismatch(result: ProbeResult) -> tuple[bool, str] | None:
    """How the Bearer realm differs from the registry: (scheme differs, what differs).

    Nexus serves ``/v2/token`` on the connector itself, so a realm elsewhere usually means a
    reverse proxy rewrote the request (another scheme is a finding of its own: credentials
    would leave TLS); another address is worth naming when the realm cannot be reached.
    """
    challenge, endpoint = result.challenge, result.endpoint
    if challenge is None or challenge.scheme != "bearer" or not challenge.realm or not endpoint:
        return None
    realm = urlsplit(challenge.realm)
    if realm.scheme != endpoint.scheme:
        return True, f"scheme {realm.scheme}:// while the registry is {endpoint.scheme}://"
    if _host_port(challenge.realm) != endpoint.netloc:
        host, port = _host_port(challenge.realm)
        return False, f"address {host}:{port}, not the registry's own"
    return None


def diagnose(result: ProbeResult, ctx: ProbeContext) -> RepositoryProbe:
    """Map one repository's step outcomes to findings; pure, so every mode is unit-tested."""
    findings: list[Finding] = []
    causes: dict[Step, str] = {}
    repo = ctx.repository.name

    def explain(code: str, severity: Severity, step: Step, message: str, remedy: str) -> None:
        """A finding, with the REST audit's cause (and its remedy) when one is known."""
        cause = _cause(code, ctx, result)
        if cause is not None:
            causes[step] = cause.code
            message = f"{message}. Cause (REST audit): {cause.text} [{cause.code}]"
            remedy = cause.remedy
        findings.append(Finding(code, severity, repo, message, remedy))

    mismatch = token_url_mismatch(result)
    if mismatch is not None and mismatch[0]:
        assert result.challenge is not None
        findings.append(
            Finding(
                "TOKEN_URL_MISMATCH",
                Severity.WARNING,
                repo,
                f"The Bearer token URL of '{repo}' ({result.challenge.realm}) has {mismatch[1]}",
                "Behind a reverse proxy, Nexus must see the public scheme, host and port "
                "(forward Host and X-Forwarded-Proto, or set the Base URL capability); through "
                "a tunnel (--host) this is expected.",
            )
        )
    primary = _primary(result, ctx)
    if primary is not None:
        code, message, remedy = primary
        failed = result.failed
        assert failed is not None
        explain(code, _severity_of(code), failed.step, message, remedy)
    if result.catalog_count == 0 and result.failed is None:
        explain(
            "CATALOG_EMPTY",
            Severity.WARNING,
            Step.CATALOG,
            f"The catalog of '{repo}' lists no images: the scanner would scan nothing",
            "If images were pushed, the account may see none of them: Nexus lists only what "
            "it may browse. Check with the REST audit (nexus-audit check).",
        )
    if result.catalog_truncated:
        if result.catalog_stop == "time":
            message = (
                f"Listing the catalog of '{repo}' outlasted the step timeout; the probe stopped "
                f"after {result.catalog_count} images"
            )
        else:
            message = (
                f"The catalog of '{repo}' has more than {ctx.catalog_limit} images; the probe "
                "stopped there"
            )
        explain(
            "CATALOG_LARGE",
            Severity.WARNING,
            Step.CATALOG,
            message,
            "A group that proxies Docker Hub lists the upstream's images: point the scanner at "
            "the hosted repositories, or filter what it scans.",
        )
    return RepositoryProbe(result, tuple(findings), causes)


def merge_findings(
    audit_findings: Sequence[Finding], probe_findings: Sequence[Finding]
) -> tuple[Finding, ...]:
    """One sorted list, as ``audit`` sorts; a probe finding repeating a REST one is dropped."""
    seen = {(f.code, f.repository) for f in audit_findings}
    merged = list(audit_findings) + [
        f for f in probe_findings if (f.code, f.repository) not in seen
    ]
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return tuple(sorted(merged, key=lambda f: (order[f.severity], f.repository or "", f.code)))


def unaudited(
    instance: Instance, targets: Sequence[ProbeTarget], who: str, auth: AuthMode
) -> AuditResult:
    """An audit result for the report when the principal could not be audited from REST data."""
    unknown = AccessDecision(Access.UNKNOWN, (), "not audited: the probe's account is unknown here")
    return AuditResult(
        principal=PrincipalSummary(who, None, None, auth is AuthMode.ANONYMOUS, False),
        repositories=tuple(
            RepositoryResult(t.repository, t.registry, unknown, unknown, t.connector_known)
            for t in targets
        ),
        findings=(),
        auth=auth,
        base_url=instance.base_url,
        server=instance.server,
    )


def audit_for_probe(
    instance: Instance,
    credentials: Credentials,
    repos: Sequence[str],
    host: str | None,
    from_snapshot: bool,
) -> AuditResult | None:
    """The REST audit of the probe's own account, when the data can tell who that is."""
    auth = AuthMode.ANONYMOUS if credentials.kind == "none" else AuthMode(credentials.kind)
    user_id: str | None = None
    if from_snapshot and auth is AuthMode.TOKEN:
        return None  # A token's name code is not a user id, and a snapshot has no caller.
    if from_snapshot and auth is AuthMode.PASSWORD:
        user_id = credentials.username
    try:
        return audit(instance, user_id=user_id, auth=auth, repositories=repos or None, host=host)
    except UsageError:
        return None  # Who it is cannot be told from this data: probe without REST causes.
