"""A broadcaster backend over Redis pub/sub that works with redis-py 8 and tells when it breaks.

broadcaster 0.3.1's own ``RedisBackend`` sets its "ready" flag *before* its SUBSCRIBE has completed; with
redis-py 8, whose ``PubSub.subscribed`` only turns true once SUBSCRIBE returns, its listener finds nothing
subscribed, parks itself, and never delivers a message. Its listener also dies silently when the
connection drops (``next_published`` then waits forever), and redis-py's own retries would reconnect and
resubscribe without telling anyone that messages were lost in between.

This backend keeps broadcaster's interface (``BroadcastBackend``) and differs where it matters:

- ``subscribe`` returns only after Redis has *confirmed* the SUBSCRIBE, so a message published after it
  returns is delivered;
- one reader task (named, owned, awaited by ``disconnect``) reads the pub/sub connection all the time,
  subscribed or not, and hands messages over through a bounded buffer;
- redis-py's retries are off on the pub/sub connection, so a lost connection is never repaired behind our
  back: any failure — connection closed or refused, a SUBSCRIBE not confirmed in time, no answer to a PING
  sent after ``health_check_interval`` seconds of silence (a half-open connection) — ends the reader and
  makes ``next_published`` raise ``ConnectionError``. The owner (``BroadcastEventBus``) then disconnects this
  backend and builds a new one: one backend is one connection's life.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from broadcaster import BroadcastBackend, Event
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """``scheme://host:port/db`` without user name or password, for logs and task names."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisPubSubBackend(BroadcastBackend):
    """One publishing connection and one pub/sub connection to the Redis server at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        command_timeout: float = 5.0,
        health_check_interval: float = 30.0,
        buffer_size: int = 1024,
    ) -> None:
        # BroadcastBackend.__init__ only raises NotImplementedError: not called on purpose.
        if command_timeout <= 0 or health_check_interval <= 0 or buffer_size < 1:
            raise ValueError("command_timeout and health_check_interval must be positive, buffer_size ≥ 1")
        self._url = url
        self._where = redacted(url)
        self._command_timeout = command_timeout
        self._health_check_interval = health_check_interval
        # Messages read but not yet taken; the reader waits while it is full. ``None`` marks the failure.
        self._buffer: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=buffer_size)
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    @property
    def where(self) -> str:
        return self._where

    async def connect(self) -> None:
        timeouts: dict[str, Any] = {
            "socket_timeout": self._command_timeout,
            "socket_connect_timeout": self._command_timeout,
        }
        # No retries on the pub/sub connection: a reconnect there would hide lost messages.
        self._subscriber = Redis.from_url(self._url, retry=Retry(NoBackoff(), 0), **timeouts)
        # One immediate retry for PUBLISH, so a pooled connection the server closed is replaced.
        self._publisher = Redis.from_url(self._url, retry=Retry(NoBackoff(), 1), **timeouts)
        self._pubsub = self._subscriber.pubsub()
        try:
            # PING on the pub/sub connection opens it; its answer proves the server is there.
            await self._pubsub.ping()
            answer = await self._pubsub.get_message(timeout=self._command_timeout)
            if answer is None or answer["type"] != "pong":
                raise ConnectionError(f"Redis at {self._where} did not answer PING: {answer!r}")
            await self._publisher.ping()
        except BaseException:
            await self._close_clients()
            raise
        self._reader = asyncio.get_running_loop().create_task(
            self._read(self._pubsub), name=f"redis-pubsub-reader {self._where}"
        )

    async def disconnect(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.wait([reader])  # unlike awaiting it, keeps a cancellation of our own
        self._fail(ConnectionError("disconnected"))
        await self._close_clients()

    async def subscribe(self, channel: str) -> None:
        pubsub = self._connected()
        confirmed = self._confirmations.get(channel)
        if confirmed is None:
            confirmed = asyncio.get_running_loop().create_future()
            self._confirmations[channel] = confirmed
        try:
            async with asyncio.timeout(self._command_timeout):
                await pubsub.subscribe(channel)
                await asyncio.shield(confirmed)
        except TimeoutError as exc:
            failure = ConnectionError(f"Redis at {self._where} did not confirm SUBSCRIBE {channel}")
            self._fail(failure)
            raise failure from exc
        except Exception as exc:
            self._fail(exc)
            raise ConnectionError(f"SUBSCRIBE {channel} on Redis at {self._where} failed: {exc}") from exc

    async def unsubscribe(self, channel: str) -> None:
        pubsub = self._connected()
        try:
            async with asyncio.timeout(self._command_timeout):
                await pubsub.unsubscribe(channel)
        except Exception as exc:
            self._fail(exc)
            raise ConnectionError(f"UNSUBSCRIBE {channel} on Redis at {self._where} failed: {exc}") from exc

    async def publish(self, channel: str, message: Any) -> None:
        if self._publisher is None:
            raise ConnectionError(f"not connected to Redis at {self._where}")
        async with asyncio.timeout(self._command_timeout):
            await self._publisher.publish(channel, message)

    async def next_published(self) -> Event:
        if self._failure is not None and self._buffer.empty():
            raise ConnectionError(f"lost Redis at {self._where}: {self._failure}") from self._failure
        item = await self._buffer.get()
        if item is None:
            raise ConnectionError(f"lost Redis at {self._where}: {self._failure}") from self._failure
        return item

    # --- internals --------------------------------------------------------------------------------

    def _connected(self) -> PubSub:
        if self._failure is not None:
            raise ConnectionError(f"lost Redis at {self._where}: {self._failure}") from self._failure
        if self._pubsub is None:
            raise ConnectionError(f"not connected to Redis at {self._where}")
        return self._pubsub

    async def _read(self, pubsub: PubSub) -> None:
        """Read the pub/sub connection until it fails; the failure reaches ``next_published``."""
        awaiting_pong = False
        try:
            while True:
                message = await pubsub.get_message(timeout=self._health_check_interval)
                if message is None:
                    if awaiting_pong:
                        raise ConnectionError(
                            f"no answer to PING within {self._health_check_interval} s (half-open?)"
                        )
                    await pubsub.ping()
                    awaiting_pong = True
                    continue
                awaiting_pong = False
                kind = message["type"]
                if kind == "message":
                    await self._buffer.put(
                        Event(channel=_text(message["channel"]), message=_text(message["data"]))
                    )
                elif kind == "subscribe":
                    confirmed = self._confirmations.pop(_text(message["channel"]), None)
                    if confirmed is not None and not confirmed.done():
                        confirmed.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection's end: handed to next_published, not raised here
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._failure is not None:
            return
        self._failure = exc
        for confirmed in self._confirmations.values():
            if not confirmed.done():
                confirmed.set_exception(ConnectionError(f"lost Redis at {self._where}: {exc}"))
                confirmed.exception()  # retrieved here: a waiter may already have given up
        self._confirmations.clear()
        if self._buffer.full():  # what is lost here is covered by the resync that follows a reconnect
            self._buffer.get_nowait()
        self._buffer.put_nowait(None)

    async def _close_clients(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        clients = [self._subscriber, self._publisher]
        self._subscriber = self._publisher = None
        if pubsub is not None:
            await _quietly(pubsub.aclose(), self._where)  # type: ignore[no-untyped-call]
        for client in clients:
            if client is not None:
                await _quietly(client.aclose(), self._where)


async def _quietly(closing: Any, where: str) -> None:
    try:
        await closing
    except Exception as exc:
        log.debug("closing a connection to Redis at %s failed: %s", where, exc)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
