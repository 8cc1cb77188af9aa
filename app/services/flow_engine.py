"""The flow engine: walks a FLOW run's graph, running ready steps concurrently through step executors.

The scheduler (:mod:`app.domain.flows.scheduler`) says which steps are ready, skipped or cancelled and when
the run is over; the engine queues ready steps, runs at most ``concurrency`` of a run and
``workspace_concurrency`` of a workspace at once (each attempt through the :class:`~app.ports.StepExecutor`
of its kind, under the step's timeout), retries failed attempts as the step's retry policy says, and
records every change in the run (``node_states`` with a :class:`~app.domain.runs.StepOutcome` each:
attempt, times, output, error) — saved to the store and published as ``NODE_UPDATE`` on ``run:<id>`` —
changes of one scheduling pass in one write. Step log lines are stored apart (bounded per step) and
published on the step's log topic, a few at a time.

A run is driven by one server process, its ``owner`` (a lease renewed by the heartbeat). The engine
starts a walk from whatever the run records, so the same :meth:`FlowEngine.execute` starts a new run,
resumes one whose server stopped (settled steps keep their outputs; a step that was RUNNING is run again
as the same attempt, which follows its Job if it still runs; a RETRYING one goes on with its next
attempt) and goes on after ``retryStep``. When the server stops, the walk stops without ending the run:
what runs in the cluster runs on, for the next owner to follow. A cancelled run's executors clean up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from app import errors
from app.domain.events import Event, EventType, run_topic, step_log_topic
from app.domain.flows import steps as kinds_of_failure
from app.domain.flows.kinds import FLOW_KINDS
from app.domain.flows.scheduler import (
    ERROR_PORT,
    FlowGraph,
    FlowStep,
    RetryPolicy,
    StepView,
    decide,
    input_of,
)
from app.domain.flows.steps import TIMEOUT_GRACE_SECONDS, StepInvocation, StepResult
from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunLogLine, RunStatus, StepOutcome
from app.domain.workflows import Canvas
from app.domain.workspaces import Scope
from app.ports import Clock, EventBus, RunStore, StepExecutor, StepLogStore

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class FlowEngineStore(RunStore, StepLogStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class FlowEngineSettings:
    """``concurrency``: steps of one run running at once; ``workspace_concurrency``: of one workspace in
    this process; ``max_output_bytes``: the largest output (JSON bytes) a step may return;
    ``heartbeat_seconds``: how often a running run proves its owner alive (and notices a cancellation
    asked of another server); ``max_log_lines``: of a run's own log; ``max_step_log_lines``: kept per
    step; ``log_flush_seconds``: how long step log lines wait to be stored together."""

    concurrency: int = 4
    workspace_concurrency: int = 16
    max_output_bytes: int = 1_048_576
    heartbeat_seconds: float = 5.0
    max_log_lines: int = 2000
    max_step_log_lines: int = 5000
    log_flush_seconds: float = 0.2


class RunTakenAway(Exception):
    """The stored run is no longer this process's to drive (another owner, or it ended meanwhile)."""


class StepLogWriter:
    """Step log lines of one run: buffered for ``delay`` seconds, then stored (one append per step) and
    published on the step's log topic. A lost line never fails the run."""

    def __init__(
        self, run_id: str, *, store: StepLogStore, bus: EventBus | None, clock: Clock, keep: int, delay: float
    ) -> None:
        self._run_id = run_id
        self._store = store
        self._bus = bus
        self._clock = clock
        self._keep = keep
        self._delay = delay
        self._pending: dict[str, list[tuple[datetime, int, str, str]]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, node_id: str, attempt: int, message: str, level: str = "INFO") -> None:
        for text in message.splitlines() or [""]:
            self._pending.setdefault(node_id, []).append((self._clock.now(), attempt, level, text))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(
                self._later(), name=f"flow-step-logs-{self._run_id}"
            )

    async def _later(self) -> None:
        await asyncio.sleep(self._delay)
        self._timer = None
        await self.flush()

    async def flush(self, node_id: str | None = None) -> None:
        """Store (and publish) the buffered lines, of one step or of all."""
        async with self._lock:
            nodes = [node_id] if node_id is not None else list(self._pending)
            for node in nodes:
                lines = self._pending.pop(node, None)
                if not lines:
                    continue
                try:
                    stored = await self._store.append_step_logs(self._run_id, node, lines, keep=self._keep)
                except Exception:
                    log.exception(
                        "storing %d log lines of step %s of run %s failed", len(lines), node, self._run_id
                    )
                    continue
                await self._publish(
                    node,
                    EventType.NODE_UPDATE,
                    {"lines": [_line_payload(line) for line in stored]},
                )

    async def ended(self, node_id: str, status: NodeRunStatus) -> None:
        """The step settled: its lines are stored, then its log stream is told."""
        await self.flush(node_id)
        await self._publish(node_id, EventType.COMPLETE, {"status": status.value})

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()

    async def _publish(self, node_id: str, kind: EventType, payload: Mapping[str, Any]) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish(
                Event(kind, step_log_topic(self._run_id, node_id), self._clock.now(), payload)
            )
        except Exception:
            log.exception("publishing the log of step %s of run %s failed", node_id, self._run_id)


