"""A recording sink, a sleep the tests release by hand, and a pool on the test API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.domain.clusters import ClusterCredentials
from app.kube.watching import WatchEvent, WatchPool, WatchSettings
from tests.kubeapi import KubeApiServer, RecordedRequest

WITHIN = 5.0
OURS = {"app.kubernetes.io/managed-by": "trellis", "trellis.dev/workflow": "wf1", "trellis.dev/node": "n1"}
FAST = WatchSettings(inactivity_timeout_seconds=30, server_timeout_seconds=60, request_timeout_seconds=5)


class RecordingSink:
    """Every call as a tuple: ``("resync", kind, ns, objects)``, ``("event", WatchEvent)``,
    ``("down", reason)``, ``("up",)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self._changed = asyncio.Condition()

    async def _record(self, call: tuple[Any, ...]) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def on_resync(self, kind: str, namespace: str | None, objects: Sequence[Mapping[str, Any]]) -> None:
        await self._record(("resync", kind, namespace, list(objects)))

    async def on_event(self, event: WatchEvent) -> None:
        await self._record(("event", event))

    async def on_cluster_down(self, reason: str) -> None:
        await self._record(("down", reason))

    async def on_cluster_up(self) -> None:
        await self._record(("up",))

    async def wait_for(self, check: Callable[[], bool], within: float = WITHIN) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), within)

    async def wait_calls(self, count: int, within: float = WITHIN) -> list[tuple[Any, ...]]:
        await self.wait_for(lambda: len(self.calls) >= count, within)
        return self.calls

    @property
    def events(self) -> list[tuple[str, str, str]]:
        """(type, name, resourceVersion) of each on_event."""
        return [
            (c[1].type.value, c[1].name, c[1].obj["metadata"]["resourceVersion"])
            for c in self.calls
            if c[0] == "event"
        ]

    @property
    def resyncs(self) -> list[tuple[str, str | None, list[str]]]:
        """(kind, namespace, sorted names) of each on_resync."""
        return [
            (c[1], c[2], sorted(o["metadata"]["name"] for o in c[3])) for c in self.calls if c[0] == "resync"
        ]

    def kinds_of_calls(self) -> list[str]:
        return [c[0] for c in self.calls]


@dataclass
class Nap:
    task: str
    delay: float
    done: asyncio.Future[None] = field(repr=False)


class ManualSleep:
    """The pool's ``sleep``: records (task name, delay); returns at once while ``auto``, else waits
    until the test releases it. Nothing really waits for a backoff."""

    def __init__(self) -> None:
        self.auto = True
        self.naps: list[Nap] = []
        self._changed = asyncio.Condition()

    async def __call__(self, delay: float) -> None:
        task = asyncio.current_task()
        nap = Nap(task.get_name() if task else "?", delay, asyncio.get_running_loop().create_future())
        async with self._changed:
            self.naps.append(nap)
            self._changed.notify_all()
        if self.auto:
            nap.done.set_result(None)
        await asyncio.sleep(0)  # one turn of the loop, so a retry loop never starves the others
        await nap.done

    def delays(self, watch: str) -> list[float]:
        """The delays asked for by the watch whose task name contains ``watch``."""
        return [n.delay for n in self.naps if watch in n.task]

    def pending(self) -> list[Nap]:
        return [n for n in self.naps if not n.done.done()]

    def release(self, watch: str = "") -> None:
        for nap in self.pending():
            if watch in nap.task:
                nap.done.set_result(None)

    async def wait_for(self, check: Callable[[], bool], within: float = WITHIN) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), within)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def sleep() -> ManualSleep:
    return ManualSleep()


PoolFactory = Callable[..., Awaitable[WatchPool]]


@pytest.fixture
async def make_pool(
    plain_credentials: ClusterCredentials, sink: RecordingSink, sleep: ManualSleep
) -> AsyncIterator[PoolFactory]:
    """``await make_pool(settings=…)``: a pool on ``kube_api`` with the recording sink and the manual
    sleep, no jitter; every pool made is closed after the test."""
    pools: list[WatchPool] = []

    async def make(**options: Any) -> WatchPool:
        options.setdefault("settings", FAST)
        options.setdefault("random", lambda: 0.0)
        options.setdefault("cluster", "test")
        pool = WatchPool(plain_credentials, options.pop("sink", sink), sleep=sleep, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()


@pytest.fixture
async def pool(make_pool: PoolFactory) -> WatchPool:
    return await make_pool()


def watch_requests(api: KubeApiServer, path: str = "") -> list[RecordedRequest]:
    return [
        r for r in api.requests if r.method == "GET" and r.query.get("watch") == "true" and path in r.path
    ]


def list_requests(api: KubeApiServer, path: str) -> list[RecordedRequest]:
    return [
        r
        for r in api.requests
        if r.method == "GET" and r.path.endswith(path) and r.query.get("watch") != "true"
    ]


async def eventually(check: Callable[[], bool], within: float = WITHIN) -> None:
    """For state on the server's side (its own thread): poll until ``check`` holds."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.01)
