"""The probe without a network: challenge parsing, addresses, paging, and the pure mapping.

:func:`audit.probe.diagnose` turns step outcomes into findings; every probe code is produced here
from hand-made outcomes, with and without a REST audit (the demo instance) to name the cause.
The request logic runs against ``httpx.MockTransport`` registries to pin down what is sent.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from audit.checks import AuthMode, Finding, Severity, audit
from audit.client import Credentials
from audit.emulator import load_dataset
from audit.model import DockerConnector, Instance, RegistryAddress, Repository, parse_instance
from audit.probe import (
    MANIFEST_ACCEPT,
    PROBE_CODES,
    Challenge,
    Endpoint,
    Failure,
    ProbeContext,
    Prober,
    ProbeResult,
    ProbeSettings,
    ProbeTarget,
    Status,
    Step,
    StepOutcome,
    _link_next,
    _severity_of,
    _with_page_size,
    diagnose,
    merge_findings,
    probe_targets,
    run_probes,
    ssl_context,
)
from audit.report import probe_report_document, render_probe_report

SECRET = "s3cret-Pa55"
SCANNER = Credentials("password", "scanner", SECRET)
BASIC = Challenge("basic", "r")


@pytest.fixture(scope="module")
def demo() -> Instance:
    return parse_instance(load_dataset("demo"))


# --------------------------------------------------------------------------- parsing


def test_nexus_basic_challenge_is_parsed() -> None:
    challenge = Challenge.parse(['BASIC realm="Sonatype Nexus Repository Manager"'])
    assert challenge == Challenge("basic", "Sonatype Nexus Repository Manager")


def test_bearer_challenge_gives_the_token_url_and_wins_over_basic() -> None:
    challenge = Challenge.parse(
        [
            'Basic realm="x"',
            'Bearer realm="https://nexus.example:8443/v2/token",service="https://nexus.example:'
            '8443/v2/token",scope="registry:catalog:*"',
        ]
    )
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://nexus.example:8443/v2/token"
    assert challenge.scope == "registry:catalog:*"
    assert Challenge.parse(["Bearer realm=https://h/token,service=reg"]) == Challenge(
        "bearer", "https://h/token", "reg"
    )
    assert Challenge.parse(["Negotiate abc", ""]) is None


@pytest.mark.parametrize(
    ("address", "scheme", "base", "prefix", "netloc"),
    [
        ("nexus.example:8082", "http", "http://nexus.example:8082", "", ("nexus.example", 8082)),
        (
            "docker.nexus.example",
            "https",
            "https://docker.nexus.example",
            "",
            ("docker.nexus.example", 443),
        ),
        (
            "nexus.example:8081/docker-hosted",
            "http",
            "http://nexus.example:8081",
            "docker-hosted/",
            ("nexus.example", 8081),
        ),
    ],
    ids=["connector", "subdomain", "path-routing"],
)
def test_endpoint_of_each_routing(
    address: str, scheme: str, base: str, prefix: str, netloc: tuple[str, int]
) -> None:
    endpoint = Endpoint.of(RegistryAddress(address, scheme, "any"))
    assert (endpoint.base_url, endpoint.prefix, endpoint.netloc) == (base, prefix, netloc)


def test_link_header_paging_helpers() -> None:
    link = '</v2/_catalog?last=b&n=100>; rel="next"'
    assert _link_next(link) == "/v2/_catalog?last=b&n=100"
    assert _link_next('<https://x/v2/_catalog?last=b>; rel="prev"') is None
    assert _link_next(None) is None
    assert _with_page_size("/v2/_catalog?last=b&n=100", 100, 20) == "/v2/_catalog?last=b&n=20"
    assert _with_page_size("/v2/_catalog?last=b", 50, 500) == "/v2/_catalog?last=b&n=50"


def test_probe_targets_follow_repo_names_and_reject_others(demo: Instance) -> None:
    targets = probe_targets(demo, ["docker-hosted"], "tunnel.local")
    assert [t.registry.address if t.registry else None for t in targets] == ["tunnel.local:8082"]
    every = probe_targets(demo, None, None)
    assert {t.repository.name for t in every} == {r.name for r in demo.docker_repositories}
    with pytest.raises(Exception, match="not Docker"):
        probe_targets(demo, ["maven-releases"], None)
    with pytest.raises(Exception, match="no Docker repository named 'nope'"):
        probe_targets(demo, ["nope"], None)


# --------------------------------------------------------------------------- mapping


def _repo(name: str = "docker-hosted", force_basic: bool = True) -> Repository:
    return Repository(name, "docker", "hosted", docker=DockerConnector(force_basic, 8082))


def _result(
    failed_step: Step | None = None,
    failure: Failure | None = None,
    status: int | None = None,
    *,
    challenge: Challenge | None = BASIC,
    login: str = "password",
    scheme: str = "http",
    url: str | None = None,
    **learnt: Any,
) -> ProbeResult:
    """A result whose steps are ok up to ``failed_step``, which failed, and skipped after."""
    steps = []
    state = Status.OK
    for step in Step:
        if step is failed_step:
            steps.append(StepOutcome(step, Status.FAILED, "it failed", url, status, failure))
            state = Status.SKIPPED
        else:
            steps.append(StepOutcome(step, state, "fine" if state is Status.OK else "not tried"))
    endpoint = Endpoint(f"{scheme}://nexus.example:8082")
    return ProbeResult("docker-hosted", endpoint, login, tuple(steps), challenge, **learnt)


def _codes(probe_findings: tuple[Finding, ...]) -> list[str]:
    return [f.code for f in probe_findings]


@pytest.mark.parametrize(
    ("step", "failure", "status", "code"),
    [
        (Step.CONNECT, Failure.REFUSED, None, "CONNECTION_REFUSED"),
        (Step.CONNECT, Failure.UNRESOLVED, None, "HOST_UNRESOLVED"),
        (Step.CONNECT, Failure.TLS_MISMATCH, None, "TLS_MISMATCH"),
        (Step.CONNECT, Failure.TLS_UNTRUSTED, None, "TLS_UNTRUSTED"),
        (Step.CONNECT, Failure.SPEAKS_HTTP, None, "WRONG_SCHEME"),
        (Step.CONNECT, Failure.SPEAKS_HTTPS, 400, "WRONG_SCHEME"),
        (Step.CONNECT, Failure.TIMEOUT, None, "PROBE_TIMEOUT"),
        (Step.CONNECT, Failure.NETWORK, None, "REGISTRY_ERROR"),
        (Step.CHALLENGE, Failure.STATUS, 404, "NOT_A_REGISTRY"),
        (Step.LOGIN, Failure.STATUS, 401, "AUTH_FAILED"),
        (Step.LOGIN, Failure.WITHHELD, None, "CREDENTIALS_WITHHELD"),
        (Step.LOGIN, Failure.STATUS, 500, "REGISTRY_ERROR"),
        (Step.CATALOG, Failure.STATUS, 403, "CATALOG_DENIED"),
        (Step.CATALOG, Failure.STATUS, 404, "CATALOG_DENIED"),
        (Step.CATALOG, Failure.STATUS, 502, "REGISTRY_ERROR"),
        (Step.CATALOG, Failure.TIMEOUT, None, "PROBE_TIMEOUT"),
        (Step.TAGS, Failure.STATUS, 401, "PULL_DENIED"),
        (Step.MANIFEST, Failure.STATUS, 403, "PULL_DENIED"),
    ],
)
def test_each_failure_maps_to_its_probe_code(
    step: Step, failure: Failure, status: int | None, code: str
) -> None:
    probe = diagnose(_result(step, failure, status), ProbeContext(_repo()))
    assert _codes(probe.findings) == [code]
    finding = probe.findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.repository == "docker-hosted"
    assert finding.message and finding.remedy
    assert code in PROBE_CODES
    assert probe.causes == {}  # no REST data: no cause named


def test_a_clean_run_has_no_findings() -> None:
    probe = diagnose(_result(catalog_count=3, image="a", tag="1"), ProbeContext(_repo()))
    assert probe.findings == ()


def test_bearer_token_url_failures_are_token_url_unreachable() -> None:
    realm = "https://nexus.example:8082/v2/token"
    challenge = Challenge("bearer", realm, "svc")
    for step in (Step.LOGIN, Step.TAGS):
        result = _result(step, Failure.REFUSED, challenge=challenge, url=realm, scheme="https")
        assert _codes(diagnose(result, ProbeContext(_repo())).findings) == ["TOKEN_URL_UNREACHABLE"]
    # A refused pull token is a denied pull, not an unreachable URL.
    refused = _result(Step.TAGS, Failure.STATUS, 401, challenge=challenge, url=realm)
    assert "PULL_DENIED" in _codes(diagnose(refused, ProbeContext(_repo())).findings)


def test_a_token_url_on_plain_http_behind_tls_is_a_warning() -> None:
    realm = "http://nexus.example:8082/v2/token"
    result = _result(challenge=Challenge("bearer", realm), scheme="https", catalog_count=1)
    (finding,) = diagnose(result, ProbeContext(_repo())).findings
    assert (finding.code, finding.severity) == ("TOKEN_URL_MISMATCH", Severity.WARNING)
    assert "scheme http:// while the registry is https://" in finding.message
    same = _result(
        challenge=Challenge("bearer", "https://nexus.example:8082/v2/token"),
        scheme="https",
        catalog_count=1,
    )
    assert diagnose(same, ProbeContext(_repo())).findings == ()


def test_a_token_url_elsewhere_is_named_only_when_it_cannot_be_reached() -> None:
    realm = "https://nexus-internal:8443/v2/token"
    challenge = Challenge("bearer", realm)
    reachable = _result(challenge=challenge, scheme="https", catalog_count=1)
    assert diagnose(reachable, ProbeContext(_repo())).findings == ()
    unreachable = _result(
        Step.LOGIN, Failure.UNRESOLVED, challenge=challenge, scheme="https", url=realm
    )
    (finding,) = diagnose(unreachable, ProbeContext(_repo())).findings
    assert finding.code == "TOKEN_URL_UNREACHABLE"
    assert "address nexus-internal:8443, not the registry's own" in finding.message


def test_empty_and_capped_catalogs_are_warnings() -> None:
    empty = diagnose(_result(catalog_count=0), ProbeContext(_repo()))
    assert [(f.code, f.severity) for f in empty.findings] == [("CATALOG_EMPTY", Severity.WARNING)]
    capped = diagnose(
        _result(catalog_count=120, catalog_truncated=True, catalog_stop="limit"),
        ProbeContext(_repo(), catalog_limit=120),
    )
    assert [(f.code, f.severity) for f in capped.findings] == [("CATALOG_LARGE", Severity.WARNING)]
    assert "more than 120" in capped.findings[0].message
    slow = diagnose(
        _result(catalog_count=300, catalog_truncated=True, catalog_stop="time"),
        ProbeContext(_repo()),
    )
    assert [f.code for f in slow.findings] == ["CATALOG_LARGE"]
    assert "outlasted the step timeout" in slow.findings[0].message
    assert "after 300 images" in slow.findings[0].message


def test_catalog_denied_names_the_missing_browse_privilege(demo: Instance) -> None:
    # In the demo, 'scanner' reads docker-hosted but cannot browse it.
    report = audit(demo, user_id="scanner", repositories=["docker-hosted"])
    repo = demo.repository("docker-hosted")
    assert repo is not None
    probe = diagnose(_result(Step.CATALOG, Failure.STATUS, 403), ProbeContext(repo, report, demo))
    (finding,) = probe.findings
    assert finding.code == "CATALOG_DENIED"
    assert "missing nx-repository-view-docker-docker-hosted-browse" in finding.message
    assert "[BROWSE_MISSING]" in finding.message
    assert "nx-repository-view-docker-docker-hosted-browse" in finding.remedy
    assert probe.causes == {Step.CATALOG: "BROWSE_MISSING"}


def test_pull_denied_names_missing_read_or_a_content_selector(demo: Instance) -> None:
    # alice (LDAP group devs) has nothing on docker-group; trivy only a content selector.
    group = demo.repository("docker-group")
    hosted = demo.repository("docker-hosted")
    assert group is not None and hosted is not None
    denied = _result(Step.MANIFEST, Failure.STATUS, 403, image="library/alpine")
    alice = audit(demo, user_id="alice", repositories=["docker-group"])
    assert diagnose(denied, ProbeContext(group, alice, demo)).causes == {
        Step.MANIFEST: "READ_MISSING"
    }
    trivy = audit(demo, user_id="trivy", repositories=["docker-hosted"])
    assert diagnose(denied, ProbeContext(hosted, trivy, demo)).causes == {
        Step.MANIFEST: "ACCESS_PARTIAL"
    }


def test_auth_failed_for_a_saml_user_points_to_a_user_token(demo: Instance) -> None:
    report = audit(demo, user_id="bob.sso", repositories=["docker-hosted"])
    repo = demo.repository("docker-hosted")
    assert repo is not None
    probe = diagnose(_result(Step.LOGIN, Failure.STATUS, 401), ProbeContext(repo, report, demo))
    (finding,) = probe.findings
    assert finding.code == "AUTH_FAILED"
    assert probe.causes == {Step.LOGIN: "EXTERNAL_USER_NEEDS_TOKEN"}
    assert "user token" in finding.remedy


def test_anonymous_against_forced_basic_auth_names_the_setting(demo: Instance) -> None:
    result = _result(Step.LOGIN, Failure.STATUS, 401, login="anonymous")
    # Without an audit, from the repository's own settings...
    alone = diagnose(result, ProbeContext(_repo(force_basic=True)))
    assert alone.causes == {Step.LOGIN: "ANONYMOUS_BLOCKED_BY_BASIC_AUTH"}
    assert "forceBasicAuth" in alone.findings[0].remedy
    # ...and from the REST audit of the anonymous user.
    report = audit(demo, auth=AuthMode.ANONYMOUS, repositories=["docker-hosted"])
    repo = demo.repository("docker-hosted")
    assert repo is not None
    assert diagnose(result, ProbeContext(repo, report, demo)).causes == {
        Step.LOGIN: "ANONYMOUS_BLOCKED_BY_BASIC_AUTH"
    }
    # A registry without forced Basic auth has no such cause.
    assert diagnose(result, ProbeContext(_repo(force_basic=False))).causes == {}


def test_connection_refused_on_an_offline_repository(demo: Instance) -> None:
    report = audit(demo, user_id="harbor-ok", repositories=["docker-archive"])
    repo = demo.repository("docker-archive")
    assert repo is not None
    probe = diagnose(_result(Step.CONNECT, Failure.REFUSED), ProbeContext(repo, report, demo))
    assert probe.causes == {Step.CONNECT: "REPOSITORY_OFFLINE"}


def test_a_capped_group_catalog_names_the_upstream_proxy(demo: Instance) -> None:
    group = demo.repository("docker-group")
    assert group is not None
    capped = _result(catalog_count=1000, catalog_truncated=True)
    # From the instance alone (no principal), and from the audit's finding.
    assert diagnose(capped, ProbeContext(group, None, demo)).causes == {
        Step.CATALOG: "GROUP_INCLUDES_UPSTREAM_PROXY"
    }
    report = audit(demo, user_id="harbor-ok", repositories=["docker-group"])
    probe = diagnose(capped, ProbeContext(group, report, demo))
    assert probe.causes == {Step.CATALOG: "GROUP_INCLUDES_UPSTREAM_PROXY"}
    assert "docker-proxy" in probe.findings[0].message


def test_repositories_without_an_address_are_not_probed(demo: Instance) -> None:
    internal = demo.repository("docker-internal")  # no connector at all
    assert internal is not None
    no_address = StepOutcome(Step.CONNECT, Status.FAILED, "no address", failure=Failure.NO_ADDRESS)
    result = ProbeResult("docker-internal", None, "password", (no_address,))
    assert _codes(diagnose(result, ProbeContext(internal)).findings) == ["NO_CONNECTOR"]
    unknown = Repository("docker-secret", "docker", "hosted")  # connector settings unreadable
    finding = diagnose(result, ProbeContext(unknown)).findings[0]
    assert (finding.code, finding.severity) == ("ACCESS_UNKNOWN", Severity.WARNING)


def test_merge_drops_probe_findings_that_repeat_the_audit() -> None:
    audit_findings = [Finding("NO_CONNECTOR", Severity.ERROR, "r", "rest", "fix")]
    probe_findings = [
        Finding("NO_CONNECTOR", Severity.ERROR, "r", "probe", "fix"),
        Finding("CATALOG_EMPTY", Severity.WARNING, "r", "empty", "fix"),
        Finding("AUTH_FAILED", Severity.ERROR, "a", "auth", "fix"),
    ]
    merged = merge_findings(audit_findings, probe_findings)
    assert [(f.code, f.message) for f in merged] == [
        ("AUTH_FAILED", "auth"),
        ("NO_CONNECTOR", "rest"),
        ("CATALOG_EMPTY", "empty"),
    ]


# --------------------------------------------------------------------------- requests (mocked)

Handler = Callable[[httpx.Request], httpx.Response]


def _probe(
    handler: Handler,
    registry: RegistryAddress,
    credentials: Credentials = SCANNER,
    **settings: Any,
) -> tuple[ProbeResult, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    target = ProbeTarget(_repo(), registry)
    options = ProbeSettings(credentials, **settings)
    context = ssl_context(options.insecure, None)
    result = Prober(target, options, context, httpx.MockTransport(recording)).run()
    return result, seen


def _basic_registry(request: httpx.Request) -> httpx.Response:
    expected = "Basic " + base64.b64encode(f"scanner:{SECRET}".encode()).decode()
    if request.headers.get("authorization") != expected:
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="Registry"'})
    path = request.url.path
    if path == "/v2/":
        return httpx.Response(200, json={})
    if path == "/v2/_catalog":
        return httpx.Response(200, json={"repositories": ["library/alpine"]})
    if path == "/v2/library/alpine/tags/list":
        return httpx.Response(200, json={"name": "library/alpine", "tags": ["3.19", "latest"]})
    if path == "/v2/library/alpine/manifests/latest":
        return httpx.Response(
            200,
            headers={
                "Content-Type": "application/vnd.oci.image.index.v1+json",
                "Docker-Content-Digest": "sha256:" + "ab" * 32,
            },
        )
    return httpx.Response(404)


def test_credentials_never_travel_over_plain_http_without_insecure() -> None:
    plain = RegistryAddress("nexus.example:8082", "http", "http-connector")
    result, seen = _probe(_basic_registry, plain)
    assert result.outcome(Step.LOGIN) is not None
    login = result.outcome(Step.LOGIN)
    assert login is not None and login.failure is Failure.WITHHELD
    assert all("authorization" not in r.headers for r in seen)
    assert not result.credentials_sent
    # Allowed with --insecure, and then reported as such.
    allowed, seen = _probe(_basic_registry, plain, insecure=True)
    assert allowed.failed is None, allowed.steps
    assert allowed.credentials_sent and allowed.plain_http_credentials
    assert any("authorization" in r.headers for r in seen)


def test_basic_over_tls_walks_every_step_and_hides_the_secret() -> None:
    secure = RegistryAddress("nexus.example:8443", "https", "https-connector")
    result, seen = _probe(_basic_registry, secure)
    assert [s.status for s in result.steps] == [Status.OK] * len(Step)
    assert (result.image, result.tag) == ("library/alpine", "latest")
    assert result.manifest_type == "application/vnd.oci.image.index.v1+json"
    head = next(r for r in seen if r.method == "HEAD")
    assert head.headers["accept"] == MANIFEST_ACCEPT
    for media_type in (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ):
        assert media_type in head.headers["accept"]
    assert result.credentials_sent and not result.plain_http_credentials
    assert SECRET not in repr(result)
    encoded = base64.b64encode(f"scanner:{SECRET}".encode()).decode()
    assert encoded not in repr(result)


def _token_registry(tokens: list[dict[str, list[str]]]) -> Handler:
    """A Bearer registry at https://reg.example whose realm issues one token per scope."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            query = parse_qs(request.url.query.decode())
            tokens.append({**query, "auth": [request.headers.get("authorization", "")]})
            return httpx.Response(200, json={"token": "tok-" + query["scope"][0]})
        scope = {
            "/v2/_catalog": "registry:catalog:*",
            "/v2/library/alpine/tags/list": "repository:library/alpine:pull",
            "/v2/library/alpine/manifests/3.19": "repository:library/alpine:pull",
        }.get(request.url.path)
        if request.headers.get("authorization") != f"Bearer tok-{scope}":
            challenge = 'Bearer realm="https://reg.example/token",service="reg.example"'
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        if request.url.path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": ["library/alpine"]})
        if request.url.path.endswith("/tags/list"):
            return httpx.Response(200, json={"tags": ["3.19"]})
        return httpx.Response(200, headers={"Content-Type": "application/json"})

    return handle


