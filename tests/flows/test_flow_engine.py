"""The flow engine with scripted step executors and an in-memory run store: retries (then success, then
failure) with their backoff, timeouts, outputs over the limit, the per-run concurrency limit, and every
change saved and published."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from typing import Any

from app.domain.events import Event, EventType
from app.domain.flows.steps import ERROR, OOM, StepInvocation, StepResult
from app.domain.runs import (
    NodeRunState,
    NodeRunStatus,
    Run,
    RunStatus,
    StepLogLine,
    StepOutcome,
    TriggerKind,
)
from app.domain.workflows import Canvas, Edge, Node, Position
from app.errors import Conflict
from app.services.flow_engine import FlowEngine, FlowEngineSettings
from tests.clock import FakeClock

Script = Callable[[StepInvocation], Any]


class Store:
    """The run store and step log store of one run, in memory."""

    def __init__(self) -> None:
        self.saved: list[Run] = []
        self.logs: dict[str, list[StepLogLine]] = {}

    async def save_run(self, run: Run) -> None:
        self.saved.append(run)

    async def get_run(self, scope: Any, run_id: str) -> Run | None:
        return self.saved[-1] if self.saved else None

    async def append_step_logs(
        self, run_id: str, node_id: str, lines: list[tuple[datetime, int, str, str]], *, keep: int
    ) -> list[StepLogLine]:
        stored = self.logs.setdefault(node_id, [])
        added = [
            StepLogLine(len(stored) + i + 1, at, attempt, level, message)
            for i, (at, attempt, level, message) in enumerate(lines)
        ]
        stored.extend(added)
        return added


class Bus:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.events.append(event)


class Scripted:
    """Answers each attempt with ``script(invocation)`` (a StepResult, or an awaitable of one)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[tuple[str, int]] = []
        self.running = 0
        self.most = 0

    async def execute(self, invocation: StepInvocation) -> StepResult:
        self.calls.append((invocation.step.id, invocation.attempt))
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            result = self.script(invocation)
            if asyncio.iscoroutine(result):
                result = await result
            assert isinstance(result, StepResult)
            return result
        finally:
            self.running -= 1


def n(node_id: str, kind: str, **data: Any) -> Node:
    return Node(node_id, kind, Position(0, 0), data)


def e(source: str, target: str) -> Edge:
    return Edge(f"{source}-{target}", source, target, "output", "input")


def chain(*steps: Node) -> Canvas:
    nodes = (n("start", "Start"), *steps, n("end", "End"))
    return Canvas(nodes, tuple(e(a.id, b.id) for a, b in pairwise(nodes)))


async def run_flow(
    canvas: Canvas,
    script: Script,
    *,
    concurrency: int = 4,
    max_output: int = 10_000,
    states: dict[str, NodeRunState] | None = None,
    store: Store | None = None,
    workspace_concurrency: int = 16,
    heartbeat_seconds: float = 60,
) -> tuple[Run, Store, Bus, Scripted, list[float]]:
    """Run ``canvas`` from the start, or from ``states`` (a run being resumed)."""
    clock, bus, sleeps = FakeClock(), Bus(), []
    store = store or Store()
    passing = Scripted(lambda inv: StepResult(output=inv.input))
    functions = Scripted(script)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    engine = FlowEngine(
        store=store,  # type: ignore[arg-type]  # the engine only saves runs
        clock=clock,
        bus=bus,  # type: ignore[arg-type]  # and only publishes
        executors={"Start": passing, "End": passing, "Merge": passing, "Function": functions},
        settings=FlowEngineSettings(
            concurrency=concurrency,
            workspace_concurrency=workspace_concurrency,
            max_output_bytes=max_output,
            heartbeat_seconds=heartbeat_seconds,
            log_flush_seconds=0.001,
        ),
        sleep=sleep,
    )
    now = clock.now()
    run = Run(
        id="r1",
        workflow_id="w",
        workspace_id="ws",
        cluster_id="",
        version=1,
        status=RunStatus.RUNNING,
        triggered_by=TriggerKind.MANUAL,
        started_by="u",
        started_at=now,
        owner="me",
        heartbeat_at=now,
        node_states=tuple(
            (states or {}).get(node.id) or NodeRunState(node.id, NodeRunStatus.PENDING)
            for node in canvas.nodes
        ),
    )
    final = await engine.execute(replace(run, trigger_data={"x": 1}), canvas)
    return final, store, bus, functions, sleeps


def state(run: Run, node_id: str) -> NodeRunState:
    return next(s for s in run.node_states if s.node_id == node_id)


RETRY = {"attempts": 3, "backoffSeconds": 2, "on": ["ERROR", "OOM"]}


