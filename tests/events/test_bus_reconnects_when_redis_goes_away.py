"""A lost Redis connection is noticed; the bus reconnects with exponential backoff (time from the injected
sleep, stepped by the test) and every current subscriber gets WORKFLOW_SYNC(reconnect), then events again."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from app.errors import Unavailable
from app.events import Backoff
from tests.events.conftest import OpenBus, SteppedSleep, event, is_sync, receive_one
from tests.redis_server import RedisServer

BACKOFF = Backoff(first=1.0, cap=4.0, jitter=0.5)


def half(_: object = None) -> float:
    return 0.5  # the "random" draw: every delay is shortened by jitter x 0.5 = 25 %


async def test_subscribers_are_resynced_after_redis_restarts(
    open_bus: OpenBus, redis_server: RedisServer, sleeps: SteppedSleep
) -> None:
    async with (
        open_bus(redis_server.url, reconnect_backoff=BACKOFF, draw=half) as bus,
        bus.subscribe("workflow:a") as a,
        bus.subscribe("run:r1") as r,
    ):
        await bus.publish(event("workflow:a", 1))
        assert await receive_one(a) == event("workflow:a", 1)

        redis_server.stop()
        assert await sleeps.called() == 0.75  # noticed: first delay, 1 s less 25 %
        assert not bus.connected
        with pytest.raises(Unavailable, match="reconnecting"):
            await bus.publish(event("workflow:a", 2))

        # Subscribing while disconnected works; the reconnection subscribes the topic.
        async with bus.subscribe("workflow:late") as late:
            sleeps.release()  # attempt 1: refused
            assert await sleeps.called() == 1.5
            sleeps.release()  # attempt 2: refused
            assert await sleeps.called() == 3.0
            sleeps.release()  # attempt 3: refused
            assert await sleeps.called() == 3.0  # the cap (4 s) less 25 %

            redis_server.start()
            sleeps.release()  # attempt 4: connected

            for subscription in (a, r, late):
                sync = await receive_one(subscription)
                assert is_sync(sync, "reconnect") and sync.topic == subscription.topic
            assert bus.connected

            for topic in ("workflow:a", "run:r1", "workflow:late"):
                await bus.publish(event(topic, 3))
            assert await receive_one(a) == event("workflow:a", 3)
            assert await receive_one(r) == event("run:r1", 3)
            assert await receive_one(late) == event("workflow:late", 3)
        assert sleeps.delays == [0.75, 1.5, 3.0, 3.0]


async def test_a_killed_pubsub_connection_is_noticed_and_replaced(
    open_bus: OpenBus, redis_server: RedisServer, sleeps: SteppedSleep, inspector: Redis
) -> None:
    async with open_bus(redis_server.url) as bus, bus.subscribe("workflow:a") as a:
        assert await inspector.client_kill_filter(_type="pubsub") == 1
        await sleeps.called()
        sleeps.release()
        assert is_sync(await receive_one(a), "reconnect")
        await bus.publish(event("workflow:a", 1))
        assert await receive_one(a) == event("workflow:a", 1)


async def pings(inspector: Redis) -> int:
    """PINGs the server has answered (two when the bus connects; the rest are its health checks)."""
    stats = await inspector.info("commandstats")
    return int(stats.get("cmdstat_ping", {}).get("calls", 0))


async def test_a_server_that_stops_answering_is_noticed_by_its_silence(
    open_bus: OpenBus, redis_server: RedisServer, sleeps: SteppedSleep, inspector: Redis
) -> None:
    async with (
        open_bus(redis_server.url, health_check_interval=0.1, command_timeout=0.5) as bus,
        bus.subscribe("workflow:a") as a,
    ):
        # An idle but healthy connection is PINGed, answers, and is kept: a health check is only sent
        # after the previous one was answered in time, else the bus would be reconnecting.
        for _ in range(100):
            if await pings(inspector) >= 2 + 3:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the idle pub/sub connection was not PINGed three times")
        await bus.publish(event("workflow:a", 0))
        assert await receive_one(a) == event("workflow:a", 0)
        assert sleeps.delays == [] and bus.connected

        redis_server.freeze()  # connections stay open; nothing is answered: no PONG within 0.2 s
        await sleeps.called()
        redis_server.thaw()
        sleeps.release()
        assert is_sync(await receive_one(a), "reconnect")
        await bus.publish(event("workflow:a", 1))
        assert await receive_one(a) == event("workflow:a", 1)


def test_backoff_doubles_up_to_its_cap_and_jitter_only_shortens() -> None:
    backoff = Backoff(first=5, cap=60, jitter=0.2)
    assert [backoff.delay(n, 0.0) for n in range(6)] == [5, 10, 20, 40, 60, 60]
    assert backoff.delay(10_000, 0.0) == 60
    assert backoff.delay(0, 0.999) == pytest.approx(4.001)
    assert all(48 <= backoff.delay(9, draw / 10) <= 60 for draw in range(10))
    with pytest.raises(ValueError, match="first"):
        Backoff(first=0, cap=1, jitter=0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(first=1, cap=1, jitter=2)
