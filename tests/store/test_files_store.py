"""Contract: workspace files — one per (workspace, path), a second upload to a path replaces it with a
revision bump, scoping, deletion; workflow types stored, filtered and upgraded
(migration 13: rows written before it are topologies)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.domain.files import WorkspaceFile
from app.domain.workflows import WorkflowFilter, WorkflowType
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from app.store.opening import open_store
from app.store.sqlite import MIGRATIONS, open_sqlite
from tests.store.builders import Make


def file(make: Make, workspace_id: str, path: str = "lib/invoices.py", **overrides: Any) -> WorkspaceFile:
    at = overrides.pop("created_at", None) or make.at()
    content = overrides.pop("content", "def main(x):\n    return x  # ✓\n")
    return WorkspaceFile(
        id=overrides.pop("id", None) or make.id("file"),
        workspace_id=workspace_id,
        path=path,
        content=content,
        content_type=overrides.pop("content_type", "text/x-python"),
        size=len(content.encode()),
        sha256=overrides.pop("sha256", "0" * 64),
        revision=1,
        created_by=overrides.pop("created_by", "user-a"),
        created_at=at,
        updated_by=overrides.pop("updated_by", "user-a"),
        updated_at=overrides.pop("updated_at", at),
    )


async def test_a_file_round_trips_and_lists_by_path(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    second = await store.put_file(file(make, workspace.id, "z/last.sh", content_type="text/x-shellscript"))
    first = await store.put_file(file(make, workspace.id, "a.py"))
    assert await store.get_file(scope, first.id) == first
    assert [f.path for f in await store.list_files(scope, workspace.id)] == ["a.py", "z/last.sh"]
    assert second.revision == 1 and second.content_type == "text/x-shellscript"


async def test_uploading_to_a_taken_path_replaces_it_and_bumps_the_revision(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    original = await store.put_file(file(make, workspace.id, created_by="user-a"))
    later = make.at(60)
    update = file(
        make, workspace.id, content="print('v2')\n", updated_by="user-b", updated_at=later, sha256="1" * 64
    )
    stored = await store.put_file(update)
    assert stored == replace(
        original,
        content="print('v2')\n",
        size=len(b"print('v2')\n"),
        sha256="1" * 64,
        revision=2,
        updated_by="user-b",
        updated_at=later,
    )
    assert await store.get_file(scope, original.id) == stored
    assert await store.get_file(scope, update.id) is None
    assert len(await store.list_files(scope, workspace.id)) == 1


async def test_concurrent_uploads_to_one_new_path_keep_one_file(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    stored = await asyncio.gather(*(store.put_file(file(make, workspace.id, "same.py")) for _ in range(4)))
    assert len({f.id for f in stored}) == 1
    assert sorted(f.revision for f in stored) == [1, 2, 3, 4]
    assert len(await store.list_files(scope, workspace.id)) == 1


async def test_files_are_scoped_to_their_workspace(store: Store, make: Make) -> None:
    _, mine, my_scope = await make.tenant(store)
    _, theirs, their_scope = await make.tenant(store)
    ours = await store.put_file(file(make, mine.id, "shared.py"))
    other = await store.put_file(file(make, theirs.id, "shared.py"))
    assert ours.id != other.id  # the same path in two workspaces is two files
    assert await store.get_file(my_scope, other.id) is None
    assert await store.list_files(my_scope, theirs.id) == []
    with pytest.raises(NotFound):
        await store.delete_file(my_scope, other.id)
    assert await store.get_file(their_scope, other.id) == other
    assert await store.get_file(Scope(frozenset()), ours.id) is None


async def test_delete_and_unknown_workspace_and_taken_id(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    stored = await store.put_file(file(make, workspace.id))
    await store.delete_file(scope, stored.id)
    assert await store.get_file(scope, stored.id) is None
    with pytest.raises(NotFound):
        await store.delete_file(scope, stored.id)
    with pytest.raises(NotFound):
        await store.put_file(file(make, "no-such-workspace"))
    taken = await store.put_file(file(make, workspace.id, "a.py"))
    with pytest.raises(Conflict):
        await store.put_file(file(make, workspace.id, "b.py", id=taken.id))
    assert [f.path for f in await store.list_files(scope, workspace.id)] == ["a.py"]


async def test_workflow_types_are_stored_and_filtered(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    topology = make.workflow(workspace.id, "Shop")
    flow = make.workflow(workspace.id, "Nightly", type=WorkflowType.FLOW)
    for workflow in (topology, flow):
        await store.insert_workflow(workflow)
    assert await store.get_workflow(scope, flow.id) == flow
    assert await store.get_workflow(scope, topology.id) == topology
    flows = await store.list_workflows(scope, WorkflowFilter(type=WorkflowType.FLOW), 10, None)
    assert [w.id for w in flows.items] == [flow.id] and flows.total == 1
    topologies = await store.list_workflows(scope, WorkflowFilter(type=WorkflowType.TOPOLOGY), 10, None)
    assert [w.id for w in topologies.items] == [topology.id]
    renamed = replace(flow, name="Nightly 2", revision=2, type=WorkflowType.TOPOLOGY)
    stored = await store.replace_workflow(scope, renamed, 1)
    assert stored.type is WorkflowType.FLOW  # a compare-and-set never rewrites the type


async def test_workflows_from_before_migration_13_are_topologies(tmp_path: Path, make: Make) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number < 13])
    try:
        _, workspace, scope = await make.tenant(old)
        workflow = make.workflow(workspace.id)
        await old.insert_workflow(workflow)  # a topology's row is the same as before the step
    finally:
        await old.close()
    new = await open_store(f"sqlite:///{path}")
    try:
        stored = await new.get_workflow(scope, workflow.id)
        assert stored is not None and stored.type is WorkflowType.TOPOLOGY
        page = await new.list_workflows(scope, WorkflowFilter(type=WorkflowType.TOPOLOGY), 10, None)
        assert [w.id for w in page.items] == [workflow.id]
        assert await new.list_files(scope, workspace.id) == []
    finally:
        await new.close()
