"""KubeLiveTracker: the ``LiveTracker`` port over one watch pool per cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from app.domain.clusters import ClusterCredentials
from app.kube.tracking.cluster import ClusterTracker, PoolFactory, Sleep
from app.kube.tracking.settings import TrackingSettings
from app.kube.watching import WatchKey, WatchPool, WatchSettings
from app.ports import LiveSink, NodeTarget


class KubeLiveTracker:
    """Watches what the tracked workflows deployed and tells ``sink`` how their nodes are.

    A cluster's :class:`WatchPool` is made on the first ``track`` there (``pool_factory(credentials,
    sink, settings=, cluster=)``; construction checks the credentials, ``Invalid`` when unusable) and
    closed when its last workflow is untracked, on ``release_cluster`` and on ``close``. A workflow
    holds its watches under its own id (see :mod:`app.kube.tracking.watches` for which); ``track``
    again replaces its nodes, recomputes them at once and lets go of the watches it no longer needs.
    ``track`` with other credentials for a known cluster reconnects its pool. Each cluster has one
    named publisher task; sink failures are logged and never stop a watch. Calls are serialised.
    """

    def __init__(
        self,
        sink: LiveSink,
        *,
        watch_settings: WatchSettings | None = None,
        pool_factory: PoolFactory = WatchPool,
        settings: TrackingSettings | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._sink = sink
        self._watch_settings = watch_settings or WatchSettings()
        self._pool_factory = pool_factory
        self._settings = settings or TrackingSettings()
        self._sleep = sleep
        self._clusters: dict[str, ClusterTracker] = {}
        self._cluster_of: dict[str, str] = {}  # workflow → cluster
        self._lock = asyncio.Lock()
        self._closed = False

    async def track(
        self,
        cluster_id: str,
        credentials: ClusterCredentials,
        workflow_id: str,
        nodes: Mapping[str, NodeTarget],
    ) -> None:
        """Watch what ``workflow_id`` deployed (node id → its object); no nodes is ``untrack``."""
        async with self._lock:
            if self._closed:
                raise RuntimeError("the live tracker is closed")
            if not nodes:
                await self._untrack(workflow_id)
                return
            if self._cluster_of.get(workflow_id, cluster_id) != cluster_id:  # moved to another cluster
                await self._untrack(workflow_id)
            cluster = self._clusters.get(cluster_id)
            if cluster is None:
                cluster = ClusterTracker(
                    cluster_id,
                    credentials,
                    self._sink,
                    pool_factory=self._pool_factory,
                    watch_settings=self._watch_settings,
                    settings=self._settings,
                    sleep=self._sleep,
                )
                self._clusters[cluster_id] = cluster
            elif cluster.credentials != credentials:
                await cluster.reconnect(credentials)
            self._cluster_of[workflow_id] = cluster_id
            try:
                await cluster.track(workflow_id, dict(nodes))
            except BaseException:
                if not cluster.workflows:
                    self._clusters.pop(cluster_id, None)
                    self._cluster_of.pop(workflow_id, None)
                    await cluster.close()
                raise

    async def untrack(self, workflow_id: str) -> None:
        async with self._lock:
            await self._untrack(workflow_id)

    async def release_cluster(self, cluster_id: str) -> None:
        """Stop every watch of a cluster and forget its workflows (another process took its lease)."""
        async with self._lock:
            await self._release(cluster_id)

    async def close(self) -> None:
        """Release every cluster; ``track`` is refused afterwards. Idempotent."""
        async with self._lock:
            self._closed = True
            for cluster_id in list(self._clusters):
                await self._release(cluster_id)

    # --- looking in -------------------------------------------------------------------------------

    def cluster_of(self, workflow_id: str) -> str | None:
        return self._cluster_of.get(workflow_id)

    def watches(self, cluster_id: str) -> frozenset[WatchKey]:
        """The watches running on a cluster (none when it is not tracked here)."""
        cluster = self._clusters.get(cluster_id)
        return cluster.watches if cluster is not None else frozenset()

    # --- under the lock ---------------------------------------------------------------------------

    async def _untrack(self, workflow_id: str) -> None:
        cluster_id = self._cluster_of.pop(workflow_id, None)
        cluster = self._clusters.get(cluster_id) if cluster_id is not None else None
        if cluster_id is None or cluster is None:
            return
        await cluster.untrack(workflow_id)
        if not cluster.workflows:
            del self._clusters[cluster_id]
            await cluster.close()

    async def _release(self, cluster_id: str) -> None:
        cluster = self._clusters.pop(cluster_id, None)
        if cluster is None:
            return
        for workflow_id in cluster.workflows:
            self._cluster_of.pop(workflow_id, None)
        await cluster.close()
