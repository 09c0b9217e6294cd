"""The REST client against the emulator over real HTTP: capture, retries and every failure mode."""

from __future__ import annotations

import copy
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from audit.client import ConnectionSettings, Credentials, NexusClient, normalize_base_url
from audit.emulator import Fault, NexusEmulator
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
from audit.model import parse_instance

ADMIN_PASSWORD = "admin123"
SCANNER_PASSWORD = "scanner123"


def client_for(
    url: str,
    username: str | None = "admin",
    password: str | None = ADMIN_PASSWORD,
    **settings: Any,
) -> NexusClient:
    credentials = (
        Credentials("none") if username is None else Credentials("password", username, password)
    )
    settings.setdefault("backoff", 0.0)
    settings.setdefault("timeout", 5.0)
    return NexusClient(ConnectionSettings(url, credentials, **settings))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://nexus.example.com", "https://nexus.example.com"),
        ("https://nexus.example.com/", "https://nexus.example.com"),
        ("https://nexus.example.com/nexus/", "https://nexus.example.com/nexus"),
        ("https://nexus.example.com/service/rest", "https://nexus.example.com"),
        ("https://nexus.example.com/nexus/service/rest/v1", "https://nexus.example.com/nexus"),
        ("http://10.0.0.5:8081/service/rest/", "http://10.0.0.5:8081"),
    ],
)
def test_base_url_is_normalized(typed: str, expected: str) -> None:
    assert normalize_base_url(typed) == expected


@pytest.mark.parametrize(
    "typed", ["nexus.example.com", "ftp://nexus.example.com", "https://", "https://u:p@host"]
)
def test_bad_base_urls_are_usage_errors(typed: str) -> None:
    with pytest.raises(UsageError):
        normalize_base_url(typed)


def test_admin_capture_reads_every_section(emulator: NexusEmulator) -> None:
    with client_for(emulator.url) as client:
        document = client.capture(user_id="scanner")
    instance = parse_instance(document)
    assert document["server"].startswith("Nexus/3.77.1")
    assert document["captured_as"] == "admin"
    assert instance.users is not None and instance.find_users("scanner")
    assert instance.find_users("alice")[0].source == "LDAP"
    assert instance.roles is not None and "hg-scan" in instance.roles
    assert instance.privileges is not None and "nx-all" in instance.privileges
    assert instance.realms_active is not None
    assert instance.anonymous is not None and instance.anonymous.enabled
    assert {r.name for r in instance.docker_repositories} >= {"docker-hosted", "docker-group"}
    # Community edition: user tokens are absent, which is recorded, not fatal.
    assert instance.user_tokens is None
    assert document["unavailable"]["user_tokens"].startswith("404")
    assert "caller_permissions" not in document


def test_request_count_is_constant_whatever_the_size(
    demo_dataset: dict[str, Any], make_emulator: Any
) -> None:
    def count(dataset: dict[str, Any]) -> int:
        emulator = make_emulator(dataset)
        with client_for(emulator.url) as client:
            client.capture(user_id="scanner")
        return len(emulator.requests)

    small = count(copy.deepcopy(demo_dataset))
    large = copy.deepcopy(demo_dataset)
    for i in range(40):
        user = copy.deepcopy(large["users"][0])
        user["userId"] = f"bulk-user-{i}"
        large["users"].append(user)
        role = {
            "id": f"bulk-role-{i}",
            "name": f"bulk-role-{i}",
            "source": "default",
            "description": "",
            "readOnly": False,
            "privileges": [],
            "roles": [],
        }
        large["roles"].append(role)
    assert count(large) == small
    assert small <= 14


def test_self_capture_without_security_rights_uses_own_permissions(
    emulator: NexusEmulator,
) -> None:
    with client_for(emulator.url, "scanner", SCANNER_PASSWORD) as client:
        document = client.capture(require_security=False)
    assert document["caller"]["userId"] == "scanner"
    assert document["users"] is None
    assert document["unavailable"]["users"] == "403 Forbidden: needs nx-users-read"
    permissions = {item["id"] for item in document["caller_permissions"]}
    assert "nexus:repository-view:docker:docker-hosted:read" in permissions
    assert "nexus:repository-view:docker:docker-hosted:browse" not in permissions


def test_wrong_password_is_a_one_line_auth_error_without_the_secret(
    emulator: NexusEmulator,
) -> None:
    with (
        client_for(emulator.url, "admin", "not-the-password") as client,
        pytest.raises(NexusAuthError) as caught,
    ):
        client.capture()
    message = str(caught.value)
    assert message.startswith("401")
    assert "'admin'" in message and "user token" in message
    assert "not-the-password" not in message and "\n" not in message


def test_forbidden_names_the_missing_privilege(emulator: NexusEmulator) -> None:
    with (
        client_for(emulator.url, "scanner", SCANNER_PASSWORD) as client,
        pytest.raises(NexusPermissionError) as caught,
    ):
        client.capture(user_id="scanner")
    assert caught.value.privilege == "nx-users-read"
    assert "lacks nx-users-read" in str(caught.value)


def test_anonymous_caller_is_told_to_log_in(emulator: NexusEmulator) -> None:
    with client_for(emulator.url, None) as client, pytest.raises(NexusPermissionError) as caught:
        client.capture()
    assert "log in" in str(caught.value)


