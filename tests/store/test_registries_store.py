"""Contract: registries — names unique per workspace, one default per workspace (taken atomically),
scoping, checks, credentials in key rotation, removal with the workspace; pull-Secret records."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from app.domain.registries import (
    PullSecretRecord,
    Registry,
    RegistryCheck,
    RegistryStatus,
    RegistryType,
)
from app.domain.workspaces import MemberRole, Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make


def registry(make: Make, workspace_id: str, name: str = "Hub", **overrides: Any) -> Registry:
    at = overrides.pop("created_at", None) or make.at()
    return Registry(
        id=overrides.pop("id", None) or make.id("reg"),
        workspace_id=workspace_id,
        name=name,
        type=overrides.pop("type", RegistryType.GHCR),
        url=overrides.pop("url", "https://ghcr.io"),
        insecure=overrides.pop("insecure", False),
        is_default=overrides.pop("is_default", False),
        created_by=overrides.pop("created_by", "user-x"),
        created_at=at,
        updated_at=overrides.pop("updated_at", at),
        credentials_ciphertext=overrides.pop("credentials_ciphertext", "gAAAAAB-registry=="),
        **overrides,
    )


def record(
    make: Make, workflow_id: str, workspace_id: str, registry_id: str, **overrides: Any
) -> PullSecretRecord:
    return PullSecretRecord(
        workflow_id=workflow_id,
        workspace_id=workspace_id,
        registry_id=registry_id,
        cluster_id=overrides.pop("cluster_id", "cluster-1"),
        namespace=overrides.pop("namespace", "shop"),
        expires_at=overrides.pop("expires_at", None) or make.at(3600),
        applied_at=overrides.pop("applied_at", None) or make.at(),
    )


async def test_a_registry_round_trips(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    stored = registry(make, workspace.id, "Prod ✓", type=RegistryType.ECR, url="https://1.dkr.ecr.x")
    anonymous = registry(
        make,
        workspace.id,
        "Open",
        type=RegistryType.GENERIC,
        credentials_ciphertext=None,
        url="http://127.0.0.1:5000",
        insecure=True,
    )
    await store.insert_registry(stored)
    await store.insert_registry(anonymous)

    assert await store.get_registry(scope, stored.id) == stored
    assert await store.get_registry(scope, anonymous.id) == anonymous
    assert await store.get_registry(scope, "missing") is None
    assert await store.list_registries(scope) == [anonymous, stored]
    assert await store.list_registries(scope, workspace.id) == [anonymous, stored]
    assert await store.list_registries(Scope.of([])) == []


async def test_names_are_unique_per_workspace_whatever_the_case(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)
    team = make.workspace(user.id, "Team")
    await store.create_workspace(team, make.membership(team.id, user.id, MemberRole.OWNER))
    await store.insert_registry(registry(make, workspace.id, "Ärger"))

    with pytest.raises(Conflict, match="name"):
        await store.insert_registry(registry(make, workspace.id, "äRGER"))
    await store.insert_registry(registry(make, team.id, "äRGER"))
    first = registry(make, workspace.id, "Other")
    await store.insert_registry(first)
    with pytest.raises(Conflict, match="id"):
        await store.insert_registry(registry(make, workspace.id, "Third", id=first.id))
    with pytest.raises(NotFound):
        await store.insert_registry(registry(make, "no-such-workspace"))
    with pytest.raises(Conflict, match="name"):
        await store.replace_registry(Scope.of([workspace.id]), replace(first, name="ärger"))


async def test_concurrent_inserts_of_one_name_leave_one(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)

    results = await asyncio.gather(
        *(store.insert_registry(registry(make, workspace.id, n)) for n in ["hub", "HUB", "Hub"] * 2),
        return_exceptions=True,
    )

    assert sum(result is None for result in results) == 1
    assert all(isinstance(result, Conflict) for result in results if result is not None)
    assert len(await store.list_registries(scope)) == 1


async def test_one_default_per_workspace_taken_atomically(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)
    team = make.workspace(user.id, "Team")
    await store.create_workspace(team, make.membership(team.id, user.id, MemberRole.OWNER))
    scope = Scope.of([workspace.id, team.id])
    first = registry(make, workspace.id, "first", is_default=True)
    elsewhere = registry(make, team.id, "elsewhere", is_default=True)
    await store.insert_registry(first)
    await store.insert_registry(elsewhere)
    second = registry(make, workspace.id, "second", is_default=True)

    await store.insert_registry(second)  # a new default takes it from the old one

    defaults = {r.name for r in await store.list_registries(scope) if r.is_default}
    assert defaults == {"second", "elsewhere"}
    at = make.at()
    chosen = await store.set_default_registry(scope, first.id, at)
    assert chosen.is_default and chosen.updated_at == at
    assert {r.name for r in await store.list_registries(scope) if r.is_default} == {"first", "elsewhere"}
    assert await store.set_default_registry(scope, first.id, make.at()) == chosen  # already: unchanged
    with pytest.raises(NotFound):
        await store.set_default_registry(Scope.of([team.id]), first.id, make.at())

    others = [registry(make, workspace.id, f"r{i}") for i in range(4)]
    for other in others:
        await store.insert_registry(other)
    await asyncio.gather(*(store.set_default_registry(scope, o.id, make.at()) for o in others))
    assert len([r for r in await store.list_registries(scope, workspace.id) if r.is_default]) == 1


async def test_replace_changes_what_may_change_and_keeps_the_rest(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    original = registry(make, workspace.id, "hub", is_default=True)
    await store.insert_registry(original)
    check = RegistryCheck(RegistryStatus.REACHABLE, None, "registry/2.0", make.at())
    await store.record_registry_check(original.id, check)

    changed = replace(
        original,
        name="Hub 2",
        url="https://ghcr.example",
        credentials_ciphertext=None,
        updated_at=make.at(),
        is_default=False,  # not through replace
        type=RegistryType.GENERIC,  # not through replace
        last_check=None,  # not through replace
    )
    await store.replace_registry(scope, changed)

    stored = await store.get_registry(scope, original.id)
    assert stored == replace(changed, is_default=True, type=RegistryType.GHCR, last_check=check)
    with pytest.raises(NotFound):
        await store.replace_registry(Scope.of([]), changed)


async def test_checks_are_kept_and_a_removed_registry_is_ignored(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    stored = registry(make, workspace.id)
    await store.insert_registry(stored)
    failed = RegistryCheck(RegistryStatus.UNAUTHORIZED, "the registry refused: no ✓", None, make.at())

    await store.record_registry_check(stored.id, failed)
    await store.record_registry_check("gone", failed)

    found = await store.get_registry(scope, stored.id)
    assert found is not None and found.last_check == failed


async def test_delete_removes_the_registry_and_its_pull_secret_records(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    gone, kept = registry(make, workspace.id, "gone"), registry(make, workspace.id, "kept")
    await store.insert_registry(gone)
    await store.insert_registry(kept)
    await store.replace_pull_secrets(
        workflow.id,
        [record(make, workflow.id, workspace.id, gone.id), record(make, workflow.id, workspace.id, kept.id)],
    )

    with pytest.raises(NotFound):
        await store.delete_registry(Scope.of([]), gone.id)
    await store.delete_registry(scope, gone.id)

    assert await store.list_registries(scope) == [kept]
    due = await store.pull_secrets_due(make.at(10**6))
    assert [r.registry_id for r in due] == [kept.id]
    with pytest.raises(NotFound):
        await store.delete_registry(scope, gone.id)


async def test_pull_secret_records_replace_upsert_and_come_due(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    reg = registry(make, workspace.id)
    await store.insert_registry(reg)
    soon, later = make.at(100), make.at(10_000)
    a = record(make, workflow.id, workspace.id, reg.id, namespace="a", expires_at=later)
    b = record(make, workflow.id, workspace.id, reg.id, namespace="b", expires_at=soon)
    orphan = record(make, workflow.id, workspace.id, "no-such-registry", namespace="c")

    await store.replace_pull_secrets(workflow.id, [a, b, orphan])

    assert await store.pull_secrets_due(make.at(200)) == [b]
    assert await store.pull_secrets_due(make.at(20_000)) == [b, a]
    refreshed = replace(b, expires_at=make.at(30_000), applied_at=make.at(150))
    await store.save_pull_secret(refreshed)
    await store.save_pull_secret(record(make, "no-such-workflow", workspace.id, reg.id))
    assert await store.pull_secrets_due(make.at(20_000)) == [a]
    await store.delete_pull_secret(workflow.id, reg.id, "a")
    assert await store.pull_secrets_due(make.at(40_000)) == [refreshed]
    await store.replace_pull_secrets(workflow.id, [])
    assert await store.pull_secrets_due(make.at(40_000)) == []
    with pytest.raises(ValueError, match="workflow"):
        await store.replace_pull_secrets("other", [a])


async def test_reencrypt_rewrites_registry_credentials_with_the_rest(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.insert_registry(registry(make, workspace.id, "a", credentials_ciphertext="old-a"))
    await store.insert_registry(registry(make, workspace.id, "open", credentials_ciphertext=None))
    await store.insert_cluster(make.cluster(workspace.id, credentials_ciphertext="old-cluster"))

    assert await store.reencrypt(lambda text: text.replace("old", "new")) == 2

    stored = {r.name: r.credentials_ciphertext for r in await store.list_registries(scope)}
    assert stored == {"a": "new-a", "open": None}


async def test_reencrypt_is_all_or_nothing_with_registries(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.insert_cluster(make.cluster(workspace.id, credentials_ciphertext="fine"))
    await store.insert_registry(registry(make, workspace.id, "a", credentials_ciphertext="broken"))

    def transform(text: str) -> str:
        if text == "broken":
            raise ValueError("no key decrypts this")
        return "rotated"

    with pytest.raises(ValueError, match="no key"):
        await store.reencrypt(transform)

    assert [c.credentials_ciphertext for c in await store.list_clusters(scope)] == ["fine"]
    assert [r.credentials_ciphertext for r in await store.list_registries(scope)] == ["broken"]


async def test_no_pull_secret_record_outlives_its_workflow(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    reg = registry(make, workspace.id)
    await store.insert_registry(reg)
    await store.replace_pull_secrets(workflow.id, [record(make, workflow.id, workspace.id, reg.id)])

    await store.delete_workflow(scope, workflow.id)
    await store.replace_pull_secrets(workflow.id, [record(make, workflow.id, workspace.id, reg.id)])
    await store.save_pull_secret(record(make, workflow.id, workspace.id, reg.id, namespace="other"))

    assert await store.pull_secrets_due(make.at() + timedelta(days=1)) == []
    assert await store.get_registry(scope, reg.id) == reg
