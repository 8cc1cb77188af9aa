"""The in-memory object store: one global resourceVersion counter, a bounded event history and watchers."""

from __future__ import annotations

import asyncio
import builtins
import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import expired
from .resources import ResourceType
from .selectors import FieldSelector, LabelSelector

Key = tuple[str, str]  # namespace ("" for cluster scope), name


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    rt: ResourceType
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


class Signal:
    """A control message for watchers: a bookmark request or the end of the stream."""

    def __init__(self, name: str) -> None:
        self.name = name


BOOKMARK = Signal("bookmark")
CLOSE = Signal("close")


@dataclass(eq=False)
class Watcher:
    rt: ResourceType
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: asyncio.Queue[Event | Signal] = field(default_factory=asyncio.Queue)

    def wants(self, event: Event) -> bool:
        if event.rt is not self.rt:
            return False
        ns = event.obj.get("metadata", {}).get("namespace", "")
        return self.namespace is None or ns == self.namespace

    def _matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        return self.labels.matches(obj.get("metadata", {}).get("labels")) and self.fields.matches(obj)

    def translate(self, event: Event) -> tuple[str, dict[str, Any]] | None:
        """The event this watcher sees, with selector transitions (MODIFIED into or out of the selection)."""
        now = self._matches(event.obj)
        if event.type == "MODIFIED":
            before = self._matches(event.old)
            if now and before:
                return "MODIFIED", event.obj
            if now:
                return "ADDED", event.obj
            if before:
                return "DELETED", event.obj
            return None
        return (event.type, event.obj) if now else None


class Store:
    def __init__(self, *, history_size: int = 1000, first_rv: int = 1000) -> None:
        self.rv = first_rv
        self.history: deque[Event] = deque()
        self.history_size = history_size
        self.compacted_rv = first_rv
        self._objects: dict[ResourceType, dict[Key, dict[str, Any]]] = {}
        self.watchers: set[Watcher] = set()
        self.listeners: builtins.list[Callable[[Event], None]] = []
        self._watch_waiters: builtins.list[asyncio.Future[None]] = []

    # -- reading --------------------------------------------------------------------------------------

    def _table(self, rt: ResourceType) -> dict[Key, dict[str, Any]]:
        return self._objects.setdefault(rt, {})

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        obj = self._table(rt).get((namespace or "", name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, rt: ResourceType, namespace: str | None = None) -> builtins.list[dict[str, Any]]:
        table = self._table(rt)
        keys = sorted(k for k in table if namespace is None or k[0] == namespace)
        return [copy.deepcopy(table[k]) for k in keys]

    def all_objects(self) -> builtins.list[tuple[ResourceType, dict[str, Any]]]:
        return [(rt, copy.deepcopy(obj)) for rt, table in self._objects.items() for obj in table.values()]

    # -- writing --------------------------------------------------------------------------------------

    def put(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        self.rv += 1
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.rv)
        self._table(rt)[(meta.get("namespace", "") if rt.namespaced else "", meta["name"])] = obj
        self._record(
            Event(
                self.rv,
                "MODIFIED" if old is not None else "ADDED",
                rt,
                copy.deepcopy(obj),
                copy.deepcopy(old),
            )
        )
        return copy.deepcopy(obj)

    def remove(
        self, rt: ResourceType, namespace: str | None, name: str, *, final: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Delete an object; ``final`` is its last state when the deletion comes with an update."""
        obj = self._table(rt).pop((namespace or "", name), None)
        if obj is None:
            return None
        if final is not None:
            obj = copy.deepcopy(final)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._record(Event(self.rv, "DELETED", rt, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def _record(self, event: Event) -> None:
        self.history.append(event)
        while len(self.history) > self.history_size:
            dropped = self.history.popleft()
            self.compacted_rv = dropped.rv
        for watcher in list(self.watchers):
            if watcher.wants(event):
                watcher.queue.put_nowait(event)
        for listener in list(self.listeners):
            listener(event)

    # -- watching -------------------------------------------------------------------------------------

    def events_since(self, rv: int) -> builtins.list[Event]:
        """Events after ``rv``; 410 Expired when the history no longer reaches back that far."""
        if rv < self.compacted_rv:
            raise expired(f"too old resource version: {rv} ({self.compacted_rv})")
        return [e for e in self.history if e.rv > rv]

    def compact(self) -> None:
        """Forget the whole event history, as an etcd compaction does."""
        self.history.clear()
        self.compacted_rv = self.rv

    def register(self, watcher: Watcher) -> None:
        self.watchers.add(watcher)
        self._wake_watch_waiters()

    def unregister(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        self._wake_watch_waiters()

    def _wake_watch_waiters(self) -> None:
        waiters, self._watch_waiters = self._watch_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for_watchers(self, count: int) -> None:
        """Return once at least ``count`` watch streams are open."""
        while len(self.watchers) < count:
            waiter = asyncio.get_running_loop().create_future()
            self._watch_waiters.append(waiter)
            await waiter

    def signal(self, signal: Signal) -> None:
        for watcher in list(self.watchers):
            watcher.queue.put_nowait(signal)