def test_missing_endpoint_says_version_or_edition(emulator: NexusEmulator) -> None:
    emulator.inject("/service/rest/v1/security/roles", Fault(kind="status", status=404))
    with client_for(emulator.url) as client, pytest.raises(NexusEndpointMissing) as caught:
        client.capture()
    assert "absent in this Nexus version or edition" in str(caught.value)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(kind="html"), "HTML page instead of JSON"),
        (Fault(kind="malformed"), "malformed JSON"),
        (Fault(kind="wrong-shape"), "where a list was expected"),
        (Fault(kind="status", status=500), "500"),
    ],
)
def test_bad_bodies_are_one_line_errors(
    emulator: NexusEmulator, fault: Fault, expected: str
) -> None:
    emulator.inject("/service/rest/v1/security/privileges", fault)
    with client_for(emulator.url) as client, pytest.raises(NexusResponseError) as caught:
        client.capture()
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_transient_errors_are_retried(emulator: NexusEmulator) -> None:
    emulator.inject("/service/rest/v1/security/roles", Fault(kind="status", status=503, times=2))
    with client_for(emulator.url, retries=3) as client:
        document = client.capture()
    assert document["roles"]
    roles_calls = [r for r in emulator.requests if r.path.endswith("/v1/security/roles")]
    assert len(roles_calls) == 3


def test_retries_are_bounded(emulator: NexusEmulator) -> None:
    emulator.inject("/service/rest/v1/security/roles", Fault(kind="status", status=503))
    with (
        client_for(emulator.url, retries=2) as client,
        pytest.raises(NexusConnectionError) as caught,
    ):
        client.capture()
    assert "after 3 attempts" in str(caught.value)
    roles_calls = [r for r in emulator.requests if r.path.endswith("/v1/security/roles")]
    assert len(roles_calls) == 3


def test_dropped_connections_are_retried_then_reported(emulator: NexusEmulator) -> None:
    emulator.inject("/service/rest/v1/security/users", Fault(kind="reset"))
    with (
        client_for(emulator.url, retries=1) as client,
        pytest.raises(NexusConnectionError) as caught,
    ):
        client.capture()
    assert "connection dropped" in str(caught.value)


def test_timeout_is_reported(emulator: NexusEmulator) -> None:
    emulator.inject("/service/rest/v1/security/users", Fault(kind="slow", delay=1.5))
    with (
        client_for(emulator.url, timeout=0.3) as client,
        pytest.raises(NexusConnectionError) as caught,
    ):
        client.capture()
    assert "timed out after 0.3s" in str(caught.value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connection(emulator: NexusEmulator) -> None:
    with (
        client_for(f"http://127.0.0.1:{_free_port()}") as client,
        pytest.raises(NexusConnectionError) as caught,
    ):
        client.capture()
    assert "connection refused" in str(caught.value)


def test_unknown_host() -> None:
    with (
        client_for("https://nexus.invalid") as client,
        pytest.raises(NexusConnectionError) as caught,
    ):
        client.capture()
    assert "cannot resolve host 'nexus.invalid'" in str(caught.value)


def test_context_path_and_rest_suffix(demo_dataset: dict[str, Any], make_emulator: Any) -> None:
    emulator = make_emulator(demo_dataset, context_path="/nexus")
    assert emulator.url.endswith("/nexus")
    with client_for(emulator.url + "/service/rest/") as client:
        document = client.capture()
    assert document["base_url"] == emulator.url
    assert document["users"]


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture()
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[int]:
    """An HTTPS server with a self-signed certificate for 'localhost'."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_untrusted_certificate_suggests_ca_bundle(tls_server: int) -> None:
    with (
        client_for(f"https://localhost:{tls_server}") as client,
        pytest.raises(NexusTLSError) as caught,
    ):
        client.get_json("/v1/security/users")
    assert "--ca-bundle" in str(caught.value)


def test_ca_bundle_makes_the_certificate_trusted(
    tls_server: int, self_signed: tuple[Path, Path]
) -> None:
    with client_for(f"https://localhost:{tls_server}", verify=str(self_signed[0])) as client:
        assert client.get_json("/v1/security/users") == []


def test_certificate_for_another_name_is_rejected(
    tls_server: int, self_signed: tuple[Path, Path]
) -> None:
    with (
        client_for(f"https://127.0.0.1:{tls_server}", verify=str(self_signed[0])) as client,
        pytest.raises(NexusTLSError) as caught,
    ):
        client.get_json("/v1/security/users")
    assert "127.0.0.1" in str(caught.value)


def test_insecure_skips_verification(tls_server: int) -> None:
    with client_for(f"https://localhost:{tls_server}", verify=False) as client:
        assert client.get_json("/v1/security/users") == []


def test_https_to_a_plain_http_port_hints_at_the_scheme(emulator: NexusEmulator) -> None:
    with (
        client_for(emulator.url.replace("http://", "https://")) as client,
        pytest.raises(NexusError) as caught,
    ):
        client.capture()
    assert "http://" in str(caught.value)


def test_credentials_repr_hides_the_secret() -> None:
    credentials = Credentials("password", "admin", "s3cret-value")
    assert "s3cret-value" not in repr(credentials)
    assert "s3cret-value" not in repr(ConnectionSettings("https://x", credentials))
