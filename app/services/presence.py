"""Live collaboration: who has a workflow open and which node each of them selected, and the saves others
make, so a canvas sees a new revision before it tries to save over it.

Presence lives in memory, per server process, and is shared between processes on the event bus: each
process publishes its own viewers' changes on ``presence:<workflowId>`` (PRESENCE events whose payload's
``action`` is ``join``, ``update``, ``beat`` or ``leave``, and ``hello`` to ask the others for theirs) and
repeats its viewers every third of the TTL. An entry not heard of for the TTL is gone, so the viewers of a
process that died disappear without it saying so. Saves arrive as WORKFLOW_SYNC on ``workflow:<id>`` with
``revision`` and ``savedBy``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app import errors
from app.domain.events import Event, EventType, workflow_topic
from app.domain.workflows import Workflow
from app.ports import Clock, EventBus, EventSubscription, WorkflowStore
from app.services.auditing import Auditor
from app.services.principals import Principal

log = logging.getLogger("trellis.presence")

Reauthorize = Callable[[], Awaitable[Principal]]
MAX_NODE_ID = 200


def presence_topic(workflow_id: str) -> str:
    return f"presence:{workflow_id}"


class PresenceChange(StrEnum):
    JOINED = "JOINED"
    UPDATED = "UPDATED"  # selected another node
    LEFT = "LEFT"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Someone with the workflow open: since when, and the node they selected (if any)."""

    user_id: str
    name: str
    selected_node_id: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class PresenceUpdate:
    """One message of ``workflowPresence``: everyone looking (METADATA, PRESENCE), the one who changed
    (PRESENCE), or a save (WORKFLOW_SYNC with the new ``revision`` and ``saved_by``, a user id)."""

    type: EventType
    at: datetime
    workflow_id: str
    viewers: tuple[Viewer, ...] = ()
    change: PresenceChange | None = None
    viewer: Viewer | None = None
    revision: int | None = None
    saved_by: str | None = None
    message: str | None = None


@dataclass(slots=True)
class _Entry:
    """What one process says of one viewer; ``seen`` and ``changed`` are this process's clock."""

    viewer: Viewer
    seen: datetime
    changed: datetime


@dataclass(slots=True)
class _Board:
    """One workflow's viewers by (process, user id), and this process's open subscriptions by user id."""

    entries: dict[tuple[str, str], _Entry] = field(default_factory=dict)
    open: dict[str, int] = field(default_factory=dict)
    beaten: datetime | None = None


