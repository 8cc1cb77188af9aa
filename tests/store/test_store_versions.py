"""Contract: versions — atomic numbering, scoping, paging, and atomic restore."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make


async def test_versions_are_numbered_from_one_and_keep_every_field(store: Store, make: Make) -> None:
    user, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    draft = make.draft(user.id, "first cut", tag="v1.0")

    first = await store.create_version(scope, workflow.id, draft)
    second = await store.create_version(scope, workflow.id, make.draft(user.id, "second"))

    assert (first.number, second.number) == (1, 2)
    assert first.id != second.id
    assert (first.workflow_id, first.workspace_id) == (workflow.id, workspace.id)
    assert (first.canvas, first.tag, first.description, first.created_by, first.created_at) == (
        draft.canvas,
        "v1.0",
        "first cut",
        user.id,
        draft.created_at,
    )
    assert first.restored_from is None
    assert await store.get_version(scope, workflow.id, 1) == first
    assert await store.get_version(scope, workflow.id, 2) == second
    assert await store.get_version(scope, workflow.id, 3) is None


async def test_numbers_are_per_workflow(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    one, two = make.workflow(workspace.id), make.workflow(workspace.id)
    await store.insert_workflow(one)
    await store.insert_workflow(two)

    await store.create_version(scope, one.id, make.draft())
    await store.create_version(scope, one.id, make.draft())

    assert (await store.create_version(scope, two.id, make.draft())).number == 1


async def test_twenty_concurrent_versions_get_numbers_one_to_twenty(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)

    versions = await asyncio.gather(
        *(store.create_version(scope, workflow.id, make.draft(description=f"d{i}")) for i in range(20))
    )

    assert sorted(v.number for v in versions) == list(range(1, 21))
    page = await store.list_versions(scope, workflow.id, 50, None)
    assert [v.number for v in page.items] == list(range(20, 0, -1))
    assert {v.description for v in page.items} == {f"d{i}" for i in range(20)}


async def test_versions_outside_the_scope_look_missing(store: Store, make: Make) -> None:
    _, mine, my_scope = await make.tenant(store)
    _, theirs, their_scope = await make.tenant(store)
    their_flow = make.workflow(theirs.id)
    await store.insert_workflow(their_flow)
    await store.create_version(their_scope, their_flow.id, make.draft())

    with pytest.raises(NotFound):
        await store.create_version(my_scope, their_flow.id, make.draft())
    with pytest.raises(NotFound):
        await store.create_version(my_scope, "no-such-workflow", make.draft())
    with pytest.raises(NotFound):
        await store.create_version(Scope.of([]), their_flow.id, make.draft())
    assert await store.get_version(my_scope, their_flow.id, 1) is None
    page = await store.list_versions(my_scope, their_flow.id, 10, None)
    assert (page.items, page.total, page.has_next) == ([], 0, False)
    with pytest.raises(NotFound):
        await store.restore_version(my_scope, their_flow.id, make.draft(), replace(their_flow, revision=2))
    # nothing was written through the foreign scope
    assert (await store.list_versions(their_scope, their_flow.id, 10, None)).total == 1
    assert (await store.get_workflow(their_scope, their_flow.id)).revision == 1
    assert mine.id != theirs.id


async def test_list_versions_pages_newest_first(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    for _ in range(5):
        await store.create_version(scope, workflow.id, make.draft())

    first = await store.list_versions(scope, workflow.id, 2, None)
    second = await store.list_versions(scope, workflow.id, 2, first.items[-1].number)
    third = await store.list_versions(scope, workflow.id, 2, second.items[-1].number)

    assert [[v.number for v in p.items] for p in (first, second, third)] == [[5, 4], [3, 2], [1]]
    assert [p.has_next for p in (first, second, third)] == [True, True, False]
    assert {p.total for p in (first, second, third)} == {5}
    empty = await store.list_versions(scope, workflow.id, 0, None)
    assert (empty.items, empty.has_next, empty.total) == ([], True, 5)


async def test_restore_appends_a_version_and_replaces_the_workflow(store: Store, make: Make) -> None:
    user, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    original = await store.create_version(scope, workflow.id, make.draft(user.id, canvas=workflow.canvas))
    edited = replace(workflow, canvas=make.canvas("edited"), revision=2, updated_at=make.at())
    await store.replace_workflow(scope, edited, 1)
    await store.create_version(scope, workflow.id, make.draft(user.id, canvas=edited.canvas))

    draft = make.draft(user.id, "Restored from version 1", canvas=original.canvas, restored_from=1)
    restored_body = replace(edited, canvas=original.canvas, revision=3, updated_at=make.at())
    version, stored = await store.restore_version(scope, workflow.id, draft, restored_body)

    assert (version.number, version.restored_from, version.canvas) == (3, 1, original.canvas)
    assert stored == restored_body
    assert await store.get_workflow(scope, workflow.id) == restored_body
    assert await store.get_version(scope, workflow.id, 3) == version


async def test_a_restore_whose_compare_and_set_fails_writes_nothing(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    await store.create_version(scope, workflow.id, make.draft())
    current = replace(workflow, name="moved on", revision=2)
    await store.replace_workflow(scope, current, 1)

    stale = replace(workflow, name="stale restore", revision=2)  # expects revision 1, the store has 2
    with pytest.raises(Conflict) as caught:
        await store.restore_version(scope, workflow.id, make.draft(restored_from=1), stale)

    assert caught.value.details == {"currentRevision": 2}
    assert (await store.list_versions(scope, workflow.id, 10, None)).total == 1
    assert await store.get_workflow(scope, workflow.id) == current
    # and the number it did not take is still the next one
    assert (await store.create_version(scope, workflow.id, make.draft())).number == 2


async def test_concurrent_restores_from_one_revision_let_exactly_one_through(
    store: Store, make: Make
) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)

    results = await asyncio.gather(
        *(
            store.restore_version(
                scope, workflow.id, make.draft(restored_from=1), replace(workflow, name=f"r{i}", revision=2)
            )
            for i in range(5)
        ),
        return_exceptions=True,
    )

    winners = [result for result in results if isinstance(result, tuple)]
    assert len(winners) == 1
    assert all(isinstance(result, Conflict) for result in results if not isinstance(result, tuple))
    page = await store.list_versions(scope, workflow.id, 10, None)
    assert [v.number for v in page.items] == [1]
    assert (await store.get_workflow(scope, workflow.id)).name == winners[0][1].name


async def test_restore_refuses_a_body_of_another_workflow(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)

    with pytest.raises(ValueError, match="restoring"):
        await store.restore_version(scope, "another-id", make.draft(), replace(workflow, revision=2))
