"""Contract: runs — started atomically with their version, one unfinished run per workflow, saved whole
by their owner only, cancelled on request, deploy runs swept when their owner stops beating (flow runs
never), kind and trigger data kept, scoped, paged."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunKind, RunLogLine, RunStatus
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import T0, Backend, Make

STALE_REASON = "the server running it stopped renewing its heartbeat"


async def flow(store: Store, make: Make) -> tuple[Workflow, Scope]:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    return workflow, scope


async def finish(store: Store, run: Run, make: Make, status: RunStatus = RunStatus.COMPLETED) -> Run:
    done = replace(run, status=status, completed_at=make.at(), heartbeat_at=make.at())
    await store.save_run(done)
    return done


async def versions_of(store: Store, scope: Scope, workflow: Workflow) -> list[int]:
    return [v.number for v in (await store.list_versions(scope, workflow.id, 100, None)).items]


# start_run ---------------------------------------------------------------------------------------------


async def test_start_run_appends_a_version_and_inserts_the_run_with_its_number(
    store: Store, make: Make
) -> None:
    user, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    draft = make.draft(user.id, "deploy", canvas=workflow.canvas)
    run = make.run(workflow, started_by=user.id, version=0)

    version, stored = await store.start_run(scope, draft, run)

    assert (version.number, version.workflow_id, version.workspace_id) == (1, workflow.id, workspace.id)
    assert (version.canvas, version.description, version.created_by) == (workflow.canvas, "deploy", user.id)
    assert stored == replace(run, version=1)
    assert await store.get_version(scope, workflow.id, 1) == version
    assert await store.get_run(scope, run.id) == stored


async def test_run_versions_share_the_numbering_of_create_version(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    await store.create_version(scope, workflow.id, make.draft())
    await store.create_version(scope, workflow.id, make.draft())

    version, run = await store.start_run(scope, make.draft(), make.run(workflow))

    assert (version.number, run.version) == (3, 3)
    assert (await store.create_version(scope, workflow.id, make.draft())).number == 4


async def test_the_run_takes_the_workspace_of_its_workflow(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)

    _, stored = await store.start_run(scope, make.draft(), make.run(workflow, workspace_id="somewhere-else"))

    assert stored.workspace_id == workflow.workspace_id
    assert await store.get_run(scope, stored.id) == stored


async def test_start_run_is_refused_while_another_run_is_unfinished(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, pending = await store.start_run(scope, make.draft(), make.run(workflow))

    with pytest.raises(Conflict) as caught:
        await store.start_run(scope, make.draft(), make.run(workflow))
    assert caught.value.details == {"runId": pending.id}
    assert caught.value.extensions() == {"code": "CONFLICT", "runId": pending.id}

    running = replace(pending, status=RunStatus.RUNNING, heartbeat_at=make.at())
    await store.save_run(running)
    with pytest.raises(Conflict) as caught:
        await store.start_run(scope, make.draft(), make.run(workflow))
    assert caught.value.details == {"runId": pending.id}

    assert await versions_of(store, scope, workflow) == [1]  # the refusals wrote no version
    assert (await store.list_runs(scope, workflow.id, 10, None)).total == 1


@pytest.mark.parametrize("status", [s for s in RunStatus if s.finished])
async def test_a_finished_run_lets_the_next_one_start(store: Store, make: Make, status: RunStatus) -> None:
    workflow, scope = await flow(store, make)
    _, first = await store.start_run(scope, make.draft(), make.run(workflow))
    await finish(store, first, make, status)

    version, second = await store.start_run(scope, make.draft(), make.run(workflow))

    assert (version.number, second.version) == (2, 2)


async def test_runs_of_other_workflows_do_not_block(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    other = make.workflow(workflow.workspace_id)
    await store.insert_workflow(other)
    await store.start_run(scope, make.draft(), make.run(workflow))

    version, _ = await store.start_run(scope, make.draft(), make.run(other))

    assert version.number == 1


async def test_concurrent_starts_let_exactly_one_win(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    await store.create_version(scope, workflow.id, make.draft())
    runs = [make.run(workflow) for _ in range(8)]

    results = await asyncio.gather(
        *(store.start_run(scope, make.draft(), run) for run in runs), return_exceptions=True
    )

    won = [result for result in results if isinstance(result, tuple)]
    lost = [result for result in results if isinstance(result, Conflict)]
    assert len(won) == 1
    assert len(lost) == 7
    version, winner = won[0]
    assert version.number == winner.version == 2
    assert {tuple(conflict.details.items()) for conflict in lost} == {(("runId", winner.id),)}
    assert await versions_of(store, scope, workflow) == [2, 1]  # no extra version was written
    page = await store.list_runs(scope, workflow.id, 10, None)
    assert (page.total, [r.id for r in page.items]) == (1, [winner.id])


async def test_concurrent_starts_through_two_stores_let_exactly_one_win(backend: Backend, make: Make) -> None:
    first, second = await backend.open(), await backend.open()
    workflow, scope = await flow(first, make)

    results = await asyncio.gather(
        *((first if i % 2 else second).start_run(scope, make.draft(), make.run(workflow)) for i in range(6)),
        return_exceptions=True,
    )

    assert sum(isinstance(result, tuple) for result in results) == 1
    assert sum(isinstance(result, Conflict) for result in results) == 5
    assert await versions_of(second, scope, workflow) == [1]


async def test_start_run_outside_the_scope_is_not_found_and_writes_nothing(store: Store, make: Make) -> None:
    _, _, my_scope = await make.tenant(store)
    their_flow, their_scope = await flow(store, make)

    with pytest.raises(NotFound):
        await store.start_run(my_scope, make.draft(), make.run(their_flow))
    with pytest.raises(NotFound):
        await store.start_run(Scope.of([]), make.draft(), make.run(their_flow))
    with pytest.raises(NotFound):
        await store.start_run(their_scope, make.draft(), make.run(make.workflow(their_flow.workspace_id)))

    assert await versions_of(store, their_scope, their_flow) == []
    assert (await store.list_runs(their_scope, their_flow.id, 10, None)).total == 0
    await store.start_run(their_scope, make.draft(), make.run(their_flow))  # nothing was left blocking


async def test_a_taken_run_id_rolls_the_version_back(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    other = make.workflow(workflow.workspace_id)
    await store.insert_workflow(other)
    _, taken = await store.start_run(scope, make.draft(), make.run(other))

    with pytest.raises(Conflict):
        await store.start_run(scope, make.draft(), make.run(workflow, id=taken.id))

    assert await versions_of(store, scope, workflow) == []
    assert (await store.list_runs(scope, workflow.id, 10, None)).total == 0
    version, _ = await store.start_run(scope, make.draft(), make.run(workflow))
    assert version.number == 1  # and left no gap


# save_run ----------------------------------------------------------------------------------------------


async def test_save_run_round_trips_node_states_logs_and_pruned_objects(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    west = timezone(timedelta(hours=-8))
    _, run = await store.start_run(
        scope,
        make.draft(),
        make.run(workflow, started_at=make.at().astimezone(west) + timedelta(microseconds=7)),
    )
    progressed = make.progress(run)

    await store.save_run(progressed)

    stored = await store.get_run(scope, run.id)
    assert stored == progressed
    assert stored is not None
    assert stored.status is RunStatus.RUNNING
    assert stored.started_at == run.started_at
    assert stored.started_at.microsecond == run.started_at.microsecond
    assert [s.status for s in stored.node_states] == [
        NodeRunStatus.APPLIED,
        NodeRunStatus.SKIPPED,
        NodeRunStatus.APPLYING,
    ]
    assert isinstance(stored.node_states, tuple)
    assert isinstance(stored.node_states[0].objects, tuple)
    assert isinstance(stored.logs, tuple)
    assert isinstance(stored.pruned, tuple)
    assert isinstance(stored.warnings, tuple)
    assert stored.node_states[0].objects == progressed.node_states[0].objects
    assert stored.node_states[2].updated_at is None

    completed = replace(
        progressed,
        status=RunStatus.COMPLETED,
        completed_at=run.started_at + timedelta(seconds=42, milliseconds=5),
        node_states=(
            *progressed.node_states[:2],
            NodeRunState("n3", NodeRunStatus.FAILED, "forbidden", (), make.at()),
        ),
        logs=(*progressed.logs, RunLogLine(make.at(), "INFO", "done")),
        error="1 node failed",
    )
    await store.save_run(completed)
    final = await store.get_run(scope, run.id)
    assert final == completed
    assert final is not None
    assert final.duration_ms == 42_005


async def test_save_run_keeps_the_identity_of_the_run(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow))
    sneaky = replace(
        run,
        workflow_id="other-workflow",
        workspace_id="other-workspace",
        cluster_id="other-cluster",
        version=99,
        started_by="someone",
        started_at=T0,
        status=RunStatus.RUNNING,
        kind=RunKind.FLOW,
        trigger_data={"changed": True},
    )

    await store.save_run(sneaky)

    stored = await store.get_run(scope, run.id)
    assert stored == replace(run, status=RunStatus.RUNNING)


async def test_save_run_by_another_owner_is_refused_and_writes_nothing(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, owner="server-a"))

    with pytest.raises(Conflict) as caught:
        await store.save_run(replace(make.progress(run), owner="server-b"))

    assert str(caught.value) == "the run is driven by another server process"
    assert caught.value.details == {"runId": run.id}
    assert await store.get_run(scope, run.id) == run
    mine = make.progress(run)
    await store.save_run(mine)  # its owner still saves it
    assert await store.get_run(scope, run.id) == mine


async def test_a_finished_run_is_final_for_every_owner(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, owner="server-a"))
    done = await finish(store, run, make)

    with pytest.raises(Conflict) as caught:
        await store.save_run(replace(done, owner="server-b", status=RunStatus.RUNNING))

    assert caught.value.details == {"runId": run.id, "status": "COMPLETED"}  # "finished" wins
    assert await store.get_run(scope, run.id) == done


# kind and trigger data ---------------------------------------------------------------------------------

TRIGGER = {
    "ref": "refs/heads/main",
    "app.kubernetes.io/name": "shop",
    "$weird": [1, 2.5, None, True, {"nested.key": "grüß dich ✓"}],
    "empty": {},
}


@pytest.mark.parametrize("trigger_data", [TRIGGER, {}, [], "text", 0, False, None])
async def test_the_kind_and_trigger_data_of_a_flow_run_round_trip(
    store: Store, make: Make, trigger_data: object
) -> None:
    workflow, scope = await flow(store, make)
    run = make.run(workflow, kind=RunKind.FLOW, trigger_data=trigger_data)

    _, started = await store.start_run(scope, make.draft(), run)

    assert started == replace(run, version=1)
    stored = await store.get_run(scope, run.id)
    assert stored == started
    assert stored is not None
    assert stored.kind is RunKind.FLOW
    assert stored.trigger_data == trigger_data
    assert type(stored.trigger_data) is type(trigger_data)
    progressed = make.progress(stored)
    await store.save_run(progressed)
    assert await store.get_run(scope, run.id) == progressed
    assert (await store.list_runs(scope, workflow.id, 10, None)).items == [progressed]
    assert [r.id for r in await store.latest_runs()] == [run.id]


async def test_a_run_is_a_deploy_run_without_trigger_data_unless_told(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)

    _, run = await store.start_run(scope, make.draft(), make.run(workflow))

    stored = await store.get_run(scope, run.id)
    assert stored is not None
    assert (stored.kind, stored.trigger_data) == (RunKind.DEPLOY, None)


async def test_a_finished_run_is_final(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow))
    done = await finish(store, run, make, RunStatus.FAILED)

    with pytest.raises(Conflict) as caught:
        await store.save_run(replace(done, status=RunStatus.RUNNING, completed_at=None))

    assert caught.value.details == {"runId": run.id, "status": "FAILED"}
    assert await store.get_run(scope, run.id) == done


async def test_save_run_of_an_unknown_run_is_not_found(store: Store, make: Make) -> None:
    workflow, _ = await flow(store, make)

    with pytest.raises(NotFound):
        await store.save_run(make.run(workflow))


# request_cancel ----------------------------------------------------------------------------------------


async def test_cancel_is_requested_on_an_unfinished_run_and_survives_its_saves(
    store: Store, make: Make
) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow))

    requested = await store.request_cancel(scope, run.id)

    assert requested == replace(run, cancel_requested=True)
    assert await store.request_cancel(scope, run.id) == requested  # asking twice changes nothing
    # the executor saves the run as it last saw it, without the flag: the request is not lost
    await store.save_run(replace(run, status=RunStatus.RUNNING, heartbeat_at=make.at()))
    stored = await store.get_run(scope, run.id)
    assert stored is not None
    assert (stored.status, stored.cancel_requested) == (RunStatus.RUNNING, True)
    cancelled = await finish(store, stored, make, RunStatus.CANCELLED)
    assert await store.get_run(scope, run.id) == cancelled


async def test_cancel_of_a_finished_run_changes_nothing(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow))
    done = await finish(store, run, make)

    assert await store.request_cancel(scope, run.id) == done
    assert (await store.get_run(scope, run.id)) == done


async def test_cancel_outside_the_scope_is_none_and_changes_nothing(store: Store, make: Make) -> None:
    _, _, my_scope = await make.tenant(store)
    their_flow, their_scope = await flow(store, make)
    _, run = await store.start_run(their_scope, make.draft(), make.run(their_flow))

    assert await store.request_cancel(my_scope, run.id) is None
    assert await store.request_cancel(Scope.of([]), run.id) is None
    assert await store.request_cancel(their_scope, "no-such-run") is None
    assert await store.get_run(their_scope, run.id) == run


# get_run and list_runs ---------------------------------------------------------------------------------


async def test_runs_outside_the_scope_look_missing(store: Store, make: Make) -> None:
    _, _, my_scope = await make.tenant(store)
    their_flow, their_scope = await flow(store, make)
    _, run = await store.start_run(their_scope, make.draft(), make.run(their_flow))

    assert await store.get_run(my_scope, run.id) is None
    assert await store.get_run(Scope.of([]), run.id) is None
    assert await store.get_run(their_scope, "no-such-run") is None
    page = await store.list_runs(my_scope, their_flow.id, 10, None)
    assert (page.items, page.has_next, page.total) == ([], False, 0)
    assert (await store.list_runs(their_scope, their_flow.id, 10, None)).items == [run]


async def test_list_runs_pages_newest_first_through_ties_in_started_at(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    other = make.workflow(workflow.workspace_id)
    await store.insert_workflow(other)
    tie = make.at()
    specs = [("run-old", T0), ("run-3", tie), ("run-1", tie), ("run-2", tie)]
    specs += [(f"run-new{i}", make.at()) for i in range(3)]
    for run_id, started_at in specs:
        _, run = await store.start_run(
            scope, make.draft(), make.run(workflow, id=run_id, started_at=started_at)
        )
        await finish(store, run, make)
    _, elsewhere = await store.start_run(scope, make.draft(), make.run(other))
    expected = ["run-new2", "run-new1", "run-new0", "run-3", "run-2", "run-1", "run-old"]

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await store.list_runs(scope, workflow.id, 2, after)
        pages += 1
        assert page.total == 7
        seen += [r.id for r in page.items]
        if not page.has_next:
            break
        last = page.items[-1]
        after = (last.started_at, last.id)

    assert seen == expected
    assert pages == 4
    # versions follow the order of the starts, not of started_at
    page = await store.list_runs(scope, workflow.id, 7, None)
    assert [r.version for r in page.items] == [7, 6, 5, 2, 4, 3, 1]
    assert [r.id for r in (await store.list_runs(scope, other.id, 7, None)).items] == [elsewhere.id]


async def test_list_runs_first_zero_counts_without_items(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    await store.start_run(scope, make.draft(), make.run(workflow))

    page = await store.list_runs(scope, workflow.id, 0, None)

    assert (page.items, page.has_next, page.total) == ([], True, 1)
    with pytest.raises(ValueError, match="first"):
        await store.list_runs(scope, workflow.id, -1, None)


# interrupt_stale_runs ----------------------------------------------------------------------------------


async def test_stale_unfinished_runs_are_interrupted_and_fresh_ones_left_alone(
    store: Store, make: Make
) -> None:
    _, workspace, scope = await make.tenant(store)
    flows = [make.workflow(workspace.id, f"wf{i}") for i in range(5)]
    for workflow in flows:
        await store.insert_workflow(workflow)
    cutoff = T0 + timedelta(hours=1)
    _, stale_pending = await store.start_run(
        scope, make.draft(), make.run(flows[0], heartbeat_at=cutoff - timedelta(minutes=5))
    )
    _, stale_running = await store.start_run(scope, make.draft(), make.run(flows[1]))
    stale_running = make.progress(stale_running)
    stale_running = replace(stale_running, heartbeat_at=cutoff - timedelta(microseconds=1))
    await store.save_run(stale_running)
    _, fresh = await store.start_run(
        scope, make.draft(), make.run(flows[2], heartbeat_at=cutoff + timedelta(seconds=1))
    )
    _, on_the_line = await store.start_run(scope, make.draft(), make.run(flows[3], heartbeat_at=cutoff))
    _, finished = await store.start_run(scope, make.draft(), make.run(flows[4]))
    finished = await finish(store, finished, make)  # its heartbeat is old too, but it is done
    assert finished.heartbeat_at < cutoff
    at = cutoff + timedelta(minutes=2)

    swept = await store.interrupt_stale_runs(heartbeat_before=cutoff, at=at, reason=STALE_REASON)

    expected = [
        replace(run, status=RunStatus.INTERRUPTED, completed_at=at, error=STALE_REASON)
        for run in sorted([stale_pending, stale_running], key=lambda r: (r.started_at, r.id))
    ]
    assert swept == expected
    for run in expected:
        assert await store.get_run(scope, run.id) == run
    assert await store.get_run(scope, fresh.id) == fresh
    assert await store.get_run(scope, on_the_line.id) == on_the_line  # "older than" is strict
    assert await store.get_run(scope, finished.id) == finished
    assert await store.interrupt_stale_runs(heartbeat_before=cutoff, at=at, reason="again") == []


async def test_the_sweep_never_interrupts_a_flow_run(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    flows = [make.workflow(workspace.id, f"wf{i}") for i in range(3)]
    for workflow in flows:
        await store.insert_workflow(workflow)
    _, pending = await store.start_run(
        scope, make.draft(), make.run(flows[0], kind=RunKind.FLOW, heartbeat_at=T0)
    )
    _, running = await store.start_run(
        scope, make.draft(), make.run(flows[1], kind=RunKind.FLOW, heartbeat_at=T0)
    )
    running = replace(running, status=RunStatus.RUNNING)
    await store.save_run(running)
    _, deploy = await store.start_run(scope, make.draft(), make.run(flows[2], heartbeat_at=T0))
    at = make.at()

    swept = await store.interrupt_stale_runs(heartbeat_before=at, at=at, reason=STALE_REASON)

    assert [run.id for run in swept] == [deploy.id]
    assert await store.get_run(scope, pending.id) == pending
    assert await store.get_run(scope, running.id) == running


async def test_an_interrupted_run_frees_its_workflow_and_refuses_its_zombie(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, heartbeat_at=T0))
    [interrupted] = await store.interrupt_stale_runs(
        heartbeat_before=T0 + timedelta(seconds=1), at=make.at(), reason=STALE_REASON
    )

    with pytest.raises(Conflict):  # its old owner wakes up and saves: too late
        await store.save_run(replace(run, status=RunStatus.RUNNING, heartbeat_at=make.at()))
    assert await store.get_run(scope, run.id) == interrupted
    version, _ = await store.start_run(scope, make.draft(), make.run(workflow))
    assert version.number == 2


async def test_concurrent_sweeps_interrupt_each_run_once(backend: Backend, make: Make) -> None:
    first, second = await backend.open(), await backend.open()
    _, workspace, scope = await make.tenant(first)
    stale_ids = set()
    for i in range(6):
        workflow = make.workflow(workspace.id, f"wf{i}")
        await first.insert_workflow(workflow)
        _, run = await first.start_run(scope, make.draft(), make.run(workflow, heartbeat_at=T0))
        stale_ids.add(run.id)
    cutoff = T0 + timedelta(seconds=1)

    sweeps = await asyncio.gather(
        *(
            (first if i % 2 else second).interrupt_stale_runs(
                heartbeat_before=cutoff, at=make.at(), reason=f"sweep {i}"
            )
            for i in range(4)
        )
    )

    returned = [run.id for sweep in sweeps for run in sweep]
    assert sorted(returned) == sorted(stale_ids)  # every stale run once, none twice
    for sweep in sweeps:
        for run in sweep:
            stored = await second.get_run(scope, run.id)
            assert stored == run
            assert stored.status is RunStatus.INTERRUPTED


# deleting the workflow ---------------------------------------------------------------------------------


async def test_deleting_a_workflow_deletes_its_runs_versions_and_values(store: Store, make: Make) -> None:
    workflow, scope = await flow(store, make)
    kept = make.workflow(workflow.workspace_id)
    await store.insert_workflow(kept)
    _, old = await store.start_run(scope, make.draft(), make.run(workflow))
    await finish(store, old, make)
    _, active = await store.start_run(scope, make.draft(), make.run(workflow))
    await store.put_secret_values(workflow.id, "db", "cipher", make.at())
    _, kept_run = await store.start_run(scope, make.draft(), make.run(kept))
    await store.put_secret_values(kept.id, "db", "kept", make.at())

    await store.delete_workflow(scope, workflow.id)

    assert await store.get_run(scope, old.id) is None
    assert await store.get_run(scope, active.id) is None
    assert (await store.list_runs(scope, workflow.id, 10, None)).total == 0
    assert await versions_of(store, scope, workflow) == []
    assert await store.secret_values(workflow.id) == {}
    assert await store.get_run(scope, kept_run.id) == kept_run
    assert await versions_of(store, scope, kept) == [1]
    assert await store.secret_values(kept.id) == {"db": "kept"}
    with pytest.raises(NotFound):  # the executor of the deleted run can no longer save it
        await store.save_run(replace(active, status=RunStatus.RUNNING))
    # the id can be used again: its runs and versions start afresh
    await store.insert_workflow(workflow)
    version, run = await store.start_run(scope, make.draft(), make.run(workflow))
    assert (version.number, run.version) == (1, 1)


async def test_latest_runs_gives_the_newest_run_of_every_workflow(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    scope = Scope.of([workspace.id])
    one, two = make.workflow(workspace.id), make.workflow(workspace.id)
    await store.insert_workflow(one)
    await store.insert_workflow(two)
    newest = {}
    for workflow in (one, two, one):
        _, run = await store.start_run(scope, make.draft(), make.run(workflow))
        finished = replace(run, status=RunStatus.COMPLETED, completed_at=make.at())
        await store.save_run(finished)
        newest[workflow.id] = run.id
    latest = await store.latest_runs()
    assert {run.workflow_id: run.id for run in latest} == newest


async def test_the_newest_run_is_the_one_of_the_highest_version_even_at_one_instant(
    store: Store, make: Make
) -> None:
    """Replicas' clocks (or one instant) cannot reorder runs: the later run snapshots the higher version."""
    _, workspace, _ = await make.tenant(store)
    scope = Scope.of([workspace.id])
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    instant = make.at()
    ids = []
    for name in ("run-z-first", "run-a-second"):  # ids that sort against the order they ran in
        _, run = await store.start_run(scope, make.draft(), make.run(workflow, id=name, started_at=instant))
        await store.save_run(replace(run, status=RunStatus.COMPLETED, completed_at=instant))
        ids.append(run.id)
    assert [run.id for run in await store.latest_runs()] == [ids[-1]]