def _line_payload(line: Any) -> dict[str, Any]:
    return {
        "seq": line.seq,
        "at": line.at.isoformat(),
        "attempt": line.attempt,
        "level": line.level,
        "message": line.message,
    }


class FlowRecorder:
    """The run being executed: node states and logs, written through to the store and published."""

    def __init__(
        self,
        run: Run,
        *,
        store: FlowEngineStore,
        clock: Clock,
        bus: EventBus | None,
        settings: FlowEngineSettings,
    ):
        self._run = run
        self._store = store
        self._clock = clock
        self._bus = bus
        self._max_log_lines = settings.max_log_lines
        self._states = {state.node_id: state for state in run.node_states}
        self._lock = asyncio.Lock()
        self.steps = StepLogWriter(
            run.id,
            store=store,
            bus=bus,
            clock=clock,
            keep=settings.max_step_log_lines,
            delay=settings.log_flush_seconds,
        )

    @property
    def run(self) -> Run:
        return self._run

    def state(self, node_id: str) -> NodeRunState:
        return self._states.get(node_id) or NodeRunState(node_id, NodeRunStatus.PENDING)

    def line(self, message: str, *, level: str = "INFO", node_id: str | None = None) -> RunLogLine:
        return RunLogLine(self._clock.now(), level, message, node_id)

    async def update(self, changes: Sequence[NodeRunState], lines: Sequence[RunLogLine] = ()) -> None:
        """Record ``changes`` (and run log ``lines``) in one write, then publish one NODE_UPDATE per
        change (after the step's log lines, for a step that settled)."""
        for state in changes:
            if state.status.settled:
                await self.steps.flush(state.node_id)
            self._states[state.node_id] = state
        await self._save(
            lambda run: replace(run, node_states=tuple(self._states.values()), logs=(*run.logs, *lines))
        )
        for state in changes:
            payload: dict[str, Any] = {"nodeId": state.node_id, "status": state.status.value}
            if state.step is not None:
                payload["attempt"] = state.step.attempt
            await self._publish(EventType.NODE_UPDATE, payload)
            if state.status.settled:
                await self.steps.ended(state.node_id, state.status)

    async def log(self, message: str, *, level: str = "INFO", node_id: str | None = None) -> None:
        line = self.line(message, level=level, node_id=node_id)
        await self._save(lambda run: replace(run, logs=(*run.logs, line)))

    async def heartbeat(self) -> None:
        await self._save(lambda run: run)

    async def finish(self, status: RunStatus, *, error: str | None, cancel_requested: bool) -> Run:
        await self.steps.close()
        line = self.line(
            f"run {status.value.lower()}" + (f": {error}" if error else ""),
            level="ERROR" if error else "INFO",
        )
        now = self._clock.now()
        await self._save(
            lambda run: replace(
                run,
                status=status,
                error=error,
                completed_at=now,
                cancel_requested=cancel_requested or run.cancel_requested,
                logs=(*run.logs, line),
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

    async def _save(self, change: Callable[[Run], Run]) -> None:
        """Apply ``change`` to the run as last saved and save the result, one writer at a time (a change
        computed from a copy read before the lock could undo another writer's)."""
        async with self._lock:
            run = change(self._run)
            if len(run.logs) > self._max_log_lines:  # keep the first lines and the latest ones
                head = self._max_log_lines // 4
                run = replace(run, logs=run.logs[:head] + run.logs[-(self._max_log_lines - head) :])
            saved = replace(run, heartbeat_at=self._clock.now())
            try:
                await self._store.save_run(saved)
            except errors.Conflict as exc:  # another owner, or the run ended (a stale lease)
                raise RunTakenAway(exc.message) from exc
            self._run = saved


class WorkspaceSlots:
    """At most ``limit`` steps of one workspace running at once in this process."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._used: dict[str, int] = {}
        self._freed: dict[str, asyncio.Event] = {}

    def try_take(self, workspace_id: str) -> bool:
        used = self._used.get(workspace_id, 0)
        if used >= self._limit:
            return False
        self._used[workspace_id] = used + 1
        return True

    async def take(self, workspace_id: str) -> None:
        while not self.try_take(workspace_id):
            freed = self._freed.setdefault(workspace_id, asyncio.Event())
            await freed.wait()

    def give(self, workspace_id: str) -> None:
        used = self._used.get(workspace_id, 0) - 1
        if used <= 0:
            self._used.pop(workspace_id, None)
        else:
            self._used[workspace_id] = used
        freed = self._freed.pop(workspace_id, None)
        if freed is not None:
            freed.set()


class FlowEngine:
    """Executes flow runs in this process; ``executors`` maps a step kind to what runs it."""

    def __init__(
        self,
        *,
        store: FlowEngineStore,
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
        self.slots = WorkspaceSlots(settings.workspace_concurrency)

    def runs(self, kind: str) -> bool:
        """Whether this server has an executor for steps of ``kind``."""
        return kind in self._executors

    def driving(self, run_id: str) -> bool:
        """Whether this process drives the run now."""
        return run_id in self._cancels

    def cancel(self, run_id: str) -> bool:
        """Ask a run executing in this process to stop: running steps are cancelled (their executors
        clean up), nothing new starts."""
        event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    def recorder(self, run: Run) -> FlowRecorder:
        return FlowRecorder(run, store=self._store, clock=self._clock, bus=self._bus, settings=self._settings)

    async def execute(self, run: Run, canvas: Canvas, *, namespace: str = "") -> Run:
        """Drive the flow ``canvas`` (the run's snapshot) from where ``run`` stands to its end; the run as
        finally recorded (still RUNNING when this process lost it to another owner)."""
        if run.id in self._cancels:
            return run  # already driven here
        cancel = self._cancels.setdefault(run.id, asyncio.Event())
        if run.cancel_requested:
            cancel.set()
        recorder = self.recorder(run)
        walk = _Walk(self, recorder, FlowGraph.of(canvas), run.trigger_data, cancel, namespace)
        beat = asyncio.get_running_loop().create_task(
            self._beat(recorder, walk), name=f"flow-heartbeat-{run.id}"
        )
        try:
            return await walk.run()
        except RunTakenAway as taken:
            log.warning("flow run %s is no longer driven here: %s", run.id, taken)
            return recorder.run
        except asyncio.CancelledError:  # the server stops: the run stays RUNNING for its next owner
            await asyncio.shield(self._flush_quietly(recorder))
            raise
        except Exception as exc:
            log.exception("flow run %s failed unexpectedly", run.id)
            try:
                return await recorder.finish(
                    RunStatus.FAILED, error=f"the engine failed: {type(exc).__name__}", cancel_requested=False
                )
            except RunTakenAway:
                return recorder.run
        finally:
            beat.cancel()
            self._cancels.pop(run.id, None)

    @staticmethod
    async def _flush_quietly(recorder: FlowRecorder) -> None:
        try:
            await recorder.steps.close()
        except Exception:
            log.exception("storing the last step log lines of run %s failed", recorder.run.id)

    async def _beat(self, recorder: FlowRecorder, walk: _Walk) -> None:
        """Renew the lease; notice a cancellation asked of another server, or the run taken away."""
        run_id = recorder.run.id
        while True:
            await asyncio.sleep(self._settings.heartbeat_seconds)
            try:
                stored = await self._store.get_run(Scope.of([recorder.run.workspace_id]), run_id)
                if stored is not None and stored.cancel_requested:
                    self.cancel(run_id)
                await recorder.heartbeat()
            except RunTakenAway:
                walk.lose()
                return
            except Exception:
                log.exception("heartbeat of flow run %s failed", run_id)


class _Walk:
    """One run's walk over its graph: the views the scheduler reads, the queue and the running steps."""

    def __init__(
        self,
        engine: FlowEngine,
        recorder: FlowRecorder,
        graph: FlowGraph,
        trigger: Any,
        cancel: asyncio.Event,
        namespace: str = "",
    ) -> None:
        self._engine = engine
        self._recorder = recorder
        self._graph = graph
        self._trigger = trigger if trigger is not None else {}
        self._cancel = cancel
        self._namespace = namespace
        self._lost = False
        self._views: dict[str, StepView] = {}
        self._outputs: dict[str, dict[str, Any]] = {}
        self._queue: list[str] = []
        self._running: dict[asyncio.Task[tuple[NodeRunStatus, StepOutcome]], str] = {}
        self._settled = 0
        self._changed: set[str] | None = None  # settled since the scheduler last looked (None: all)
        self._resume: list[tuple[str, int, float]] = []  # (step, attempt, delay) to start again
        self._restore()

    def _restore(self) -> None:
        """The views of the steps as the run records them (all PENDING for a new run)."""
        settled: list[tuple[float, str]] = []
        for sid in self._graph.steps:
            state = self._recorder.state(sid)
            outcome = state.step
            if state.status.settled:
                finished = outcome.finished_at if outcome and outcome.finished_at else None
                settled.append((finished.timestamp() if finished else float("inf"), sid))
            elif state.status is NodeRunStatus.RUNNING and outcome is not None:
                self._views[sid] = StepView(NodeRunStatus.RUNNING)
                self._resume.append((sid, max(outcome.attempt, 1), 0.0))
            elif state.status is NodeRunStatus.RETRYING and outcome is not None:
                self._views[sid] = StepView(NodeRunStatus.RUNNING)
                delay = RetryPolicy.of(self._graph.steps[sid]).delay(
                    outcome.attempt, outcome.error_kind or kinds_of_failure.ERROR
                )
                left = 0.0
                if delay is not None and outcome.finished_at is not None:
                    waited = (self._engine._clock.now() - outcome.finished_at).total_seconds()
                    left = max(0.0, delay - waited)
                self._resume.append((sid, outcome.attempt + 1, left))
            else:
                self._views[sid] = StepView()
        settled.sort(key=lambda item: (item[0], self._graph.rank[item[1]]))
        for _, sid in settled:
            state = self._recorder.state(sid)
            outcome = state.step or StepOutcome()
            self._settled += 1
            self._views[sid] = StepView(state.status, outcome.port, outcome.output, self._settled)
            if state.status is NodeRunStatus.COMPLETED or outcome.port == ERROR_PORT:
                self._outputs[sid] = {"output": outcome.output}

    def lose(self) -> None:
        """The run was taken away from this process: stop the steps, leave what runs elsewhere."""
        self._lost = True
        for task in self._running:
            task.cancel()
        self._cancel.set()

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
        if self._resume:
            restarted: list[NodeRunState] = []
            for sid, attempt, delay in self._resume:
                state, task = self._start(sid, attempt, delay)
                if state is not None:
                    restarted.append(state)
                self._running[task] = sid
            self._resume = []
            if restarted:
                await self._recorder.update(restarted)
        while True:
            if self._lost:
                raise RunTakenAway("another server process drives the run now")
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
                previous = self._recorder.state(sid).step
                changes.append(self._settle(sid, NodeRunStatus.CANCELLED, previous or StepOutcome(), why))
            for sid in decision.ready:
                self._views[sid] = StepView(NodeRunStatus.QUEUED)
                self._queue.append(sid)
                changes.append(
                    NodeRunState(
                        sid, NodeRunStatus.QUEUED, None, (), clock.now(), self._recorder.state(sid).step
                    )
                )
            while self._queue and len(self._running) < self._engine._settings.concurrency:
                sid = self._queue.pop(0)
                previous = self._recorder.state(sid).step
                state, task = self._start(sid, (previous.attempt + 1) if previous else 1, 0.0)
                if state is not None:
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
        if self._lost:
            raise RunTakenAway("another server process drives the run now")
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

    def _start(
        self, sid: str, attempt: int, delay: float
    ) -> tuple[NodeRunState | None, asyncio.Task[tuple[NodeRunStatus, StepOutcome]]]:
        """Start the step's attempts from ``attempt`` (after ``delay`` seconds); its RUNNING state when it
        got a workspace slot at once (else the task records it once it has one)."""
        self._views[sid] = StepView(NodeRunStatus.RUNNING)
        step = self._graph.steps[sid]
        given = self._trigger if not self._graph.incoming[sid] else input_of(self._graph, sid, self._views)
        workspace = self._recorder.run.workspace_id
        slotted = delay == 0 and self._engine.slots.try_take(workspace)
        task = asyncio.get_running_loop().create_task(
            self._attempts(step, given, attempt, delay, slotted),
            name=f"flow-step-{self._recorder.run.id}-{sid}",
        )
        if not slotted:
            return None, task
        now = self._engine._clock.now()
        previous = self._recorder.state(sid)
        started = now
        if previous.status is NodeRunStatus.RUNNING and previous.step and previous.step.attempt == attempt:
            started = previous.step.started_at or now  # the same attempt, followed again
        running = NodeRunState(
            sid, NodeRunStatus.RUNNING, None, (), now, StepOutcome(attempt=attempt, started_at=started)
        )
        return running, task

    async def _attempts(
        self, step: FlowStep, given: Any, attempt: int, delay: float, slotted: bool
    ) -> tuple[NodeRunStatus, StepOutcome]:
        """Attempts of ``step`` from ``attempt`` on until one succeeds or its retry policy gives up; each
        holds a workspace slot (``slotted``: the first one already does)."""
        workspace = self._recorder.run.workspace_id
        policy = RetryPolicy.of(step)
        resumed = self._recorder.state(step.id)
        first_started = (
            resumed.step.started_at
            if resumed.status is NodeRunStatus.RUNNING and resumed.step and resumed.step.attempt == attempt
            else None
        )
        if delay > 0:
            await self._engine._sleep(delay)
        announced = slotted  # _start recorded the first attempt RUNNING already
        while True:
            if not slotted:
                await self._engine.slots.take(workspace)
            slotted = False
            try:
                started = first_started or self._engine._clock.now()
                first_started = None
                if not announced:
                    outcome = StepOutcome(attempt=attempt, started_at=started)
                    await self._recorder.update(
                        [NodeRunState(step.id, NodeRunStatus.RUNNING, None, (), started, outcome)]
                    )
                announced = False
                result = await self._one(step, attempt, given, started)
            finally:
                self._engine.slots.give(workspace)
            finished = self._engine._clock.now()
            if result.ok:
                return self._completed(step.kind, attempt, started, finished, result)
            delay_next = policy.delay(attempt, result.error_kind or kinds_of_failure.ERROR)
            failed = StepOutcome(
                attempt=attempt,
                started_at=started,
                finished_at=finished,
                error_kind=result.error_kind,
                error_stage=result.stage,
                error=result.message,
            )
            if delay_next is None:
                if self._graph.handles_errors(step.id):
                    error = {"error": {"stage": result.stage, "message": result.message}}
                    failed = replace(failed, port=ERROR_PORT, output=error, output_size=len(_dump(error)))
                return NodeRunStatus.FAILED, failed
            message = (
                f"attempt {attempt} failed ({result.error_kind}): {result.message}; "
                f"retrying in {delay_next:g} s"
            )
            self._recorder.steps.add(step.id, attempt, message, "WARNING")
            await self._recorder.update(
                [NodeRunState(step.id, NodeRunStatus.RETRYING, message, (), finished, failed)],
                [self._recorder.line(message, level="WARNING", node_id=step.id)],
            )
            await self._engine._sleep(delay_next)
            attempt += 1

    def _completed(
        self, kind: str, attempt: int, started: datetime, finished: datetime, result: StepResult
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
        spec = FLOW_KINDS.get(kind)
        port = result.port or (spec.default_out if spec else "output")  # None: an End (no out-port)
        return NodeRunStatus.COMPLETED, replace(outcome, port=port, output=result.output, output_size=size)

    async def _one(self, step: FlowStep, attempt: int, given: Any, started: datetime) -> StepResult:
        executor = self._engine._executors.get(step.kind)
        if executor is None:
            return StepResult.failed(
                kinds_of_failure.REFUSED, "start", f"this server cannot run {step.kind} steps"
            )
        timeout = step.data.get("timeoutSeconds")
        run = self._recorder.run
        logs = self._recorder.steps

        async def line(text: str, level: str = "INFO") -> None:
            logs.add(step.id, attempt, text, level)

        invocation = StepInvocation(
            run_id=run.id,
            workspace_id=run.workspace_id,
            workflow_id=run.workflow_id,
            step=step,
            attempt=attempt,
            input=given,
            scope=MappingProxyType({"steps": dict(self._outputs), "input": given}),
            timeout_seconds=float(timeout) if isinstance(timeout, int | float) else 0.0,
            log=line,
            cluster_id=run.cluster_id,
            namespace=self._namespace,
            started_at=started,
            run_cancelled=lambda: self._cancel.is_set() and not self._lost,
        )
        limit = invocation.timeout_seconds or None
        if limit is not None and getattr(executor, "enforces_timeout", False):  # e.g. a Job's deadline
            limit += TIMEOUT_GRACE_SECONDS
        try:
            async with asyncio.timeout(limit):
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