def test_bearer_login_fetches_scoped_tokens_like_a_scanner() -> None:
    tokens: list[dict[str, list[str]]] = []
    registry = RegistryAddress("reg.example", "https", "https-connector")
    result, _ = _probe(_token_registry(tokens), registry)
    assert result.failed is None, result.steps
    assert result.challenge == Challenge("bearer", "https://reg.example/token", "reg.example")
    assert [t["scope"] for t in tokens] == [
        ["registry:catalog:*"],
        ["repository:library/alpine:pull"],
    ]
    assert all(t["service"] == ["reg.example"] and t["account"] == ["scanner"] for t in tokens)
    assert all(t["auth"][0].startswith("Basic ") for t in tokens)
    # Anonymous scanners ask the same realm without credentials.
    tokens.clear()
    anonymous, _ = _probe(_token_registry(tokens), registry, Credentials("none"))
    assert anonymous.failed is None
    assert all(t["auth"] == [""] and "account" not in t for t in tokens)
    assert not anonymous.credentials_sent


def test_catalog_is_paged_with_link_headers_and_capped() -> None:
    names = [f"img{i:03d}" for i in range(250)]
    page_sizes: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200, json={})
        if request.url.path != "/v2/_catalog":
            return httpx.Response(200, json={"tags": []})
        query = parse_qs(request.url.query.decode())
        size = int(query["n"][0])
        page_sizes.append(size)
        start = names.index(query["last"][0]) + 1 if "last" in query else 0
        chunk = names[start : start + size]
        headers = {}
        if start + size < len(names):
            headers["Link"] = f'</v2/_catalog?last={chunk[-1]}&n={size}>; rel="next"'
        return httpx.Response(200, json={"repositories": chunk}, headers=headers)

    registry = RegistryAddress("reg.example", "https", "https-connector")
    result, _ = _probe(handle, registry, catalog_limit=120, page_size=50)
    assert page_sizes == [50, 50, 20]
    assert (result.catalog_count, result.catalog_truncated, result.catalog_pages) == (120, True, 3)
    whole, _ = _probe(handle, registry, catalog_limit=1000, page_size=100)
    assert (whole.catalog_count, whole.catalog_truncated, whole.catalog_pages) == (250, False, 3)


