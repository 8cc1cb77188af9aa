"""The flow engine: walks a FLOW run's graph, running ready steps concurrently through step executors.

The scheduler (:mod:`app.domain.flows.scheduler`) says which steps are ready, skipped or cancelled and when
the run is over; the engine queues ready steps, runs at most ``concurrency`` at once (each attempt through
the :class:`~app.ports.StepExecutor` of its kind, under the step's timeout), retries failed attempts as the
step's retry policy says, and records every change in the run (``node_states`` with a
:class:`~app.domain.runs.StepOutcome` each: attempt, times, output, error) — saved to the store and published
as ``NODE_UPDATE`` on ``run:<id>`` — changes of one scheduling pass in one write.

Not here yet: resuming a run after a restart (a stale run is marked INTERRUPTED by the run sweep), retrying
a step by hand, the per-workspace limit and the lease between replicas.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from app.domain.events import Event, EventType, run_topic
from app.domain.flows import steps as kinds_of_failure
from app.domain.flows.scheduler import (
    ERROR_PORT,
    FlowGraph,
    FlowStep,
    RetryPolicy,
    StepView,
    decide,
    input_of,
)
from app.domain.flows.steps import StepInvocation, StepResult
from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunLogLine, RunStatus, StepOutcome
from app.domain.workflows import Canvas
from app.ports import Clock, EventBus, RunStore, StepExecutor

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FlowEngineSettings:
    """``concurrency``: steps of one run running at once; ``max_output_bytes``: the largest output (JSON
    bytes) a step may return; ``heartbeat_seconds``: how often a running run proves its server alive."""

    concurrency: int = 4
    max_output_bytes: int = 1_048_576
    heartbeat_seconds: float = 5.0
    max_log_lines: int = 2000


class FlowRecorder:
    """The run being executed: node states and logs, written through to the store and published."""

    def __init__(self, run: Run, *, store: RunStore, clock: Clock, bus: EventBus | None, max_log_lines: int):
        self._run = run
        self._store = store
        self._clock = clock
        self._bus = bus
        self._max_log_lines = max_log_lines
        self._states = {state.node_id: state for state in run.node_states}
        self._lock = asyncio.Lock()

    @property
    def run(self) -> Run:
        return self._run

    def state(self, node_id: str) -> NodeRunState:
        return self._states[node_id]

    def line(self, message: str, *, level: str = "INFO", node_id: str | None = None) -> RunLogLine:
        return RunLogLine(self._clock.now(), level, message, node_id)

    async def update(self, changes: Sequence[NodeRunState], lines: Sequence[RunLogLine] = ()) -> None:
        """Record ``changes`` (and log ``lines``) in one write, then publish one NODE_UPDATE per change."""
        for state in changes:
            self._states[state.node_id] = state
        await self._save(
            replace(self._run, node_states=tuple(self._states.values()), logs=(*self._run.logs, *lines))
        )
        for state in changes:
            payload: dict[str, Any] = {"nodeId": state.node_id, "status": state.status.value}
            if state.step is not None:
                payload["attempt"] = state.step.attempt
            await self._publish(EventType.NODE_UPDATE, payload)

    async def log(self, message: str, *, level: str = "INFO", node_id: str | None = None) -> None:
        await self._save(
            replace(self._run, logs=(*self._run.logs, self.line(message, level=level, node_id=node_id)))
        )

    async def heartbeat(self) -> None:
        await self._save(self._run)

    async def finish(self, status: RunStatus, *, error: str | None, cancel_requested: bool) -> Run:
        line = self.line(
            f"run {status.value.lower()}" + (f": {error}" if error else ""),
            level="ERROR" if error else "INFO",
        )
        await self._save(
            replace(
                self._run,
                status=status,
                error=error,
                completed_at=self._clock.now(),
                cancel_requested=cancel_requested or self._run.cancel_requested,
                logs=(*self._run.logs, line),
            )
        )
        await self._publish(EventType.COMPLETE, {"status": status.value})
        return self._run

    async def _publish(self, kind: EventType, payload: Mapping[str, Any]) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish(Event(kind, run_topic(self._run.id), self._clock.now(), payload))
        except Exception:  # a lost live update never fails the run; the stored run is the truth
            log.exception("publishing %s for run %s failed", kind.value, self._run.id)

    async def _save(self, run: Run) -> None:
        if len(run.logs) > self._max_log_lines:  # keep the first lines and the latest ones
            head = self._max_log_lines // 4
            run = replace(run, logs=run.logs[:head] + run.logs[-(self._max_log_lines - head) :])
        async with self._lock:
            self._run = replace(run, heartbeat_at=self._clock.now())
            await self._store.save_run(self._run)


class FlowEngine:
    """Executes flow runs in this process; ``executors`` maps a step kind to what runs it."""

    def __init__(
        self,
        *,
        store: RunStore,
        clock: Clock,
        bus: EventBus | None,
        executors: Mapping[str, StepExecutor],
        settings: FlowEngineSettings,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._clock = clock
        self._bus = bus
        self._executors = dict(executors)
        self._settings = settings
        self._sleep = sleep  # retry backoff (tests pass one that does not wait)
        self._cancels: dict[str, asyncio.Event] = {}

    def cancel(self, run_id: str) -> bool:
        """Ask a run executing in this process to stop: running steps are cancelled, nothing new starts."""
        event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    def recorder(self, run: Run) -> FlowRecorder:
        return FlowRecorder(
            run,
            store=self._store,
            clock=self._clock,
            bus=self._bus,
            max_log_lines=self._settings.max_log_lines,
        )

    async def execute(self, run: Run, canvas: Canvas, trigger: Any) -> Run:
        """Run the flow ``canvas`` (the run's snapshot) to its end; the run as finally recorded."""
        cancel = self._cancels.setdefault(run.id, asyncio.Event())
        recorder = self.recorder(run)
        beat = asyncio.get_running_loop().create_task(self._beat(recorder), name=f"flow-heartbeat-{run.id}")
        try:
            return await _Walk(self, recorder, FlowGraph.of(canvas), trigger, cancel).run()
        except asyncio.CancelledError:  # the server is stopping: leave a truthful record
            await asyncio.shield(
                recorder.finish(RunStatus.INTERRUPTED, error="the server stopped", cancel_requested=False)
            )
            raise
        except Exception as exc:
            log.exception("flow run %s failed unexpectedly", run.id)
            return await recorder.finish(
                RunStatus.FAILED, error=f"the engine failed: {type(exc).__name__}", cancel_requested=False
            )
        finally:
            beat.cancel()
            self._cancels.pop(run.id, None)

    async def _beat(self, recorder: FlowRecorder) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            try:
                await recorder.heartbeat()
            except Exception:
                log.exception("heartbeat of flow run %s failed", recorder.run.id)


class _Walk:
    """One run's walk over its graph: the views the scheduler reads, the queue and the running steps."""

    def __init__(
        self,
        engine: FlowEngine,
        recorder: FlowRecorder,
        graph: FlowGraph,
        trigger: Any,
        cancel: asyncio.Event,
    ) -> None:
        self._engine = engine
        self._recorder = recorder
        self._graph = graph
        self._trigger = trigger
        self._cancel = cancel
        self._views: dict[str, StepView] = {sid: StepView() for sid in graph.steps}
        self._outputs: dict[str, dict[str, Any]] = {}
        self._queue: list[str] = []
        self._running: dict[asyncio.Task[tuple[NodeRunStatus, StepOutcome]], str] = {}
        self._settled = 0
        self._changed: set[str] | None = None  # settled since the scheduler last looked (None: all)

    async def run(self) -> Run:
        try:
            return await self._loop()
        finally:  # the walk itself was cancelled (server stopping): its steps stop with it
            for task in self._running:
                task.cancel()
            if self._running:
                await asyncio.gather(*self._running, return_exceptions=True)

    async def _loop(self) -> Run:
        clock = self._engine._clock
        while True:
            cancelled = self._cancel.is_set()
            changed, self._changed = self._changed, set()
            decision = decide(self._graph, self._views, cancelled=cancelled, changed=changed)
            changes: list[NodeRunState] = []
            for sid in decision.skipped:
                changes.append(self._settle(sid, NodeRunStatus.SKIPPED, StepOutcome(), "branch not taken"))
            stopping = cancelled or decision.failed_step is not None
            stopped = [*decision.cancel, *(self._queue if stopping else ())]
            if stopping:
                self._queue = []
            for sid in stopped:
                why = "the run was cancelled" if cancelled else f"step {decision.failed_step} failed"
                changes.append(self._settle(sid, NodeRunStatus.CANCELLED, StepOutcome(), why))
            for sid in decision.ready:
                self._views[sid] = StepView(NodeRunStatus.QUEUED)
                self._queue.append(sid)
                changes.append(NodeRunState(sid, NodeRunStatus.QUEUED, None, (), clock.now()))
            while self._queue and len(self._running) < self._engine._settings.concurrency:
                sid = self._queue.pop(0)
                state, task = self._start(sid)
                changes.append(state)
                self._running[task] = sid
            if changes:
                await self._recorder.update(changes)
            if not self._running and not self._queue:
                final = decide(self._graph, self._views, cancelled=cancelled)
                if final.finished is not None and not final.cancel and not final.skipped:
                    return await self._finish(final.finished, final.failed_step, cancelled)
                if not final.ready and not final.skipped and not final.cancel:  # nothing can move: a bug
                    return await self._finish(RunStatus.FAILED, None, cancelled, "no step can run")
                continue
            await self._wait()

    async def _wait(self) -> None:
        stop = asyncio.ensure_future(self._cancel.wait())
        try:
            done, _ = await asyncio.wait({*self._running, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if self._cancel.is_set():
            for task in self._running:
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)
            done = set(self._running)
        changes = []
        for task in [t for t in self._running if t in done]:
            sid = self._running.pop(task)
            if task.cancelled():
                outcome = replace(
                    self._recorder.state(sid).step or StepOutcome(),
                    finished_at=self._engine._clock.now(),
                    error_kind=kinds_of_failure.CANCELLED,
                    error="the run was cancelled",
                )
                changes.append(self._settle(sid, NodeRunStatus.CANCELLED, outcome, "the run was cancelled"))
                continue
            status, outcome = task.result()
            changes.append(self._settle(sid, status, outcome, outcome.error))
        if changes:
            await self._recorder.update(changes)

    def _settle(
        self, sid: str, status: NodeRunStatus, outcome: StepOutcome, message: str | None
    ) -> NodeRunState:
        self._settled += 1
        if self._changed is not None:
            self._changed.add(sid)
        self._views[sid] = StepView(status, outcome.port, outcome.output, self._settled)
        if status is NodeRunStatus.COMPLETED or outcome.port == ERROR_PORT:
            self._outputs[sid] = {"output": outcome.output}
        return NodeRunState(sid, status, message, (), self._engine._clock.now(), outcome)

    def _start(self, sid: str) -> tuple[NodeRunState, asyncio.Task[tuple[NodeRunStatus, StepOutcome]]]:
        self._views[sid] = StepView(NodeRunStatus.RUNNING)
        step = self._graph.steps[sid]
        given = self._trigger if not self._graph.incoming[sid] else input_of(self._graph, sid, self._views)
        now = self._engine._clock.now()
        task = asyncio.get_running_loop().create_task(
            self._attempts(step, given), name=f"flow-step-{self._recorder.run.id}-{sid}"
        )
        running = NodeRunState(
            sid, NodeRunStatus.RUNNING, None, (), now, StepOutcome(attempt=1, started_at=now)
        )
        return running, task

    async def _attempts(self, step: FlowStep, given: Any) -> tuple[NodeRunStatus, StepOutcome]:
        """Every attempt of ``step`` until one succeeds or its retry policy gives up."""
        clock = self._engine._clock
        policy = RetryPolicy.of(step)
        attempt = 1
        while True:
            started = clock.now()
            if attempt > 1:
                outcome = StepOutcome(attempt=attempt, started_at=started)
                await self._recorder.update(
                    [NodeRunState(step.id, NodeRunStatus.RUNNING, None, (), started, outcome)]
                )
            result = await self._one(step, attempt, given)
            finished = clock.now()
            if result.ok:
                return self._completed(attempt, started, finished, result)
            delay = policy.delay(attempt, result.error_kind or kinds_of_failure.ERROR)
            failed = StepOutcome(
                attempt=attempt,
                started_at=started,
                finished_at=finished,
                error_kind=result.error_kind,
                error_stage=result.stage,
                error=result.message,
            )
            if delay is None:
                if self._graph.handles_errors(step.id):
                    error = {"error": {"stage": result.stage, "message": result.message}}
                    failed = replace(failed, port=ERROR_PORT, output=error, output_size=len(_dump(error)))
                return NodeRunStatus.FAILED, failed
            message = (
                f"attempt {attempt} failed ({result.error_kind}): {result.message}; retrying in {delay:g} s"
            )
            await self._recorder.update(
                [NodeRunState(step.id, NodeRunStatus.RETRYING, message, (), finished, failed)],
                [self._recorder.line(message, level="WARNING", node_id=step.id)],
            )
            await self._engine._sleep(delay)
            attempt += 1

    def _completed(
        self, attempt: int, started: datetime, finished: datetime, result: StepResult
    ) -> tuple[NodeRunStatus, StepOutcome]:
        outcome = StepOutcome(attempt=attempt, started_at=started, finished_at=finished)
        try:
            size = len(_dump(result.output))
        except (TypeError, ValueError) as exc:
            return NodeRunStatus.FAILED, replace(
                outcome, error_kind=kinds_of_failure.ERROR, error_stage="output", error=f"not JSON: {exc}"
            )
        limit = self._engine._settings.max_output_bytes
        if size > limit:
            return NodeRunStatus.FAILED, replace(
                outcome,
                output_size=size,
                error_kind=kinds_of_failure.ERROR,
                error_stage="output",
                error=f"the output is {size} bytes of JSON, more than the limit of {limit}",
            )
        port = result.port or "output"
        return NodeRunStatus.COMPLETED, replace(outcome, port=port, output=result.output, output_size=size)

    async def _one(self, step: FlowStep, attempt: int, given: Any) -> StepResult:
        executor = self._engine._executors.get(step.kind)
        if executor is None:
            return StepResult.failed(
                kinds_of_failure.REFUSED, "start", f"this server cannot run {step.kind} steps yet"
            )
        timeout = step.data.get("timeoutSeconds")
        run = self._recorder.run

        async def line(text: str) -> None:
            await self._recorder.log(text, node_id=step.id)

        invocation = StepInvocation(
            run_id=run.id,
            workspace_id=run.workspace_id,
            step=step,
            attempt=attempt,
            input=given,
            scope=MappingProxyType({"steps": dict(self._outputs), "input": given}),
            timeout_seconds=float(timeout) if isinstance(timeout, int | float) else 0.0,
            log=line,
        )
        try:
            async with asyncio.timeout(invocation.timeout_seconds or None):
                return await executor.execute(invocation)
        except TimeoutError:
            return StepResult.failed(
                kinds_of_failure.TIMEOUT,
                "run",
                f"the attempt took longer than {invocation.timeout_seconds:g} s",
            )
        except Exception as exc:  # an executor's bug fails the step, never the run's bookkeeping
            log.exception("step %s of run %s raised", step.id, run.id)
            return StepResult.failed(kinds_of_failure.ERROR, "run", f"{type(exc).__name__}: {exc}")

    async def _finish(
        self, status: RunStatus, failed_step: str | None, cancelled: bool, error: str | None = None
    ) -> Run:
        if error is None and failed_step is not None:
            state = self._recorder.state(failed_step)
            error = f"step {failed_step} failed: {state.message or 'failed'}"
        if error is None and status is RunStatus.CANCELLED:
            error = "cancelled"
        return await self._recorder.finish(status, error=error, cancel_requested=cancelled)


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
