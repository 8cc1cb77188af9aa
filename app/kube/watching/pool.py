"""WatchPool: one watch per (kind, namespace) on one cluster, shared by every workflow that needs it."""

from __future__ import annotations

import asyncio
import logging
import random as random_module
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

from app.domain.clusters import ClusterCredentials
from app.kube.connecting import InClusterEnvironment, endpoint_for, open_api_client
from app.kube.watching.availability import Availability
from app.kube.watching.kinds import watch_key
from app.kube.watching.settings import WatchSettings
from app.kube.watching.sinks import WatchKey, WatchSink
from app.kube.watching.streams import ClusterApi
from app.kube.watching.watcher import KindWatch, Sleep

log = logging.getLogger(__name__)


class WatchPool:
    """The watches of one cluster. ``ensure`` starts the watch of a (kind, namespace) for a holder
    (a workflow, say) unless it runs already; ``release`` drops the holder, and the watch stops when it
    has none left. Each watch is a named task whose failures are logged at once; ``close`` cancels
    them all, waits for them and closes the connections. Use it as ``async with`` or call ``close``.

    Construction checks the credentials (``Invalid`` when unusable) but connects to nothing; the
    client opens with the first ``ensure``. ``sleep``, ``monotonic`` and ``random`` are injectable so
    that tests never wait for a backoff.
    """

    def __init__(
        self,
        credentials: ClusterCredentials,
        sink: WatchSink,
        *,
        settings: WatchSettings | None = None,
        cluster: str = "cluster",
        in_cluster: InClusterEnvironment | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._endpoint = endpoint_for(credentials, in_cluster or InClusterEnvironment())
        self._sink = sink
        self._settings = settings or WatchSettings()
        self._cluster = cluster
        self._sleep = sleep
        self._monotonic = monotonic
        self._random = random
        self._api_client: Any = None
        self._api: ClusterApi | None = None
        self._watches: dict[WatchKey, KindWatch] = {}
        self._tasks: dict[WatchKey, asyncio.Task[None]] = {}
        self._holders: dict[WatchKey, set[str]] = {}
        self._closed = False
        self._availability = Availability(
            sink, cluster=cluster, on_down=self._resync_all, on_up=self._wake_all
        )

    # --- holders ----------------------------------------------------------------------------------

    async def ensure(self, api_version: str, kind: str, namespace: str | None, *, holder: str) -> WatchKey:
        """Watch ``kind`` in ``namespace`` (None: all namespaces) for ``holder``; idempotent per holder.
        Returns the watch's key (cluster-scoped kinds have no namespace)."""
        if self._closed:
            raise RuntimeError(f"the watch pool of {self._cluster} is closed")
        key = watch_key(api_version, kind, namespace)
        self._holders.setdefault(key, set()).add(holder)
        task = self._tasks.get(key)
        if task is None or task.done():  # a watch that died (it was logged) starts again
            self._start(key)
        return key

    async def release(self, api_version: str, kind: str, namespace: str | None, *, holder: str) -> bool:
        """Drop ``holder`` from the watch; stop the watch when nobody holds it. True if it stopped."""
        key = watch_key(api_version, kind, namespace)
        holders = self._holders.get(key)
        if holders is None:
            return False
        holders.discard(holder)
        if holders:
            return False
        await self._stop(key)
        return True

    async def release_holder(self, holder: str) -> list[WatchKey]:
        """Drop ``holder`` from every watch (a deleted workflow, say); the keys of the watches stopped."""
        stopped = []
        for key in list(self._holders):
            holders = self._holders[key]
            holders.discard(holder)
            if not holders:
                stopped.append(key)
        for key in stopped:
            await self._stop(key)
        return stopped

    @property
    def keys(self) -> frozenset[WatchKey]:
        """The watches running."""
        return frozenset(self._tasks)

    def holders(self, key: WatchKey) -> frozenset[str]:
        return frozenset(self._holders.get(key, ()))

    @property
    def cluster_down(self) -> str | None:
        """Why the cluster is considered down, or None while it answers."""
        return self._availability.down_reason

    # --- lifecycle --------------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel every watch, wait until each has finished, close the client. Idempotent."""
        self._closed = True
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._watches.clear()
        self._holders.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        client, self._api_client, self._api = self._api_client, None, None
        if client is not None:
            await client.close()

    async def __aenter__(self) -> WatchPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- tasks ------------------------------------------------------------------------------------

    def _cluster_api(self) -> ClusterApi:
        if self._api is None:
            self._api_client = open_api_client(self._endpoint)
            self._api = ClusterApi(
                self._api_client,
                self._endpoint.server,
                request_timeout=self._settings.request_timeout_seconds,
                connect_timeout=self._settings.connect_timeout_seconds,
            )
        return self._api

    def _start(self, key: WatchKey) -> None:
        name = f"watch {self._cluster}: {key.describe()}"
        watch = KindWatch(
            key,
            name=name,
            api=self._cluster_api(),
            sink=self._sink,
            availability=self._availability,
            settings=self._settings,
            sleep=self._sleep,
            monotonic=self._monotonic,
            random=self._random,
        )
        self._watches[key] = watch
        self._tasks[key] = asyncio.get_running_loop().create_task(_guarded(name, watch.run), name=name)
        log.info("%s started", name)

    async def _stop(self, key: WatchKey) -> None:
        self._holders.pop(key, None)
        self._watches.pop(key, None)
        task = self._tasks.pop(key, None)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def _resync_all(self) -> None:
        for watch in self._watches.values():
            watch.request_resync()

    def _wake_all(self) -> None:
        for watch in self._watches.values():
            watch.wake()


async def _guarded(name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a task that should never end: a failure is logged at once, an unexpected end is warned.

    ``work`` is called inside the task, so a task cancelled before its first step leaves no coroutine
    that was never awaited."""
    try:
        await work()
    except asyncio.CancelledError:
        log.debug("%s cancelled", name)
        raise
    except Exception:
        log.exception("%s failed and stopped", name)
    else:
        log.error("%s ended unexpectedly", name)
