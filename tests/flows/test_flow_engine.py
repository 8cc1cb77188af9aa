"""The flow engine with scripted step executors and an in-memory run store: retries (then success, then
failure) with their backoff, timeouts, outputs over the limit, the per-run concurrency limit, and every
change saved and published."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from app.domain.events import Event, EventType
from app.domain.flows.steps import ERROR, OOM, StepInvocation, StepResult
from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunStatus, TriggerKind
from app.domain.workflows import Canvas, Edge, Node, Position
from app.services.flow_engine import FlowEngine, FlowEngineSettings
from tests.clock import FakeClock

Script = Callable[[StepInvocation], Any]


class Store:
    def __init__(self) -> None:
        self.saved: list[Run] = []

    async def save_run(self, run: Run) -> None:
        self.saved.append(run)


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
    canvas: Canvas, script: Script, *, concurrency: int = 4, max_output: int = 10_000
) -> tuple[Run, Store, Bus, Scripted, list[float]]:
    clock, store, bus, sleeps = FakeClock(), Store(), Bus(), []
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
            concurrency=concurrency, max_output_bytes=max_output, heartbeat_seconds=60
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
        node_states=tuple(NodeRunState(node.id, NodeRunStatus.PENDING) for node in canvas.nodes),
    )
    final = await engine.execute(run, canvas, {"x": 1})
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
        (ev.payload["nodeId"], ev.payload["status"]) for ev in bus.events if ev.type is EventType.NODE_UPDATE
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
    assert call.message == "this server cannot run HttpRequest steps yet"


async def test_stopping_the_engine_task_interrupts_the_run_and_its_running_steps() -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def endless(inv: StepInvocation) -> StepResult:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()
        raise AssertionError("unreachable")

    task = asyncio.get_running_loop().create_task(run_flow(chain(n("f", "Function")), endless))
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert stopped.is_set()
