"""Contract: Git credentials — names unique per workspace (case-insensitively), scoping, removal, and
re-encryption with every other secret."""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone
from typing import Any

import pytest

from app.domain.git import GitCredential, GitCredentialKind
from app.domain.workspaces import MemberRole, Scope, Workspace
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make


def credential(make: Make, workspace_id: str, name: str = "GitHub", **overrides: Any) -> GitCredential:
    return GitCredential(
        id=overrides.pop("id", None) or make.id("gitcred"),
        workspace_id=workspace_id,
        name=name,
        host=overrides.pop("host", "github.com"),
        kind=overrides.pop("kind", GitCredentialKind.TOKEN),
        username=overrides.pop("username", "x-access-token"),
        created_by=overrides.pop("created_by", "user-x"),
        created_at=overrides.pop("created_at", None) or make.at(),
        ciphertext=overrides.pop("ciphertext", "gAAAAAB-opaque-ciphertext=="),
    )


async def team(store: Store, make: Make, user_id: str) -> Workspace:
    workspace = make.workspace(user_id, "Team")
    await store.create_workspace(workspace, make.membership(workspace.id, user_id, MemberRole.OWNER))
    return workspace


async def test_a_credential_round_trips_with_its_opaque_ciphertext(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    token = credential(
        make,
        workspace.id,
        "Deploy ✓",
        ciphertext="v1:kid-2:" + "A" * 6000,
        created_at=make.at().astimezone(timezone(timedelta(hours=-7))),
    )
    key = credential(make, workspace.id, "ssh", kind=GitCredentialKind.SSH_KEY, username=None)

    await store.insert_git_credential(token)
    await store.insert_git_credential(key)

    assert await store.get_git_credential(scope, token.id) == token
    assert await store.get_git_credential(scope, key.id) == key
    stored = await store.get_git_credential(scope, key.id)
    assert stored is not None and stored.kind is GitCredentialKind.SSH_KEY and stored.username is None
    assert await store.get_git_credential(scope, "no-such-credential") is None


async def test_names_are_unique_per_workspace_whatever_the_case(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)
    other = await team(store, make, user.id)
    await store.insert_git_credential(credential(make, workspace.id, "Ärger Deploy"))

    with pytest.raises(Conflict, match="name"):
        await store.insert_git_credential(credential(make, workspace.id, "ärger DEPLOY", host="gitlab.com"))
    await store.insert_git_credential(credential(make, other.id, "ärger DEPLOY"))  # another workspace
    await store.insert_git_credential(credential(make, workspace.id, "Ärger Deploy 2"))

    mine = await store.list_git_credentials(Scope.of([workspace.id, other.id]), workspace.id)
    assert [c.name for c in mine] == ["Ärger Deploy", "Ärger Deploy 2"]


async def test_insert_refuses_an_unknown_workspace_or_a_taken_id(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    first = credential(make, workspace.id)
    await store.insert_git_credential(first)

    with pytest.raises(NotFound):
        await store.insert_git_credential(credential(make, "no-such-workspace"))
    with pytest.raises(Conflict, match="id"):
        await store.insert_git_credential(credential(make, workspace.id, "Other", id=first.id))
    assert await store.list_git_credentials(scope, workspace.id) == [first]


async def test_concurrent_inserts_of_one_name_leave_one_credential(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    names = ["deploy", "DEPLOY", "Deploy"] * 2

    results = await asyncio.gather(
        *(store.insert_git_credential(credential(make, workspace.id, n)) for n in names),
        return_exceptions=True,
    )

    assert sum(result is None for result in results) == 1
    assert all(isinstance(result, Conflict) for result in results if result is not None)
    assert len(await store.list_git_credentials(scope, workspace.id)) == 1


async def test_another_workspace_is_invisible(store: Store, make: Make) -> None:
    _, ada_ws, ada = await make.tenant(store)
    _, eve_ws, eve = await make.tenant(store)
    secret = credential(make, ada_ws.id)
    await store.insert_git_credential(secret)

    assert await store.get_git_credential(eve, secret.id) is None
    assert await store.list_git_credentials(eve, ada_ws.id) == []
    assert await store.list_git_credentials(eve, eve_ws.id) == []
    with pytest.raises(NotFound):
        await store.delete_git_credential(eve, secret.id)
    assert await store.get_git_credential(ada, secret.id) == secret


async def test_list_is_one_workspace_by_name(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)
    other = await team(store, make, user.id)
    both = Scope.of([workspace.id, other.id])
    for name in ["zeta", "Alpha", "beta"]:
        await store.insert_git_credential(credential(make, workspace.id, name))
    await store.insert_git_credential(credential(make, other.id, "aaa"))

    assert [c.name for c in await store.list_git_credentials(both, workspace.id)] == ["Alpha", "beta", "zeta"]
    assert [c.name for c in await store.list_git_credentials(both, other.id)] == ["aaa"]


async def test_delete_removes_one_credential(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    gone, kept = credential(make, workspace.id, "gone"), credential(make, workspace.id, "kept")
    await store.insert_git_credential(gone)
    await store.insert_git_credential(kept)

    await store.delete_git_credential(scope, gone.id)

    assert await store.list_git_credentials(scope, workspace.id) == [kept]
    with pytest.raises(NotFound):
        await store.delete_git_credential(scope, gone.id)
    await store.insert_git_credential(credential(make, workspace.id, "gone"))  # the name is free again


async def test_reencrypt_rewrites_git_credentials_with_every_other_secret(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    token = credential(make, workspace.id, "token", ciphertext="old-token")
    key = credential(make, workspace.id, "key", kind=GitCredentialKind.SSH_KEY, ciphertext="old-key")
    await store.insert_git_credential(token)
    await store.insert_git_credential(key)
    await store.insert_cluster(make.cluster(workspace.id, credentials_ciphertext="old-cluster"))

    count = await store.reencrypt(lambda text: text.replace("old", "new"))

    assert count == 3
    stored = {c.name: c.ciphertext for c in await store.list_git_credentials(scope, workspace.id)}
    assert stored == {"key": "new-key", "token": "new-token"}


async def test_reencrypt_is_all_or_nothing(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.insert_git_credential(credential(make, workspace.id, "a", ciphertext="fine"))
    await store.insert_git_credential(credential(make, workspace.id, "b", ciphertext="broken"))

    def transform(text: str) -> str:
        if text == "broken":
            raise ValueError("no key decrypts this")
        return "rotated"

    with pytest.raises(ValueError, match="no key"):
        await store.reencrypt(transform)

    assert {c.ciphertext for c in await store.list_git_credentials(scope, workspace.id)} == {"fine", "broken"}
