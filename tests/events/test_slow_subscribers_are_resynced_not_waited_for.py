"""A subscriber that falls behind loses its backlog and gets one WORKFLOW_SYNC(overflow) instead; the
publisher and the other subscribers never wait for it."""

from __future__ import annotations

import asyncio

from app.domain.events import EventType
from tests.events.conftest import OpenBus, event, is_sync, receive, receive_one

QUEUE = 4


async def test_a_slow_subscriber_overflows_while_a_fast_one_gets_everything_in_order(
    open_bus: OpenBus, bus_url: str
) -> None:
    async with (
        open_bus(bus_url, queue_size=QUEUE) as bus,
        bus.subscribe("workflow:a") as fast,
        bus.subscribe("workflow:a") as slow,
    ):
        received = []
        for n in range(20):
            async with asyncio.timeout(1):  # the publisher never waits for ``slow``, which reads nothing
                await bus.publish(event("workflow:a", n))
            received.append(await receive_one(fast))

        assert received == [event("workflow:a", n) for n in range(20)]
        # Every QUEUE-th event found ``slow`` full: backlog dropped, one resync in its place, and what
        # came after queued behind it. What is left: the last resync and the three events after it.
        assert slow.backlog == QUEUE
        tail = await receive(slow, QUEUE)
        assert is_sync(tail[0], "overflow") and tail[0].topic == "workflow:a"
        assert tail[1:] == [event("workflow:a", n) for n in (17, 18, 19)]
        assert slow.dropped == 17
        assert slow.backlog == 0

        # Caught up, it receives normally again.
        await bus.publish(event("workflow:a", 20))
        assert await receive_one(slow) == event("workflow:a", 20)


async def test_an_unread_resync_is_never_doubled(open_bus: OpenBus) -> None:
    async with (
        open_bus("memory://", queue_size=1) as bus,
        bus.subscribe("workflow:a") as slow,
        bus.subscribe("workflow:b") as marker,
    ):
        for n in range(50):
            await bus.publish(event("workflow:a", n))
        await bus.publish(event("workflow:b", 0))
        await receive_one(marker)  # the listener has handed out everything published before it
        assert slow.backlog == 1
        [only] = await receive(slow)
        assert is_sync(only, "overflow")
        assert slow.dropped == 50


async def test_a_burst_larger_than_the_queue_never_blocks_the_publisher(
    open_bus: OpenBus, bus_url: str
) -> None:
    async with (
        open_bus(bus_url, queue_size=QUEUE) as bus,
        bus.subscribe("workflow:a") as idle,
        bus.subscribe("workflow:b") as other,
    ):
        async with asyncio.timeout(5):
            for n in range(500):
                await bus.publish(event("workflow:a", n))
        await bus.publish(event("workflow:b", 0, EventType.ERROR))
        # The other topic's subscriber is served as soon as the listener reaches its event.
        assert await receive_one(other) == event("workflow:b", 0, EventType.ERROR)
        assert idle.backlog <= QUEUE
        first = await receive_one(idle)
        assert is_sync(first, "overflow")
