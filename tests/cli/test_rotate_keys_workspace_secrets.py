"""`trellis rotate-keys` also moves workspace secrets to the newest key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.auth.keyring import Keyring
from app.cli import main
from app.domain.users import User, UserRole
from app.domain.workspace_secrets import WorkspaceSecret
from app.domain.workspaces import Workspace
from app.store.opening import open_store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_rotation_reencrypts_workspace_secrets_with_the_first_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    url = f"sqlite:///{tmp_path / 'trellis.db'}"
    store = await open_store(url)
    try:
        await store.create_user(
            User("u", "u@example.com", "U", "x", UserRole.USER, False, NOW, NOW),
            Workspace("w", "W", True, "u", NOW),
        )
        secret = WorkspaceSecret("w", "API_KEY", "", "u", NOW, "u", NOW)
        await store.put_workspace_secret(secret, Keyring([old]).encrypt("s3cret"))
    finally:
        await store.close()
    monkeypatch.setenv("TRELLIS_STORE_URL", url)
    monkeypatch.setenv("TRELLIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRELLIS_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("TRELLIS_ENCRYPTION_KEYS", f"{new},{old}")
    assert await asyncio.to_thread(main, ["rotate-keys"]) == 0
    assert "re-encrypted 1 value(s)" in capsys.readouterr().out
    store = await open_store(url)
    try:
        [ciphertext] = (await store.workspace_secret_ciphertexts("w", ["API_KEY"])).values()
        assert Keyring([new]).decrypt(ciphertext) == "s3cret"
    finally:
        await store.close()
