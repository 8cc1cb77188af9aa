"""Contract: workflows — scoping, compare-and-set, keyset pagination, filters, cascading delete."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.domain.workflows import WorkflowFilter, WorkflowStatus
from app.domain.workspaces import MemberRole, Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import T0, Make

ALL = WorkflowFilter()


async def test_insert_and_get_round_trip_every_field(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id, "Shop ✓", cluster_id="prod", status=WorkflowStatus.PUBLISHED)

    await store.insert_workflow(workflow)
    loaded = await store.get_workflow(scope, workflow.id)

    assert loaded == workflow
    assert loaded.canvas.nodes[0].data["labels"] == {"app.kubernetes.io/name": "Shop ✓", "tier": "frontend"}
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset().total_seconds() == 0


async def test_insert_refuses_an_unknown_workspace_and_a_taken_id(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)

    with pytest.raises(NotFound):
        await store.insert_workflow(make.workflow("no-such-workspace"))
    with pytest.raises(Conflict):
        await store.insert_workflow(replace(workflow, name="Other"))
    assert (await store.get_workflow(scope, workflow.id)).name == workflow.name


async def test_workflows_outside_the_scope_look_missing(store: Store, make: Make) -> None:
    _, mine, my_scope = await make.tenant(store)
    _, theirs, their_scope = await make.tenant(store)
    my_flow = make.workflow(mine.id)
    their_flow = make.workflow(theirs.id)
    await store.insert_workflow(my_flow)
    await store.insert_workflow(their_flow)

    assert await store.get_workflow(my_scope, their_flow.id) is None
    assert [w.id for w in (await store.list_workflows(my_scope, ALL, 10, None)).items] == [my_flow.id]
    # asking for another workspace explicitly does not widen the scope
    page = await store.list_workflows(my_scope, WorkflowFilter(workspace_id=theirs.id), 10, None)
    assert (page.items, page.total, page.has_next) == ([], 0, False)
    with pytest.raises(NotFound):
        await store.replace_workflow(my_scope, replace(their_flow, name="hijacked", revision=2), 1)
    with pytest.raises(NotFound):
        await store.delete_workflow(my_scope, their_flow.id)
    assert await store.get_workflow(their_scope, their_flow.id) == their_flow


async def test_an_empty_scope_matches_nothing(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    nobody = Scope.of([])

    assert await store.get_workflow(nobody, workflow.id) is None
    page = await store.list_workflows(nobody, ALL, 10, None)
    assert (page.items, page.total) == ([], 0)
    with pytest.raises(NotFound):
        await store.delete_workflow(nobody, workflow.id)


async def test_replace_is_a_compare_and_set(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    edited = replace(
        workflow,
        name="Renamed",
        status=WorkflowStatus.PUBLISHED,
        canvas=make.canvas("edited"),
        cluster_id="staging",
        revision=2,
        updated_at=make.at(),
    )

    stored = await store.replace_workflow(scope, edited, expected_revision=1)

    assert stored == edited
    assert await store.get_workflow(scope, workflow.id) == edited

    stale = replace(workflow, name="Stale", revision=2)
    with pytest.raises(Conflict) as caught:
        await store.replace_workflow(scope, stale, expected_revision=1)
    assert caught.value.details == {"currentRevision": 2}
    assert caught.value.extensions() == {"code": "CONFLICT", "currentRevision": 2}
    assert await store.get_workflow(scope, workflow.id) == edited


async def test_replace_keeps_the_identity_fields(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    _, other, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    sneaky = replace(workflow, workspace_id=other.id, created_by="someone", created_at=T0, revision=2)

    stored = await store.replace_workflow(scope, sneaky, 1)

    assert (stored.workspace_id, stored.created_by, stored.created_at) == (
        workflow.workspace_id,
        workflow.created_by,
        workflow.created_at,
    )
    assert stored.revision == 2


async def test_replace_of_a_missing_workflow_is_not_found(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)

    with pytest.raises(NotFound):
        await store.replace_workflow(scope, make.workflow(workspace.id, revision=2), 1)


async def test_replace_must_write_the_next_revision(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)

    with pytest.raises(ValueError, match="revision"):
        await store.replace_workflow(scope, replace(workflow, revision=5), 1)


async def test_list_pages_newest_first_through_ties_in_created_at(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    tie = make.at()
    # three share one instant (ordered by id, descending), the rest are apart
    flows = [make.workflow(workspace.id, f"wf{i}", id=f"wf-{i}", created_at=tie) for i in (3, 1, 2)]
    flows += [make.workflow(workspace.id, "old", id="wf-0", created_at=T0)]
    flows += [make.workflow(workspace.id, f"new{i}", id=f"wf-new{i}") for i in range(3)]
    for flow in flows:
        await store.insert_workflow(flow)
    expected = ["wf-new2", "wf-new1", "wf-new0", "wf-3", "wf-2", "wf-1", "wf-0"]

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await store.list_workflows(scope, ALL, 2, after)
        pages += 1
        assert page.total == 7
        seen += [w.id for w in page.items]
        if not page.has_next:
            break
        last = page.items[-1]
        after = (last.created_at, last.id)

    assert seen == expected
    assert pages == 4
    one_page = await store.list_workflows(scope, ALL, 7, None)
    assert ([w.id for w in one_page.items], one_page.has_next) == (expected, False)


async def test_list_first_zero_counts_without_items(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.insert_workflow(make.workflow(workspace.id))

    page = await store.list_workflows(scope, ALL, 0, None)

    assert (page.items, page.has_next, page.total) == ([], True, 1)
    with pytest.raises(ValueError, match="first"):
        await store.list_workflows(scope, ALL, -1, None)


async def test_list_filters_by_status_workspace_and_name(store: Store, make: Make) -> None:
    user, personal, _ = await make.tenant(store)
    team = make.workspace(user.id, "Team")
    await store.create_workspace(team, make.membership(team.id, user.id, MemberRole.OWNER))
    scope = Scope.of([personal.id, team.id])
    flows = {
        "a": make.workflow(personal.id, "Checkout API", status=WorkflowStatus.PUBLISHED),
        "b": make.workflow(personal.id, "checkout worker"),
        "c": make.workflow(team.id, "CHECKOUT db", status=WorkflowStatus.PUBLISHED),
        "d": make.workflow(team.id, "Billing", status=WorkflowStatus.ARCHIVED),
    }
    for flow in flows.values():
        await store.insert_workflow(flow)

    async def ids(filter: WorkflowFilter) -> tuple[set[str], int]:
        page = await store.list_workflows(scope, filter, 10, None)
        return {key for key, flow in flows.items() if flow.id in {w.id for w in page.items}}, page.total

    assert await ids(WorkflowFilter(status=WorkflowStatus.PUBLISHED)) == ({"a", "c"}, 2)
    assert await ids(WorkflowFilter(workspace_id=team.id)) == ({"c", "d"}, 2)
    assert await ids(WorkflowFilter(name_contains="checkOUT")) == ({"a", "b", "c"}, 3)
    assert await ids(WorkflowFilter(name_contains="out w")) == ({"b"}, 1)
    assert await ids(WorkflowFilter(name_contains="")) == ({"a", "b", "c", "d"}, 4)
    assert await ids(
        WorkflowFilter(status=WorkflowStatus.PUBLISHED, workspace_id=team.id, name_contains="db")
    ) == ({"c"}, 1)
    assert await ids(WorkflowFilter(name_contains="nothing like it")) == (set(), 0)


async def test_name_filter_treats_wildcards_and_regex_characters_literally(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    names = ["100% done", "1000 done", "snake_case", "snakeXcase", "back\\slash", "a.b(c)*", "abbc"]
    flows = {name: make.workflow(workspace.id, name) for name in names}
    for flow in flows.values():
        await store.insert_workflow(flow)

    async def names_matching(needle: str) -> set[str]:
        page = await store.list_workflows(scope, WorkflowFilter(name_contains=needle), 20, None)
        assert page.total == len(page.items)
        return {w.name for w in page.items}

    assert await names_matching("0%") == {"100% done"}
    assert await names_matching("%") == {"100% done"}
    assert await names_matching("e_c") == {"snake_case"}
    assert await names_matching("_") == {"snake_case"}
    assert await names_matching("\\") == {"back\\slash"}
    assert await names_matching("k\\s") == {"back\\slash"}
    assert await names_matching(".b(c)*") == {"a.b(c)*"}
    assert await names_matching("b.c") == set()


async def test_delete_removes_the_workflow_and_its_versions(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    kept = make.workflow(workspace.id, "kept")
    await store.insert_workflow(workflow)
    await store.insert_workflow(kept)
    for _ in range(3):
        await store.create_version(scope, workflow.id, make.draft())
    await store.create_version(scope, kept.id, make.draft())

    await store.delete_workflow(scope, workflow.id)

    assert await store.get_workflow(scope, workflow.id) is None
    assert await store.get_version(scope, workflow.id, 1) is None
    assert (await store.list_versions(scope, workflow.id, 10, None)).total == 0
    assert (await store.list_versions(scope, kept.id, 10, None)).total == 1
    with pytest.raises(NotFound):
        await store.delete_workflow(scope, workflow.id)
    # the id can be used again, and its versions start from 1
    await store.insert_workflow(workflow)
    assert (await store.create_version(scope, workflow.id, make.draft())).number == 1
