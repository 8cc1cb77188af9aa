"""FLOW runs: start one, drive it with the flow engine in the background, take over the runs of servers
that stopped, let go of this server's runs when it stops, retry a step, and stream a step's log.

Exactly one server process drives an unfinished flow run (its ``owner``, renewed by the engine's
heartbeat). A graceful stop releases this process's runs (their owner cleared) so another process — or
this one after its restart — claims them at its next round; after a crash they are claimed once their
heartbeat is older than the lease. Claiming is one atomic store write, so two processes never both
drive a run, and a process that lost a run stops writing it (the store refuses its saves).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from app import errors
from app.domain.events import Event, EventType, step_log_topic
from app.domain.flows.scheduler import FlowGraph
from app.domain.ids import new_id
from app.domain.runs import (
    NodeRunState,
    NodeRunStatus,
    Run,
    RunKind,
    RunStatus,
    StepLogLine,
    TriggerKind,
)
from app.domain.triggers import Trigger
from app.domain.versions import VersionDraft
from app.domain.workflows import Canvas, Workflow, WorkflowType
from app.domain.workspaces import Scope
from app.ports import (
    Clock,
    EventBus,
    EventSubscription,
    FlowRunStore,
    RunStore,
    StepLogStore,
    VersionStore,
    WorkflowStore,
)
from app.services.flow_engine import FlowEngine
from app.services.principals import Principal
from app.services.tasks import TaskSupervisor
from app.services.workflows import check_for, invalid_canvas

log = logging.getLogger(__name__)

Reauthorize = Callable[[], Awaitable[Principal]]
RETRYABLE_STEP = (NodeRunStatus.FAILED, NodeRunStatus.CANCELLED)


class FlowRunStoreAll(RunStore, FlowRunStore, StepLogStore, WorkflowStore, VersionStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class FlowRunSettings:
    """``lease``: a run whose heartbeat is older belongs to a stopped server; ``cluster_kinds``: step kinds
    that run in the flow's cluster (a flow with one needs a cluster); ``recheck_seconds``: how often a
    quiet log stream reads the run again."""

    lease: timedelta
    cluster_kinds: frozenset[str]
    recheck_seconds: float = 15.0


class StepLogEvent(StrEnum):
    LINE = "LINE"
    COMPLETE = "COMPLETE"


@dataclass(frozen=True, slots=True)
class StepLogUpdate:
    """One message of ``stepLogs``: a line, or the end with the step's status."""

    type: StepLogEvent
    status: NodeRunStatus
    line: StepLogLine | None = None


def trimmed_marker(count: int, before: StepLogLine) -> StepLogLine:
    word = "line" if count == 1 else "lines"
    return StepLogLine(0, before.at, before.attempt, "INFO", f"… {count} earlier {word} trimmed")