def test_a_slow_catalog_stops_at_the_step_timeout_with_what_it_has() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v2/_catalog":
            return httpx.Response(200, json={"tags": []})
        time.sleep(0.3)  # each page outlasts the 0.2 s step
        last = parse_qs(request.url.query.decode()).get("last", ["p0"])[0]
        page = int(last[1:]) + 1
        link = f'</v2/_catalog?last=p{page}&n=100>; rel="next"'
        return httpx.Response(200, json={"repositories": [f"p{page}"]}, headers={"Link": link})

    registry = RegistryAddress("reg.example", "https", "https-connector")
    result, _ = _probe(handle, registry, step_timeout=0.2)
    catalog = result.outcome(Step.CATALOG)
    assert catalog is not None and catalog.status is Status.OK
    assert (result.catalog_count, result.catalog_stop, result.catalog_pages) == (1, "time", 1)
    assert "stopped at the step timeout of 0.2s" in catalog.detail


def test_path_routing_keeps_the_repository_prefix() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": ["other/x", "docker-hosted/app"]})
        if path == "/v2/docker-hosted/app/tags/list":
            return httpx.Response(200, json={"tags": ["1"]})
        if path in ("/v2/", "/v2/docker-hosted/app/manifests/1"):
            return httpx.Response(200, json={})
        return httpx.Response(404)

    registry = RegistryAddress("nexus.example/docker-hosted", "https", "path")
    result, _ = _probe(handle, registry)
    assert result.failed is None, result.steps
    assert (result.catalog_count, result.image) == (1, "docker-hosted/app")


