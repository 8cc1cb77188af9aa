"""`trellis rotate-keys` moves every stored secret to the newest key; older keys can then be dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.auth.keyring import Keyring
from app.cli import main
from app.domain.clusters import Cluster, ClusterAuthType
from app.domain.users import User, UserRole
from app.domain.workflows import Canvas, Workflow, WorkflowStatus
from app.domain.workspaces import Scope, Workspace
from app.store.opening import open_store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def _seed(url: str, keyring: Keyring) -> None:
    store = await open_store(url)
    try:
        user = User("u", "u@example.com", "U", "x", UserRole.USER, False, NOW, NOW)
        workspace = Workspace("w", "W", True, "u", NOW)
        await store.create_user(user, workspace)
        await store.insert_cluster(
            Cluster(
                "c",
                "w",
                "lab",
                "",
                ClusterAuthType.TOKEN,
                "https://k",
                keyring.encrypt("creds"),
                "u",
                NOW,
                NOW,
            )
        )
        await store.insert_workflow(
            Workflow("wf", "w", "shop", "", WorkflowStatus.DRAFT, "shop", None, Canvas(), 1, "u", NOW, NOW)
        )
        await store.put_secret_values("wf", "db", keyring.encrypt('{"PASSWORD": "p"}'), NOW)
    finally:
        await store.close()


async def test_rotation_reencrypts_everything_with_the_first_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'trellis.db'}"
    await _seed(url, Keyring([old]))
    monkeypatch.setenv("TRELLIS_STORE_URL", url)
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRELLIS_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("TRELLIS_ENCRYPTION_KEYS", f"{new},{old}")
    assert await asyncio.to_thread(main, ["rotate-keys"]) == 0
    assert "re-encrypted 2 value(s)" in capsys.readouterr().out

    store = await open_store(url)
    try:
        only_new = Keyring([new])
        cluster = await store.get_cluster(Scope.of(["w"]), "c")
        assert cluster is not None
        assert only_new.decrypt(cluster.credentials_ciphertext) == "creds"
        assert only_new.decrypt((await store.secret_values("wf"))["db"]) == '{"PASSWORD": "p"}'
    finally:
        await store.close()


async def test_rotation_without_the_old_key_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'trellis.db'}"
    await _seed(url, Keyring([old]))
    monkeypatch.setenv("TRELLIS_STORE_URL", url)
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRELLIS_ENCRYPTION_KEYS", new)
    assert await asyncio.to_thread(main, ["rotate-keys"]) == 1
    assert "nothing changed" in capsys.readouterr().err
    store = await open_store(url)
    try:
        assert Keyring([old]).decrypt((await store.secret_values("wf"))["db"]) == '{"PASSWORD": "p"}'
    finally:
        await store.close()
