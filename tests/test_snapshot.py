"""Snapshots: secrets never saved, nothing overwritten, clear messages for foreign files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from nexus_payloads import docker_hosted, docker_proxy, snapshot, user

from audit import snapshot as snapshots
from audit.errors import SnapshotError
from audit.model import parse_instance


def proxy_with_credentials() -> dict[str, Any]:
    """A proxy of a private upstream whose credentials Nexus stores (it returns them masked)."""
    body = docker_proxy("ghcr-proxy", remote_url="https://ghcr.io", index_type="REGISTRY")
    body["httpClient"]["authentication"] = {
        "type": "username",
        "username": "acme-bot",
        "password": "ghp_plaintextSecretValue",
        "ntlmHost": None,
        "ntlmDomain": None,
        "preemptive": False,
        "bearerToken": "tok-123-secret",
    }
    return body


def capability_with_secret() -> dict[str, Any]:
    return {
        "id": "9f1c2b3a4d5e6f70",
        "type": "webhook.global",
        "typeName": "Webhook: Global",
        "enabled": True,
        "active": True,
        "error": False,
        "notes": "",
        "properties": {
            "url": "https://hooks.acme.example/nexus",
            "secret": "hmac-shared-key",
            "names": "repository",
        },
    }


def test_secrets_are_redacted_wherever_they_are(tmp_path: Path) -> None:
    document = snapshot(
        repositories=[docker_hosted("docker-hosted", http_port=8082), proxy_with_credentials()],
        capabilities=[capability_with_secret()],
        user_tokens={
            "enabled": True,
            "expirationEnabled": False,
            "expirationDays": 30,
            "protectContent": False,
        },
    )
    path = tmp_path / "acme.json"
    snapshots.save(document, str(path))
    text = path.read_text()
    for secret in ("ghp_plaintextSecretValue", "tok-123-secret", "hmac-shared-key"):
        assert secret not in text
    saved = json.loads(text)
    proxy = next(r for r in saved["repositories"] if r["name"] == "ghcr-proxy")
    assert proxy["httpClient"]["authentication"]["password"] == snapshots.REDACTED
    assert proxy["httpClient"]["authentication"]["username"] == "acme-bot"
    # Settings that merely mention tokens or auth are kept as they are.
    assert saved["user_tokens"]["enabled"] is True
    assert proxy["docker"]["forceBasicAuth"] is True
    assert saved["users"] == document["users"]


def test_only_snapshot_sections_are_written(tmp_path: Path) -> None:
    document = snapshot(users=[user("scanner", roles=["hg-scan"])])
    document["emulator"] = {"passwords": {"scanner": "scanner123"}}
    path = tmp_path / "acme.json"
    snapshots.save(document, str(path))
    saved = json.loads(path.read_text())
    assert "emulator" not in saved
    assert list(saved)[0] == "nexus_audit_snapshot"


def test_round_trip_gives_the_same_instance(tmp_path: Path) -> None:
    document = snapshot(
        users=[user("scanner", roles=["hg-scan"])],
        repositories=[docker_hosted("docker-hosted", http_port=8082)],
    )
    path = tmp_path / "acme.json"
    snapshots.save(document, str(path))
    assert parse_instance(snapshots.load(str(path))) == parse_instance(document)


def test_existing_file_is_kept_without_force(tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    path.write_text("earlier work")
    with pytest.raises(SnapshotError, match="already exists"):
        snapshots.save(snapshot(), str(path))
    assert path.read_text() == "earlier work"
    snapshots.save(snapshot(), str(path), force=True)
    assert json.loads(path.read_text())["nexus_audit_snapshot"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["acme.json"]


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        snapshots.save(snapshot(), str(tmp_path / "nowhere" / "acme.json"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "is not a nexus-audit snapshot"),
        ('{"nexus_audit_snapshot": 7}', "newer nexus-audit"),
        ('{"nexus_audit_snapshot": 0}', "old snapshot format"),
        ('{"nexus_audit_snapshot": "1"}', "must be a format number"),
    ],
)
def test_foreign_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "snap.json"
    path.write_text(text)
    with pytest.raises(SnapshotError, match=message):
        snapshots.load(str(path))


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        snapshots.load(str(tmp_path / "missing.json"))
    with pytest.raises(SnapshotError, match="is a directory"):
        snapshots.load(str(tmp_path))
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(SnapshotError, match="not a text"):
        snapshots.load(str(binary))


def test_written_files_get_the_usual_mode(tmp_path: Path) -> None:
    path = tmp_path / "acme.json"
    snapshots.save(snapshot(), str(path))
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