def test_a_server_error_in_the_catalog_is_a_registry_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        return httpx.Response(500, json={"errors": [{"code": "UNKNOWN", "message": "boom"}]})

    registry = RegistryAddress("reg.example", "https", "https-connector")
    result, _ = _probe(handle, registry)
    catalog = result.outcome(Step.CATALOG)
    assert catalog is not None and catalog.http_status == 500 and "(UNKNOWN)" in catalog.detail
    probe = diagnose(result, ProbeContext(_repo()))
    assert _codes(probe.findings) == ["REGISTRY_ERROR"]


def test_a_web_page_on_v2_is_not_a_registry() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, headers={"Content-Type": "text/html"}, text="<html>")

    result, _ = _probe(handle, RegistryAddress("nexus.example", "https", "subdomain"))
    challenge = result.outcome(Step.CHALLENGE)
    assert challenge is not None and challenge.status is Status.FAILED
    assert "404" in challenge.detail and "text/html" in challenge.detail
    assert _codes(diagnose(result, ProbeContext(_repo())).findings) == ["NOT_A_REGISTRY"]


def test_run_probes_keeps_target_order_and_reports_progress_in_the_caller() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/_catalog":
            return httpx.Response(200, json={"repositories": []})
        return httpx.Response(200, json={})

    targets = [
        ProbeTarget(_repo(f"docker-{i}"), RegistryAddress(f"reg{i}.example", "https", "x"))
        for i in range(7)
    ]
    done: list[tuple[str, str]] = []
    results = run_probes(
        targets,
        ProbeSettings(SCANNER, concurrency=3),
        on_done=lambda r: done.append((r.repository, threading.current_thread().name)),
        transport=httpx.MockTransport(handle),
    )
    assert [r.repository for r in results] == [f"docker-{i}" for i in range(7)]
    assert [r.endpoint.base_url if r.endpoint else None for r in results] == [
        f"https://reg{i}.example" for i in range(7)
    ]
    assert sorted(name for name, _ in done) == [f"docker-{i}" for i in range(7)]
    assert {thread for _, thread in done} == {threading.current_thread().name}
    assert run_probes([], ProbeSettings(SCANNER)) == []


