"""The probe tests' world: real registries behind the ports a Nexus dataset's connectors name.

:func:`start_lab` starts every registry, nginx front and the token service (see
:mod:`registry_env`), pushes images, and :func:`lab_dataset` builds the emulated Nexus whose
Docker repositories point at them (base URL ``127.0.0.1``), one repository per failure mode.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_env import (
    Daemon,
    Grant,
    NginxServer,
    Pki,
    Registry,
    SilentServer,
    TokenService,
    clone_repository,
    free_port,
    htpasswd_file,
    make_pki,
    push_images,
    start_nginx,
    start_registry,
)

from audit.emulator.builder import (
    docker_group,
    docker_hosted,
    docker_proxy,
    load_builtin,
    repository_privileges,
)

#: Scanner logins, the same in Nexus (emulator), the htpasswd file and the token service.
PASSWORDS = {
    "admin": "admin123",
    "scanner": "scan-Pa55",
    "puller": "pull-Pa55",
    "lister": "list-Pa55",
}

BASIC_IMAGES = {"library/alpine": ["3.19", "latest"], "team/app": ["1.0"], "tools/trivy": ["0.50"]}
OPEN_IMAGES = {"library/busybox": ["1.36"], "docker-path/web": ["2.0"], "docker-path/api": ["1.1"]}
TOKEN_IMAGES = {"library/alpine": ["3.19"], "team/secret": ["1.0"]}
BIG_CATALOG = 130


@dataclass
class Lab:
    """Ports and files of the running lab; ``refused_port`` has no listener."""

    directory: Path
    pki: Pki
    basic: Registry
    open: Registry
    empty: Registry
    big: Registry
    token: Registry
    token_dead: Registry
    tokens: TokenService
    nginx: Daemon
    tls_port: int
    other_name_port: int
    deny_port: int
    token_tls_port: int
    refused_port: int
    silent: SilentServer


def _basic(user: str) -> dict[str, str]:
    raw = f"{user}:{PASSWORDS[user]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@contextlib.contextmanager
def start_lab(directory: Path) -> Iterator[Lab]:
    """Start everything (in parallel), push the images, and stop it all on the way out."""
    stack = contextlib.ExitStack()
    with stack:
        pki = make_pki(directory / "pki")
        tokens = TokenService(
            directory,
            {u: p for u, p in PASSWORDS.items() if u != "admin"},
            [
                Grant("scanner", "registry", "catalog", ("*",)),
                Grant("scanner", "repository", "*", ("pull",)),
                Grant("puller", "repository", "*", ("pull",)),
                Grant("lister", "registry", "catalog", ("*",)),
                Grant(None, "repository", "library/*", ("pull",)),
            ],
        ).start()
        stack.callback(tokens.stop)
        refused_port = free_port()
        htpasswd = htpasswd_file(directory / "htpasswd", {"scanner": PASSWORDS["scanner"]})

        def token_auth(realm: str) -> dict[str, dict[str, str]]:
            return {
                "token": {
                    "realm": realm,
                    "service": tokens.service,
                    "issuer": tokens.issuer,
                    "rootcertbundle": str(tokens.cert),
                }
            }

        specs: dict[str, dict[str, dict[str, str]] | None] = {
            "basic": {"htpasswd": {"realm": "nexus-audit-tests", "path": str(htpasswd)}},
            "open": None,
            "empty": None,
            "big": None,
            "token": token_auth(tokens.realm),
            "token_dead": token_auth(f"http://127.0.0.1:{refused_port}/token"),
        }
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            futures = {
                name: pool.submit(start_registry, directory, name, auth)
                for name, auth in specs.items()
            }
            registries = {name: future.result() for name, future in futures.items()}
        for registry in registries.values():
            stack.callback(registry.daemon.stop)
        tls_port, other_name_port, deny_port, token_tls_port = (free_port() for _ in range(4))
        nginx = start_nginx(
            directory / "nginx",
            [
                NginxServer(tls_port, registries["open"].port, tls=pki.localhost),
                NginxServer(other_name_port, registries["open"].port, tls=pki.other_name),
                NginxServer(deny_port, registries["open"].port, deny_manifests=True),
                NginxServer(token_tls_port, registries["token"].port, tls=pki.localhost),
            ],
        )
        stack.callback(nginx.stop)
        silent = SilentServer()
        stack.callback(silent.stop)

        def pusher(name: str) -> dict[str, str]:
            # Pushing mounts blobs from the first image, so the token covers every image.
            access = [
                {"type": "repository", "name": image, "actions": ["pull", "push"]}
                for image in TOKEN_IMAGES
            ]
            return {"Authorization": f"Bearer {tokens.mint('pusher', access)}"}

        big = [f"bulk/image-{i:03d}" for i in range(BIG_CATALOG)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            pushes = [
                pool.submit(push_images, registries["basic"].url, BASIC_IMAGES, _basic("scanner")),
                pool.submit(push_images, registries["open"].url, OPEN_IMAGES),
                pool.submit(push_images, registries["token"].url, TOKEN_IMAGES, None, pusher),
                pool.submit(push_images, registries["big"].url, {big[0]: ["1.0"]}),
            ]
            for push in pushes:
                push.result()
        clone_repository(registries["big"].storage, big[0], big[1:])
        yield Lab(
            directory=directory,
            pki=pki,
            basic=registries["basic"],
            open=registries["open"],
            empty=registries["empty"],
            big=registries["big"],
            token=registries["token"],
            token_dead=registries["token_dead"],
            tokens=tokens,
            nginx=nginx,
            tls_port=tls_port,
            other_name_port=other_name_port,
            deny_port=deny_port,
            token_tls_port=token_tls_port,
            refused_port=refused_port,
            silent=silent,
        )


def _user(user_id: str, roles: list[str], source: str = "default") -> dict[str, Any]:
    return {
        "userId": user_id,
        "firstName": user_id,
        "lastName": "Test",
        "emailAddress": f"{user_id}@example.test",
        "source": source,
        "status": "active",
        "readOnly": source != "default",
        "roles": roles,
        "externalRoles": [],
    }


def _role(role_id: str, privileges: list[str]) -> dict[str, Any]:
    return {
        "id": role_id,
        "source": "default",
        "name": role_id,
        "description": f"probe tests: {role_id}",
        "readOnly": False,
        "privileges": privileges,
        "roles": [],
    }


def lab_dataset(lab: Lab) -> dict[str, Any]:
    """A Community Nexus whose Docker repositories' connectors are the lab's ports."""
    repositories = [
        docker_hosted("docker-basic", http_port=lab.basic.port, force_basic_auth=True),
        docker_hosted("docker-tls", https_port=lab.tls_port, force_basic_auth=False),
        docker_hosted("docker-other-name", https_port=lab.other_name_port),
        docker_hosted("docker-token", http_port=lab.token.port, force_basic_auth=False),
        docker_hosted("docker-token-tls", https_port=lab.token_tls_port, force_basic_auth=False),
        docker_hosted("docker-token-dead", http_port=lab.token_dead.port, force_basic_auth=False),
        docker_hosted("docker-empty", http_port=lab.empty.port),
        docker_proxy("docker-hub", "https://registry-1.docker.io", "HUB"),
        docker_group("docker-big", ["docker-hub"], http_port=lab.big.port),
        docker_hosted("docker-deny", http_port=lab.deny_port),
        docker_hosted("docker-refused", http_port=lab.refused_port),
        docker_hosted("docker-http-to-tls", http_port=lab.tls_port),
        docker_hosted("docker-tls-to-http", https_port=lab.open.port),
        docker_hosted("docker-silent", http_port=lab.silent.port),
        docker_hosted("docker-path", path_enabled=True),
        docker_hosted("docker-unrouted"),
    ]
    names = [r["name"] for r in repositories]
    builtin = load_builtin()
    privileges = list(builtin["privileges"])
    for name in names:
        privileges += repository_privileges("docker", name)

    def view(repo: str, action: str) -> str:
        return f"nx-repository-view-docker-{repo}-{action}"

    roles = [
        *builtin["roles"],
        _role("scan-all", [view(n, a) for n in names for a in ("read", "browse")]),
        _role("pull-token", [view("docker-token", "read")]),
        _role("list-token", [view("docker-token", "browse")]),
        # Reading connector ports (repository settings) needs repository-admin read.
        _role("connectors", [f"nx-repository-admin-docker-{n}-read" for n in names]),
    ]
    users = [
        *builtin["users"],
        _user("scanner", ["scan-all", "connectors"]),
        _user("puller", ["pull-token", "connectors"]),
        _user("lister", ["list-token", "connectors"]),
        _user("sso.user", ["scan-all"], source="SAML"),
    ]
    return {
        "nexus_audit_snapshot": 1,
        "captured_at": "2026-12-01T09:00:00Z",
        "base_url": "http://127.0.0.1:8081",
        "server": "Nexus/3.77.1-02 (COMMUNITY)",
        "captured_as": "admin",
        "users": users,
        "roles": roles,
        "privileges": privileges,
        "realms_active": ["NexusAuthenticatingRealm", "DockerToken"],
        "anonymous": builtin["anonymous"],
        "user_tokens": None,
        "capabilities": [],
        "content_selectors": [],
        "repositories": repositories,
        "unavailable": {"user_tokens": "404 Not Found"},
        "emulator": {
            "edition": "COMMUNITY",
            "version": "3.77.1-02",
            "passwords": dict(PASSWORDS),
            "user_tokens": [],
        },
    }
