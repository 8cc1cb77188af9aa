"""SQLite specifics: pragmas, memory databases, cross-connection locking and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from app.domain.users import UserRole
from app.domain.workspaces import Scope
from app.errors import Unavailable
from app.store.sqlite import SqliteStore, open_sqlite
from tests.store.builders import Make


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_sqlite(str(tmp_path / "trellis.db"))
    yield store
    await store.close()


async def test_a_file_database_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "trellis.db"  # missing parents are created
    store = await open_sqlite(str(path), busy_timeout_ms=1234)
    try:
        pragmas = {}
        for pragma in ("journal_mode", "foreign_keys", "busy_timeout"):
            async with store._db.transaction(write=False) as tx:
                pragmas[pragma] = await tx.value(f"PRAGMA {pragma}")
    finally:
        await store.close()

    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234}
    assert path.exists()


async def test_an_in_memory_database_works(make: Make) -> None:
    store = await open_sqlite(":memory:")
    try:
        user, workspace, scope = await make.tenant(store)
        workflow = make.workflow(workspace.id)
        await store.insert_workflow(workflow)
        assert await store.get_workflow(scope, workflow.id) == workflow
        assert user.role is UserRole.ADMIN
    finally:
        await store.close()


async def test_first_admin_is_decided_across_connections(tmp_path: Path, make: Make) -> None:
    path = str(tmp_path / "trellis.db")
    stores = [await open_sqlite(path) for _ in range(3)]
    try:
        users = [make.user() for _ in range(9)]
        stored = await asyncio.gather(
            *(
                stores[i % 3].create_user(user, make.workspace(user.id, personal=True))
                for i, user in enumerate(users)
            )
        )
    finally:
        for store in stores:
            await store.close()

    assert [u.role for u in stored].count(UserRole.ADMIN) == 1


async def test_cancelled_transactions_roll_back_and_leave_no_gaps(
    sqlite_store: SqliteStore, make: Make
) -> None:
    _, workspace, scope = await make.tenant(sqlite_store)
    workflow = make.workflow(workspace.id)
    await sqlite_store.insert_workflow(workflow)

    tasks = [
        asyncio.create_task(sqlite_store.create_version(scope, workflow.id, make.draft())) for _ in range(20)
    ]
    for i, task in enumerate(tasks[1::2]):  # cancel at staggered points: waiting, mid-transaction, done
        for _ in range(i % 4):
            await asyncio.sleep(0)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    page = await sqlite_store.list_versions(scope, workflow.id, 50, None)
    numbers = sorted(v.number for v in page.items)
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 10
    after = await sqlite_store.create_version(scope, workflow.id, make.draft())
    assert after.number == len(numbers) + 1


async def test_scope_is_applied_to_version_rows_directly(sqlite_store: SqliteStore, make: Make) -> None:
    """Versions carry their workspace, so a version query never needs the workflow row to scope."""
    _, workspace, scope = await make.tenant(sqlite_store)
    workflow = make.workflow(workspace.id)
    await sqlite_store.insert_workflow(workflow)
    await sqlite_store.create_version(scope, workflow.id, make.draft())

    async with aiosqlite.connect(sqlite_store.path) as raw:
        rows = list(await raw.execute_fetchall("SELECT workspace_id, number FROM versions"))

    assert rows == [(workspace.id, 1)]
    assert await sqlite_store.get_version(Scope.of(["elsewhere"]), workflow.id, 1) is None


async def test_a_write_lock_held_too_long_elsewhere_is_unavailable(tmp_path: Path, make: Make) -> None:
    path = tmp_path / "trellis.db"
    store = await open_sqlite(str(path), busy_timeout_ms=50)
    try:
        user, _ = await make.register(store)
        async with aiosqlite.connect(path, isolation_level=None) as other:
            await other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            with pytest.raises(Unavailable, match="locked"):
                await store.append_audit(make.audit())
            assert await store.get_user(user.id) == user  # readers are not blocked in WAL mode
            await store.ping()
            await other.execute("ROLLBACK")
        await store.append_audit(make.audit())  # and the store recovers once the lock is gone
    finally:
        await store.close()
