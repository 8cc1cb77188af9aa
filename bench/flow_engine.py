"""Flow engine overhead per step: a 1,000-step linear flow and a 1,000-step wide one (fan-out, Merge ALL),
every step run by a no-op executor, the run saved to an in-memory store after every change (the SQLite
write itself is not measured here). Prints milliseconds per step; the target is under 2 ms."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from app.domain.flows.steps import StepInvocation, StepResult
from app.domain.ids import new_id
from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunStatus, TriggerKind
from app.domain.workflows import Canvas, Edge, Node, Position
from app.services.flow_engine import FlowEngine, FlowEngineSettings

TARGET_MS = 2.0


class NoopStepExecutor:
    """Bench only, never wired into the server: returns the step's input as its output at once."""

    async def execute(self, invocation: StepInvocation) -> StepResult:
        return StepResult(output=invocation.input)


class MemoryRunStore:
    """Keeps the latest saved run (the engine's only store call while it runs)."""

    def __init__(self) -> None:
        self.saves = 0
        self.run: Run | None = None

    async def save_run(self, run: Run) -> None:
        self.saves += 1
        self.run = run

    async def get_run(self, scope: Any, run_id: str) -> Run | None:  # noqa: ARG002  # one run only
        return self.run

    async def append_step_logs(self, *args: Any, **kwargs: Any) -> list[Any]:  # noqa: ARG002
        return []  # no-op steps print nothing


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _node(node_id: str, kind: str, **data: Any) -> Node:
    return Node(node_id, kind, Position(0, 0), data)


def linear(steps: int) -> Canvas:
    ids = ["start", *(f"f{i}" for i in range(steps - 2)), "end"]
    kinds = ["Start", *("Function" for _ in range(steps - 2)), "End"]
    nodes = tuple(_node(i, k) for i, k in zip(ids, kinds, strict=True))
    edges = tuple(Edge(f"e{i}", a, b, "output", "input") for i, (a, b) in enumerate(pairwise(ids)))
    return Canvas(nodes, edges)


def wide(steps: int) -> Canvas:
    middle = [f"f{i}" for i in range(steps - 3)]
    nodes = (
        _node("start", "Start"),
        *(_node(i, "Function") for i in middle),
        _node("join", "Merge", mode="ALL"),
        _node("end", "End"),
    )
    edges = (
        *(Edge(f"a{i}", "start", i, "output", "input") for i in middle),
        *(Edge(f"b{i}", i, "join", "output", "input") for i in middle),
        Edge("z", "join", "end", "output", "input"),
    )
    return Canvas(nodes, edges)


async def measure(canvas: Canvas, concurrency: int) -> tuple[float, Run]:
    store = MemoryRunStore()
    noop = NoopStepExecutor()
    engine = FlowEngine(
        store=store,  # type: ignore[arg-type]  # the engine only saves runs
        clock=UtcClock(),
        bus=None,
        executors={"Start": noop, "End": noop, "Merge": noop, "Function": noop},
        settings=FlowEngineSettings(
            concurrency=concurrency,
            workspace_concurrency=concurrency,
            max_output_bytes=1 << 24,
            heartbeat_seconds=60,
        ),
    )
    now = datetime.now(UTC)
    run = Run(
        id=new_id(),
        workflow_id="bench",
        workspace_id="bench",
        cluster_id="",
        version=1,
        status=RunStatus.RUNNING,
        triggered_by=TriggerKind.MANUAL,
        started_by="bench",
        started_at=now,
        owner="bench",
        heartbeat_at=now,
        node_states=tuple(NodeRunState(n.id, NodeRunStatus.PENDING) for n in canvas.nodes),
    )
    started = time.perf_counter()
    finished = await engine.execute(run, canvas)
    return (time.perf_counter() - started) * 1000 / len(canvas.nodes), finished


def main() -> None:
    print("flow engine overhead per step (no-op executor, in-memory store), target < 2 ms")
    for name, build, concurrency in (("linear", linear, 4), ("wide", wide, 16)):
        for steps in (250, 500, 1000):
            per_step, run = asyncio.run(measure(build(steps), concurrency))
            assert run.status is RunStatus.COMPLETED, run.error
            verdict = "ok" if per_step < TARGET_MS else "OVER TARGET"
            print(f"  {name:6} {steps:5} steps: {per_step:6.3f} ms/step  {verdict}")


if __name__ == "__main__":
    main()
