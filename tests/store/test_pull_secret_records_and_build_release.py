"""Contract: pull-Secret records of credentials that never expire (kept, never due), listed per workflow
and per registry; a stopping server's builds released in one write and taken over at once by the next
claim, whatever their heartbeat."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from app.domain.builds import BuildStatus
from app.domain.registries import PullSecretRecord
from app.ports import Store
from tests.store.builders import Make
from tests.store.test_builds_store import a_build
from tests.store.test_registries_store import registry


def record(
    make: Make, workflow_id: str, workspace_id: str, registry_id: str, namespace: str, **overrides: Any
) -> PullSecretRecord:
    return replace(
        PullSecretRecord(
            workflow_id=workflow_id,
            workspace_id=workspace_id,
            registry_id=registry_id,
            cluster_id="cluster-1",
            namespace=namespace,
            expires_at=None,
            applied_at=make.at(),
        ),
        **overrides,
    )


async def test_records_without_expiry_are_kept_listed_and_never_due(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    first, second = make.workflow(workspace.id), make.workflow(workspace.id)
    await store.insert_workflow(first)
    await store.insert_workflow(second)
    hub, ecr = registry(make, workspace.id, "hub"), registry(make, workspace.id, "ecr")
    await store.insert_registry(hub)
    await store.insert_registry(ecr)
    forever = record(make, first.id, workspace.id, hub.id, "shop")
    shared = record(make, second.id, workspace.id, hub.id, "shop", cluster_id="cluster-0")
    expiring = record(make, first.id, workspace.id, ecr.id, "api", expires_at=make.at(3600))

    for each in (forever, shared, expiring):
        await store.save_pull_secret(each)

    assert await store.list_pull_secrets(workflow_id=first.id) == [expiring, forever]
    assert await store.list_pull_secrets(registry_id=hub.id) == [shared, forever]
    assert await store.list_pull_secrets(workflow_id=second.id, registry_id=ecr.id) == []
    assert await store.list_pull_secrets() == [shared, expiring, forever]
    assert await store.pull_secrets_due(make.at() + timedelta(days=365 * 7000)) == [expiring]

    refreshed_away = replace(expiring, expires_at=None)
    await store.save_pull_secret(refreshed_away)  # credentials that stopped expiring: kept, not due
    assert await store.pull_secrets_due(make.at() + timedelta(days=365)) == []
    assert await store.list_pull_secrets(registry_id=ecr.id) == [refreshed_away]

    await store.delete_pull_secret(first.id, hub.id, "shop")
    await store.delete_workflow(scope, second.id)
    await store.delete_registry(scope, ecr.id)
    left = await store.list_pull_secrets()
    # MongoDB keeps a deleted workflow's records (the clean-up drops them when it meets them)
    assert left in ([], [shared])


async def test_released_builds_are_taken_over_by_the_next_claim_whatever_their_heartbeat(
    store: Store, make: Make
) -> None:
    _, workspace, scope = await make.tenant(store)
    for _ in range(2):
        await store.insert_build(a_build(make, workspace.id, cluster_id=make.id("c")))
    at = make.at()
    mine, also_mine = await store.claim_queued_builds(owner="server-a", at=at, per_workspace=5, per_cluster=5)
    await store.insert_build(a_build(make, workspace.id, cluster_id=make.id("c")))
    (theirs,) = await store.claim_queued_builds(owner="server-b", at=at, per_workspace=5, per_cluster=5)
    finished = replace(also_mine, status=BuildStatus.COMPLETED, finished_at=at)
    await store.save_build(finished)

    assert await store.release_builds(owner="server-a") == [mine.id]
    assert await store.release_builds(owner="server-a") == []

    stored = await store.get_build(scope, mine.id)
    assert stored is not None and stored.owner is None and stored.heartbeat_at == at
    ended = await store.get_build(scope, also_mine.id)
    assert ended is not None and ended.owner == "server-a"  # a finished build is left as it is
    other = await store.get_build(scope, theirs.id)
    assert other is not None and other.owner == "server-b"
    taken = await store.claim_stale_builds(owner="server-c", at=at, heartbeat_before=at - timedelta(hours=1))
    assert [(b.id, b.owner, b.heartbeat_at) for b in taken] == [(mine.id, "server-c", at)]
