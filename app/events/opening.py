"""Opening the event bus from its URL: ``memory://`` (one process) or ``redis://`` / ``rediss://``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from broadcaster import BroadcastBackend
from broadcaster._backends.memory import MemoryBackend

from app.events.bus import BackendFactory, Backoff, BroadcastEventBus, Sleep
from app.events.redis_backend import RedisPubSubBackend, redacted
from app.ports import Clock

DEFAULT_RECONNECT = Backoff(first=1.0, cap=30.0, jitter=0.2)


def backend_factory(url: str, *, command_timeout: float, health_check_interval: float) -> BackendFactory:
    """A maker of fresh, unconnected backends for ``url``; ``ValueError`` for any other scheme."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":

        def memory() -> BroadcastBackend:
            return MemoryBackend(url)

        return memory
    if scheme in ("redis", "rediss"):

        def redis() -> BroadcastBackend:
            return RedisPubSubBackend(
                url, command_timeout=command_timeout, health_check_interval=health_check_interval
            )

        return redis
    raise ValueError(f"the event bus URL must start with memory://, redis:// or rediss://, not {scheme}://")


@asynccontextmanager
async def open_event_bus(
    url: str,
    *,
    queue_size: int,
    reconnect_backoff: Backoff = DEFAULT_RECONNECT,
    command_timeout: float = 5.0,
    health_check_interval: float = 30.0,
    clock: Clock | None = None,
    sleep: Sleep = asyncio.sleep,
    draw: Callable[[], float] = random.random,
) -> AsyncIterator[BroadcastEventBus]:
    """A started ``BroadcastEventBus`` on ``url``, closed (every task awaited) when the context ends.

    ``queue_size``: events one subscriber may fall behind before its backlog is replaced by a resync.
    ``reconnect_backoff``: delays between reconnection attempts; ``sleep`` waits them (tests pass their
    own). ``command_timeout``: seconds a Redis connect, SUBSCRIBE or PUBLISH may take.
    ``health_check_interval``: seconds of silence on the Redis pub/sub connection after which it is
    PINGed; no answer within as long again counts as a lost connection.
    Raises ``Unavailable`` if the first connection fails, ``ValueError`` for an unsupported URL."""
    bus = BroadcastEventBus(
        backend_factory(url, command_timeout=command_timeout, health_check_interval=health_check_interval),
        queue_size=queue_size,
        name=redacted(url),
        reconnect_backoff=reconnect_backoff,
        clock=clock,
        sleep=sleep,
        draw=draw,
    )
    try:
        await bus.start()
        yield bus
    finally:
        await bus.close()
