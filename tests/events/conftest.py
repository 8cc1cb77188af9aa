"""Fixtures for the event bus: real Redis servers, buses on memory:// and redis://, a sleep tests step by
hand, and a plain Redis client to look at (or write garbage to) the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from app.domain.events import Event, EventType
from app.events import BroadcastEventBus, BusSubscription, open_event_bus
from tests.clock import FakeClock
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

WAIT = 5.0  # seconds any single expected delivery may take before a test fails
AT = datetime(2026, 1, 15, 9, 30, 12, 345678, tzinfo=UTC)


def event(topic: str, n: int, type: EventType = EventType.NODE_UPDATE) -> Event:
    return Event(type=type, topic=topic, at=AT, payload={"n": n})


async def receive(subscription: BusSubscription, count: int = 1) -> list[Event]:
    """The next ``count`` events of ``subscription``; fails the test if they take longer than WAIT."""
    received: list[Event] = []
    async with asyncio.timeout(WAIT):
        async for item in subscription:
            received.append(item)
            if len(received) == count:
                break
    return received


async def receive_one(subscription: BusSubscription) -> Event:
    return (await receive(subscription))[0]


def is_sync(item: Event, reason: str) -> bool:
    return item.type is EventType.WORKFLOW_SYNC and dict(item.payload) == {"reason": reason}


class SteppedSleep:
    """A ``sleep`` that records each delay and returns only when the test calls ``release``."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._calls: asyncio.Queue[float] = asyncio.Queue()
        self._releases = asyncio.Semaphore(0)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self._calls.put_nowait(delay)
        await self._releases.acquire()

    async def called(self) -> float:
        """Wait until the bus sleeps; the delay it asked for."""
        async with asyncio.timeout(WAIT):
            return await self._calls.get()

    def release(self) -> None:
        self._releases.release()


OpenBus = Callable[..., AbstractAsyncContextManager[BroadcastEventBus]]


@pytest.fixture
def sleeps() -> SteppedSleep:
    return SteppedSleep()


@pytest.fixture(params=["memory", "redis"])
def bus_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once on memory:// and once on a real Redis."""
    if request.param == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
def open_bus(sleeps: SteppedSleep, clock: FakeClock) -> OpenBus:
    """``open_bus(url, queue_size=16, **options)``: ``open_event_bus`` with the test's sleep and clock."""

    def opening(
        url: str, *, queue_size: int = 16, **options: object
    ) -> AbstractAsyncContextManager[BroadcastEventBus]:
        options.setdefault("sleep", sleeps)
        options.setdefault("clock", clock)
        return open_event_bus(url, queue_size=queue_size, **options)  # type: ignore[arg-type]

    return opening


@pytest.fixture
async def bus(open_bus: OpenBus, bus_url: str) -> AsyncIterator[BroadcastEventBus]:
    async with open_bus(bus_url) as opened:
        yield opened


@pytest.fixture
async def inspector(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain client of the test Redis, to look at it from outside the bus."""
    client = Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()
