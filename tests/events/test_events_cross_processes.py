"""Two processes share one Redis: an event published in one reaches a subscriber in the other, both ways."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from app.domain.events import EventType
from app.events import decode
from tests.events.conftest import WAIT, OpenBus, event, receive
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def peer(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.events.bus_peer",
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


async def read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(WAIT * 2):  # includes the interpreter's start
        line = await process.stdout.readline()
    if not line:
        assert process.stderr is not None
        raise AssertionError(f"the peer ended early: {(await process.stderr.read()).decode()}")
    return line.decode().strip()


async def test_an_event_published_in_another_process_reaches_a_subscriber_here(
    open_bus: OpenBus, redis_server: RedisServer
) -> None:
    async with (
        open_bus(redis_server.url) as bus,
        bus.subscribe("workflow:shared") as subscription,
        peer(redis_server.url, "publish", "workflow:shared", "3") as process,
    ):
        assert await read_line(process) == "SENT"
        received = await receive(subscription, 3)
        assert await process.wait() == 0
    assert [item.payload["n"] for item in received] == [0, 1, 2]
    assert {item.payload["pid"] for item in received} == {process.pid} != {os.getpid()}
    assert all(item.type is EventType.NODE_UPDATE and item.topic == "workflow:shared" for item in received)


async def test_an_event_published_here_reaches_a_subscriber_in_another_process(
    open_bus: OpenBus, redis_server: RedisServer
) -> None:
    async with peer(redis_server.url, "subscribe", "run:shared", "2") as process:
        assert await read_line(process) == "READY"
        async with open_bus(redis_server.url) as bus:
            await bus.publish(event("run:shared", 1))
            await bus.publish(event("run:shared", 2, EventType.COMPLETE))
        lines = [await read_line(process), await read_line(process)]
        assert await process.wait() == 0
    assert [decode(line) for line in lines] == [
        event("run:shared", 1),
        event("run:shared", 2, EventType.COMPLETE),
    ]
