"""Contract: node health — one entry per (workflow, node), upserted, listed by node id, deleted in part or
whole, and gone with its workflow."""

from __future__ import annotations

import asyncio
from datetime import timedelta, timezone

import pytest

from app.domain.health import HealthStatus
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.ports import Store
from tests.store.builders import Make


async def stored_workflow(store: Store, make: Make) -> Workflow:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    return workflow


async def test_a_health_round_trips_with_its_facts(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    east = timezone(timedelta(hours=5, minutes=30))
    health = make.node_health(
        workflow.id,
        "web",
        HealthStatus.DEGRADED,
        'Back-off pulling image "ghcr.io/acme/web:1.2" — grüß dich ✓',
        facts={
            "replicas": 3,
            "ready": 1,
            "ratio": 0.5,
            "paused": False,
            "since": None,
            "reasons": ["ImagePullBackOff", "CrashLoopBackOff"],
            "pods": [{"name": "web-1", "restarts": 4, "labels": {"app.kubernetes.io/name": "web"}}],
            "$ref": "keys with dots and dollars are kept",
        },
        updated_at=make.at().astimezone(east),
    )

    await store.put_node_health(health)

    assert await store.node_healths(workflow.id) == [health]
    stored = (await store.node_healths(workflow.id))[0]
    assert stored.health.status is HealthStatus.DEGRADED
    assert stored.updated_at.utcoffset() == timedelta(0)  # read back in UTC, the same instant


async def test_put_upserts_one_entry_per_node(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    first = make.node_health(workflow.id, "web", HealthStatus.PROGRESSING, "1/3 ready", facts={"ready": 1})
    later = make.node_health(workflow.id, "web", HealthStatus.HEALTHY, "3/3 ready")

    await store.put_node_health(first)
    await store.put_node_health(later)

    assert await store.node_healths(workflow.id) == [later]


async def test_healths_are_listed_by_node_id_per_workflow(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    other = make.workflow(workflow.workspace_id)
    await store.insert_workflow(other)
    for node_id in ("db", "Web", "api", "web", "cache-2", "cache-10"):
        await store.put_node_health(make.node_health(workflow.id, node_id))
    theirs = make.node_health(other.id, "api", HealthStatus.MISSING)
    await store.put_node_health(theirs)

    listed = await store.node_healths(workflow.id)

    assert [entry.node_id for entry in listed] == ["Web", "api", "cache-10", "cache-2", "db", "web"]
    assert await store.node_healths(other.id) == [theirs]
    assert await store.node_healths("no-such-workflow") == []


async def test_a_health_of_an_unknown_workflow_is_dropped(store: Store, make: Make) -> None:
    await store.put_node_health(make.node_health("no-such-workflow", "web"))

    assert await store.node_healths("no-such-workflow") == []


async def test_delete_some_nodes_or_all(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    entries = {node_id: make.node_health(workflow.id, node_id) for node_id in ("a", "b", "c", "d")}
    for entry in entries.values():
        await store.put_node_health(entry)

    await store.delete_node_healths(workflow.id, ["b", "d", "never-had-one"])
    assert await store.node_healths(workflow.id) == [entries["a"], entries["c"]]

    await store.delete_node_healths(workflow.id, [])  # an empty list forgets nothing
    await store.delete_node_healths(workflow.id, ())
    await store.delete_node_healths("no-such-workflow", ["a"])
    assert await store.node_healths(workflow.id) == [entries["a"], entries["c"]]

    await store.delete_node_healths(workflow.id)  # None: every node
    assert await store.node_healths(workflow.id) == []
    await store.delete_node_healths(workflow.id)  # nothing left: a no-op


async def test_delete_refuses_a_bare_string_of_node_ids(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    entry = make.node_health(workflow.id, "a")
    await store.put_node_health(entry)

    with pytest.raises(TypeError, match="not a string"):
        await store.delete_node_healths(workflow.id, "a")

    assert await store.node_healths(workflow.id) == [entry]


async def test_delete_takes_many_node_ids_at_once(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    for i in range(5):
        await store.put_node_health(make.node_health(workflow.id, f"n{i}"))

    # more ids than SQLite's default limit of bound parameters (999 on old builds)
    await store.delete_node_healths(workflow.id, [f"n{i}" for i in range(1, 2000)])

    assert [entry.node_id for entry in await store.node_healths(workflow.id)] == ["n0"]


async def test_concurrent_puts_of_one_node_leave_one_entry(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    puts = [make.node_health(workflow.id, "web", message=f"put {i}") for i in range(10)]

    await asyncio.gather(*(store.put_node_health(entry) for entry in puts))

    listed = await store.node_healths(workflow.id)
    assert len(listed) == 1
    assert listed[0] in puts


async def test_concurrent_puts_of_many_nodes_are_all_kept(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    puts = [make.node_health(workflow.id, f"n{i:02d}") for i in range(12)]

    await asyncio.gather(*(store.put_node_health(entry) for entry in puts))

    assert await store.node_healths(workflow.id) == puts


async def test_deleting_the_workflow_deletes_its_healths(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    kept = make.workflow(workflow.workspace_id)
    await store.insert_workflow(kept)
    scope = Scope.of([workflow.workspace_id])
    await store.put_node_health(make.node_health(workflow.id, "web"))
    await store.put_node_health(make.node_health(workflow.id, "db"))
    kept_health = make.node_health(kept.id, "web")
    await store.put_node_health(kept_health)

    await store.delete_workflow(scope, workflow.id)

    assert await store.node_healths(workflow.id) == []
    assert await store.node_healths(kept.id) == [kept_health]
    await store.insert_workflow(workflow)  # the id again: no health comes back
    assert await store.node_healths(workflow.id) == []


async def test_a_put_racing_the_deletion_of_its_workflow_leaves_nothing(store: Store, make: Make) -> None:
    workflow = await stored_workflow(store, make)
    scope = Scope.of([workflow.workspace_id])

    await asyncio.gather(
        *(store.put_node_health(make.node_health(workflow.id, f"n{i}")) for i in range(5)),
        store.delete_workflow(scope, workflow.id),
        *(store.put_node_health(make.node_health(workflow.id, f"m{i}")) for i in range(5)),
    )

    assert await store.node_healths(workflow.id) == []