# --------------------------------------------------------------------------- report


def test_report_document_holds_every_step_and_cause(demo: Instance) -> None:
    report = audit(demo, user_id="scanner", repositories=["docker-hosted"])
    repo = demo.repository("docker-hosted")
    assert repo is not None
    probe = diagnose(_result(Step.CATALOG, Failure.STATUS, 403), ProbeContext(repo, report, demo))
    settings = ProbeSettings(SCANNER)
    combined = type(report)(**{**report.__dict__, "findings": probe.findings})
    document = probe_report_document(combined, [probe], settings)
    (entry,) = document["repositories"]
    steps = entry["probe"]["steps"]
    assert [s["step"] for s in steps] == [s.value for s in Step]
    assert steps[3] == {
        "step": "catalog",
        "status": "failed",
        "detail": "it failed",
        "url": None,
        "httpStatus": 403,
        "failure": "status",
        "cause": "BROWSE_MISSING",
        "elapsedMs": 0,
    }
    assert document["findings"][0]["code"] == "CATALOG_DENIED"
    assert document["probe"]["plainHttpCredentials"] == "never sent"
    assert document["ok"] is False
    json.dumps(document)
    table = render_probe_report(combined, [probe], settings, "table")
    assert "Probe docker-hosted: http://nexus.example:8082" in table
    assert "[cause: BROWSE_MISSING]" in table
    assert "FAILED" in table and SECRET not in table
    markdown = render_probe_report(combined, [probe], settings, "markdown")
    assert markdown.startswith("## nexus-audit preflight")
    assert "| catalog" in markdown


def test_readme_documents_every_probe_code_with_its_severity() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Probing the registries", 1)[1].split("\n## ", 1)[0]
    for code in PROBE_CODES:
        assert f"| `{code}` | {_severity_of(code).value} |" in section, code
