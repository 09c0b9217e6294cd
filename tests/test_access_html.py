"""The HTML access report: escaping, self-containment, and real rendering in headless Chromium.

The Chromium tests drive Debian's ``chromium`` (``--dump-dom`` and ``--screenshot``) on the
generated file. Without the browser they are skipped, unless ``NEXUS_AUDIT_REQUIRE_CHROMIUM=1``
(set by ``.ci/run``), where a missing browser is a failure.

``NEXUS_AUDIT_WRITE_SCREENSHOT=1`` also writes the README screenshot,
``docs/report-screenshot.png``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from audit.access import build_report
from audit.access_html import (
    MAX_COLUMNS,
    compact_island,
    iter_html_report,
    render_html,
    render_html_report,
    report_island,
)
from audit.access_report import report_document
from audit.model import parse_instance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from generate import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = ("read", "browse", "push", "delete", "admin")
HOSTILE = (
    "<img src=x onerror=alert(1)>",
    '"><script>document.title="pwned"</script>',
    "</script><script>document.title='pwned'</script>",
    "' onmouseover='document.title=1' x='",
    "<!-- --><svg/onload=alert(1)>",
)

# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _entry(
    user: str,
    source: str,
    paths: Sequence[Sequence[str]],
    *,
    partial: bool = False,
    anonymous: bool = False,
    total: int | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "userId": user,
        "source": source,
        "anonymous": anonymous,
        "access": "partial" if partial else "granted",
        "grants": [list(p) for p in paths],
    }
    if total is not None:
        entry["paths"] = total
    return entry


def _finish(
    nexus: Mapping[str, Any],
    principals: list[dict[str, Any]],
    repositories: list[dict[str, Any]],
    anonymous: dict[str, Any],
    findings: list[dict[str, Any]],
) -> dict[str, Any]:
    """Add the summary the engine would compute, so documents stay self-consistent."""
    with_access = {
        (e["source"], e["userId"])
        for r in repositories
        for action in ACTIONS
        for e in r["access"][action]
    }
    counts = {s: sum(1 for f in findings if f["severity"] == s)
              for s in ("error", "warning", "info")}
    return {
        "nexus_audit_access_report": 1,
        "nexus": dict(nexus),
        "summary": {
            "repositories": len(repositories),
            "users": sum(1 for p in principals if not p["anonymous"]),
            "principals_with_access": len(with_access),
            "anonymous_enabled": anonymous["enabled"],
            "findings": counts,
            "silenced": sum(1 for f in findings if f["silenced"]),
        },
        "principals": principals,
        "repositories": repositories,
        "anonymous": anonymous,
        "findings": findings,
    }


def _finding(
    code: str,
    severity: str,
    message: str,
    remedy: str,
    *,
    principal: str | None = None,
    repository: str | None = None,
    silenced: bool = False,
) -> dict[str, Any]:
    return {
        "code": code,
        "severity": severity,
        "principal": principal,
        "repository": repository,
        "message": message,
        "remedy": remedy,
        "silenced": silenced,
    }


def demo_document() -> dict[str, Any]:
    """A realistic, moderately sized instance, named like the bundled "Acme" demo."""
    host = "nexus.acme.example"
    repo_specs: list[tuple[str, str, bool, str | None, str | None, str | None, list[str]]] = [
        ("docker-hosted", "hosted", True, f"{host}:8443", "https", "port", []),
        ("docker-group", "group", True, f"{host}:8444", "https", "port",
         ["GROUP_INCLUDES_UPSTREAM_PROXY"]),
        ("docker-proxy", "proxy", True, None, None, None, ["NO_CONNECTOR"]),
        ("docker-internal", "hosted", True, f"{host}:8082", "http", "port", ["HTTP_ONLY"]),
        ("docker-releases", "hosted", True, f"{host}/repository/docker-releases", "https",
         "path", []),
        ("docker-snapshots", "hosted", True, f"{host}/repository/docker-snapshots", "https",
         "path", []),
        ("docker-base-images", "hosted", True, f"{host}:8445", "https", "port", []),
        ("docker-payments", "hosted", True, f"{host}:8446", "https", "port", []),
        ("docker-ml-models", "hosted", True, f"{host}:8447", "https", "port", []),
        ("docker-ghcr-proxy", "proxy", True, None, None, None, ["NO_CONNECTOR"]),
        ("docker-quay-proxy", "proxy", True, None, None, None, ["NO_CONNECTOR"]),
        ("docker-archive", "hosted", False, None, None, None, ["NO_CONNECTOR"]),
    ]
    names = [spec[0] for spec in repo_specs]
    access: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {a: [] for a in ACTIONS} for n in names
    }

    def grant(
        user: str,
        source: str,
        repos: Sequence[str],
        actions: Sequence[str],
        via: Sequence[str],
        privilege: str,
        **kw: Any,
    ) -> None:
        for repo in repos:
            for action in actions:
                priv = privilege.format(repo=repo, action=action)
                path = [f"user:{user}", *via, f"privilege:{priv}"]
                access[repo][action].append(_entry(user, source, [path], **kw))

    every = names
    hosted = ["docker-hosted", "docker-releases", "docker-snapshots", "docker-base-images",
              "docker-payments", "docker-ml-models", "docker-internal"]
    grant("admin", "default", every, ACTIONS, ["role:nx-admin"], "nx-all")
    grant("anonymous", "default", every, ("read", "browse"), ["role:nx-anonymous"],
          "nx-repository-view-*-*-{action}", anonymous=True)
    grant("scanner", "default", every, ("read", "browse"), ["role:hg-scan"],
          "nx-repository-view-docker-*-{action}")
    grant("trivy", "default", ["docker-hosted", "docker-base-images"], ("read", "browse"),
          ["role:trivy-partial"], "trivy-library-images", partial=True)
    for user, source, status in (("harbor-ok", "default", "active"),
                                 ("old-scanner", "default", "disabled"),
                                 ("bob.sso", "SAML", "active")):
        del status
        grant(user, source, every, ("read", "browse"), ["role:docker-readers"],
              "nx-repository-view-docker-*-{action}")
    # alice reaches her team's repositories through two LDAP groups: two paths to one privilege.
    for repo in ("docker-hosted", "docker-snapshots"):
        for action in ("read", "browse", "push"):
            priv = f"nx-repository-view-docker-{repo}-{'add' if action == 'push' else action}"
            access[repo][action].append(_entry("alice", "LDAP", [
                ["user:alice", "external-role:devs", "role:developers", f"privilege:{priv}"],
                ["user:alice", "external-role:engineering", "role:developers",
                 f"privilege:{priv}"],
            ]))
    grant("alice", "LDAP", ["docker-group", "docker-base-images"], ("read", "browse"),
          ["external-role:devs", "role:developers"], "nx-repository-view-docker-{repo}-{action}")
    grant("carol.nguyen", "LDAP", ["docker-payments", "docker-group"], ("read", "browse", "push"),
          ["external-role:payments", "role:team-payments"],
          "nx-repository-view-docker-{repo}-{action}")
    grant("dave.kim", "LDAP", every, ("read", "browse"), ["default-role:docker-readers"],
          "nx-repository-view-docker-*-{action}")
    grant("erin.li", "SAML", ["docker-ml-models", "docker-group"], ("read", "browse", "push"),
          ["role:team-ml"], "nx-repository-view-docker-{repo}-{action}")
    grant("frank.moreau", "LDAP", hosted, ACTIONS, ["external-role:platform",
          "role:registry-admins"], "nx-repository-admin-docker-*-*")
    grant("ci-builder", "default", ["docker-hosted", "docker-releases", "docker-snapshots"],
          ("read", "browse", "push"), ["role:ci-publisher"],
          "nx-repository-view-docker-{repo}-{action}")
    grant("ci-builder", "default", ["docker-snapshots"], ("delete",), ["role:ci-publisher"],
          "nx-repository-view-docker-{repo}-delete")
    grant("release-bot", "default", ["docker-releases"], ("read", "browse", "push", "delete",
          "admin"), ["role:release-managers"], "nx-repository-admin-docker-docker-releases-*")
    grant("team-user", "default", ["docker-hosted"], ("read", "browse"), ["role:team-a"],
          "nx-repository-view-docker-docker-hosted-{action}")
    grant("mallory.contractor", "default", every, ("read", "browse", "push"),
          ["role:legacy-ci", "role:docker-writers"], "nx-repository-view-docker-*-{action}")
    # A privilege reached by more paths than the report keeps.
    access["docker-hosted"]["read"].append(_entry("grace.ops", "LDAP", [
        ["user:grace.ops", "external-role:ops", "role:ops-oncall", "role:docker-readers",
         "privilege:nx-repository-view-docker-*-read"],
        ["user:grace.ops", "external-role:sre", "role:ops-oncall", "role:docker-readers",
         "privilege:nx-repository-view-docker-*-read"],
    ], total=7))

    repositories = [
        {"name": n, "type": t, "online": on, "registry": reg, "scheme": sch, "routing": rt,
         "posture": posture, "access": access[n]}
        for n, t, on, reg, sch, rt, posture in repo_specs
    ]
    principal_specs = [
        ("admin", "default", "active", False, ["nx-admin"], []),
        ("anonymous", "default", "active", True, ["nx-anonymous"], []),
        ("scanner", "default", "active", False, ["hg-scan"], []),
        ("trivy", "default", "active", False, ["trivy-partial"], []),
        ("harbor-ok", "default", "active", False, ["docker-readers"], []),
        ("old-scanner", "default", "disabled", False, ["docker-readers"], []),
        ("alice", "LDAP", "active", False, [], ["devs", "engineering"]),
        ("bob.sso", "SAML", "active", False, ["docker-readers"], []),
        ("carol.nguyen", "LDAP", "active", False, [], ["payments"]),
        ("dave.kim", "LDAP", "active", False, [], ["staff"]),
        ("erin.li", "SAML", "active", False, ["team-ml"], []),
        ("frank.moreau", "LDAP", "active", False, [], ["platform"]),
        ("grace.ops", "LDAP", "active", False, [], ["ops", "sre"]),
        ("ci-builder", "default", "active", False, ["ci-publisher"], []),
        ("release-bot", "default", "active", False, ["release-managers"], []),
        ("team-user", "default", "active", False, ["team-a"], []),
        ("mallory.contractor", "default", "locked", False, ["legacy-ci"], []),
        ("henry.park", "LDAP", "active", False, [], ["finance"]),
    ]
    principals = [
        {"userId": u, "source": s, "status": st, "anonymous": an, "roles": r, "externalRoles": x}
        for u, s, st, an, r, x in principal_specs
    ]
    anonymous = {
        "enabled": True,
        "userId": "anonymous",
        "dockerTokenRealm": True,
        "canRead": list(names),
        "canBrowse": list(names),
        "pullPossible": [n for n, *_, reg, _s, _r, _p in repo_specs if reg],
    }
    findings = [
        _finding("ANONYMOUS_DOCKER_PULL", "error",
                 "Anyone can pull docker-hosted without credentials: anonymous access is on, "
                 "the DockerToken realm is active and nx-anonymous grants read.",
                 "Remove nx-repository-view-*-*-read from nx-anonymous, or turn anonymous "
                 "access off.", principal="anonymous", repository="docker-hosted"),
        _finding("ANONYMOUS_DOCKER_PULL", "error",
                 "Anyone can pull docker-payments without credentials.",
                 "Give nx-anonymous only the repositories meant to be public.",
                 principal="anonymous", repository="docker-payments"),
        _finding("NX_ALL_HOLDER", "warning", "admin holds nx-all through role nx-admin.",
                 "Keep nx-all to break-glass accounts; use scoped admin roles day to day.",
                 principal="admin", silenced=True),
        _finding("REPOSITORY_ADMIN_HOLDER", "warning",
                 "frank.moreau administers 7 Docker repositories through LDAP group platform.",
                 "Scope registry-admins to the repositories the platform team owns.",
                 principal="frank.moreau"),
        _finding("WILDCARD_REPOSITORY_PRIVILEGE", "warning",
                 "Role legacy-ci grants push on every Docker repository "
                 "(nx-repository-view-docker-*-add).",
                 "Replace the wildcard with the repositories the CI job publishes to.",
                 principal="mallory.contractor"),
        _finding("INACTIVE_USER_WITH_ROLES", "info",
                 "old-scanner is disabled but still holds docker-readers.",
                 "Remove the roles of accounts that are disabled for good.",
                 principal="old-scanner", silenced=True),
        _finding("INACTIVE_USER_WITH_ROLES", "info",
                 "mallory.contractor is locked but still holds legacy-ci.",
                 "Remove the roles or delete the account.", principal="mallory.contractor"),
        _finding("DEFAULT_ROLE_GRANTS", "warning",
                 "The DefaultRole realm gives docker-readers to every authenticated user "
                 "(seen on dave.kim).", "Grant docker-readers through groups instead.",
                 principal="dave.kim"),
        _finding("HTTP_ONLY", "warning", "docker-internal serves its connector over plain HTTP.",
                 "Put the connector behind TLS (https connector or a reverse proxy).",
                 repository="docker-internal"),
        _finding("NO_CONNECTOR", "info", "docker-archive has no connector and is offline.",
                 "Delete the repository or document why it is kept.",
                 repository="docker-archive"),
        _finding("GROUP_INCLUDES_UPSTREAM_PROXY", "warning",
                 "docker-group includes docker-proxy (registry-1.docker.io).",
                 "Pull public images through a separate group, or pin the upstream.",
                 repository="docker-group"),
        _finding("ACCESS_PARTIAL", "info",
                 "trivy reads docker-hosted only through content selector library-images.",
                 "Widen the selector if trivy must scan every image.",
                 principal="trivy", repository="docker-hosted"),
        _finding("UNUSED_CUSTOM_ROLE", "info", "Role Team B is granted to nobody.",
                 "Delete it, or grant it to the team.", silenced=True),
    ]
    return _finish(
        {"url": f"https://{host}", "server": "Nexus/3.77.1-02 (COMMUNITY)",
         "captured_at": "2026-11-30T09:00:00Z"},
        principals, repositories, anonymous, findings,
    )


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words("""
    anna ben carla david elena farid greta hugo ines jonas karin luca maria nils olga pablo
    quinn rosa sven tanja umar vera wei xenia yusuf zoe amir bianca chen dara emil fatima
    georg hana ivan julia kenji lena mateo nora omar petra raj sara tomas uma viktor wanda
    yara
