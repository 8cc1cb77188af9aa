"""Leaving a subscription removes its queue and, for the topic's last one, the channel; ``close`` ends
every iteration, cancels and awaits every task, and closes every Redis connection."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from app.errors import Unavailable
from app.events import BroadcastEventBus
from tests.events.conftest import OpenBus, SteppedSleep, event, receive_one
from tests.redis_server import RedisServer


async def channel_subscribers(inspector: Redis, topic: str) -> int:
    [(_, count)] = await inspector.pubsub_numsub(topic)
    return int(count)


async def connected_clients(inspector: Redis) -> int:
    return len(await inspector.client_list())  # the inspector's own connection included


async def test_leaving_a_subscription_removes_its_queue_and_the_channel(
    open_bus: OpenBus, redis_server: RedisServer, inspector: Redis
) -> None:
    async with open_bus(redis_server.url) as bus:
        async with bus.subscribe("workflow:a") as first:
            async with bus.subscribe("workflow:a"):
                assert bus.subscription_count == 2
                assert await channel_subscribers(inspector, "workflow:a") == 1  # one channel per bus
            assert bus.subscription_count == 1
            await bus.publish(event("workflow:a", 1))
            assert await receive_one(first) == event("workflow:a", 1)
        assert bus.topics == frozenset() and bus.subscription_count == 0
        assert await channel_subscribers(inspector, "workflow:a") == 0
        assert bus.task_count == 1  # only the listener


async def test_a_cancelled_subscriber_leaks_nothing(bus: BroadcastEventBus) -> None:
    entered = asyncio.Event()

    async def consume() -> None:
        async with bus.subscribe("workflow:a") as subscription:
            entered.set()
            async for _ in subscription:
                pass

    consumer = asyncio.create_task(consume())
    await entered.wait()
    assert bus.subscription_count == 1
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert bus.topics == frozenset() and bus.subscription_count == 0
    assert bus.task_count == 1


async def test_close_ends_iterations_and_leaves_no_task_or_connection(
    open_bus: OpenBus, bus_url: str, redis_server: RedisServer, inspector: Redis
) -> None:
    before_tasks = asyncio.all_tasks()
    before_clients = await connected_clients(inspector)
    received: list[object] = []
    subscribed = asyncio.Semaphore(0)
    delivered = asyncio.Semaphore(0)

    async def consume(bus: BroadcastEventBus) -> None:
        async with bus.subscribe("workflow:a") as subscription:
            subscribed.release()
            async for item in subscription:
                received.append(item)
                delivered.release()

    async with open_bus(bus_url) as bus:
        consumers = [asyncio.create_task(consume(bus)) for _ in range(3)]
        async with asyncio.timeout(5):
            for _ in consumers:
                await subscribed.acquire()
            await bus.publish(event("workflow:a", 1))
            for _ in consumers:
                await delivered.acquire()
        assert received == [event("workflow:a", 1)] * 3
        assert bus.task_count >= 1
        if bus_url.startswith("redis"):
            assert await connected_clients(inspector) == before_clients + 2  # publishing and pub/sub

    async with asyncio.timeout(5):
        await asyncio.gather(*consumers)  # each iteration ended when the bus closed
    assert bus.task_count == 0
    assert asyncio.all_tasks() == before_tasks
    assert await connected_clients(inspector) == before_clients
    with pytest.raises(Unavailable, match="closed"):
        await bus.publish(event("workflow:a", 2))
    with pytest.raises(Unavailable, match="not running"):
        async with bus.subscribe("workflow:a"):
            pass


async def test_close_while_reconnecting_stops_the_attempts(
    open_bus: OpenBus, redis_server: RedisServer, sleeps: SteppedSleep
) -> None:
    before_tasks = asyncio.all_tasks()
    async with open_bus(redis_server.url) as bus, bus.subscribe("workflow:a") as subscription:
        redis_server.stop()
        await sleeps.called()
        # closing now cancels the listener in its backoff
    assert bus.task_count == 0 and not bus.connected
    assert asyncio.all_tasks() == before_tasks
    with pytest.raises(StopAsyncIteration):
        await anext(aiter(subscription))
