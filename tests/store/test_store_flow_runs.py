"""Contract: the lease on flow runs — claimed by one process when released or stale, released on a
graceful stop, refused to a process that lost it; finished flow runs reopened to retry a step."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunKind, RunLogLine, RunStatus, StepOutcome
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from app.store import codec
from tests.store.builders import T0, Backend, Make

CUTOFF = T0 + timedelta(hours=1)
AT = CUTOFF + timedelta(seconds=30)


async def flows(store: Store, make: Make, count: int) -> tuple[list[Workflow], Scope]:
    _, workspace, scope = await make.tenant(store)
    workflows = [make.workflow(workspace.id, f"flow{i}") for i in range(count)]
    for workflow in workflows:
        await store.insert_workflow(workflow)
    return workflows, scope


async def started(
    store: Store,
    scope: Scope,
    make: Make,
    workflow: Workflow,
    status: RunStatus = RunStatus.RUNNING,
    **overrides: Any,
) -> Run:
    """A FLOW run of ``workflow`` as stored, RUNNING unless told otherwise."""
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, kind=RunKind.FLOW, **overrides))
    if status is not RunStatus.PENDING:
        run = replace(run, status=status, completed_at=make.at() if status.finished else None)
        await store.save_run(run)
    return run


def claimed(run: Run, owner: str, at: datetime = AT) -> Run:
    return replace(run, owner=owner, heartbeat_at=at)


# the codec ---------------------------------------------------------------------------------------------


def test_kind_and_trigger_data_round_trip_through_the_documents(make: Make) -> None:
    from app.store.mongo import documents  # the MongoDB mapping is pure: checked without a server

    workflow = make.workflow("ws-1")
    trigger = {"app.kubernetes.io/name": "shop", "$ref": [1, None, {"a.b": True}]}
    run = make.progress(make.run(workflow, kind=RunKind.FLOW, trigger_data=trigger))

    doc = codec.run_to_doc(run)
    assert (doc["kind"], doc["trigger_data"]) == ("FLOW", trigger)
    assert codec.run_from_doc(doc) == run
    stored = documents.run_to_mongo(run)
    assert isinstance(stored["trigger_data"], str)  # free-form keys travel as JSON text
    assert documents.run_from_mongo(stored) == run
    plain = make.run(workflow)
    assert documents.run_to_mongo(plain)["trigger_data"] is None
    assert documents.run_from_mongo(documents.run_to_mongo(plain)) == plain


def test_a_run_document_without_a_kind_is_a_deploy_run(make: Make) -> None:
    from app.store.mongo import documents

    run = make.run(make.workflow("ws-1"))
    old = {key: value for key, value in codec.run_to_doc(run).items() if key not in ("kind", "trigger_data")}

    assert codec.run_from_doc(old) == run
    assert codec.run_from_doc(old).kind is RunKind.DEPLOY
    assert documents.run_from_mongo(documents.to_mongo(old)) == run


# claim_flow_runs ---------------------------------------------------------------------------------------


async def test_stale_and_released_flow_runs_are_claimed_and_fresh_ones_left_alone(
    store: Store, make: Make
) -> None:
    workflows, scope = await flows(store, make, 7)
    stale = await started(store, scope, make, workflows[0], heartbeat_at=CUTOFF - timedelta(microseconds=1))
    pending = await started(
        store, scope, make, workflows[1], status=RunStatus.PENDING, heartbeat_at=T0, owner="server-c"
    )
    released = await started(store, scope, make, workflows[2], owner="server-d", heartbeat_at=AT)
    assert await store.release_flow_runs(owner="server-d") == [released.id]
    fresh = await started(store, scope, make, workflows[3], heartbeat_at=CUTOFF + timedelta(seconds=1))
    on_the_line = await started(store, scope, make, workflows[4], heartbeat_at=CUTOFF)
    finished = await started(store, scope, make, workflows[5], status=RunStatus.FAILED, heartbeat_at=T0)
    _, deploy = await store.start_run(scope, make.draft(), make.run(workflows[6], heartbeat_at=T0))

    taken = await store.claim_flow_runs(owner="server-b", at=AT, heartbeat_before=CUTOFF)

    expected = sorted(
        [claimed(stale, "server-b"), claimed(pending, "server-b"), claimed(released, "server-b")],
        key=lambda run: (run.started_at, run.id),
    )
    assert taken == expected
    for run in expected:
        assert await store.get_run(scope, run.id) == run
    for untouched in (fresh, on_the_line, finished, deploy):  # "older than" is strict
        assert await store.get_run(scope, untouched.id) == untouched
    assert await store.claim_flow_runs(owner="server-c", at=AT, heartbeat_before=CUTOFF) == []


async def test_the_process_that_lost_a_run_can_no_longer_save_it(store: Store, make: Make) -> None:
    workflows, scope = await flows(store, make, 1)
    run = await started(store, scope, make, workflows[0], owner="server-a", heartbeat_at=T0)
    [taken] = await store.claim_flow_runs(owner="server-b", at=AT, heartbeat_before=CUTOFF)

    with pytest.raises(Conflict, match="driven by another server process"):
        await store.save_run(replace(run, heartbeat_at=make.at(), error="late"))

    assert await store.get_run(scope, run.id) == taken
    done = replace(taken, status=RunStatus.COMPLETED, completed_at=AT, heartbeat_at=AT)
    await store.save_run(done)  # the new owner drives it on
    assert await store.get_run(scope, run.id) == done


async def test_a_claim_that_would_leave_the_runs_stale_is_a_programming_error(
    store: Store, make: Make
) -> None:
    workflows, scope = await flows(store, make, 1)
    run = await started(store, scope, make, workflows[0], heartbeat_at=T0)

    with pytest.raises(ValueError, match="heartbeat_before"):
        await store.claim_flow_runs(
            owner="server-b", at=CUTOFF - timedelta(seconds=1), heartbeat_before=CUTOFF
        )

    assert await store.get_run(scope, run.id) == run


async def test_concurrent_claimers_get_disjoint_sets(backend: Backend, make: Make) -> None:
    first, second = await backend.open(), await backend.open()
    workflows, scope = await flows(first, make, 8)
    ids = set()
    for i, workflow in enumerate(workflows):
        run = await started(first, scope, make, workflow, heartbeat_at=T0)
        if i % 2:
            await first.release_flow_runs(owner=run.owner)
        ids.add(run.id)

    claims = await asyncio.gather(
        *(
            (first if i % 2 else second).claim_flow_runs(owner=f"server-{i}", at=AT, heartbeat_before=CUTOFF)
            for i in range(6)
        )
    )

    returned = [run.id for claim in claims for run in claim]
    assert sorted(returned) == sorted(ids)  # every run once, none twice
    for i, claim in enumerate(claims):
        for run in claim:
            assert run.owner == f"server-{i}"
            assert await second.get_run(scope, run.id) == run


# release_flow_runs -------------------------------------------------------------------------------------


async def test_release_lets_go_of_the_unfinished_flow_runs_of_one_owner(store: Store, make: Make) -> None:
    workflows, scope = await flows(store, make, 6)
    mine = [
        await started(store, scope, make, workflows[0], owner="server-a"),
        await started(store, scope, make, workflows[1], owner="server-a", status=RunStatus.PENDING),
    ]
    theirs = await started(store, scope, make, workflows[2], owner="server-b")
    finished = await started(store, scope, make, workflows[3], owner="server-a", status=RunStatus.COMPLETED)
    _, deploy = await store.start_run(scope, make.draft(), make.run(workflows[4], owner="server-a"))

    released = await store.release_flow_runs(owner="server-a")

    assert released == sorted(run.id for run in mine)
    for run in mine:
        assert await store.get_run(scope, run.id) == replace(run, owner="")
    for untouched in (theirs, finished, deploy):
        assert await store.get_run(scope, untouched.id) == untouched
    assert await store.release_flow_runs(owner="server-a") == []
    with pytest.raises(Conflict, match="driven by another server process"):  # released: no longer its own
        await store.save_run(replace(mine[0], heartbeat_at=make.at()))
    # released runs are taken at once, whatever their heartbeat
    fresh = await store.claim_flow_runs(owner="server-c", at=AT, heartbeat_before=T0)
    assert sorted(run.id for run in fresh) == released


# reopen_run --------------------------------------------------------------------------------------------


def retried_states(make: Make) -> tuple[NodeRunState, ...]:
    return (
        NodeRunState("start", NodeRunStatus.COMPLETED, step=StepOutcome(attempt=1, output={"x": 1})),
        NodeRunState("fetch", NodeRunStatus.PENDING, updated_at=make.at()),
    )


async def test_a_finished_flow_run_is_reopened(store: Store, make: Make) -> None:
    workflows, scope = await flows(store, make, 1)
    run = await started(store, scope, make, workflows[0], owner="server-a", trigger_data={"n": 1})
    await store.request_cancel(scope, run.id)
    failed = replace(
        make.progress(run),
        status=RunStatus.FAILED,
        completed_at=make.at(),
        error="step fetch failed",
        cancel_requested=True,
        logs=(RunLogLine(make.at(), "ERROR", "fetch failed", node_id="fetch"),),
    )
    await store.save_run(failed)
    states = retried_states(make)

    reopened = await store.reopen_run(scope, run.id, owner="server-b", at=AT, node_states=states)

    assert reopened == replace(
        failed,
        status=RunStatus.RUNNING,
        node_states=states,
        owner="server-b",
        heartbeat_at=AT,
        completed_at=None,
        error=None,
        cancel_requested=False,
    )
    assert await store.get_run(scope, run.id) == reopened
    with pytest.raises(Conflict):  # it is the workflow's unfinished run again
        await store.start_run(scope, make.draft(), make.run(workflows[0]))
    await store.save_run(replace(reopened, heartbeat_at=make.at()))  # its new owner drives it


@pytest.mark.parametrize("status", [RunStatus.PENDING, RunStatus.RUNNING])
async def test_an_unfinished_run_is_not_reopened(store: Store, make: Make, status: RunStatus) -> None:
    workflows, scope = await flows(store, make, 1)
    run = await started(store, scope, make, workflows[0], status=status)

    with pytest.raises(Conflict, match="only a finished run") as caught:
        await store.reopen_run(scope, run.id, owner="server-b", at=AT, node_states=retried_states(make))

    assert caught.value.details == {"runId": run.id, "status": status.value}
    assert await store.get_run(scope, run.id) == run


async def test_a_deploy_run_is_not_reopened(store: Store, make: Make) -> None:
    workflows, scope = await flows(store, make, 1)
    _, run = await store.start_run(scope, make.draft(), make.run(workflows[0]))
    done = replace(run, status=RunStatus.FAILED, completed_at=make.at())
    await store.save_run(done)

    with pytest.raises(Conflict, match="deploy run"):
        await store.reopen_run(scope, run.id, owner="server-b", at=AT, node_states=retried_states(make))

    assert await store.get_run(scope, run.id) == done


async def test_reopen_is_refused_while_another_run_of_the_workflow_is_unfinished(
    store: Store, make: Make
) -> None:
    workflows, scope = await flows(store, make, 1)
    old = await started(store, scope, make, workflows[0], status=RunStatus.FAILED)
    active = await started(store, scope, make, workflows[0])

    with pytest.raises(Conflict) as caught:
        await store.reopen_run(scope, old.id, owner="server-b", at=AT, node_states=retried_states(make))

    assert caught.value.details == {"runId": active.id}
    assert await store.get_run(scope, old.id) == old  # nothing written
    assert await store.get_run(scope, active.id) == active


async def test_reopen_outside_the_scope_is_not_found_and_writes_nothing(store: Store, make: Make) -> None:
    _, _, my_scope = await make.tenant(store)
    workflows, their_scope = await flows(store, make, 1)
    run = await started(store, their_scope, make, workflows[0], status=RunStatus.COMPLETED)

    for scope, run_id in ((my_scope, run.id), (Scope.of([]), run.id), (their_scope, "no-such-run")):
        with pytest.raises(NotFound):
            await store.reopen_run(scope, run_id, owner="server-b", at=AT, node_states=retried_states(make))

    assert await store.get_run(their_scope, run.id) == run


async def test_concurrent_reopens_of_one_workflow_let_exactly_one_win(backend: Backend, make: Make) -> None:
    first, second = await backend.open(), await backend.open()
    workflows, scope = await flows(first, make, 1)
    runs = [await started(first, scope, make, workflows[0], status=RunStatus.FAILED) for _ in range(4)]

    results = await asyncio.gather(
        *(
            (first if i % 2 else second).reopen_run(
                scope, run.id, owner=f"server-{i}", at=AT, node_states=retried_states(make)
            )
            for i, run in enumerate(runs)
        ),
        return_exceptions=True,
    )

    won = [result for result in results if isinstance(result, Run)]
    assert len(won) == 1
    assert sum(isinstance(result, Conflict) for result in results) == 3
    page = await second.list_runs(scope, workflows[0].id, 10, None)
    assert [run.id for run in page.items if not run.status.finished] == [won[0].id]