""")

LAST = _words("""
    schmidt mueller garcia rossi novak kowalski dubois martin silva tanaka kim nguyen okafor
    jensen larsen petrov fischer weber wagner becker hoffmann schulz koch richter klein wolf
    neumann schwarz zimmermann braun krueger hartmann lange werner krause lehmann meier
    walter koehler maier kaiser fuchs peters lang scholz moeller weiss jung hahn
""")

TEAMS = _words("""
    payments checkout search catalog ml-platform data-eng identity billing ledger fraud
    mobile web-frontend api-gateway notifications messaging logistics inventory pricing
    recommendations analytics reporting security platform observability sre devex release
    ci-tools base-images compliance hr-apps finance crm marketing growth onboarding support
    docs localization media streaming maps routing partners integrations edge iot firmware
    research labs
""")
KINDS = _words("hosted releases snapshots staging prod ci base tools archive group")


def large_document(repositories: int = 500, users: int = 5000, seed: int = 7) -> dict[str, Any]:
    """A big instance with sparse access: each user sees one or two teams' repositories."""
    rng = random.Random(seed)
    names = [f"docker-{TEAMS[i // len(KINDS) % len(TEAMS)]}-{KINDS[i % len(KINDS)]}"
             + (f"-{i // (len(KINDS) * len(TEAMS))}" if i >= len(KINDS) * len(TEAMS) else "")
             for i in range(repositories)]
    by_team: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        by_team.setdefault(TEAMS[i // len(KINDS) % len(TEAMS)], []).append(name)
    access: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {a: [] for a in ACTIONS} for n in names
    }
    principals: list[dict[str, Any]] = []

    def add(user: str, source: str, repo: str, action: str, path: list[str], **kw: Any) -> None:
        access[repo][action].append(_entry(user, source, [path], **kw))

    def principal(user: str, source: str, roles: list[str], external: list[str],
                  status: str = "active", anonymous: bool = False) -> None:
        principals.append({"userId": user, "source": source, "status": status,
                           "anonymous": anonymous, "roles": roles, "externalRoles": external})

    principal("anonymous", "default", ["nx-anonymous"], [], anonymous=True)
    for repo in names:
        for action in ("read", "browse"):
            add("anonymous", "default", repo, action,
                ["user:anonymous", "role:nx-anonymous",
                 f"privilege:nx-repository-view-*-*-{action}"],
                anonymous=True)
    for admin in ("admin", "breakglass", "platform-admin"):
        principal(admin, "default", ["nx-admin"], [])
        for repo in names:
            for action in ACTIONS:
                add(admin, "default", repo, action,
                    [f"user:{admin}", "role:nx-admin", "privilege:nx-all"])
    for scanner in ("scanner", "trivy", "harbor-sync"):
        principal(scanner, "default", ["docker-readers"], [])
        for repo in names:
            for action in ("read", "browse"):
                add(scanner, "default", repo, action,
                    [f"user:{scanner}", "role:docker-readers",
                     f"privilege:nx-repository-view-docker-*-{action}"])
    seen: set[str] = set()
    wanted = users - len(principals)
    while len(seen) < wanted:
        user = f"{rng.choice(FIRST)}.{rng.choice(LAST)}"
        if user in seen:
            user = f"{user}{rng.randint(2, 99)}"
        if user in seen:
            continue
        seen.add(user)
        source = rng.choices(("LDAP", "SAML", "default"), (7, 2, 1))[0]
        teams = rng.sample(TEAMS[: min(len(TEAMS), len(by_team))], rng.choice((1, 1, 2)))
        status = "disabled" if rng.random() < 0.03 else "active"
        external = [f"team-{t}" for t in teams] if source == "LDAP" else []
        roles = [] if source == "LDAP" else [f"team-{t}-dev" for t in teams]
        principal(user, source, roles, external, status)
        pusher = rng.random() < 0.3
        for team in teams:
            via = ([f"external-role:team-{team}"] if source == "LDAP" else []) + [
                f"role:team-{team}-dev"]
            for repo in by_team[team][:4]:
                for action in ("read", "browse"):
                    add(user, source, repo, action, [f"user:{user}", *via,
                        f"privilege:nx-repository-view-docker-{repo}-{action}"])
                if pusher and repo.endswith(("-snapshots", "-hosted")):
                    add(user, source, repo, "push", [f"user:{user}", *via,
                        f"privilege:nx-repository-view-docker-{repo}-add"])
    repos = [
        {"name": n, "type": "group" if n.endswith("-group") else "hosted", "online": True,
         "registry": f"nexus.example.com/repository/{n}", "scheme": "https", "routing": "path",
         "posture": ["HTTP_ONLY"] if i % 37 == 0 else [], "access": access[n]}
        for i, n in enumerate(names)
    ]
    findings = [
        _finding("INACTIVE_USER_WITH_ROLES", "info", f"{p['userId']} is disabled but holds roles.",
                 "Remove the roles.", principal=p["userId"], silenced=i % 2 == 0)
        for i, p in enumerate(x for x in principals if x["status"] != "active")
    ]
    anonymous = {"enabled": True, "userId": "anonymous", "dockerTokenRealm": True,
                 "canRead": list(names), "canBrowse": list(names), "pullPossible": list(names)}
    return _finish({"url": "https://nexus.example.com", "server": "Nexus/3.77.1-02 (PRO)",
                    "captured_at": "2026-11-30T09:00:00Z"}, principals, repos, anonymous, findings)


def engine_document(repositories: int, users: int, roles: int) -> dict[str, Any]:
    """The report document the real engine builds for a bench/generate.py instance."""
    return report_document(build_report(parse_instance(generate(repositories, users, roles))))


def hostile_document() -> dict[str, Any]:
    """Markup in every string the report shows: ids, roles, repositories, messages, header."""
    doc = demo_document()
    evil = list(HOSTILE)
    doc["nexus"] = {"url": evil[0], "server": evil[1], "captured_at": evil[2]}
    for i, p in enumerate(doc["principals"]):
        p["roles"] = [*p["roles"], evil[i % len(evil)]]
        p["externalRoles"] = [evil[(i + 1) % len(evil)]]
        p["status"] = p["status"] if i % 3 else evil[i % len(evil)]
    bad_user = evil[0]
    bad_repo = evil[1]
    repo = copy.deepcopy(doc["repositories"][0])
    repo.update(name=bad_repo, registry=evil[2], scheme=evil[3], routing=evil[4], posture=evil)
    for action in ACTIONS:
        repo["access"][action] = [_entry(bad_user, evil[3], [[f"user:{bad_user}",
                                  f"role:{evil[1]}", f"privilege:{evil[2]}"]])]
    doc["repositories"].append(repo)
    doc["principals"].append({"userId": bad_user, "source": evil[3], "status": "active",
                              "anonymous": False, "roles": evil, "externalRoles": evil})
    doc["anonymous"].update(userId=evil[4], canRead=evil, canBrowse=evil, pullPossible=evil)
    doc["findings"].append(_finding(evil[0], evil[1], evil[2], evil[3], principal=bad_user,
                                    repository=bad_repo))
    return doc


def empty_document() -> dict[str, Any]:
    return _finish({"url": None, "server": None, "captured_at": None}, [], [],
                   {"enabled": False, "userId": None, "dockerTokenRealm": None, "canRead": [],
                    "canBrowse": [], "pullPossible": []}, [])


# --------------------------------------------------------------------------------------------
# A small DOM built with html.parser, for the generated file and for Chromium's dumped DOM
# --------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: list[tuple[str, str | None]], parent: Node | None):
        self.tag = tag
        self.attr_list = attrs
        self.attrs = {k: v or "" for k, v in attrs}
        self.parent = parent
        self.children: list[Node | str] = []

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.classes())]

    def by_id(self, ident: str) -> Node:
        found = [n for n in self.iter() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"expected one #{ident}, found {len(found)}"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def island(root: Node) -> Any:
    return json.loads(root.by_id("data").text())


# What the page can show for one principal, repository and action: the access, the grant paths
# kept in the report and the count of all of them.
Fact = tuple[str, list[list[str]], int]
Facts = dict[tuple[str, str, str, str], Fact]


def island_access(data: Mapping[str, Any]) -> Facts:
    """Decode the compact island back to (source, user, repository, action) -> fact.

    An independent reading of the layout documented in :mod:`audit.access_html`: tables of
    steps, paths, grants and cells, and per principal a default cell plus exceptions.
    """
    steps = data["steps"]
    paths = [[steps[i] for i in path] for path in data["paths"]]
    grants = [(grant[0], [paths[i] for i in grant[1:]]) for grant in data["grants"]]
    cells: list[dict[str, Fact]] = []
    for row in data["cells"]:
        mask, refs = row[0], iter(row[1:])
        cell = {}
        for bit, action in enumerate(ACTIONS):
            if mask >> bit & 1:
                total, kept = grants[next(refs)]
                access = "partial" if mask >> (bit + len(ACTIONS)) & 1 else "granted"
                cell[action] = (access, kept, total)
        assert next(refs, None) is None, row
        cells.append(cell)
    names = [repo[0] for repo in data["repositories"]]
    facts: Facts = {}
    assert len(data["principals"]) == len(data["rows"])
    for principal, (default, flat) in zip(data["principals"], data["rows"], strict=True):
        exceptions = dict(zip(flat[::2], flat[1::2], strict=True))
        assert list(exceptions) == sorted(exceptions) and len(exceptions) * 2 == len(flat)
        # The default is the principal's most common cell (the compact choice).
        tally = Counter(exceptions.values())
        assert len(names) - len(exceptions) >= max(tally.values(), default=0), principal
        indexes = range(len(names)) if default >= 0 else exceptions
        for index in indexes:
            cell = exceptions.get(index, default)
            for action, fact in (cells[cell] if cell >= 0 else {}).items():
                facts[(principal[1], principal[0], names[index], action)] = fact
    return facts


def document_access(doc: Mapping[str, Any]) -> Facts:
    """The same facts read from the report document's per-repository access lists."""
    facts: Facts = {}
    for repo in doc.get("repositories", []):
        for action in ACTIONS:
            for e in repo["access"][action]:
                grants = [list(path) for path in e["grants"]]
                total = max(len(grants), e.get("paths", 0))
                facts[(e["source"], e["userId"], repo["name"], action)] = (
                    e["access"], grants, total)
    return facts


def assert_island_matches(data: Mapping[str, Any], doc: Mapping[str, Any]) -> None:
    """The island holds everything the page shows of the document, and nothing else."""
    assert data["island"] == 1
    assert data["nexus_audit_access_report"] == doc.get("nexus_audit_access_report")
    assert data["generator"] == doc.get("generator")
    for key in ("nexus", "summary", "anonymous"):
        assert data[key] == doc.get(key, {}), key
    assert data["findings"] == doc.get("findings", [])
    assert data["repositories"] == [
        [r["name"], r.get("type"), r.get("online"), r.get("registry"), r.get("scheme"),
         r.get("routing"), r.get("posture", [])] for r in doc.get("repositories", [])]
    listed = [[p["userId"], p["source"], p["status"], p["anonymous"], p["roles"],
               p["externalRoles"]] for p in doc.get("principals", [])]
    assert data["principals"][: len(listed)] == listed
    assert island_access(data) == document_access(doc)


# --------------------------------------------------------------------------------------------
# (a) The generated file
# --------------------------------------------------------------------------------------------


def test_hostile_values_are_escaped_everywhere() -> None:
    doc = hostile_document()
    html = render_html(doc)
    root = parse(html)
    tags = [n.tag for n in root.iter()]
    assert "img" not in tags and "svg" not in tags
    scripts = root.find_all("script")
    assert [s.attrs.get("type") for s in scripts] == ["application/json", None]
    for node in root.iter():
        names = [name for name, _ in node.attr_list]
        assert not [n for n in names if n.startswith("on")], (node.tag, node.attr_list)
        assert "x" not in names, (node.tag, node.attr_list)
    assert "<img" not in html and "<svg" not in html
    # Shown as text, not dropped: the header, the anonymous panel and the title.
    header = root.find_all("header")[0].text()
    assert HOSTILE[0] in header and HOSTILE[1] in header and HOSTILE[2] in header
    assert HOSTILE[0] in root.by_id("anonymous").text()
    assert HOSTILE[0] in root.find_all("title")[0].text()
    # The island: </script> cannot close it, and it decodes back to the document.
    raw = root.by_id("data").text()
    assert "</" not in raw and "<" not in raw and ">" not in raw and "&" not in raw
    assert_island_matches(island(root), doc)


def test_json_island_round_trips_unicode_and_separators() -> None:
    doc = demo_document()
    doc["principals"][0]["userId"] = "jürgen\u2028<\u2029>&'\"\\ \U0001f433"
    html = render_html(doc)
    assert_island_matches(island(parse(html)), doc)
    assert island(parse(html))["principals"][0][0] == doc["principals"][0]["userId"]
    assert "\u2028" not in html and "\u2029" not in html


def test_no_remote_resources_and_a_strict_csp() -> None:
    html = render_html(demo_document())
    root = parse(html)
    for node in root.iter():
        for name in ("src", "href", "srcset", "action", "formaction", "poster", "data",
                     "xlink:href", "background"):
            value = node.attrs.get(name)
            if value is not None:
                assert not re.match(r"\s*([a-z][a-z0-9+.-]*:|//)", value, re.I), (node.tag, value)
    assert not root.find_all("link") and not root.find_all("img") and not root.find_all("iframe")
    style = "".join(n.text() for n in root.find_all("style"))
    assert "url(" not in style and "@import" not in style
    script = root.find_all("script")[1].text()
    for word in ("fetch(", "XMLHttpRequest", "WebSocket", "import(", "innerHTML", "outerHTML",
                 "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert word not in script, word
    metas = [m for m in root.find_all("meta")
             if m.attrs.get("http-equiv", "").lower() == "content-security-policy"]
    assert len(metas) == 1
    csp = metas[0].attrs["content"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "http" not in csp


def test_empty_sections_render() -> None:
    for doc in (empty_document(), {"nexus_audit_access_report": 1}):
        html = render_html(doc)
        root = parse(html)
        assert_island_matches(island(root), doc)
        assert root.by_id("matrix").tag == "table"
        assert "Anonymous access is off." in root.by_id("anonymous").text()
        assert "unknown" in root.find_all("header")[0].text()


def test_summary_and_anonymous_panel() -> None:
    doc = demo_document()
    root = parse(render_html(doc))
    cards = {
        card.find_all("div", "label")[0].text(): " ".join(card.text().split())
        for card in root.by_id("summary").find_all("div", "card")
    }
    assert cards["Docker repositories"].endswith("repositories12")
    assert cards["Users"] == "Users17"
    assert cards["Principals with access"] == "Principals with access17"
    assert cards["Anonymous access"].startswith("Anonymous accessON")
    assert cards["Findings"] == "Findings 2error6warning5info"
    assert cards["Silenced"].startswith("Silenced3")
    anon = " ".join(root.by_id("anonymous").text().split())
    assert "can pull from 8 repositories without credentials" in anon
    chips = [c.text() for c in root.by_id("anonymous").find_all("span", "chip")]
    assert "docker-hosted" in chips and "docker-archive" in chips
    header = root.find_all("header")[0].text()
    assert "https://nexus.acme.example" in header and "Nexus/3.77.1-02" in header


# --------------------------------------------------------------------------------------------
# (b) Real headless Chromium
# --------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


@pytest.fixture()
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("NEXUS_AUDIT_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required (NEXUS_AUDIT_REQUIRE_CHROMIUM=1) but not on PATH")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return CHROMIUM


def run_chromium(browser: str, tmp_path: Path, *args: str, timeout: float = 60) -> str:
    profile = tmp_path / "chromium-profile"
    command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def write_report(tmp_path: Path, doc: Mapping[str, Any], name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(render_html(doc), encoding="utf-8")
    return path


def dump_dom(browser: str, tmp_path: Path, report: Path, fragment: str = "") -> Node:
    url = report.as_uri() + (f"#{fragment}" if fragment else "")
    dom = run_chromium(browser, tmp_path, "--virtual-time-budget=5000", "--dump-dom", url)
    root = parse(dom)
    body = root.find_all("body")[0]
    assert body.attrs.get("data-state") == "ready", root.by_id("js-error").text()
    return root


def matrix_rows(root: Node) -> list[tuple[str, list[str]]]:
    """(row header text, cell texts) for each rendered matrix row."""
    table = root.by_id("matrix")
    rows = []
    for tr in table.find_all("tbody")[0].find_all("tr"):
        heads = tr.find_all("th", "pr")
        if heads:
            rows.append((heads[0].find_all("span", "uid")[0].text(),
                         [td.text() for td in tr.find_all("td", "cell")]))
    return rows


def matrix_columns(root: Node) -> list[str]:
    return [th.text() for th in root.by_id("matrix").find_all("th", "col")]


def test_chromium_renders_the_matrix(chromium: str, tmp_path: Path) -> None:
    doc = demo_document()
    root = dump_dom(chromium, tmp_path, write_report(tmp_path, doc))
    columns = matrix_columns(root)
    assert columns == [r["name"] for r in doc["repositories"]]
    rows = dict(matrix_rows(root))
    names = [name for name, _ in matrix_rows(root)]
    assert names[0] == "anonymous"  # pinned first: it is everyone
    assert names[1:] == sorted(names[1:])
    # henry.park has no access: hidden until "include principals without access".
    assert "henry.park" not in rows and "admin" in rows and "alice" in rows
    assert rows["admin"] == ["RBPDA"] * len(columns)
    assert rows["anonymous"] == ["RB"] * len(columns)
    alice = dict(zip(columns, rows["alice"], strict=True))
    assert alice["docker-hosted"] == "RBP" and alice["docker-group"] == "RB"
    assert alice["docker-payments"] == ""
    trivy = dict(zip(columns, rows["trivy"], strict=True))
    assert trivy["docker-hosted"] == "rb"  # partial: lower case
    table = root.by_id("matrix")
    assert int(table.attrs["data-rows"]) == len(rows) == 17
    cells = table.find_all("td", "cell")
    assert len(cells) == 17 * len(columns)
    assert any("partial" in c.classes() for c in cells)
    assert root.by_id("matrix-cap").attrs.get("hidden") is not None
    # Findings and posture tables were built too.
    assert int(root.by_id("findings-table").attrs["data-rows"]) == len(doc["findings"])
    assert len(root.by_id("findings-table").find_all("tr", "silenced")) == 3
    assert int(root.by_id("posture-table").attrs["data-rows"]) == len(doc["repositories"])
    assert "HTTP_ONLY" in root.by_id("posture-table").text()


def test_chromium_filters_sorts_and_shows_grant_paths(chromium: str, tmp_path: Path) -> None:
    report = write_report(tmp_path, demo_document())
    root = dump_dom(chromium, tmp_path, report,
                    "p=ali&r=hosted&cu=alice&cs=LDAP&cr=docker-hosted")
    assert matrix_rows(root) == [("alice", ["RBP"])]
    assert matrix_columns(root) == ["docker-hosted"]
    details = root.by_id("details")
    text = " ".join(details.text().split())
    assert "alice" in text and "docker-hosted" in text
    steps = [s.text() for s in details.find_all("span", "step")]
    assert "external roledevs" in steps and "external roleengineering" in steps
    assert "privilegenx-repository-view-docker-docker-hosted-add" in steps
    assert "partial" not in text and "no access" in text  # delete and admin
    assert root.find_all("td", "sel"), "the selected cell is marked"

    root = dump_dom(chromium, tmp_path, report, "sort=repos&access=push")
    names = [n for n, _ in matrix_rows(root)]
    assert names[:3] == ["admin", "mallory.contractor", "frank.moreau"]
    assert "scanner" not in names and "anonymous" not in names

    root = dump_dom(chromium, tmp_path, report, "all=1&p=henry")
    assert matrix_rows(root) == [("henry.park", [""] * 12)]

    root = dump_dom(chromium, tmp_path, report, "cu=grace.ops&cs=LDAP&cr=docker-hosted")
    more = root.by_id("details").find_all("li", "more")
    assert [" ".join(m.text().split()) for m in more] == [
        "+ 5 more path(s) not listed in the report"]


SELF_TEST = """
(() => {
  const $ = (id) => document.getElementById(id);
  const log = [];
  const filter = $("f-principal");
  filter.value = "ali";
  filter.dispatchEvent(new Event("input", { bubbles: true }));
  setTimeout(() => {
    log.push("rows=" + $("matrix").querySelectorAll("tbody th.pr").length);
    const cell = $("matrix").querySelector("td.cell[data-c]");
    cell.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    log.push("title=" + cell.title.split("\\n")[0]);
    cell.click();
    log.push("details=" + $("details").querySelector("h3").textContent);
    log.push("hash=" + decodeURIComponent(location.hash));
    $("f-silenced").click();
    log.push("findings=" + $("findings-table").dataset.rows);
    const sort = $("f-sort");
    filter.value = "";
    filter.dispatchEvent(new Event("input", { bubbles: true }));
    sort.value = "power";
    sort.dispatchEvent(new Event("change", { bubbles: true }));
    log.push("first=" + [...$("matrix").querySelectorAll("tbody th.pr .uid")].slice(0, 2)
      .map((n) => n.textContent).join(","));
    document.body.dataset.selftest = log.join("|");
  }, 400);
})();
"""


def test_chromium_controls_respond_to_the_reader(chromium: str, tmp_path: Path) -> None:
    """Typing, hovering, clicking and toggling, driven by a script the test adds to the page."""
    html = render_html(demo_document())
    digest = base64.b64encode(hashlib.sha256(SELF_TEST.encode()).digest()).decode()
    html = html.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    html = html.replace("</body>", f"<script>{SELF_TEST}</script>\n</body>", 1)
    report = tmp_path / "report.html"
    report.write_text(html, encoding="utf-8")
    body = dump_dom(chromium, tmp_path, report).find_all("body")[0]
    assert body.attrs.get("data-selftest", "").split("|") == [
        "rows=1",
        "title=alice \u2192 docker-hosted",
        "details=alice\u2192docker-hosted",
        "hash=#p=ali&cu=alice&cs=LDAP&cr=docker-hosted",
        "findings=10",
        "first=anonymous,admin",
    ]


def test_chromium_keeps_hostile_values_inert(chromium: str, tmp_path: Path) -> None:
    doc = hostile_document()
    root = dump_dom(chromium, tmp_path, write_report(tmp_path, doc), "p=img")
    assert "pwned" not in root.find_all("title")[0].text()
    tags = {n.tag for n in root.iter()}
    assert "img" not in tags and "svg" not in tags
    assert len(root.find_all("script")) == 2
    assert [name for name, _ in matrix_rows(root)] == [HOSTILE[0]]
    assert HOSTILE[1] in matrix_columns(root)
    findings = root.by_id("findings-table").text()
    assert HOSTILE[2] in findings and HOSTILE[3] in findings
    for node in root.iter():
        assert not [n for n, _ in node.attr_list if n.startswith("on")], node.attr_list


def test_chromium_renders_an_empty_report(chromium: str, tmp_path: Path) -> None:
    root = dump_dom(chromium, tmp_path, write_report(tmp_path, empty_document()))
    assert matrix_rows(root) == []
    assert "No principal matches" in root.by_id("matrix").text()
    assert "No findings." in root.by_id("findings-table").text()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def screenshot(browser: str, tmp_path: Path, report: Path, fragment: str, out: Path,
               size: tuple[int, int] = (1400, 900)) -> None:
    url = report.as_uri() + (f"#{fragment}" if fragment else "")
    run_chromium(browser, tmp_path, "--virtual-time-budget=5000", "--hide-scrollbars",
                 f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", url)


def test_chromium_screenshot(chromium: str, tmp_path: Path) -> None:
    """A picture of the demo report; with NEXUS_AUDIT_WRITE_SCREENSHOT=1, the README's."""
    report = write_report(tmp_path, demo_document())
    out = tmp_path / "x.png"
    screenshot(chromium, tmp_path, report, "cu=alice&cs=LDAP&cr=docker-hosted", out)
    assert png_size(out) == (1400, 900)
    assert 20_000 < out.stat().st_size < 300_000  # not blank, small enough for the README
    if os.environ.get("NEXUS_AUDIT_WRITE_SCREENSHOT") == "1":
        target = ROOT / "docs" / "report-screenshot.png"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(out, target)


@pytest.fixture(scope="module")
def large() -> dict[str, Any]:
    return large_document()


def test_large_report_size_is_proportional(large: dict[str, Any]) -> None:
    html = render_html(large)
    data = json.dumps(large, separators=(",", ":"))
    entries = sum(len(r["access"][a]) for r in large["repositories"] for a in ACTIONS)
    assert len(large["repositories"]) == 500 and len(large["principals"]) == 5000
    assert entries > 50_000
    # Each grant path and step once, not once per repository: far less than the document.
    assert len(html.encode()) < len(data.encode()) / 4, (len(html), len(data))
    assert html.count('"privilege:nx-repository-view-*-*-read"') == 1
    assert html.count('"role:nx-admin"') == 1
    assert_island_matches(island(parse(html)), large)


def test_island_round_trips_an_engine_document() -> None:
    """Engine documents share entry dicts among repositories; the island must agree anyway."""
    doc = engine_document(60, 600, 120)
    data = compact_island(doc)
    assert_island_matches(data, doc)
    # A principal with the same access everywhere (a wildcard holder) is one default cell
    # with no exceptions, whatever the number of repositories.
    names = [r["name"] for r in doc["repositories"]]
    by_principal: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for (source, user, repo, action), fact in document_access(doc).items():
        by_principal.setdefault((source, user), {}).setdefault(repo, []).append((action, fact))
    uniform = {key for key, cells in by_principal.items()
               if len(cells) == len(names) and all(c == cells[names[0]] for c in cells.values())}
    assert {("default", "admin"), ("default", "anonymous")} <= uniform
    for principal, (default, flat) in zip(data["principals"], data["rows"], strict=True):
        if (principal[1], principal[0]) in uniform:
            assert default >= 0 and flat == [], principal
    # Overall, far fewer cells are stored than (principal, repository) pairs with access.
    pairs = sum(len(cells) for cells in by_principal.values())
    stored = sum((default >= 0) + len(flat) // 2 for default, flat in data["rows"])
    assert stored < 0.7 * pairs, (stored, pairs)
    # The same facts from a copy without shared dicts (as parsed from JSON).
    assert island_access(compact_island(json.loads(json.dumps(doc)))) == island_access(data)


# --------------------------------------------------------------------------------------------
# The island built straight from the engine (what the CLI writes) equals the document's
# --------------------------------------------------------------------------------------------


def _engine_snapshots(demo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    hostile = copy.deepcopy(demo)
    # Markup in ids, roles and a repository name: escaped in the island just as tojson does.
    for number, evil in enumerate(HOSTILE):
        user = copy.deepcopy(hostile["users"][number % 2])
        user.update(userId=evil, source="default" if number % 2 else evil)
        hostile["users"].append(user)
    return {"demo": demo, "hostile": hostile, "generated": generate(60, 600, 120)}


ISLAND_ELEMENT = re.compile(r'(<script type="application/json" id="data">).*?(</script>)', re.S)


@pytest.mark.parametrize("max_paths", [5, 1, 0])
def test_engine_island_equals_the_document_island(
    demo_dataset: dict[str, Any], max_paths: int
) -> None:
    """report_island (the engine's baselines and named repositories, no entry lists) holds the
    same facts as compact_island of report_document, for the demo and a generated instance."""
    for name, snapshot in _engine_snapshots(demo_dataset).items():
        report = build_report(parse_instance(snapshot))
        doc = report_document(report, max_paths)
        data = report_island(report, max_paths)
        assert_island_matches(data, doc)
        assert island_access(data) == island_access(compact_island(doc)), name
        assert len(data["principals"]) == len(doc["principals"])
        # The page around the island is the same; the island is the same once decoded.
        page = render_html_report(report, max_paths)
        assert page == "".join(iter_html_report(report, max_paths))
        expected = render_html(doc)
        assert ISLAND_ELEMENT.sub(r"\1\2", page) == ISLAND_ELEMENT.sub(r"\1\2", expected), name
        assert island(parse(page)) == json.loads(json.dumps(data))
        if name == "hostile":
            body = ISLAND_ELEMENT.search(page)
            assert body is not None
            assert "<" not in body.group(0)[len(body.group(1)) : -len(body.group(2))]
            assert any(p[0] == HOSTILE[2] for p in data["principals"])


def test_engine_island_keeps_uniform_principals_to_one_cell() -> None:
    """As with documents: a wildcard holder is one default cell, whatever the repositories."""
    report = build_report(parse_instance(generate(60, 600, 120)))
    data = report_island(report)
    doc = report_document(report)
    names = [r["name"] for r in doc["repositories"]]
    by_principal: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for (source, user, repo, action), fact in document_access(doc).items():
        by_principal.setdefault((source, user), {}).setdefault(repo, []).append((action, fact))
    uniform = {key for key, cells in by_principal.items()
               if len(cells) == len(names) and all(c == cells[names[0]] for c in cells.values())}
    assert {("default", "admin"), ("default", "anonymous")} <= uniform
    for principal, (default, flat) in zip(data["principals"], data["rows"], strict=True):
        if (principal[1], principal[0]) in uniform:
            assert default >= 0 and flat == [], principal
    pairs = sum(len(cells) for cells in by_principal.values())
    stored = sum((default >= 0) + len(flat) // 2 for default, flat in data["rows"])
    assert stored < 0.7 * pairs, (stored, pairs)
    # No larger than the document's island.
    size = len(json.dumps(data, separators=(",", ":")))
    assert size < 1.1 * len(json.dumps(compact_island(doc), separators=(",", ":")))


def test_chromium_renders_the_large_report(
    chromium: str, tmp_path: Path, large: dict[str, Any]
) -> None:
    report = write_report(tmp_path, large)
    started = time.monotonic()
    root = dump_dom(chromium, tmp_path, report, "sort=repos&page=2")
    elapsed = time.monotonic() - started
    table = root.by_id("matrix")
    assert table.attrs["data-rows"] == "100"
    assert table.attrs["data-columns"] == str(MAX_COLUMNS)
    assert int(table.attrs["data-total-rows"]) == 5000
    assert len(table.find_all("td", "cell")) == 100 * MAX_COLUMNS
    assert root.by_id("matrix-cap").attrs.get("hidden") is None
    assert "Page 2 of 50" in root.by_id("matrix-pager").text()
    assert float(table.attrs["data-render-ms"]) < 1000
    assert elapsed < 20, f"{elapsed:.1f}s"
    counts = [int(tr.find_all("td", "count")[0].text())
              for tr in table.find_all("tbody")[0].find_all("tr")]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    # The 60 columns are the repositories the 100 principals on the page reach most often.
    reach: dict[str, set[str]] = {}
    for repo in large["repositories"]:
        for action in ACTIONS:
            for e in repo["access"][action]:
                reach.setdefault(e["userId"], set()).add(repo["name"])
    order = [r["name"] for r in large["repositories"]]
    hits = dict.fromkeys(order, 0)
    for user, _ in matrix_rows(root):
        for name in reach[user]:
            hits[name] += 1
    best = sorted(order, key=lambda n: (-hits[n], order.index(n)))[:MAX_COLUMNS]
    assert matrix_columns(root) == sorted(best, key=order.index)


@pytest.fixture(scope="module")
def engine_large() -> dict[str, Any]:
    """bench/generate.py at 500 repositories x 5,000 users: dense, wildcard-heavy access."""
    return engine_document(500, 5000, 1000)


def test_chromium_renders_the_engine_report_at_scale(
    chromium: str, tmp_path: Path, engine_large: dict[str, Any]
) -> None:
    doc = engine_large
    entries = sum(len(r["access"][a]) for r in doc["repositories"] for a in ACTIONS)
    assert entries > 500_000  # embedded as is, the document would be ~200 MiB of HTML
    report = write_report(tmp_path, doc)
    size = report.stat().st_size
    assert size < 30 * 2**20, size
    started = time.monotonic()
    root = dump_dom(chromium, tmp_path, report, "sort=power")
    elapsed = time.monotonic() - started
    table = root.by_id("matrix")
    assert table.attrs["data-rows"] == "100"
    assert table.attrs["data-columns"] == str(MAX_COLUMNS)
    assert int(table.attrs["data-total-rows"]) == doc["summary"]["principals_with_access"]
    assert int(root.find_all("body")[0].attrs["data-entries"]) == entries
    assert float(table.attrs["data-render-ms"]) < 1000
    assert elapsed < 20, f"{elapsed:.1f}s"
    # Anonymous pinned first, then strongest access: nx-all holders read RBPDA everywhere.
    (anonymous, anonymous_cells), (admin, admin_cells) = matrix_rows(root)[:2]
    assert anonymous == "anonymous" and anonymous_cells == ["RB"] * MAX_COLUMNS
    assert admin_cells == ["RBPDA"] * MAX_COLUMNS, admin
    assert sum(1 for _, row in matrix_rows(root) for c in row if c) > 100 * MAX_COLUMNS // 2