async def test_a_failed_attempt_is_retried_with_backoff_and_then_succeeds() -> None:
    def script(inv: StepInvocation) -> StepResult:
        return StepResult.failed(ERROR, "run", "flaky") if inv.attempt < 3 else StepResult(output={"ok": 1})

    run, store, bus, functions, sleeps = await run_flow(chain(n("f", "Function", retry=RETRY)), script)
    assert run.status is RunStatus.COMPLETED
    assert functions.calls == [("f", 1), ("f", 2), ("f", 3)]
    assert sleeps == [2.0, 4.0]
    f = state(run, "f")
    assert f.status is NodeRunStatus.COMPLETED and f.step is not None
    assert f.step.attempt == 3 and f.step.output == {"ok": 1} and f.step.output_size == len('{"ok":1}')
    assert state(run, "end").step is not None and state(run, "end").step.output == {"ok": 1}  # type: ignore[union-attr]
    seen = [
        (ev.payload["nodeId"], ev.payload["status"])
        for ev in bus.events
        if ev.type is EventType.NODE_UPDATE and ev.topic == "run:r1"
    ]
    assert [s for node, s in seen if node == "f"] == [
        "QUEUED",
        "RUNNING",
        "RETRYING",
        "RUNNING",
        "RETRYING",
        "RUNNING",
        "COMPLETED",
    ]
    assert bus.events[-1].type is EventType.COMPLETE
    assert any(line.level == "WARNING" and "retrying in 2 s" in line.message for line in run.logs)
    assert store.saved[-1] == run


async def test_retries_run_out_and_the_run_fails_with_the_last_error() -> None:
    run, _, _, functions, sleeps = await run_flow(
        chain(n("f", "Function", retry=RETRY), n("g", "Function")),
        lambda inv: StepResult.failed(OOM, "run", "out of memory"),
    )
    assert run.status is RunStatus.FAILED
    assert functions.calls == [("f", 1), ("f", 2), ("f", 3)]
    assert sleeps == [2.0, 4.0]
    f = state(run, "f")
    assert f.status is NodeRunStatus.FAILED and f.step is not None and f.step.error_kind == OOM
    assert run.error == "step f failed: out of memory"
    assert state(run, "g").status is NodeRunStatus.CANCELLED


async def test_a_failure_kind_not_named_is_not_retried() -> None:
    run, _, _, functions, sleeps = await run_flow(
        chain(n("f", "Function", retry={**RETRY, "on": ["OOM"]})),
        lambda inv: StepResult.failed(ERROR, "run", "bug"),
    )
    assert run.status is RunStatus.FAILED and functions.calls == [("f", 1)] and sleeps == []


async def test_an_attempt_longer_than_its_timeout_fails_with_timeout() -> None:
    async def slow(inv: StepInvocation) -> StepResult:
        await asyncio.Event().wait()  # never answers; the step's timeout ends it
        raise AssertionError("unreachable")

    run, *_ = await run_flow(chain(n("f", "Function", timeoutSeconds=0.01)), slow)
    f = state(run, "f")
    assert run.status is RunStatus.FAILED and f.step is not None
    assert f.step.error_kind == "TIMEOUT" and "longer than 0.01 s" in (f.step.error or "")


async def test_an_output_over_the_limit_fails_the_step_and_says_its_size() -> None:
    run, *_ = await run_flow(
        chain(n("f", "Function")), lambda inv: StepResult(output="x" * 200), max_output=100
    )
    f = state(run, "f")
    assert f.status is NodeRunStatus.FAILED and f.step is not None
    assert f.step.output is None and f.step.output_size == 202
    assert "more than the limit of 100" in (f.step.error or "")


async def test_an_executor_that_raises_fails_its_step_not_the_engine() -> None:
    def broken(inv: StepInvocation) -> StepResult:
        raise RuntimeError("oops")

    run, *_ = await run_flow(chain(n("f", "Function")), broken)
    assert run.status is RunStatus.FAILED
    assert state(run, "f").message == "RuntimeError: oops"


async def test_ready_steps_run_concurrently_up_to_the_limit() -> None:
    middle = [n(f"f{i}", "Function") for i in range(6)]
    canvas = Canvas(
        (n("start", "Start"), *middle, n("join", "Merge"), n("end", "End")),
        (*(e("start", m.id) for m in middle), *(e(m.id, "join") for m in middle), e("join", "end")),
    )

    async def busy(inv: StepInvocation) -> StepResult:
        for _ in range(3):
            await asyncio.sleep(0)  # let the others start
        return StepResult(output=inv.step.id)

    run, _, _, functions, _ = await run_flow(canvas, busy, concurrency=2)
    assert run.status is RunStatus.COMPLETED
    assert functions.most == 2 and len(functions.calls) == 6
    join = state(run, "join").step
    assert join is not None and join.output == {m.id: m.id for m in middle}


async def test_a_kind_without_an_executor_fails_its_step_saying_so() -> None:
    run, *_ = await run_flow(chain(n("call", "HttpRequest", urlTemplate="http://x")), lambda inv: None)
    call = state(run, "call")
    assert call.status is NodeRunStatus.FAILED and call.step is not None and call.step.error_kind == "REFUSED"
    assert call.message == "this server cannot run HttpRequest steps"


