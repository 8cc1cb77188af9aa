"""The live record of one run while it executes: node states, logs, and saving them (with a heartbeat)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from app.domain.events import Event, EventType, run_topic, workflow_topic
from app.domain.runs import AppliedObject, NodeRunState, NodeRunStatus, Run, RunLogLine, RunStatus
from app.ports import Clock, EventBus, RunStore

log = logging.getLogger(__name__)


class RunRecorder:
    """Holds the run being executed and writes each change through to the store, in order."""

    def __init__(
        self,
        run: Run,
        *,
        store: RunStore,
        clock: Clock,
        bus: EventBus | None = None,
        max_log_lines: int = 2000,
    ) -> None:
        self._run = run
        self._bus = bus
        self._max_log_lines = max_log_lines
        self._store = store
        self._clock = clock
        self._lock = asyncio.Lock()

    @property
    def run(self) -> Run:
        return self._run

    def _log(self, level: str, message: str, node_id: str | None) -> RunLogLine:
        return RunLogLine(at=self._clock.now(), level=level, message=message, node_id=node_id)

    async def node(
        self,
        node_id: str,
        status: NodeRunStatus,
        message: str | None = None,
        *,
        objects: tuple[AppliedObject, ...] = (),
        level: str = "INFO",
        log: str | None = None,
    ) -> None:
        state = NodeRunState(node_id, status, message, objects, self._clock.now())
        line = (self._log(level, log, node_id),) if log else ()

        def change(run: Run) -> Run:
            known = any(s.node_id == node_id for s in run.node_states)
            states = tuple(state if s.node_id == node_id else s for s in run.node_states)
            return replace(run, node_states=states if known else (*states, state), logs=run.logs + line)

        await self._save(change)
        await self._publish(EventType.NODE_UPDATE, {"nodeId": node_id, "status": status.value})
        if status is NodeRunStatus.FAILED:
            await self._publish(
                EventType.ERROR,
                {"nodeId": node_id, "message": message or "failed"},
                workflow_topic(self._run.workflow_id),
            )

    async def log(
        self, message: str, *, level: str = "INFO", warning: bool = False, node_id: str | None = None
    ) -> None:
        """Add a line to the run's log (about one node when ``node_id`` is given); ``warning`` also lists
        it in the run's warnings."""
        line = self._log(level, message, node_id)
        added = (message,) if warning else ()
        await self._save(lambda run: replace(run, logs=(*run.logs, line), warnings=run.warnings + added))

    async def pruned(self, obj: AppliedObject) -> None:
        line = self._log(
            "INFO", f"pruned {obj.kind} {obj.namespace or ''}/{obj.name}".replace(" /", " "), None
        )
        await self._save(lambda run: replace(run, pruned=(*run.pruned, obj), logs=(*run.logs, line)))

    async def finish(self, status: RunStatus, *, error: str | None = None) -> Run:
        pending = (NodeRunStatus.PENDING, NodeRunStatus.APPLYING)
        now = self._clock.now()
        line = self._log(
            "ERROR" if error else "INFO",
            f"run {status.value.lower()}" + (f": {error}" if error else ""),
            None,
        )

        def change(run: Run) -> Run:
            states = tuple(
                replace(
                    s,
                    status=NodeRunStatus.CANCELLED,
                    message="the run stopped before this node" + (f" ({s.message})" if s.message else ""),
                )
                if s.status in pending and status is not RunStatus.COMPLETED
                else s
                for s in run.node_states
            )
            return replace(
                run, status=status, error=error, completed_at=now, node_states=states, logs=(*run.logs, line)
            )

        await self._save(change)
        await self._publish(EventType.COMPLETE, {"status": status.value})
        return self._run

    async def _publish(self, kind: EventType, payload: dict[str, str], topic: str | None = None) -> None:
        if self._bus is None:
            return
        event = Event(kind, topic or run_topic(self._run.id), self._clock.now(), payload)
        try:
            await self._bus.publish(event)
        except Exception:  # a lost live update must never fail the run; the stored run is the truth
            log.exception("publishing %s for run %s failed", kind.value, self._run.id)

    async def heartbeat(self) -> None:
        await self._save(lambda run: run)

    async def _save(self, change: Callable[[Run], Run]) -> None:
        """Apply ``change`` to the run as last saved and save it, one writer at a time (the heartbeat
        runs beside the executor: a change computed from a copy read before the lock would undo
        another writer's)."""
        async with self._lock:
            run = change(self._run)
            if len(run.logs) > self._max_log_lines:  # keep the first lines and the latest ones
                head = self._max_log_lines // 4
                run = replace(run, logs=run.logs[:head] + run.logs[-(self._max_log_lines - head) :])
            self._run = replace(run, heartbeat_at=self._clock.now())
            await self._store.save_run(self._run)
