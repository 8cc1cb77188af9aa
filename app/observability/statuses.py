"""Counts the run and build status changes this process writes, by wrapping the store.

Every status change of a run or a build goes through a few store calls (``start_run``, ``save_run``,
``interrupt_stale_runs``; ``insert_build``, ``save_build``, ``cancel_build``); the wrapper remembers the
last status it saw of each unfinished run and build and counts a change when a write differs from it.
A change is written by exactly one process, so the counters summed over replicas count each once. The
other store calls pass straight through.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from app.domain.builds import Build, BuildStatus
from app.domain.runs import Run, RunStatus
from app.domain.versions import Version, VersionDraft
from app.domain.workspaces import Scope
from app.observability.metrics import Metrics
from app.ports import Store

S = TypeVar("S", RunStatus, BuildStatus)
REMEMBERED = 10_000  # unfinished runs and builds remembered at most (the oldest are forgotten)


class _LastStatus(Generic[S]):
    """The last status seen of each unfinished record; ``changed`` says whether a write moves it."""

    def __init__(self) -> None:
        self._last: OrderedDict[str, S] = OrderedDict()

    def changed(self, record_id: str, status: S) -> bool:
        before = self._last.pop(record_id, None)
        if not status.finished:
            self._last[record_id] = status
            while len(self._last) > REMEMBERED:
                self._last.popitem(last=False)
        return before is not status

    def seen(self, record_id: str, status: S) -> None:
        """Remember without counting (a record taken over from another process)."""
        if not status.finished:
            self._last[record_id] = status


class StatusCountingStore:
    """``store`` with its run and build status changes counted in ``metrics``."""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics
        self._runs: _LastStatus[RunStatus] = _LastStatus()
        self._builds: _LastStatus[BuildStatus] = _LastStatus()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    # --- runs -------------------------------------------------------------------------------------

    async def start_run(self, scope: Scope, draft: VersionDraft, run: Run) -> tuple[Version, Run]:
        version, stored = await self._store.start_run(scope, draft, run)
        self._run(stored)
        return version, stored

    async def save_run(self, run: Run) -> None:
        await self._store.save_run(run)
        self._run(run)

    async def interrupt_stale_runs(
        self, *, heartbeat_before: datetime, at: datetime, reason: str
    ) -> list[Run]:
        runs = await self._store.interrupt_stale_runs(heartbeat_before=heartbeat_before, at=at, reason=reason)
        for run in runs:
            self._run(run)
        return runs

    def _run(self, run: Run) -> None:
        if self._runs.changed(run.id, run.status):
            self._metrics.run_entered(run.status)

    # --- builds -----------------------------------------------------------------------------------

    async def insert_build(self, build: Build) -> None:
        await self._store.insert_build(build)
        self._build(build)

    async def save_build(self, build: Build) -> None:
        await self._store.save_build(build)
        self._build(build)

    async def cancel_build(self, scope: Scope, build_id: str, *, at: datetime, message: str) -> Build:
        build = await self._store.cancel_build(scope, build_id, at=at, message=message)
        self._build(build)
        return build

    async def claim_stale_builds(
        self, *, owner: str, at: datetime, heartbeat_before: datetime
    ) -> list[Build]:
        builds = await self._store.claim_stale_builds(owner=owner, at=at, heartbeat_before=heartbeat_before)
        for build in builds:
            self._builds.seen(build.id, build.status)
        return builds

    def _build(self, build: Build) -> None:
        if self._builds.changed(build.id, build.status):
            self._metrics.build_entered(build.status)


def counting_statuses(store: Store, metrics: Metrics) -> Store:
    """``store``, typed as the port, with run and build status changes counted."""
    return cast(Store, StatusCountingStore(store, metrics))
