"""What the watch pool delivers, and the Protocol of whoever receives it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, Protocol


class WatchKey(NamedTuple):
    """One watch: a kind in one namespace, or in all of them (``namespace`` None; always None for
    cluster-scoped kinds)."""

    api_version: str
    kind: str
    namespace: str | None

    def describe(self) -> str:
        return f"{self.kind} in {self.namespace}" if self.namespace else f"{self.kind} in all namespaces"


class WatchEventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One real change of one object. ``obj`` is the object as the API server sent it, with
    ``apiVersion`` and ``kind`` always set; for DELETED, its last state."""

    type: WatchEventType
    obj: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def namespace(self) -> str | None:
        value = (self.obj.get("metadata") or {}).get("namespace")
        return str(value) if value else None

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")


class WatchSink(Protocol):
    """Receives what a ``WatchPool`` sees. Calls for one watch come in order, one at a time (each is
    awaited before the watch reads on); calls for different watches may interleave. Keep them quick:
    a slow sink slows its watch down. An exception raised here is logged and the watch carries on.
    The objects handed over are the pool's own records: read them, do not change them.
    """

    async def on_resync(self, kind: str, namespace: str | None, objects: Sequence[Mapping[str, Any]]) -> None:
        """The complete current set of ``kind`` objects in ``namespace`` (None: all namespaces):
        replace whatever was known of that watch. Sent when a watch starts and, after the cluster was
        down, once it is back (right after ``on_cluster_up``)."""
        ...

    async def on_event(self, event: WatchEvent) -> None:
        """One object really changed (never a repeat of what was already delivered)."""
        ...

    async def on_cluster_down(self, reason: str) -> None:
        """The cluster stopped answering (``reason`` says why, for a person); sent once per outage."""
        ...

    async def on_cluster_up(self) -> None:
        """The cluster answers again after ``on_cluster_down``; every watch then sends ``on_resync``."""
        ...


async def delivered(call: Awaitable[None], what: str, log: logging.Logger) -> None:
    """Await one sink call; a failure of the sink is logged at once and does not stop the watch."""
    try:
        await call
    except Exception:
        log.exception("the watch sink failed on %s", what)
