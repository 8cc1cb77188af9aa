"""Event streams for subscribers: the current state first, then changes, resyncs when something may have
been missed, and the caller's access re-checked while the stream is open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from app import errors
from app.domain.events import Event, EventType, run_topic, workflow_topic
from app.domain.live import NodeHealth
from app.domain.runs import Run
from app.domain.workflows import Workflow
from app.ports import Clock, EventBus, EventSubscription, LiveStateStore, RunStore, WorkflowStore
from app.services.principals import Principal

Reauthorize = Callable[[], Awaitable[Principal]]


class StreamStore(RunStore, WorkflowStore, LiveStateStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class RunUpdate:
    """One message of ``runStatus``: the whole run (METADATA, WORKFLOW_SYNC, COMPLETE) or one node."""

    type: EventType
    at: datetime
    run: Run | None = None
    node_id: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class WorkflowUpdate:
    """One message of ``workflowStatus``: every node (METADATA, WORKFLOW_SYNC) or one node (NODE_UPDATE);
    a WORKFLOW_SYNC after a save carries the new ``revision`` and who saved it (``saved_by``, a user id)."""

    type: EventType
    at: datetime
    workflow_id: str
    nodes: tuple[NodeHealth, ...] = ()
    message: str | None = None
    revision: int | None = None
    saved_by: str | None = None


class StreamService:
    def __init__(self, *, store: StreamStore, bus: EventBus, clock: Clock, recheck_seconds: float) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._recheck = recheck_seconds

    async def run_updates(
        self, principal: Principal, run_id: str, reauthorize: Reauthorize
    ) -> AsyncGenerator[RunUpdate, None]:
        """``runStatus``: METADATA, then NODE_UPDATEs, ending with COMPLETE when the run ends."""
        async with self._bus.subscribe(run_topic(run_id)) as subscription:  # subscribe first: miss nothing
            run = await self._run(principal, run_id)
            yield RunUpdate(EventType.METADATA, self._clock.now(), run=run)
            if run.status.finished:
                yield RunUpdate(EventType.COMPLETE, self._clock.now(), run=run)
                return

            async def recheck() -> None:
                await self._run(await reauthorize(), run_id)

            async with aclosing(self._events(subscription, recheck)) as events:
                async for event in events:
                    if event.type is EventType.WORKFLOW_SYNC:
                        run = await self._run(await reauthorize(), run_id)
                        yield RunUpdate(EventType.WORKFLOW_SYNC, event.at, run=run)
                        if run.status.finished:
                            yield RunUpdate(EventType.COMPLETE, self._clock.now(), run=run)
                            return
                    elif event.type is EventType.COMPLETE:
                        run = await self._run(await reauthorize(), run_id)
                        yield RunUpdate(EventType.COMPLETE, event.at, run=run)
                        return
                    elif event.type is EventType.NODE_UPDATE:
                        run = await self._run(await reauthorize(), run_id)
                        yield RunUpdate(
                            EventType.NODE_UPDATE, event.at, run=run, node_id=str(event.payload.get("nodeId"))
                        )
                    elif event.type is EventType.ERROR:
                        yield RunUpdate(
                            EventType.ERROR, event.at, message=str(event.payload.get("message", ""))
                        )

    async def workflow_updates(
        self, principal: Principal, workflow_id: str, reauthorize: Reauthorize
    ) -> AsyncGenerator[WorkflowUpdate, None]:
        """``workflowStatus``: METADATA with every node, then changes; stays open across runs."""
        async with self._bus.subscribe(workflow_topic(workflow_id)) as subscription:
            workflow = await self._workflow(principal, workflow_id)
            yield await self._full(EventType.METADATA, workflow)

            async def recheck() -> None:
                await self._workflow(await reauthorize(), workflow_id)

            async with aclosing(self._events(subscription, recheck)) as events:
                async for event in events:
                    if event.type is EventType.WORKFLOW_SYNC:
                        workflow = await self._workflow(await reauthorize(), workflow_id)
                        full = await self._full(EventType.WORKFLOW_SYNC, workflow)
                        saved_by = event.payload.get("savedBy")
                        yield replace(
                            full,
                            at=event.at,
                            revision=workflow.revision,
                            saved_by=str(saved_by) if saved_by else None,
                        )
                    elif event.type is EventType.NODE_UPDATE:
                        node_id = str(event.payload.get("nodeId"))
                        healths = [
                            h for h in await self._store.node_healths(workflow_id) if h.node_id == node_id
                        ]
                        yield WorkflowUpdate(EventType.NODE_UPDATE, event.at, workflow_id, tuple(healths))
                    elif event.type is EventType.ERROR:
                        yield WorkflowUpdate(
                            EventType.ERROR,
                            event.at,
                            workflow_id,
                            message=str(event.payload.get("message", "")),
                        )

    async def _events(
        self, subscription: EventSubscription, recheck: Callable[[], Awaitable[None]]
    ) -> AsyncGenerator[Event, None]:
        """Bus events, with the caller's access re-checked at least every ``recheck_seconds``."""
        iterator = subscription.__aiter__()
        while True:
            try:
                event = await asyncio.wait_for(iterator.__anext__(), timeout=self._recheck)
            except TimeoutError:
                await recheck()  # raises when the session ended or the target is no longer visible
                continue
            except StopAsyncIteration:
                return
            yield event

    async def _full(self, kind: EventType, workflow: Workflow) -> WorkflowUpdate:
        healths = await self._store.node_healths(workflow.id)
        return WorkflowUpdate(kind, self._clock.now(), workflow.id, tuple(healths))

    async def _run(self, principal: Principal, run_id: str) -> Run:
        run = await self._store.get_run(principal.scope, run_id)
        if run is None:
            raise errors.NotFound("run", run_id)
        return run

    async def _workflow(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        return workflow
