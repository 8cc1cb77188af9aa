"""Whether one cluster answers, shared by all the watches of a pool: down once, up once, in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.kube.watching.sinks import WatchSink, delivered

log = logging.getLogger(__name__)


class Availability:
    """``lost(reason)`` by the first watch that cannot reach the cluster sends ``on_cluster_down`` once
    and runs ``on_down`` (the pool makes every watch relist); ``reached()`` by the first one that gets
    an answer again sends ``on_cluster_up`` and runs ``on_up`` (the pool wakes the watches waiting to
    retry). Both hold one lock, so the sink never sees "up" before the "down" it follows."""

    def __init__(
        self, sink: WatchSink, *, cluster: str, on_down: Callable[[], None], on_up: Callable[[], None]
    ) -> None:
        self._sink = sink
        self._cluster = cluster
        self._on_down = on_down
        self._on_up = on_up
        self._lock = asyncio.Lock()
        self.down_reason: str | None = None

    @property
    def down(self) -> bool:
        return self.down_reason is not None

    async def lost(self, reason: str) -> None:
        if self.down_reason is not None:
            log.debug("cluster %s is still down: %s", self._cluster, reason)
            return
        async with self._lock:
            if self.down_reason is not None:
                return
            self.down_reason = reason
            log.warning("cluster %s is down: %s", self._cluster, reason)
            self._on_down()
            await delivered(self._sink.on_cluster_down(reason), "cluster down", log)

    async def reached(self) -> None:
        if self.down_reason is None:
            return
        async with self._lock:
            if self.down_reason is None:
                return
            self.down_reason = None
            log.warning("cluster %s answers again", self._cluster)
            await delivered(self._sink.on_cluster_up(), "cluster up", log)
            self._on_up()
