"""Publish and subscribe, on memory:// and on a real Redis: round trips, fan-out, topics kept apart."""

from __future__ import annotations

import pytest

from app.domain.events import Event, EventType
from app.errors import Unavailable
from app.events import BroadcastEventBus, open_event_bus
from tests.events.conftest import AT, event, receive, receive_one
from tests.redis_server import free_port


async def test_a_published_event_reaches_a_subscriber_unchanged(bus: BroadcastEventBus) -> None:
    original = Event(
        EventType.NODE_UPDATE,
        "workflow:wf-1",
        AT,
        {"nodeId": "n1", "health": {"status": "DEGRADED", "facts": {"restarts": 3}}, "pods": ["a", "b"]},
    )
    async with bus.subscribe("workflow:wf-1") as subscription:
        await bus.publish(original)
        assert await receive_one(subscription) == original


async def test_events_arrive_in_the_order_they_were_published(bus: BroadcastEventBus) -> None:
    async with bus.subscribe("run:r1") as subscription:
        for n in range(10):
            await bus.publish(event("run:r1", n))
        await bus.publish(event("run:r1", 10, EventType.COMPLETE))
        received = await receive(subscription, 11)
    assert [item.payload["n"] for item in received] == list(range(11))
    assert received[-1].type is EventType.COMPLETE


async def test_every_subscriber_of_a_topic_receives_and_other_topics_do_not(bus: BroadcastEventBus) -> None:
    async with (
        bus.subscribe("workflow:a") as first,
        bus.subscribe("workflow:a") as second,
        bus.subscribe("workflow:b") as other,
    ):
        await bus.publish(event("workflow:a", 1))
        await bus.publish(event("workflow:b", 2))

        assert await receive_one(first) == event("workflow:a", 1)
        assert await receive_one(second) == event("workflow:a", 1)
        # One listener delivers in publication order: had ``other`` been given workflow:a's event, it
        # would come before its own.
        assert await receive_one(other) == event("workflow:b", 2)
        assert first.backlog == second.backlog == other.backlog == 0


async def test_a_topic_can_be_left_and_subscribed_again(bus: BroadcastEventBus) -> None:
    for n in range(3):
        async with bus.subscribe("workflow:a") as subscription:
            await bus.publish(event("workflow:a", n))
            assert await receive_one(subscription) == event("workflow:a", n)
        assert bus.topics == frozenset()


async def test_an_event_that_cannot_be_encoded_is_refused_before_sending(bus: BroadcastEventBus) -> None:
    with pytest.raises(ValueError, match=r"payload\.at"):
        await bus.publish(Event(EventType.NODE_UPDATE, "workflow:a", AT, {"at": AT}))


async def test_an_unreachable_redis_is_unavailable_at_once() -> None:
    with pytest.raises(Unavailable, match="cannot connect"):
        async with open_event_bus(f"redis://127.0.0.1:{free_port()}/0", queue_size=4, command_timeout=2):
            pass


async def test_an_unknown_url_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match=r"memory://, redis:// or rediss://"):
        async with open_event_bus("kafka://localhost:9092", queue_size=4):
            pass
