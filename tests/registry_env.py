"""Real Docker registries for the probe tests: Debian's docker-registry and nginx on loopback.

Everything runs from a temporary directory on free 127.0.0.1 ports and is stopped at the end:
registries (CNCF distribution, ``docker-registry serve``) with htpasswd Basic auth, without auth,
and with token auth; nginx terminating TLS with certificates from a throw-away CA; a tiny token
service signing JWTs with ``openssl``; and images pushed through the registry API (blobs, an
image config and a schema2 manifest), so no Docker engine or skopeo is needed. A large catalog
is made by cloning one pushed repository on disk (:func:`clone_repository`).
"""

from __future__ import annotations

import base64
import fnmatch
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

#: What the live tests run, and the Debian package that ships each.
BINARIES: Mapping[str, str] = {
    "docker-registry": "docker-registry",
    "nginx": "nginx",
    "htpasswd": "apache2-utils",
    "openssl": "openssl",
}

SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def require_binaries() -> None:
    """Fail (CI) or skip (a developer machine) with the install line when a binary is missing.

    Under CI (``CI=true``) the live tests are mandatory; elsewhere a missing Debian package must
    not turn the whole suite red, but the skip reason says exactly what to install.
    """
    missing = sorted({package for binary, package in BINARIES.items() if _find(binary) is None})
    if not missing:
        return
    message = (
        "the live probe tests need "
        + ", ".join(missing)
        + ": apt-get install --no-install-recommends "
        + " ".join(missing)
        + " (bash .ci/run does it)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _find(binary: str) -> str | None:
    # nginx lives in /usr/sbin, which is not on every user's PATH.
    return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin:/bin")


def binary(name: str) -> str:
    found = _find(name)
    assert found is not None, name
    return found


def free_port() -> int:
    """A port nothing listens on right now (and, unless raced, when the caller binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(*args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(args, input=stdin, capture_output=True, check=False, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


# --------------------------------------------------------------------------- processes


@dataclass
class Daemon:
    """A child process listening on ``ports``, with its output in ``log``."""

    name: str
    args: list[str]
    log: Path
    ports: Sequence[int]
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> Daemon:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        waiting = list(self.ports)
        while waiting:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not listen on {waiting}:\n{self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.2):
                    waiting.pop(0)
            except OSError:
                time.sleep(0.02)
        return self

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Pki:
    """A throw-away CA and two server certificates it signed."""

    ca: Path
    localhost: tuple[Path, Path]
    """Certificate and key for DNS:localhost and IP:127.0.0.1."""
    other_name: tuple[Path, Path]
    """Certificate and key for DNS:registry.other.example only (a name mismatch here)."""


def make_pki(directory: Path) -> Pki:
    openssl = binary("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        openssl, "req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=nexus-audit test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip

    def leaf(name: str, alt_names: str) -> tuple[Path, Path]:
        key, csr, cert = (directory / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
        extensions = directory / f"{name}.ext"
        extensions.write_text(
            f"subjectAltName={alt_names}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
        )
        run(openssl, "req", "-new", *ec, "-keyout", str(key), "-out", str(csr), "-subj",
            f"/CN={name}")  # fmt: skip
        run(
            openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions),
        )  # fmt: skip
        return cert, key

    return Pki(
        ca=ca,
        localhost=leaf("localhost", "DNS:localhost,IP:127.0.0.1"),
        other_name=leaf("registry.other.example", "DNS:registry.other.example"),
    )


# --------------------------------------------------------------------------- token service


@dataclass(frozen=True)
class Grant:
    """Who may do what: ``user`` (``None`` = anonymous), resource type, name pattern, actions."""

    user: str | None
    type: str
    name: str
    actions: tuple[str, ...]


class TokenService:
    """A registry token service (the Docker token spec) signing RS256 JWTs with ``openssl``.

    The registry trusts the signing certificate (``rootcertbundle``) and finds it in the JWT's
    ``x5c`` header. Wrong credentials get 401, like Nexus's ``/v2/token``; the granted access is
    the intersection of the requested scopes and :class:`Grant` rules.
    """

    issuer = "nexus-audit-test-issuer"
    service = "nexus-audit-test-registry"

    def __init__(self, directory: Path, users: Mapping[str, str], grants: Sequence[Grant]) -> None:
        self.key = directory / "token.key"
        self.cert = directory / "token.pem"
        run(
            binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(self.key), "-out", str(self.cert), "-days", "2",
            "-subj", "/CN=nexus-audit token signer",
        )  # fmt: skip
        der = run(binary("openssl"), "x509", "-in", str(self.cert), "-outform", "DER")
        self._x5c = base64.b64encode(der).decode("ascii")
        self.users = dict(users)
        self.grants = list(grants)
        self.requests: list[dict[str, Any]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                service.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> TokenService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mint(self, subject: str, access: Sequence[Mapping[str, Any]]) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 30,
            "iat": now,
            "jti": hashlib.sha256(os.urandom(16)).hexdigest()[:16],
            "access": list(access),
        }
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        signature = run(
            binary("openssl"), "dgst", "-sha256", "-sign", str(self.key),
            stdin=signing_input.encode(),
        )  # fmt: skip
        return f"{signing_input}.{b64(signature)}"

    def _user(self, authorization: str | None) -> tuple[bool, str | None]:
        """(accepted, user): no header is the anonymous user; a wrong password is refused."""
        if not authorization:
            return True, None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False, None
        return self.users.get(user) == password, user

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(request.path).query)
        accepted, user = self._user(request.headers.get("Authorization"))
        self.requests.append({"user": user, "scope": query.get("scope", []), "accepted": accepted})
        if not accepted:
            request.send_response(401)
            request.send_header("WWW-Authenticate", 'Basic realm="token"')
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = {
                action
                for grant in self.grants
                if grant.user == user and grant.type == kind and fnmatch.fnmatch(name, grant.name)
                for action in grant.actions
            }
            wanted = set(actions.split(","))
            given = sorted(wanted if "*" in allowed else wanted & allowed)
            if given:
                access.append({"type": kind, "name": name, "actions": given})
        token = self.mint(user or "anonymous", access)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


# --------------------------------------------------------------------------- registries


@dataclass
class Registry:
    """A running ``docker-registry serve`` on ``port``."""

    name: str
    port: int
    daemon: Daemon
    storage: Path
    """The filesystem driver's root directory."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_registry(
    directory: Path, name: str, auth: Mapping[str, Mapping[str, str]] | None = None
) -> Registry:
    """A registry storing in ``directory/name``; ``auth`` is its config's ``auth`` section."""
    root = directory / name
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        "  secret: nexus-audit-tests",
    ]
    if auth:
        lines.append("auth:")
        for kind, options in auth.items():
            lines.append(f"  {kind}:")
            lines += [f"    {key}: {value}" for key, value in options.items()]
    config = root / "config.yml"
    config.write_text("\n".join(lines) + "\n")
    daemon = Daemon(
        f"registry {name}",
        [binary("docker-registry"), "serve", str(config)],
        root / "registry.log",
        [port],
    ).start()
    return Registry(name, port, daemon, root / "data")