async def test_stopping_the_server_stops_the_steps_and_leaves_the_run_running_for_the_next_owner() -> None:
    started, stopped = asyncio.Event(), asyncio.Event()
    told: list[bool] = []
    store = Store()

    async def endless(inv: StepInvocation) -> StepResult:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            told.append(inv.run_cancelled())  # False: leave what runs elsewhere running
            stopped.set()
        raise AssertionError("unreachable")

    task = asyncio.get_running_loop().create_task(run_flow(chain(n("f", "Function")), endless, store=store))
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert stopped.is_set() and told == [False]
    last = store.saved[-1]
    assert last.status is RunStatus.RUNNING and state(last, "f").status is NodeRunStatus.RUNNING


async def test_a_resumed_run_keeps_settled_outputs_and_follows_the_running_attempt() -> None:
    clock = FakeClock()
    started = clock.now()
    states = {
        "start": NodeRunState(
            "start", NodeRunStatus.COMPLETED, step=StepOutcome(1, started, started, "output", {"x": 1}, 7)
        ),
        "f": NodeRunState("f", NodeRunStatus.RUNNING, step=StepOutcome(attempt=2, started_at=started)),
    }
    seen: list[tuple[int, Any, Any]] = []

    def script(inv: StepInvocation) -> StepResult:
        seen.append((inv.attempt, inv.started_at, inv.input))
        return StepResult(output={"from": inv.step.id})

    run, _, _, functions, _ = await run_flow(
        chain(n("f", "Function"), n("g", "Function")), script, states=states
    )
    assert run.status is RunStatus.COMPLETED
    assert functions.calls == [("f", 2), ("g", 1)]  # the Start is not run again; f goes on as attempt 2
    assert seen[0] == (2, started, {"x": 1})  # the same attempt: its start time (and deadline) kept
    assert state(run, "start").step == states["start"].step


async def test_a_resumed_retrying_step_goes_on_with_its_next_attempt() -> None:
    clock = FakeClock()
    failed = StepOutcome(attempt=1, started_at=clock.now(), finished_at=clock.now(), error_kind=ERROR)
    states = {
        "start": NodeRunState(
            "start", NodeRunStatus.COMPLETED, step=StepOutcome(1, port="output", output={})
        ),
        "f": NodeRunState("f", NodeRunStatus.RETRYING, step=failed),
    }
    run, _, _, functions, _sleeps = await run_flow(
        chain(n("f", "Function", retry=RETRY)), lambda inv: StepResult(output=1), states=states
    )
    assert run.status is RunStatus.COMPLETED and functions.calls == [("f", 2)]
    assert state(run, "f").step is not None and state(run, "f").step.attempt == 2  # type: ignore[union-attr]


async def test_steps_of_one_workspace_share_its_limit_across_runs() -> None:
    store = Store()
    running, most = 0, 0

    async def busy(inv: StepInvocation) -> StepResult:
        nonlocal running, most
        running += 1
        most = max(most, running)
        for _ in range(5):
            await asyncio.sleep(0)
        running -= 1
        return StepResult(output=1)

    middle = [n(f"f{i}", "Function") for i in range(4)]
    canvas = Canvas(
        (n("start", "Start"), *middle, n("join", "Merge"), n("end", "End")),
        (*(e("start", m.id) for m in middle), *(e(m.id, "join") for m in middle), e("join", "end")),
    )
    run, *_ = await run_flow(canvas, busy, concurrency=4, workspace_concurrency=2, store=store)
    assert run.status is RunStatus.COMPLETED and most == 2


async def test_step_log_lines_are_stored_per_step_before_it_settles_and_its_stream_ends() -> None:
    async def talk(inv: StepInvocation) -> StepResult:
        await inv.log("first")
        await inv.log("second\nthird", level="WARNING")
        return StepResult(output=None)

    _run, store, bus, *_ = await run_flow(chain(n("f", "Function")), talk)
    assert [(line.seq, line.attempt, line.level, line.message) for line in store.logs["f"]] == [
        (1, 1, "INFO", "first"),
        (2, 1, "WARNING", "second"),
        (3, 1, "WARNING", "third"),
    ]
    topic = [ev for ev in bus.events if ev.topic == "steplog:r1:f"]
    assert [ev.type for ev in topic] == [EventType.NODE_UPDATE, EventType.COMPLETE]
    assert [line["message"] for line in topic[0].payload["lines"]] == ["first", "second", "third"]
    assert topic[1].payload == {"status": "COMPLETED"}


async def test_a_run_taken_over_by_another_server_stops_here_without_ending_it() -> None:
    store = TakenStore(after=3)
    told: list[bool] = []

    async def endless(inv: StepInvocation) -> StepResult:
        try:
            await asyncio.Event().wait()
        finally:
            told.append(inv.run_cancelled())
        raise AssertionError("unreachable")

    run, *_ = await run_flow(chain(n("f", "Function")), endless, store=store, heartbeat_seconds=0.01)
    assert run.status is RunStatus.RUNNING  # as far as this server knows: it stopped writing
    assert told == [False]  # what runs elsewhere is left to the new owner
    assert all(saved.status is RunStatus.RUNNING for saved in store.saved)


class TakenStore(Store):
    """Refuses saves after ``after`` of them, as the store does once another server claimed the run."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    async def save_run(self, run: Run) -> None:
        if len(self.saved) >= self.after:
            raise Conflict("the run is driven by another server process")
        await super().save_run(run)