class FlowRunService:
    def __init__(
        self,
        *,
        store: FlowRunStoreAll,
        engine: FlowEngine,
        bus: EventBus,
        tasks: TaskSupervisor,
        clock: Clock,
        owner: str,
        settings: FlowRunSettings,
    ) -> None:
        self._store = store
        self._engine = engine
        self._bus = bus
        self._tasks = tasks
        self._clock = clock
        self._owner = owner
        self._settings = settings
        self._finished: list[Callable[[Run], Awaitable[None]]] = []

    @property
    def engine(self) -> FlowEngine:
        return self._engine

    def when_finished(self, listener: Callable[[Run], Awaitable[None]]) -> None:
        """Call ``listener`` with every flow run this process drove to its end (e.g. RUN_COMPLETED
        triggers); its failure is logged, never the run's."""
        self._finished.append(listener)

    # --- Starting, resuming, releasing ---------------------------------------------------------------

    async def start(
        self, principal: Principal, workflow: Workflow, trigger_data: Mapping[str, Any] | None
    ) -> Run:
        """Check the flow strictly, snapshot a version and record the run atomically, then walk it in the
        background. ``triggerData`` is the Start step's output."""
        if trigger_data is not None and not isinstance(trigger_data, Mapping):
            raise errors.Invalid.field("triggerData", "must be a JSON object (the Start step's output)")
        strict = check_for(WorkflowType.FLOW, workflow.canvas, strict=True)
        if strict.errors:
            raise invalid_canvas(strict.errors)
        if not workflow.canvas.nodes:
            raise errors.Invalid.field("id", "the flow has no steps to run")
        self._check_runnable(workflow)
        return await self._record(
            workflow, principal.scope, principal.user_id, TriggerKind.MANUAL, None, trigger_data
        )

    async def start_triggered(self, workflow: Workflow, trigger: Trigger, data: Mapping[str, Any]) -> Run:
        """Start a run of ``workflow`` for ``trigger`` (no user: ``started_by`` is ``trigger:<id>``) with
        ``data`` as the Start step's output; the same checks as :meth:`start`."""
        strict = check_for(WorkflowType.FLOW, workflow.canvas, strict=True)
        if strict.errors:
            raise invalid_canvas(strict.errors)
        if not workflow.canvas.nodes:
            raise errors.Invalid.field("id", "the flow has no steps to run")
        self._check_runnable(workflow)
        scope = Scope.of([workflow.workspace_id])
        return await self._record(workflow, scope, trigger.actor, trigger.kind, trigger.id, data)

    async def _record(
        self,
        workflow: Workflow,
        scope: Scope,
        started_by: str,
        kind: TriggerKind,
        trigger_id: str | None,
        trigger_data: Mapping[str, Any] | None,
    ) -> Run:
        now = self._clock.now()
        run = Run(
            id=new_id(),
            workflow_id=workflow.id,
            workspace_id=workflow.workspace_id,
            cluster_id=workflow.cluster_id or "",
            version=0,
            status=RunStatus.RUNNING,
            triggered_by=kind,
            started_by=started_by,
            started_at=now,
            owner=self._owner,
            heartbeat_at=now,
            node_states=tuple(NodeRunState(n.id, NodeRunStatus.PENDING) for n in workflow.canvas.nodes),
            kind=RunKind.FLOW,
            trigger_data=dict(trigger_data) if trigger_data is not None else {},
            trigger_id=trigger_id,
        )
        draft = VersionDraft(
            canvas=workflow.canvas,
            tag=None,
            description=f"Snapshot for run at {now.isoformat()}",
            created_by=started_by,
            created_at=now,
        )
        _, run = await self._store.start_run(scope, draft, run)
        self._drive(run, workflow.canvas, workflow.namespace)
        return run

    def _check_runnable(self, workflow: Workflow) -> None:
        kinds = {node.kind for node in workflow.canvas.nodes}
        for kind in sorted(kinds):
            if not self._engine.runs(kind):
                raise errors.Invalid.field("id", f"this server cannot run {kind} steps")
        needs_cluster = sorted(kinds & self._settings.cluster_kinds)
        if needs_cluster and not workflow.cluster_id:
            raise errors.Invalid.field(
                "id",
                f"{needs_cluster[0]} steps run as pods in the flow's cluster: choose a cluster for this flow "
                "first (updateWorkflow clusterId)",
            )

    def _drive(self, run: Run, canvas: Canvas, namespace: str) -> None:
        self._tasks.spawn(f"flow-run-{run.id}", self._execute(run, canvas, namespace))

    async def _execute(self, run: Run, canvas: Canvas, namespace: str) -> None:
        ended = await self._engine.execute(run, canvas, namespace=namespace)
        if not ended.status.finished:
            return  # another process drives it now (and tells its listeners)
        for listener in self._finished:
            try:
                await listener(ended)
            except Exception:
                log.exception("after flow run %s: a listener failed", ended.id)

    async def resume(self) -> list[Run]:
        """Claim the flow runs no live server drives (released, or a stale heartbeat) and drive them on
        from where they stand."""
        now = self._clock.now()
        claimed = await self._store.claim_flow_runs(
            owner=self._owner, at=now, heartbeat_before=now - self._settings.lease
        )
        for run in claimed:
            if self._engine.driving(run.id):
                continue  # still driven here (the clock jumped): not twice
            try:
                await self._resume_one(run)
            except Exception:
                log.exception("flow run %s could not be resumed; another round will try again", run.id)
        return claimed

    async def _resume_one(self, run: Run) -> None:
        scope = Scope.of([run.workspace_id])
        version = await self._store.get_version(scope, run.workflow_id, run.version)
        workflow = await self._store.get_workflow(scope, run.workflow_id)
        if version is None or workflow is None:
            await self._store.save_run(
                replace(
                    run,
                    status=RunStatus.FAILED,
                    completed_at=self._clock.now(),
                    error="the flow's workflow or version was deleted while no server drove the run",
                )
            )
            return
        log.info("flow run %s: driven on by this server (%s)", run.id, self._owner)
        self._drive(run, version.canvas, workflow.namespace)

    async def release(self) -> list[str]:
        """Let go of this process's flow runs once their walks stopped (a graceful stop)."""
        released = await self._store.release_flow_runs(owner=self._owner)
        for run_id in released:
            log.info(
                "flow run %s: let go while the server stops; another server process drives it on", run_id
            )
        return released

    async def cancel(self, run: Run) -> None:
        """The run's cancellation is recorded; stop it now if this process drives it (else its owner's
        heartbeat notices)."""
        self._engine.cancel(run.id)

    # --- retryStep ---------------------------------------------------------------------------------------

    async def retry_step(self, principal: Principal, run: Run, node_id: str) -> Run:
        """Run a FAILED or CANCELLED step of a finished flow run again, as a new attempt of the same run,
        with everything downstream of it and every step the run's end cancelled; the outputs of the other
        steps are kept."""
        if run.kind is not RunKind.FLOW:
            raise errors.Invalid.field("runId", "only the steps of a flow run can be retried")
        if not run.status.finished:
            raise errors.Conflict(
                "the run is still running; retry a step once it has ended", {"status": run.status.value}
            )
        states = {state.node_id: state for state in run.node_states}
        state = states.get(node_id)
        if state is None:
            raise errors.NotFound("step", node_id)
        if state.status not in RETRYABLE_STEP:
            raise errors.Invalid.field(
                "nodeId", f"only a FAILED or CANCELLED step can be retried (this one is {state.status.value})"
            )
        scope = Scope.of([run.workspace_id])
        version = await self._store.get_version(scope, run.workflow_id, run.version)
        workflow = await self._store.get_workflow(scope, run.workflow_id)
        if version is None or workflow is None:
            raise errors.Conflict("the run's workflow or version no longer exists", {})
        graph = FlowGraph.of(version.canvas)
        again = _downstream(graph, node_id) | {
            sid for sid, s in states.items() if s.status is NodeRunStatus.CANCELLED
        }
        reset = tuple(
            replace(s, status=NodeRunStatus.PENDING, message=None, updated_at=self._clock.now())
            if s.node_id in again
            else s
            for s in run.node_states
        )
        reopened = await self._store.reopen_run(
            principal.scope, run.id, owner=self._owner, at=self._clock.now(), node_states=reset
        )
        self._drive(reopened, version.canvas, workflow.namespace)
        return reopened

    # --- stepLogs ----------------------------------------------------------------------------------------

    async def logs(
        self,
        run: Run,
        node_id: str,
        reread: Callable[[], Awaitable[Run]],
    ) -> AsyncGenerator[StepLogUpdate, None]:
        """``stepLogs``: every stored line of the step (a marker where lines were trimmed), then its new
        lines as they come, then COMPLETE with the step's status once it settled. ``reread`` reads the run
        again with the caller's access checked again."""
        if not any(state.node_id == node_id for state in run.node_states):
            raise errors.NotFound("step", node_id)
        topic = step_log_topic(run.id, node_id)
        async with self._bus.subscribe(topic) as subscription:  # first: miss nothing
            run = await reread()
            last = 0
            for line in await self._store.step_logs(run.id, node_id):
                for item in _with_marker(line, last):
                    yield StepLogUpdate(StepLogEvent.LINE, _status(run, node_id), item)
                last = line.seq
            if _over(run, node_id):
                yield StepLogUpdate(StepLogEvent.COMPLETE, _status(run, node_id))
                return
            async with aclosing(self._events(subscription)) as events:
                async for event in events:
                    if event is not None and event.type is EventType.NODE_UPDATE:
                        lines = _lines_of(event)
                        if lines is not None and (not lines or lines[0].seq <= last + 1):
                            fresh = [line for line in lines if line.seq > last]
                        else:  # missed some: read them from the store
                            fresh = await self._store.step_logs(run.id, node_id, after_seq=last)
                        for line in fresh:
                            for item in _with_marker(line, last):
                                yield StepLogUpdate(StepLogEvent.LINE, _status(run, node_id), item)
                            last = line.seq
                        continue
                    run = await reread()  # COMPLETE, a resync, or a quiet while
                    for line in await self._store.step_logs(run.id, node_id, after_seq=last):
                        for item in _with_marker(line, last):
                            yield StepLogUpdate(StepLogEvent.LINE, _status(run, node_id), item)
                        last = line.seq
                    if _over(run, node_id) or (event is not None and event.type is EventType.COMPLETE):
                        yield StepLogUpdate(StepLogEvent.COMPLETE, _status(run, node_id))
                        return

    async def _events(self, subscription: EventSubscription) -> AsyncGenerator[Event | None, None]:
        """Bus events; ``None`` after a quiet ``recheck_seconds``."""
        iterator = subscription.__aiter__()
        while True:
            try:
                event = await asyncio.wait_for(anext(iterator), timeout=self._settings.recheck_seconds)
            except TimeoutError:
                yield None
                continue
            except StopAsyncIteration:
                return
            yield event


def _downstream(graph: FlowGraph, node_id: str) -> set[str]:
    seen = {node_id}
    todo = [node_id]
    while todo:
        for edge in graph.outgoing.get(todo.pop(), ()):
            if edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def _status(run: Run, node_id: str) -> NodeRunStatus:
    return next((s.status for s in run.node_states if s.node_id == node_id), NodeRunStatus.PENDING)


def _over(run: Run, node_id: str) -> bool:
    """Whether the step's log will not grow: it settled, or the run ended."""
    return _status(run, node_id).settled or run.status.finished


def _with_marker(line: StepLogLine, last: int) -> list[StepLogLine]:
    if line.seq > last + 1:
        return [trimmed_marker(line.seq - last - 1, line), line]
    return [line]


def _lines_of(event: Event) -> list[StepLogLine] | None:
    try:
        return [
            StepLogLine(
                int(item["seq"]),
                datetime.fromisoformat(str(item["at"])),
                int(item["attempt"]),
                str(item["level"]),
                str(item["message"]),
            )
            for item in event.payload.get("lines") or ()
        ]
    except (KeyError, TypeError, ValueError):
        return None