def htpasswd_file(path: Path, users: Mapping[str, str]) -> Path:
    """bcrypt entries (``htpasswd -B``), the only hash the registry accepts."""
    entries = [
        run(binary("htpasswd"), "-Bbn", user, password).decode().strip()
        for user, password in users.items()
    ]
    path.write_text("\n".join(entries) + "\n")
    return path


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class _Blobs:
    layer: bytes
    config: bytes
    manifest: bytes


def _image(name: str) -> _Blobs:
    """A one-layer linux/amd64 image: a gzipped tar holding one file, its config, a manifest."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        content = f"hello from {name}\n".encode()
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(buffer.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [_digest(buffer.getvalue())]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": SCHEMA2,
            "config": {"mediaType": IMAGE_CONFIG, "size": len(config), "digest": _digest(config)},
            "layers": [{"mediaType": LAYER, "size": len(layer), "digest": _digest(layer)}],
        }
    ).encode()
    return _Blobs(layer, config, manifest)


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    return response


def push_images(
    registry_url: str,
    images: Mapping[str, Sequence[str]],
    headers: Mapping[str, str] | None = None,
    headers_for: Any = None,
    mount_from: str | None = None,
) -> None:
    """Push ``{name: [tags]}`` through the registry API: blob uploads, then manifests.

    The first image's blobs are uploaded (unless ``mount_from`` names an image pushed before);
    the others mount them (cross-repository blob mount), which keeps pushing a large catalog
    fast. ``headers_for(name)`` gives per-image auth.
    """
    with httpx.Client(base_url=registry_url, timeout=30) as client:
        source: str | None = mount_from
        for name, tags in images.items():
            sent = dict(headers_for(name) if headers_for else headers or {})
            blobs = _image("shared")
            for blob in (blobs.layer, blobs.config):
                digest = _digest(blob)
                if source is not None:
                    _expect(
                        client.post(
                            f"/v2/{name}/blobs/uploads/",
                            params={"mount": digest, "from": source},
                            headers=sent,
                        ),
                        201,
                    )
                    continue
                started = _expect(client.post(f"/v2/{name}/blobs/uploads/", headers=sent), 202)
                location = started.headers["location"]
                # The upload URL carries its own state in the query: keep it, add the digest.
                separator = "&" if "?" in location else "?"
                _expect(
                    client.put(
                        f"{location}{separator}digest={digest}",
                        content=blob,
                        headers={**sent, "Content-Type": "application/octet-stream"},
                    ),
                    201,
                )
            source = source or name
            for tag in tags:
                _expect(
                    client.put(
                        f"/v2/{name}/manifests/{tag}",
                        content=blobs.manifest,
                        headers={**sent, "Content-Type": SCHEMA2},
                    ),
                    201,
                )


def clone_repository(storage: Path, source: str, names: Sequence[str]) -> None:
    """Give a registry many more images fast: copy one pushed repository's metadata on disk.

    In the filesystem driver a repository is a directory of links (tags, revisions, layers) to
    content-addressed blobs shared by all; a copy is a complete image under another name, served
    by the registry like a pushed one. Pushing 130 images through the API takes seconds.
    """
    repositories = storage / "docker" / "registry" / "v2" / "repositories"
    original = repositories / source
    if not (original / "_manifests").is_dir():
        raise RuntimeError(f"no pushed repository {source!r} under {repositories}")
    for name in names:
        shutil.copytree(original, repositories / name)


# --------------------------------------------------------------------------- nginx


@dataclass(frozen=True)
class NginxServer:
    """One ``server`` block: a listening port in front of an upstream registry."""

    port: int
    upstream: int
    tls: tuple[Path, Path] | None = None
    deny_manifests: bool = False
    """Answer 403 to ``/v2/<image>/manifests/...``, as a proxy rule that blocks pulls would."""


def start_nginx(directory: Path, servers: Sequence[NginxServer]) -> Daemon:
    """nginx in the foreground, with its config, pid, logs and temp files under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    blocks = []
    for server in servers:
        listen = f"listen 127.0.0.1:{server.port}{' ssl' if server.tls else ''};"
        tls = ""
        if server.tls:
            cert, key = server.tls
            tls = f"ssl_certificate {cert}; ssl_certificate_key {key};"
        deny = "location ~ ^/v2/.+/manifests/ { return 403; }" if server.deny_manifests else ""
        blocks.append(
            f"""
    server {{
        {listen}
        {tls}
        client_max_body_size 0;
        {deny}
        location / {{
            proxy_pass http://127.0.0.1:{server.upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}"""
        )
    temp = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = directory / "nginx.conf"
    config.write_text(
        f"""daemon off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 128; }}
http {{
    access_log {directory / "access.log"};
{temp}{"".join(blocks)}
}}
"""
    )
    return Daemon(
        "nginx",
        [binary("nginx"), "-p", str(directory), "-c", str(config), "-e", str(directory / "e.log")],
        directory / "nginx.out",
        [s.port for s in servers],
    ).start()


# --------------------------------------------------------------------------- the lab


class SilentServer:
    """A TCP listener that accepts and never answers: a registry that hangs (timeouts)."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])

    def stop(self) -> None:
        self._socket.close()
