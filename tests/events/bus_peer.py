"""A second process on the event bus, for tests/events/test_events_cross_processes.py.

python -m tests.events.bus_peer URL publish TOPIC COUNT     publishes COUNT events, prints "SENT"
python -m tests.events.bus_peer URL subscribe TOPIC COUNT   prints "READY" once subscribed, then each
                                                            event received (codec JSON), one a line,
                                                            and exits after COUNT of them
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

from app.domain.events import Event, EventType
from app.events import encode, open_event_bus


async def publish(url: str, topic: str, count: int) -> None:
    async with open_event_bus(url, queue_size=16) as bus:
        for n in range(count):
            payload = {"n": n, "pid": os.getpid()}
            await bus.publish(Event(EventType.NODE_UPDATE, topic, datetime.now(UTC), payload))
    print("SENT", flush=True)


async def subscribe(url: str, topic: str, count: int) -> None:
    async with open_event_bus(url, queue_size=16) as bus, bus.subscribe(topic) as subscription:
        print("READY", flush=True)
        received = 0
        async for event in subscription:
            print(encode(event), flush=True)
            received += 1
            if received == count:
                break


def main(argv: list[str]) -> None:
    url, mode, topic, count = argv
    work = publish if mode == "publish" else subscribe
    asyncio.run(asyncio.wait_for(work(url, topic, int(count)), timeout=20))


if __name__ == "__main__":
    main(sys.argv[1:])