class SaveNotices:
    """Publishes a WORKFLOW_SYNC on ``workflow:<id>`` after every write that bumps a workflow's revision."""

    def __init__(self, *, bus: EventBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock

    async def __call__(self, principal: Principal, workflow: Workflow) -> None:
        payload = {"revision": workflow.revision, "savedBy": principal.user_id, "reason": "saved"}
        try:
            await self._bus.publish(
                Event(EventType.WORKFLOW_SYNC, workflow_topic(workflow.id), self._clock.now(), payload)
            )
        except Exception:  # the save is stored; a lost notice only shows later (the revision check holds)
            log.exception("publishing the save of workflow %s failed", workflow.id)


class PresenceService:
    def __init__(
        self,
        *,
        store: WorkflowStore,
        bus: EventBus,
        clock: Clock,
        auditor: Auditor,
        owner: str,
        ttl_seconds: float,
        recheck_seconds: float,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._auditor = auditor
        self._owner = owner
        self._ttl = timedelta(seconds=ttl_seconds)
        self._recheck = recheck_seconds
        self._boards: dict[str, _Board] = {}

    def viewers(self, workflow_id: str) -> tuple[Viewer, ...]:
        """Everyone looking now, one entry per user (earliest ``since``, latest selection), by ``since``."""
        board = self._boards.get(workflow_id)
        if board is None:
            return ()
        self._expire(board)
        merged: dict[str, tuple[Viewer, datetime]] = {}
        for entry in board.entries.values():
            user = entry.viewer.user_id
            if user not in merged:
                merged[user] = (entry.viewer, entry.changed)
                continue
            known, changed = merged[user]
            latest = entry.viewer if entry.changed > changed else known
            since = min(known.since, entry.viewer.since)
            merged[user] = (replace(latest, since=since), max(changed, entry.changed))
        return tuple(sorted((v for v, _ in merged.values()), key=lambda v: (v.since, v.user_id)))

    async def update(
        self, principal: Principal, workflow_id: str, selected_node_id: str | None
    ) -> tuple[Viewer, ...]:
        """``updatePresence``: the caller's selected node (``None``: nothing selected), which also tells the
        others the caller is still here. Readers may call it; returns everyone looking now."""
        async with self._auditor.action(
            "presence.update", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            workflow = await self._workflow(principal, workflow_id)
            record.workspace_id = workflow.workspace_id
            if selected_node_id is not None and not 0 < len(selected_node_id) <= MAX_NODE_ID:
                raise errors.Invalid.field(
                    "selectedNodeId", f"must be 1 to {MAX_NODE_ID} characters, or null"
                )
            now = self._clock.now()
            board = self._boards.setdefault(workflow.id, _Board())
            key = (self._owner, principal.user_id)
            known = board.entries.get(key)
            viewer = (
                replace(known.viewer, selected_node_id=selected_node_id, name=principal.user.name)
                if known
                else Viewer(principal.user_id, principal.user.name, selected_node_id, now)
            )
            board.entries[key] = _Entry(viewer, now, now)
            await self._publish(workflow.id, "update", viewers=[viewer])
            return self.viewers(workflow.id)

    async def updates(
        self, principal: Principal, workflow_id: str, reauthorize: Reauthorize
    ) -> AsyncGenerator[PresenceUpdate, None]:
        """``workflowPresence``: METADATA (everyone looking, the caller included), then PRESENCE changes
        and WORKFLOW_SYNC saves; access re-checked while open; leaving when the stream closes."""
        async with (
            self._bus.subscribe(presence_topic(workflow_id)) as presence,
            self._bus.subscribe(workflow_topic(workflow_id)) as saves,
        ):
            workflow = await self._workflow(principal, workflow_id)
            await self._join(principal, workflow.id)
            try:
                shown = {v.user_id: v for v in self.viewers(workflow.id)}
                revision = workflow.revision
                yield PresenceUpdate(
                    EventType.METADATA,
                    self._clock.now(),
                    workflow.id,
                    tuple(shown.values()),
                    revision=revision,
                )
                checked = time.monotonic()
                async with aclosing(_merged(presence, saves, self._recheck)) as events:
                    async for event in events:
                        if time.monotonic() - checked >= self._recheck:
                            await self._workflow(await reauthorize(), workflow.id)  # raises when access ended
                            checked = time.monotonic()
                        if event is not None and event.topic == workflow_topic(workflow.id):
                            if event.type is EventType.WORKFLOW_SYNC:
                                sync = await self._sync(reauthorize, workflow.id, event)
                                if sync.saved_by is not None or sync.revision != revision:
                                    revision = sync.revision or revision
                                    yield sync
                        elif event is not None:
                            await self._heard(workflow.id, event)
                        await self._beat(workflow.id)
                        now = {v.user_id: v for v in self.viewers(workflow.id)}
                        for change, viewer in _changes(shown, now):
                            yield PresenceUpdate(
                                EventType.PRESENCE,
                                self._clock.now(),
                                workflow.id,
                                tuple(now.values()),
                                change=change,
                                viewer=viewer,
                            )
                        shown = now
            finally:
                await self._leave(principal.user_id, workflow.id)

    async def _sync(self, reauthorize: Reauthorize, workflow_id: str, event: Event) -> PresenceUpdate:
        """A save (the event carries its revision and who saved) or another resync (relist, bus reconnect:
        the current revision is read, ``saved_by`` is ``None``)."""
        revision, saved_by = event.payload.get("revision"), event.payload.get("savedBy")
        workflow = await self._workflow(await reauthorize(), workflow_id)
        if not isinstance(revision, int):
            revision, saved_by = workflow.revision, None
        return PresenceUpdate(
            EventType.WORKFLOW_SYNC,
            event.at,
            workflow_id,
            self.viewers(workflow_id),
            revision=revision,
            saved_by=str(saved_by) if saved_by else None,
        )

    async def _join(self, principal: Principal, workflow_id: str) -> None:
        now = self._clock.now()
        board = self._boards.setdefault(workflow_id, _Board())
        board.open[principal.user_id] = board.open.get(principal.user_id, 0) + 1
        key = (self._owner, principal.user_id)
        if key not in board.entries:
            board.entries[key] = _Entry(Viewer(principal.user_id, principal.user.name, None, now), now, now)
        else:
            board.entries[key].seen = now
        await self._publish(workflow_id, "join", viewers=[board.entries[key].viewer])
        await self._publish(workflow_id, "hello")

    async def _leave(self, user_id: str, workflow_id: str) -> None:
        board = self._boards.get(workflow_id)
        if board is None:
            return
        left = board.open.get(user_id, 0) - 1
        if left > 0:
            board.open[user_id] = left
            return
        board.open.pop(user_id, None)
        board.entries.pop((self._owner, user_id), None)
        if not board.entries and not board.open:
            self._boards.pop(workflow_id, None)
        await self._publish(workflow_id, "leave", user_id=user_id)

    async def _heard(self, workflow_id: str, event: Event) -> None:
        """Apply another process's message (this process's own are already applied)."""
        if event.type is EventType.WORKFLOW_SYNC:  # the bus lost messages: ask everyone again
            await self._publish(workflow_id, "hello")
            return
        origin, action = event.payload.get("origin"), event.payload.get("action")
        if event.type is not EventType.PRESENCE or not isinstance(origin, str) or origin == self._owner:
            return
        board = self._boards.setdefault(workflow_id, _Board())
        now = self._clock.now()
        if action == "hello":
            await self._beat(workflow_id, force=True)
        elif action == "leave":
            board.entries.pop((origin, str(event.payload.get("userId"))), None)
        elif action in ("join", "update", "beat"):
            for viewer in _viewers_of(event.payload):
                known = board.entries.get((origin, viewer.user_id))
                changed = now if known is None or known.viewer != viewer else known.changed
                board.entries[(origin, viewer.user_id)] = _Entry(viewer, now, changed)

    async def _beat(self, workflow_id: str, *, force: bool = False) -> None:
        """Repeat this process's viewers of the workflow every third of the TTL (or now, when asked)."""
        board = self._boards.get(workflow_id)
        now = self._clock.now()
        if board is None or not (force or board.beaten is None or now - board.beaten >= self._ttl / 3):
            return
        board.beaten = now
        for user in board.open:
            if (self._owner, user) in board.entries:
                board.entries[(self._owner, user)].seen = now
        mine = [e.viewer for (origin, _), e in board.entries.items() if origin == self._owner]
        if mine:
            await self._publish(workflow_id, "beat", viewers=mine)

    def _expire(self, board: _Board) -> None:
        """Drop entries not heard of for the TTL, except this process's viewers with a stream open."""
        cutoff = self._clock.now() - self._ttl
        for key, entry in list(board.entries.items()):
            mine_and_open = key[0] == self._owner and key[1] in board.open
            if entry.seen < cutoff and not mine_and_open:
                del board.entries[key]

    async def _publish(
        self,
        workflow_id: str,
        action: str,
        *,
        viewers: list[Viewer] | None = None,
        user_id: str | None = None,
    ) -> None:
        payload: dict[str, Any] = {"origin": self._owner, "action": action}
        if viewers is not None:
            payload["viewers"] = [_encoded(v) for v in viewers]
        if user_id is not None:
            payload["userId"] = user_id
        event = Event(EventType.PRESENCE, presence_topic(workflow_id), self._clock.now(), payload)
        try:
            await self._bus.publish(event)
        except Exception:  # other processes catch up at the next heartbeat
            log.exception("publishing presence (%s) on workflow %s failed", action, workflow_id)

    async def _workflow(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        return workflow


def _changes(
    before: Mapping[str, Viewer], after: Mapping[str, Viewer]
) -> list[tuple[PresenceChange, Viewer]]:
    changes = [(PresenceChange.LEFT, v) for user, v in before.items() if user not in after]
    for user, viewer in after.items():
        if user not in before:
            changes.append((PresenceChange.JOINED, viewer))
        elif before[user].selected_node_id != viewer.selected_node_id:
            changes.append((PresenceChange.UPDATED, viewer))
    return changes


def _encoded(viewer: Viewer) -> dict[str, Any]:
    return {
        "userId": viewer.user_id,
        "name": viewer.name,
        "selectedNodeId": viewer.selected_node_id,
        "since": viewer.since.isoformat(),
    }


def _viewers_of(payload: Mapping[str, Any]) -> list[Viewer]:
    """The viewers a message names; malformed entries (another version's, a stray publisher's) skipped."""
    found = []
    for item in payload.get("viewers") or ():
        try:
            selected = item.get("selectedNodeId")
            found.append(
                Viewer(
                    user_id=str(item["userId"]),
                    name=str(item["name"]),
                    selected_node_id=str(selected) if selected is not None else None,
                    since=datetime.fromisoformat(str(item["since"])),
                )
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed presence entry: %r", item)
    return found


async def _merged(
    first: EventSubscription, second: EventSubscription, tick_seconds: float
) -> AsyncGenerator[Event | None, None]:
    """Events of both subscriptions as they come, and ``None`` after ``tick_seconds`` without one; ends
    when either subscription does."""
    sources = [first.__aiter__(), second.__aiter__()]
    pending: dict[asyncio.Future[Event], int] = {}
    try:
        while True:
            for index, source in enumerate(sources):
                if index not in pending.values():
                    pending[asyncio.ensure_future(source.__anext__())] = index
            done, _ = await asyncio.wait(pending, timeout=tick_seconds, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                yield None
                continue
            for task in sorted(done, key=lambda t: pending[t]):
                del pending[task]
                try:
                    event = task.result()
                except StopAsyncIteration:
                    return
                yield event
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
