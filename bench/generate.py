"""Generate a large, realistic Nexus instance as a nexus-audit snapshot document.

Usage: python bench/generate.py --repos 2000 --users 10000 --roles 1000 -o big.json

Repositories come in hosted/proxy/group triples with connectors; every repository has its
auto-created privileges, as on a real server; roles nest three deep and mix per-repository,
wildcard and content-selector privileges; users are local, LDAP and SAML.
"""

from __future__ import annotations

import argparse
import json
import random
from importlib import resources
from typing import Any

VIEW_ACTIONS = (
    ("*", "ALL"),
    ("browse", "BROWSE"),
    ("read", "READ"),
    ("edit", "EDIT"),
    ("add", "ADD"),
    ("delete", "DELETE"),
)
ADMIN_ACTIONS = (
    ("*", "ALL"),
    ("browse", "BROWSE"),
    ("read", "READ"),
    ("edit", "EDIT"),
    ("delete", "DELETE"),
)


def builtin() -> dict[str, Any]:
    text = resources.files("audit.emulator").joinpath("datasets/builtin.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def repository_privileges(fmt: str, repo: str) -> list[dict[str, Any]]:
    privileges = []
    for kind, actions in (("repository-view", VIEW_ACTIONS), ("repository-admin", ADMIN_ACTIONS)):
        short = "view" if kind == "repository-view" else "admin"
        for action, enum in actions:
            privileges.append(
                {
                    "type": kind,
                    "name": f"nx-repository-{short}-{fmt}-{repo}-{action}",
                    "description": f"{enum.title()} permission for {fmt}-{repo}",
                    "readOnly": True,
                    "format": fmt,
                    "repository": repo,
                    "actions": [enum],
                }
            )
    return privileges


def docker_repository(name: str, kind: str, port: int, members: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "format": "docker",
        "type": kind,
        "online": True,
        "url": f"https://nexus.bench.example/repository/{name}",
        "storage": {"blobStoreName": "default", "strictContentTypeValidation": True},
        "docker": {
            "v1Enabled": False,
            "forceBasicAuth": kind != "group",
            "httpPort": port,
            "httpsPort": None,
            "subdomain": None,
            "pathEnabled": False,
        },
    }
    if kind == "proxy":
        body["proxy"] = {
            "remoteUrl": "https://registry-1.docker.io",
            "contentMaxAge": 1440,
            "metadataMaxAge": 1440,
        }
        body["dockerProxy"] = {
            "indexType": "HUB",
            "indexUrl": None,
            "cacheForeignLayers": False,
            "foreignLayerUrlWhitelist": [],
        }
    if kind == "group":
        body["group"] = {"memberNames": members}
    return body


def generate(repos: int, users: int, roles: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    base = builtin()
    repositories: list[dict[str, Any]] = []
    privileges = list(base["privileges"])
    for i in range(0, repos, 3):
        hosted, proxy, group = f"team{i}-hosted", f"team{i}-proxy", f"team{i}-group"
        repositories.append(docker_repository(hosted, "hosted", 10000 + i, []))
        repositories.append(docker_repository(proxy, "proxy", 10001 + i, []))
        repositories.append(docker_repository(group, "group", 10002 + i, [hosted, proxy]))
    repositories = repositories[:repos]
    for repo in repositories:
        privileges.extend(repository_privileges("docker", repo["name"]))
    privileges.append(
        {
            "type": "repository-content-selector",
            "name": "bench-library-read",
            "description": "library images",
            "readOnly": False,
            "contentSelector": "library",
            "format": "docker",
            "repository": "*-docker",
            "actions": ["READ", "BROWSE"],
        }
    )
    names = [r["name"] for r in repositories]
    role_bodies = list(base["roles"])
    depth: list[int] = []
    for i in range(roles):
        picked = rng.sample(names, k=min(4, len(names)))
        held = [
            f"nx-repository-view-docker-{n}-{rng.choice(['read', 'browse', '*'])}" for n in picked
        ]
        if i % 50 == 0:
            held.append("nx-repository-view-docker-*-read")
        if i % 97 == 0:
            held.append("bench-library-read")
        # Two out of three roles nest up to two others, keeping the tree three roles deep.
        shallow = [j for j in range(max(0, i - 50), i) if depth[j] < 3]
        children = rng.sample(shallow, k=min(2, len(shallow))) if i % 3 else []
        depth.append(1 + max((depth[c] for c in children), default=0))
        role_bodies.append(
            {
                "id": f"bench-role-{i}",
                "name": f"Bench role {i}",
                "description": "generated",
                "source": "default",
                "readOnly": False,
                "privileges": held,
                "roles": [f"bench-role-{c}" for c in children],
            }
        )
    user_bodies = list(base["users"])
    for i in range(users):
        source = "default" if i % 5 else rng.choice(["LDAP", "SAML"])
        mapped = [f"bench-role-{rng.randrange(roles)}" for _ in range(rng.randint(1, 3))]
        user_bodies.append(
            {
                "userId": f"user{i:05d}",
                "firstName": "Bench",
                "lastName": f"User {i}",
                "emailAddress": f"user{i:05d}@bench.example",
                "source": source,
                "status": "active" if i % 41 else "disabled",
                "readOnly": source != "default",
                "roles": mapped if source != "LDAP" else [],
                "externalRoles": mapped if source == "LDAP" else [],
            }
        )
    return {
        "nexus_audit_snapshot": 1,
        "captured_at": "2026-12-01T00:00:00Z",
        "base_url": "https://nexus.bench.example",
        "server": "Nexus/3.77.1-02 (PRO)",
        "captured_as": "admin",
        "users": user_bodies,
        "roles": role_bodies,
        "privileges": privileges,
        "realms_active": ["NexusAuthenticatingRealm", "LdapRealm", "SamlRealm", "DockerToken"],
        "anonymous": base["anonymous"],
        "user_tokens": {"enabled": False, "protectContent": False},
        "capabilities": [],
        "content_selectors": [
            {
                "name": "library",
                "type": "csel",
                "description": "",
                "expression": 'path =^ "/v2/library/"',
            }
        ],
        "repositories": repositories,
        "unavailable": {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump(generate(args.repos, args.users, args.roles), handle)


if __name__ == "__main__":
    main()
