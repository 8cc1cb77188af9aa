"""Contract: workspace secrets — one per (workspace, name), setting it again replaces the ciphertext and
keeps ``created_*``, scoping, deletion, ciphertexts read by name, re-encryption, gone with their workspace
(migration 15)."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.workspace_secrets import WorkspaceSecret
from app.errors import NotFound
from app.ports import Store
from tests.store.builders import Make


def secret(make: Make, workspace_id: str, name: str = "API_KEY", **overrides: Any) -> WorkspaceSecret:
    at = overrides.pop("at", None) or make.at()
    return WorkspaceSecret(
        workspace_id=workspace_id,
        name=name,
        description=overrides.pop("description", "the key"),
        created_by=overrides.pop("by", "user-a"),
        created_at=at,
        updated_by=overrides.pop("updated_by", "user-a"),
        updated_at=at,
    )


async def test_secrets_round_trip_list_by_name_and_give_their_ciphertexts(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    second = await store.put_workspace_secret(secret(make, workspace.id, "Z_LAST"), "cipher-z")
    first = await store.put_workspace_secret(secret(make, workspace.id, "A_FIRST"), "cipher-a")
    assert await store.list_workspace_secrets(scope, workspace.id) == [first, second]
    assert await store.get_workspace_secret(scope, workspace.id, "A_FIRST") == first
    assert await store.workspace_secret_ciphertexts(workspace.id, ["A_FIRST", "MISSING", "Z_LAST"]) == {
        "A_FIRST": "cipher-a",
        "Z_LAST": "cipher-z",
    }


async def test_setting_a_name_again_replaces_it_and_keeps_who_created_it(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    original = await store.put_workspace_secret(secret(make, workspace.id, by="user-a"), "old")
    later = make.at(60)
    stored = await store.put_workspace_secret(
        secret(make, workspace.id, by="user-b", updated_by="user-b", at=later, description="rotated"), "new"
    )
    assert stored.created_by == "user-a" and stored.created_at == original.created_at
    assert stored.updated_by == "user-b" and stored.updated_at == later and stored.description == "rotated"
    assert await store.workspace_secret_ciphertexts(workspace.id, ["API_KEY"]) == {"API_KEY": "new"}
    assert len(await store.list_workspace_secrets(scope, workspace.id)) == 1


async def test_secrets_are_scoped_to_their_workspace(store: Store, make: Make) -> None:
    _, mine, scope = await make.tenant(store)
    _, theirs, _ = await make.tenant(store)
    await store.put_workspace_secret(secret(make, theirs.id), "theirs")
    assert await store.list_workspace_secrets(scope, theirs.id) == []
    assert await store.get_workspace_secret(scope, theirs.id, "API_KEY") is None
    with pytest.raises(NotFound):
        await store.delete_workspace_secret(scope, theirs.id, "API_KEY")
    assert await store.workspace_secret_ciphertexts(mine.id, ["API_KEY"]) == {}
    with pytest.raises(NotFound):
        await store.put_workspace_secret(secret(make, "no-such-workspace"), "x")


async def test_delete_removes_one_secret(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.put_workspace_secret(secret(make, workspace.id, "KEEP"), "k")
    await store.put_workspace_secret(secret(make, workspace.id, "GO"), "g")
    await store.delete_workspace_secret(scope, workspace.id, "GO")
    assert [s.name for s in await store.list_workspace_secrets(scope, workspace.id)] == ["KEEP"]
    with pytest.raises(NotFound):
        await store.delete_workspace_secret(scope, workspace.id, "GO")


async def test_reencrypt_rewrites_every_ciphertext_or_none(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    await store.put_workspace_secret(secret(make, workspace.id, "A"), "a")
    await store.put_workspace_secret(secret(make, workspace.id, "B"), "b")
    assert await store.reencrypt_workspace_secrets(lambda text: text + "!") == 2
    assert await store.workspace_secret_ciphertexts(workspace.id, ["A", "B"]) == {"A": "a!", "B": "b!"}

    def fails(text: str) -> str:
        if text == "b!":
            raise ValueError("no key decrypts it")
        return text + "?"

    with pytest.raises(ValueError, match="no key"):
        await store.reencrypt_workspace_secrets(fails)
    assert await store.workspace_secret_ciphertexts(workspace.id, ["A", "B"]) == {"A": "a!", "B": "b!"}


async def test_a_deleted_users_workspace_takes_its_secrets(store: Store, make: Make) -> None:
    _, admin_ws, _ = await make.tenant(store)  # the first user is the admin: keep one
    user, workspace, scope = await make.tenant(store)
    await store.put_workspace_secret(secret(make, workspace.id), "x")
    assert workspace.id in await store.delete_user(user.id, make.at(), hand_over_to=None)
    assert await store.workspace_secret_ciphertexts(workspace.id, ["API_KEY"]) == {}
    assert admin_ws.id != workspace.id and await store.list_workspace_secrets(scope, workspace.id) == []
