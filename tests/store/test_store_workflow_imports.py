"""Contract: ``write_workflow_with_secrets`` stores a workflow (inserted, or compare-and-set) and the values of
its Secret nodes in one atomic write; a failure leaves neither."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiosqlite
import pytest

from app.domain.workflows import Canvas
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from app.store.sqlite import SqliteStore, open_sqlite
from tests.store.builders import Make


async def test_a_new_workflow_is_inserted_with_its_values(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)

    stored = await store.write_workflow_with_secrets(
        scope, workflow, {"db": "cipher-db", "api": "cipher-api"}, at=make.at(), expected_revision=None
    )

    assert stored == workflow
    assert await store.get_workflow(scope, workflow.id) == workflow
    assert await store.secret_values(workflow.id) == {"api": "cipher-api", "db": "cipher-db"}
    assert (await store.list_versions(scope, workflow.id, 10, None)).total == 0


async def test_appending_compare_and_sets_and_upserts_only_the_given_nodes(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id, canvas=Canvas())
    await store.insert_workflow(workflow)
    await store.put_secret_values(workflow.id, "kept", "cipher-kept", make.at())
    await store.put_secret_values(workflow.id, "db", "cipher-old", make.at())
    appended = replace(workflow, canvas=make.canvas(), revision=2, updated_at=make.at())

    stored = await store.write_workflow_with_secrets(
        scope, appended, {"db": "cipher-new", "db-2": "cipher-2"}, at=make.at(), expected_revision=1
    )

    assert stored == appended
    assert await store.get_workflow(scope, workflow.id) == appended
    assert await store.secret_values(workflow.id) == {
        "db": "cipher-new",
        "db-2": "cipher-2",
        "kept": "cipher-kept",
    }


async def test_a_stale_revision_writes_neither_workflow_nor_values(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id, revision=3)
    await store.insert_workflow(workflow)
    await store.put_secret_values(workflow.id, "db", "cipher-old", make.at())
    stale = replace(workflow, canvas=Canvas(), revision=3, updated_at=make.at())

    with pytest.raises(Conflict) as raised:
        await store.write_workflow_with_secrets(
            scope, stale, {"db": "cipher-new", "api": "cipher-api"}, at=make.at(), expected_revision=2
        )

    assert raised.value.details == {"currentRevision": 3}
    assert await store.get_workflow(scope, workflow.id) == workflow
    assert await store.secret_values(workflow.id) == {"db": "cipher-old"}


async def test_a_taken_id_writes_no_values(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    twin = replace(workflow, name="Twin", canvas=Canvas())

    with pytest.raises(Conflict):
        await store.write_workflow_with_secrets(
            scope, twin, {"db": "cipher"}, at=make.at(), expected_revision=None
        )

    assert await store.get_workflow(scope, workflow.id) == workflow
    assert await store.secret_values(workflow.id) == {}


async def test_another_tenants_workspace_and_workflow_are_not_found(store: Store, make: Make) -> None:
    _, mine, my_scope = await make.tenant(store)
    _, theirs, their_scope = await make.tenant(store)
    their_workflow = make.workflow(theirs.id)
    await store.insert_workflow(their_workflow)

    new_there = make.workflow(theirs.id)
    with pytest.raises(NotFound):
        await store.write_workflow_with_secrets(
            my_scope, new_there, {"db": "c"}, at=make.at(), expected_revision=None
        )
    unknown = make.workflow("no-such-workspace")
    with pytest.raises(NotFound):
        await store.write_workflow_with_secrets(
            Scope.of([mine.id, "no-such-workspace"]), unknown, {}, at=make.at(), expected_revision=None
        )
    changed = replace(their_workflow, canvas=Canvas(), revision=2, updated_at=make.at())
    with pytest.raises(NotFound):
        await store.write_workflow_with_secrets(
            my_scope, changed, {"db": "c"}, at=make.at(), expected_revision=1
        )

    assert await store.get_workflow(their_scope, new_there.id) is None
    assert await store.secret_values(new_there.id) == {}
    assert await store.get_workflow(their_scope, their_workflow.id) == their_workflow
    assert await store.secret_values(their_workflow.id) == {}


# --- SQLite: a write that fails half-way leaves nothing ------------------------------------------------


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_sqlite(str(tmp_path / "trellis.db"))
    yield store
    await store.close()


async def _fail_secret_inserts(store: SqliteStore) -> None:
    """From another connection: every insert into ``secret_values`` aborts (the last step of the write)."""
    async with aiosqlite.connect(store.path, isolation_level=None) as raw:
        await raw.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON secret_values BEGIN SELECT RAISE(ABORT, 'injected'); END"
        )


async def test_a_failing_value_write_leaves_no_new_workflow(sqlite_store: SqliteStore, make: Make) -> None:
    _, workspace, scope = await make.tenant(sqlite_store)
    workflow = make.workflow(workspace.id)
    await _fail_secret_inserts(sqlite_store)

    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        await sqlite_store.write_workflow_with_secrets(
            scope, workflow, {"db": "cipher"}, at=make.at(), expected_revision=None
        )

    assert await sqlite_store.get_workflow(scope, workflow.id) is None


async def test_a_failing_value_write_leaves_the_workflow_as_it_was(
    sqlite_store: SqliteStore, make: Make
) -> None:
    _, workspace, scope = await make.tenant(sqlite_store)
    workflow = make.workflow(workspace.id, canvas=Canvas())
    await sqlite_store.insert_workflow(workflow)
    await _fail_secret_inserts(sqlite_store)
    appended = replace(workflow, canvas=make.canvas(), revision=2, updated_at=make.at())

    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        await sqlite_store.write_workflow_with_secrets(
            scope, appended, {"db": "cipher"}, at=make.at(), expected_revision=1
        )

    assert await sqlite_store.get_workflow(scope, workflow.id) == workflow
    assert await sqlite_store.secret_values(workflow.id) == {}
