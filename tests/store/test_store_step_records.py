"""Contract: what flow steps leave beside their run — outputs posted back (accepted once per attempt) and
step logs (numbered per step, trimmed with a gap, read after a ``seq``) — deleted with their run."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from app.domain.runs import Run, RunKind, StepLogLine, StepOutputRecord
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import T0, Backend, Make

OUTPUT = {"app.kubernetes.io/name": "shop", "$ref": [1, 2.5, None, True], "text": "grüß dich ✓", "n": {}}


async def flow_run(store: Store, make: Make) -> tuple[Workflow, Scope, Run]:
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, kind=RunKind.FLOW))
    return workflow, scope, run


def output(run: Run, node_id: str = "fetch", attempt: int = 1, value: object = OUTPUT) -> StepOutputRecord:
    return StepOutputRecord(
        run_id=run.id,
        node_id=node_id,
        attempt=attempt,
        output=value,
        size=len(str(value)),
        received_at=T0 + timedelta(seconds=attempt),
    )


def lines(count: int, *, attempt: int = 1, start: int = 1) -> list[tuple[datetime, int, str, str]]:
    """``count`` lines ``line <start>``, ``line <start + 1>``, …"""
    return [
        (T0 + timedelta(seconds=n), attempt, "INFO" if n % 2 else "ERROR", f"line {n}")
        for n in range(start, start + count)
    ]


def seqs(logged: list[StepLogLine]) -> list[int]:
    return [line.seq for line in logged]


# step outputs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [OUTPUT, [], "text", 0, None])
async def test_an_output_round_trips(store: Store, make: Make, value: object) -> None:
    _, _, run = await flow_run(store, make)
    record = output(run, value=value)

    await store.put_step_output(record)

    stored = await store.get_step_output(run.id, "fetch", 1)
    assert stored == record
    assert stored is not None
    assert type(stored.output) is type(value)


async def test_an_attempt_posts_its_output_once(store: Store, make: Make) -> None:
    _, _, run = await flow_run(store, make)
    first = output(run)
    await store.put_step_output(first)

    with pytest.raises(Conflict, match="already posted"):
        await store.put_step_output(replace(first, output={"second": True}, size=15))

    assert await store.get_step_output(run.id, "fetch", 1) == first
    second_attempt = output(run, attempt=2, value={"retry": 2})
    other_step = output(run, node_id="store", value=[1])
    await store.put_step_output(second_attempt)
    await store.put_step_output(other_step)
    assert await store.get_step_output(run.id, "fetch", 2) == second_attempt
    assert await store.get_step_output(run.id, "store", 1) == other_step
    assert await store.get_step_output(run.id, "fetch", 1) == first


async def test_concurrent_posts_of_one_attempt_let_exactly_one_in(backend: Backend, make: Make) -> None:
    first, second = await backend.open(), await backend.open()
    _, _, run = await flow_run(first, make)
    records = [output(run, value={"poster": i}) for i in range(6)]

    results = await asyncio.gather(
        *((first if i % 2 else second).put_step_output(record) for i, record in enumerate(records)),
        return_exceptions=True,
    )

    assert sum(result is None for result in results) == 1
    assert sum(isinstance(result, Conflict) for result in results) == 5
    winner = records[results.index(None)]
    assert await second.get_step_output(run.id, "fetch", 1) == winner


async def test_outputs_of_unknown_runs(store: Store, make: Make) -> None:
    _, _, run = await flow_run(store, make)

    assert await store.get_step_output(run.id, "fetch", 1) is None
    assert await store.get_step_output("no-such-run", "fetch", 1) is None
    with pytest.raises(NotFound):
        await store.put_step_output(replace(output(run), run_id="no-such-run"))
    assert await store.get_step_output("no-such-run", "fetch", 1) is None


# step logs ---------------------------------------------------------------------------------------------


async def test_lines_are_numbered_per_step_across_appends_and_attempts(store: Store, make: Make) -> None:
    _, _, run = await flow_run(store, make)
    _, _, other_run = await flow_run(store, make)
    west = timezone(timedelta(hours=-8))

    first = await store.append_step_logs(run.id, "fetch", lines(3), keep=100)
    second = await store.append_step_logs(
        run.id, "fetch", [(T0.astimezone(west), 2, "WARNING", 'retry — "quoted" \\ text')], keep=100
    )
    other_step = await store.append_step_logs(run.id, "store", lines(2), keep=100)
    other = await store.append_step_logs(other_run.id, "fetch", lines(1), keep=100)

    assert first == [
        StepLogLine(seq=1, at=T0 + timedelta(seconds=1), attempt=1, level="INFO", message="line 1"),
        StepLogLine(seq=2, at=T0 + timedelta(seconds=2), attempt=1, level="ERROR", message="line 2"),
        StepLogLine(seq=3, at=T0 + timedelta(seconds=3), attempt=1, level="INFO", message="line 3"),
    ]
    assert second == [StepLogLine(4, T0, 2, "WARNING", 'retry — "quoted" \\ text')]
    assert (seqs(other_step), seqs(other)) == ([1, 2], [1])
    assert await store.step_logs(run.id, "fetch") == [*first, *second]
    assert await store.step_logs(run.id, "fetch", after_seq=2) == [first[2], *second]
    assert await store.step_logs(run.id, "fetch", after_seq=4) == []
    assert await store.step_logs(run.id, "store") == other_step
    assert await store.step_logs(run.id, "nothing") == []
    assert await store.append_step_logs(run.id, "fetch", [], keep=100) == []  # nothing to write
    assert seqs(await store.step_logs(run.id, "fetch")) == [1, 2, 3, 4]


async def test_a_step_over_keep_loses_its_oldest_lines_after_the_first_quarter(
    store: Store, make: Make
) -> None:
    _, _, run = await flow_run(store, make)

    logged = await store.append_step_logs(run.id, "fetch", lines(10), keep=8)

    # the first keep // 4 = 2 lines stay, then the gap, then the newest 6
    assert seqs(logged) == [1, 2, 5, 6, 7, 8, 9, 10]
    assert await store.step_logs(run.id, "fetch") == logged
    assert [line.message for line in logged[:3]] == ["line 1", "line 2", "line 5"]

    more = await store.append_step_logs(run.id, "fetch", lines(3, start=11), keep=8)

    assert seqs(more) == [11, 12, 13]  # numbering goes on after the highest seq, gap or not
    assert seqs(await store.step_logs(run.id, "fetch")) == [1, 2, 8, 9, 10, 11, 12, 13]
    assert seqs(await store.step_logs(run.id, "fetch", after_seq=2)) == [8, 9, 10, 11, 12, 13]
    assert seqs(await store.step_logs(run.id, "fetch", after_seq=4)) == [8, 9, 10, 11, 12, 13]


async def test_one_append_larger_than_keep_returns_only_what_stays(store: Store, make: Make) -> None:
    _, _, run = await flow_run(store, make)
    await store.append_step_logs(run.id, "fetch", lines(2), keep=4)

    logged = await store.append_step_logs(run.id, "fetch", lines(10, start=3), keep=4)

    assert seqs(logged) == [10, 11, 12]  # seq 1 (the first quarter) stays from before
    assert seqs(await store.step_logs(run.id, "fetch")) == [1, 10, 11, 12]
    assert seqs(await store.append_step_logs(run.id, "fetch", lines(1), keep=1)) == [13]
    assert seqs(await store.step_logs(run.id, "fetch")) == [13]  # keep 1: only the newest


async def test_appends_need_a_run_and_a_positive_keep(store: Store, make: Make) -> None:
    _, _, run = await flow_run(store, make)

    with pytest.raises(NotFound):
        await store.append_step_logs("no-such-run", "fetch", lines(1), keep=10)
    with pytest.raises(ValueError, match="keep"):
        await store.append_step_logs(run.id, "fetch", lines(1), keep=0)

    assert await store.step_logs("no-such-run", "fetch") == []
    assert await store.step_logs(run.id, "fetch") == []


async def test_concurrent_appends_to_one_step_number_every_line_once(backend: Backend, make: Make) -> None:
    first, second = await backend.open(), await backend.open()
    _, _, run = await flow_run(first, make)

    results = await asyncio.gather(
        *(
            (first if i % 2 else second).append_step_logs(run.id, "fetch", lines(3, start=10 * i), keep=1000)
            for i in range(8)
        )
    )

    assert sorted(seq for result in results for seq in seqs(result)) == list(range(1, 25))
    for result in results:  # each append got one contiguous range
        assert seqs(result) == list(range(result[0].seq, result[0].seq + 3))
    stored = await second.step_logs(run.id, "fetch")
    assert seqs(stored) == list(range(1, 25))


# deleted with their run --------------------------------------------------------------------------------


async def record_everything(store: Store, run: Run) -> None:
    await store.put_step_output(output(run))
    await store.append_step_logs(run.id, "fetch", lines(3), keep=100)


async def test_deleting_the_workflow_deletes_the_outputs_and_logs_of_its_runs(
    store: Store, make: Make
) -> None:
    workflow, scope, run = await flow_run(store, make)
    kept_workflow, _, kept = await flow_run(store, make)
    await record_everything(store, run)
    await record_everything(store, kept)

    await store.delete_workflow(scope, workflow.id)

    assert await store.get_step_output(run.id, "fetch", 1) is None
    assert await store.step_logs(run.id, "fetch") == []
    assert await store.get_step_output(kept.id, "fetch", 1) == output(kept)
    assert seqs(await store.step_logs(kept.id, "fetch")) == [1, 2, 3]
    # a run of the same id starts afresh: its numbering too
    await store.insert_workflow(workflow)
    await store.start_run(scope, make.draft(), run)
    assert seqs(await store.append_step_logs(run.id, "fetch", lines(1), keep=100)) == [1]
    await store.put_step_output(output(run))  # accepted again
    assert kept_workflow.id != workflow.id


async def test_deleting_the_workspace_deletes_the_outputs_and_logs_of_its_runs(
    store: Store, make: Make
) -> None:
    _, _, kept = await flow_run(store, make)  # its user is the first, the administrator
    await record_everything(store, kept)
    user, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, kind=RunKind.FLOW))
    await record_everything(store, run)

    deleted = await store.delete_user(user.id, make.at(), hand_over_to=None)

    assert workspace.id in deleted
    assert await store.get_step_output(run.id, "fetch", 1) is None
    assert await store.step_logs(run.id, "fetch") == []
    assert await store.get_step_output(kept.id, "fetch", 1) == output(kept)
    assert seqs(await store.step_logs(kept.id, "fetch")) == [1, 2, 3]
