"""The live record of one build while its server process follows it: log lines and status changes are
kept in memory as they come and saved (then published on ``build:<id>``) by :meth:`BuildRecorder.flush`.

Log lines arrive from several followers at once; they only append in memory (no ``await`` in between),
so nothing is lost while a save is under way. A save that finds the build finished (cancelled) or taken
over by another process raises :class:`BuildEnded`: the follower stops.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from typing import Any

from app import errors
from app.domain.builds import (
    BUILD_END,
    BUILD_START,
    PUSH_PERCENT,
    Build,
    BuildLogLine,
    BuildStatus,
    LogSource,
    build_topic,
    progress_payload,
)
from app.domain.events import Event, EventType
from app.ports import BuildStore, Clock, EventBus

log = logging.getLogger(__name__)

_STEP = re.compile(r"^#\d+ \[[^\]]*?(\d+)/(\d+)\]")
_PUSHING = ("exporting to image", "pushing layers", "pushing manifest", "exporting manifest")
_COMMIT = re.compile(r"^commit ([0-9a-f]{40}|[0-9a-f]{64})$")


class BuildEnded(Exception):
    """The build was finished (cancelled) or taken over elsewhere; this process stops following it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BuildRecorder:
    def __init__(
        self, build: Build, *, store: BuildStore, bus: EventBus, clock: Clock, max_lines: int
    ) -> None:
        self._build = build
        self._store = store
        self._bus = bus
        self._clock = clock
        self._max_lines = max_lines
        self._new: list[BuildLogLine] = []
        self._dirty = False
        self._changed = False
        self._saved_at = clock.now()
        self._lock = asyncio.Lock()

    @property
    def build(self) -> Build:
        return self._build

    # --- in memory ------------------------------------------------------------------------------------

    def note(self, source: LogSource, message: str) -> None:
        """Append one line; lines of BuildKit and the clone also move the status and percent along."""
        build = self._build.logged([(self._clock.now(), source, message)], self._max_lines)
        self._new.append(build.logs[-1])
        self._build = build
        self._dirty = True
        if source is LogSource.BUILDKIT:
            self._follow_buildkit(message)
        elif source is LogSource.CLONE:
            found = _COMMIT.match(message.strip())
            if found:
                self.change(commit=found.group(1))

    def seen(self, container: str, count: int = 1) -> None:
        """Count lines read from a container's log (so a server taking over does not store them twice)."""
        seen = dict(self._build.lines_seen)
        seen[container] = seen.get(container, 0) + count
        self._build = replace(self._build, lines_seen=seen)

    def change(self, **fields: Any) -> None:
        """Change fields of the build (status, percent, message…); saved by the next flush."""
        self._build = replace(self._build, **fields)
        self._dirty = self._changed = True

    def advance(self, status: BuildStatus, percent: int) -> None:
        """Move to ``status`` (never back) with at least ``percent``."""
        order = list(BuildStatus)
        current = self._build
        if order.index(status) < order.index(current.status):
            return
        if status is current.status and percent <= current.percent:
            return
        self.change(status=status, percent=max(percent, current.percent if status is current.status else 0))

    def _follow_buildkit(self, message: str) -> None:
        build = self._build
        if build.status is BuildStatus.BUILDING:
            lowered = message.lower()
            if any(word in lowered for word in _PUSHING):
                self.advance(BuildStatus.PUSHING, PUSH_PERCENT)
                return
            step = _STEP.match(message)
            if step:
                done, total = int(step.group(1)), int(step.group(2))
                if 0 < done <= total:
                    percent = BUILD_START + (BUILD_END - BUILD_START) * (done - 1) // total
                    if percent > build.percent:
                        self.change(percent=percent)

    # --- saving ---------------------------------------------------------------------------------------

    async def flush(
        self, *, heartbeat_seconds: float | None = None, kind: EventType = EventType.NODE_UPDATE
    ) -> None:
        """Save what changed; with ``heartbeat_seconds`` also when the last save is older than that."""
        now = self._clock.now()
        due = heartbeat_seconds is not None and (now - self._saved_at).total_seconds() >= heartbeat_seconds
        if not (self._dirty or due or kind is EventType.COMPLETE):
            return
        async with self._lock:
            new, changed = self._new, self._changed
            self._new, self._dirty, self._changed = [], False, False
            saved = replace(self._build, updated_at=now, heartbeat_at=now, revision=self._build.revision + 1)
            try:
                await self._store.save_build(saved)
            except errors.Conflict as exc:
                raise BuildEnded(exc.message) from exc
            self._saved_at = now
            # Lines noted during the save are in self._build (and the new list): keep them.
            self._build = replace(self._build, updated_at=now, heartbeat_at=now, revision=saved.revision)
        if new or changed or kind is EventType.COMPLETE:
            await self.publish(saved, new, changed=changed, kind=kind)

    async def finish(self, status: BuildStatus, message: str, **fields: Any) -> Build:
        """End the build with ``status`` and ``message`` (also logged) and save it."""
        self.note(LogSource.TRELLIS, message)
        self.change(status=status, message=message, finished_at=self._clock.now(), **fields)
        await self.flush(kind=EventType.COMPLETE)
        return self._build

    async def publish(
        self, build: Build, new: list[BuildLogLine], *, changed: bool, kind: EventType = EventType.NODE_UPDATE
    ) -> None:
        event = Event(
            kind, build_topic(build.id), self._clock.now(), progress_payload(build, new, changed=changed)
        )
        try:
            await self._bus.publish(event)
        except Exception:  # a lost live update never fails the build; the stored build is the truth
            log.exception("publishing %s for build %s failed", kind.value, build.id)
