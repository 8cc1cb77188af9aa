"""The watch pools, metered: a pool factory for ``KubeLiveTracker`` that counts the changes every pool
delivers and can say how many watches run now. ``app.kube`` itself never sees the metrics."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.clusters import ClusterCredentials
from app.kube.tracking.cluster import PoolFactory
from app.kube.watching import WatchEvent, WatchPool, WatchSettings, WatchSink
from app.observability.metrics import Metrics


class CountingSink:
    """Passes everything to ``sink``; counts each change by kind and event type on its way."""

    def __init__(self, sink: WatchSink, metrics: Metrics) -> None:
        self._sink = sink
        self._metrics = metrics

    async def on_resync(self, kind: str, namespace: str | None, objects: Sequence[Mapping[str, Any]]) -> None:
        await self._sink.on_resync(kind, namespace, objects)

    async def on_event(self, event: WatchEvent) -> None:
        self._metrics.watch_event(event.kind, event.type.value)
        await self._sink.on_event(event)

    async def on_cluster_down(self, reason: str) -> None:
        await self._sink.on_cluster_down(reason)

    async def on_cluster_up(self) -> None:
        await self._sink.on_cluster_up()


class MeteredPools:
    """A :class:`PoolFactory` making pools (with ``factory``, ``WatchPool`` by default) whose sink counts
    events; ``watch_count`` adds up the watches of the pools still alive (closed ones have none)."""

    def __init__(self, metrics: Metrics, factory: PoolFactory = WatchPool) -> None:
        self._metrics = metrics
        self._factory = factory
        self._pools: weakref.WeakSet[WatchPool] = weakref.WeakSet()

    def __call__(
        self, credentials: ClusterCredentials, sink: WatchSink, /, *, settings: WatchSettings, cluster: str
    ) -> WatchPool:
        pool = self._factory(
            credentials, CountingSink(sink, self._metrics), settings=settings, cluster=cluster
        )
        self._pools.add(pool)
        return pool

    def watch_count(self) -> float:
        return float(sum(len(pool.keys) for pool in list(self._pools)))
