"""SQLite: multi-record writes are all or nothing. A trigger added from another connection makes the last
statement of a write fail; nothing of that write may remain."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from app.domain.runs import RunStatus
from app.store.sqlite import SqliteStore, open_sqlite
from tests.store.builders import T0, Make


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_sqlite(str(tmp_path / "trellis.db"))
    yield store
    await store.close()


async def execute(store: SqliteStore, sql: str) -> None:
    async with aiosqlite.connect(store.path, isolation_level=None) as raw:
        await raw.execute(sql)


async def test_a_failing_run_insert_leaves_no_version(sqlite_store: SqliteStore, make: Make) -> None:
    _, workspace, scope = await make.tenant(sqlite_store)
    workflow = make.workflow(workspace.id)
    await sqlite_store.insert_workflow(workflow)
    await execute(
        sqlite_store, "CREATE TRIGGER fail BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )

    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        await sqlite_store.start_run(scope, make.draft(), make.run(workflow))

    assert (await sqlite_store.list_versions(scope, workflow.id, 10, None)).total == 0
    await execute(sqlite_store, "DROP TRIGGER fail")
    version, run = await sqlite_store.start_run(scope, make.draft(), make.run(workflow))
    assert (version.number, run.version) == (1, 1)


@pytest.mark.parametrize("failing", ["secret_values", "node_healths"])
async def test_a_failing_delete_keeps_the_workflow_whole(
    sqlite_store: SqliteStore, make: Make, failing: str
) -> None:
    _, workspace, scope = await make.tenant(sqlite_store)
    workflow = make.workflow(workspace.id)
    await sqlite_store.insert_workflow(workflow)
    _, run = await sqlite_store.start_run(scope, make.draft(), make.run(workflow))
    await sqlite_store.put_secret_values(workflow.id, "db", "cipher", make.at())
    health = make.node_health(workflow.id, "web")
    await sqlite_store.put_node_health(health)
    # the secret values and then the node healths go after the versions and the runs: make one of
    # those late steps fail
    await execute(
        sqlite_store,
        f"CREATE TRIGGER fail BEFORE DELETE ON {failing} BEGIN SELECT RAISE(ABORT, 'injected'); END",
    )

    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        await sqlite_store.delete_workflow(scope, workflow.id)

    assert await sqlite_store.get_workflow(scope, workflow.id) == workflow
    assert (await sqlite_store.list_versions(scope, workflow.id, 10, None)).total == 1
    assert await sqlite_store.get_run(scope, run.id) == run
    assert await sqlite_store.secret_values(workflow.id) == {"db": "cipher"}
    assert await sqlite_store.node_healths(workflow.id) == [health]


async def test_a_sweep_that_fails_half_way_interrupts_nothing(sqlite_store: SqliteStore, make: Make) -> None:
    _, workspace, scope = await make.tenant(sqlite_store)
    runs = []
    for i in range(3):
        workflow = make.workflow(workspace.id, f"wf{i}")
        await sqlite_store.insert_workflow(workflow)
        runs.append(
            (await sqlite_store.start_run(scope, make.draft(), make.run(workflow, heartbeat_at=T0)))[1]
        )
    await execute(
        sqlite_store,
        f"CREATE TRIGGER fail BEFORE UPDATE ON runs WHEN old.id = '{runs[1].id}' "
        "BEGIN SELECT RAISE(ABORT, 'injected'); END",
    )

    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        await sqlite_store.interrupt_stale_runs(
            heartbeat_before=T0 + timedelta(seconds=1), at=make.at(), reason="x"
        )

    for run in runs:
        stored = await sqlite_store.get_run(scope, run.id)
        assert stored is not None
        assert stored.status is RunStatus.PENDING
