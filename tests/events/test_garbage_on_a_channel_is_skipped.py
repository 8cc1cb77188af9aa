"""Whatever else is published on a channel is logged and skipped; the listener keeps delivering."""

from __future__ import annotations

import json
import logging

import pytest
from redis.asyncio import Redis

from tests.events.conftest import OpenBus, event, receive_one
from tests.redis_server import RedisServer

GOOD = {
    "v": 1,
    "type": "NODE_UPDATE",
    "topic": "workflow:a",
    "at": "2026-01-01T00:00:00+00:00",
    "payload": {},
}

GARBAGE: list[bytes | str] = [
    b"\xff\xfe\x00 not utf-8",
    "not json at all",
    "[]",
    json.dumps({**GOOD, "v": 99}),
    json.dumps({**GOOD, "type": "BOGUS"}),
    json.dumps({**GOOD, "topic": "workflow:elsewhere"}),  # valid, but not this channel's topic
]


async def test_garbage_is_logged_and_skipped(
    open_bus: OpenBus, redis_server: RedisServer, inspector: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_bus(redis_server.url) as bus, bus.subscribe("workflow:a") as subscription:
        with caplog.at_level(logging.WARNING, logger="app.events"):
            for junk in GARBAGE:
                assert await inspector.publish("workflow:a", junk) == 1
            await bus.publish(event("workflow:a", 1))
            assert await receive_one(subscription) == event("workflow:a", 1)
        assert subscription.backlog == 0
        assert bus.connected and bus.task_count == 1
    skipped = [record for record in caplog.records if "skipping" in record.getMessage()]
    assert len(skipped) == len(GARBAGE)
    assert all("workflow:a" in record.getMessage() for record in skipped)
