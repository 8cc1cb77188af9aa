"""``BroadcastEventBus``: the ``EventBus`` port over a broadcaster backend.

broadcaster carries strings on named channels between processes; this class adds what it lacks:

- **Serialisation.** Events travel as versioned JSON (``app.events.codec``); the channel is the event's topic.
  A message that is not an event is logged and skipped; the listener goes on.
- **Bounds.** One listener task per bus reads the backend and fans every message out, without awaiting
  anyone, to the subscriptions of its topic. Each subscription has a queue of at most ``queue_size``
  events. When a queue is full its backlog is dropped and replaced by ONE ``WORKFLOW_SYNC`` event with
  payload ``{"reason": "overflow"}`` (while that one is still waiting to be read, further overflows drop
  the backlog behind it again but add no second one); later events queue up behind it as usual. A slow
  subscriber therefore never delays the publisher, the listener or the other subscribers.
- **Reconnection.** When the backend fails (``next_published`` raises: the Redis connection closed, was
  refused, or stopped answering), the listener disconnects it and builds a new backend after an
  exponential backoff (``Backoff``: ``first`` doubling to ``cap``, minus up to ``jitter`` of it at random;
  time passes through the injectable ``sleep``), subscribes every current topic on it and only then gives
  every current subscription a ``WORKFLOW_SYNC`` with payload ``{"reason": "reconnect"}``: whatever was
  published meanwhile is lost, and the subscriber sends the full state instead. Meanwhile ``publish``
  raises ``Unavailable`` and ``subscribe`` still works (the topic is subscribed on reconnection).
- **Ownership.** Every task the bus starts is named, logs its failure at once, and is cancelled and
  awaited by ``close``; leaving a ``subscribe`` context removes its queue at once and unsubscribes the
  channel from the backend when it was the topic's last subscription.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from broadcaster import BroadcastBackend

from app.clock import SystemClock
from app.domain.events import Event, EventType
from app.errors import Unavailable
from app.events import codec
from app.ports import Clock

if TYPE_CHECKING:
    from app.ports import EventBus, EventSubscription

log = logging.getLogger(__name__)

BackendFactory = Callable[[], BroadcastBackend]
Sleep = Callable[[float], Awaitable[None]]
SyncReason = Literal["overflow", "reconnect"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnection attempts: ``first``, doubling up to ``cap`` seconds; each one is then
    shortened by a random fraction of at most ``jitter`` (0 ≤ jitter ≤ 1), so replicas spread out and no
    delay ever exceeds ``cap``."""

    first: float
    cap: float
    jitter: float

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap:
            raise ValueError("backoff needs 0 < first ≤ cap")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a fraction between 0 and 1")

    def delay(self, attempt: int, draw: float) -> float:
        """The delay before attempt ``attempt`` (0-based), with ``draw`` taken from [0, 1)."""
        full = min(self.cap, self.first * 2.0 ** min(attempt, 64))
        return full * (1 - self.jitter * draw)


class BusSubscription:
    """The events of one topic for one subscriber, in order; iterate it with ``async for``.

    The iteration ends when the bus closes. ``dropped`` counts events lost to overflows."""

    def __init__(self, topic: str, limit: int, now: Callable[[], datetime]) -> None:
        self.topic = topic
        self.dropped = 0
        self._limit = limit
        self._now = now
        # The bound is enforced by ``offer``; the one extra slot is for the end marker (``None``).
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=limit + 1)
        self._pending_sync: Event | None = None
        self._ended = False
        self._finished = False

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            self._finished = True
            raise StopAsyncIteration
        if item is self._pending_sync:
            self._pending_sync = None
        return item

    @property
    def backlog(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize() - (1 if self._ended and not self._finished else 0)

    # --- called by the bus, never awaiting ---------------------------------------------------------

    def offer(self, event: Event) -> None:
        if self._ended:
            return
        if self._queue.qsize() >= self._limit:
            if self._pending_sync is None:
                log.warning(
                    "event subscriber of %s fell %d events behind: backlog dropped, resync sent",
                    self.topic,
                    self._limit,
                )
            self._replace_backlog("overflow")
            self.dropped += 1  # ``event`` itself, covered by the resync
            return
        self._queue.put_nowait(event)

    def resync(self, reason: SyncReason) -> None:
        if self._ended:
            return
        if self._queue.qsize() >= self._limit:
            self._replace_backlog(reason)
        else:
            self._put_sync(reason)

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(None)

    def _replace_backlog(self, reason: SyncReason) -> None:
        while not self._queue.empty():
            if self._queue.get_nowait() is not self._pending_sync:
                self.dropped += 1
        self._put_sync(reason)

    def _put_sync(self, reason: SyncReason) -> None:
        sync = Event(EventType.WORKFLOW_SYNC, self.topic, self._now(), {"reason": reason})
        self._pending_sync = sync
        self._queue.put_nowait(sync)


class BroadcastEventBus:
    """``EventBus`` over broadcaster backends made by ``backend_factory`` (one per connection's life).

    ``start`` connects (``Unavailable`` if it cannot) and starts the listener; ``close`` stops everything.
    Use ``app.events.open_event_bus`` rather than calling these by hand."""

    def __init__(
        self,
        backend_factory: BackendFactory,
        *,
        queue_size: int,
        name: str = "event bus",
        reconnect_backoff: Backoff = Backoff(first=1.0, cap=30.0, jitter=0.2),
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._factory = backend_factory
        self._queue_size = queue_size
        self._name = name
        self._backoff = reconnect_backoff
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._draw = draw
        self._backend: BroadcastBackend | None = None  # None while (re)connecting and after close
        self._topics: dict[str, set[BusSubscription]] = {}
        self._lock = asyncio.Lock()  # orders backend (un)subscriptions and backend switches
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False
        self._closed = False

    # --- the EventBus port -------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        """Send ``event`` to the subscribers of ``event.topic`` in every process sharing the backend.

        ``ValueError`` if the event cannot be encoded; ``Unavailable`` if the bus is closed, reconnecting,
        or the backend refused it. Never waits for a subscriber."""
        message = codec.encode(event)
        backend = self._backend
        if backend is None:
            state = "closed" if self._closed else "reconnecting"
            raise Unavailable(
                f"the event bus ({self._name}) is {state}: {event.type} for {event.topic} not sent"
            )
        try:
            await backend.publish(event.topic, message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise Unavailable(f"publishing to the event bus ({self._name}) failed: {exc}") from exc

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[BusSubscription]:
        """The events published on ``topic`` from now on, while the context is open."""
        if not topic:
            raise ValueError("topic is empty")
        if self._closed or not self._started:
            raise Unavailable(f"the event bus ({self._name}) is not running")
        subscription = BusSubscription(topic, self._queue_size, self._clock.now)
        await self._attach(subscription)
        try:
            yield subscription
        finally:
            subscription.end()
            await self._detach(subscription)

    # --- life -------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("the event bus was already started")
        self._started = True
        backend = await self._connect_first()
        self._backend = backend
        self._spawn(f"event-bus-listener {self._name}", self._listen(backend))

    async def close(self) -> None:
        """End every subscription's iteration, cancel and await every task, close the backend."""
        if self._closed:
            return
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        backend, self._backend = self._backend, None
        if backend is not None:
            await self._dispose(backend)
        for subscriptions in self._topics.values():
            for subscription in subscriptions:
                subscription.end()

    # --- what tests and health checks may look at -------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._backend is not None

    @property
    def topics(self) -> frozenset[str]:
        """Topics with at least one open subscription."""
        return frozenset(self._topics)

    @property
    def subscription_count(self) -> int:
        return sum(len(subscriptions) for subscriptions in self._topics.values())

    @property
    def task_count(self) -> int:
        """Tasks the bus owns that are still running (the listener, unsubscriptions in flight)."""
        return len(self._tasks)

    # --- subscriptions --------------------------------------------------------------------------------

    async def _attach(self, subscription: BusSubscription) -> None:
        topic = subscription.topic
        async with self._lock:
            subscriptions = self._topics.get(topic)
            if subscriptions is None:
                subscriptions = self._topics[topic] = set()
                backend = self._backend
                if backend is not None:
                    try:
                        await backend.subscribe(topic)
                    except asyncio.CancelledError:
                        if not subscriptions:
                            del self._topics[topic]
                        raise
                    except Exception as exc:
                        # The backend fails as a whole (next_published raises) and the reconnection
                        # subscribes every topic again, then resyncs this subscription too.
                        log.warning("subscribing to %s on %s failed: %s", topic, self._name, exc)
            subscriptions.add(subscription)

    async def _detach(self, subscription: BusSubscription) -> None:
        topic = subscription.topic
        subscriptions = self._topics.get(topic)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if subscriptions or self._closed:
            return
        del self._topics[topic]
        # Shielded and owned by the bus: a cancelled subscriber still leaves the channel cleanly.
        release = self._spawn(f"event-bus-unsubscribe {topic}", self._release(topic))
        try:
            await asyncio.shield(release)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            # Not us: ``close`` cancelled the release, and the backend goes away with the bus.

    async def _release(self, topic: str) -> None:
        async with self._lock:
            backend = self._backend
            if topic in self._topics or backend is None:
                return  # subscribed again meanwhile, or the reconnection will not subscribe it
            try:
                await backend.unsubscribe(topic)
            except Exception as exc:
                log.warning("unsubscribing from %s on %s failed: %s", topic, self._name, exc)

    # --- the listener -----------------------------------------------------------------------------------

    async def _listen(self, backend: BroadcastBackend) -> None:
        while True:
            try:
                await self._pump(backend)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("the event bus (%s) lost its connection: %s", self._name, exc)
            self._backend = None
            await self._dispose(backend)
            backend = await self._reconnect()

    async def _pump(self, backend: BroadcastBackend) -> None:
        while True:
            message = await backend.next_published()
            subscriptions = self._topics.get(message.channel)
            if not subscriptions:
                continue
            event = codec.try_decode(message.message, channel=message.channel)
            if event is None:
                continue
            if event.topic != message.channel:
                log.warning(
                    "skipping an event for %s that arrived on channel %s", event.topic, message.channel
                )
                continue
            for subscription in tuple(subscriptions):
                subscription.offer(event)
            await asyncio.sleep(0)  # let subscribers run between messages of a burst

    async def _connect_first(self) -> BroadcastBackend:
        backend = self._factory()
        try:
            await backend.connect()
        except asyncio.CancelledError:
            await self._dispose(backend)
            raise
        except Exception as exc:
            await self._dispose(backend)
            raise Unavailable(f"cannot connect the event bus ({self._name}): {exc}") from exc
        return backend

    async def _reconnect(self) -> BroadcastBackend:
        attempt = 0
        while True:
            delay = self._backoff.delay(attempt, self._draw())
            attempt += 1
            log.info("the event bus (%s) reconnects in %.2f s (attempt %d)", self._name, delay, attempt)
            await self._sleep(delay)
            backend = self._factory()
            try:
                await backend.connect()
                async with self._lock:
                    for topic in list(self._topics):
                        await backend.subscribe(topic)
                    self._backend = backend
                    for subscriptions in self._topics.values():
                        for subscription in subscriptions:
                            subscription.resync("reconnect")
            except asyncio.CancelledError:
                await self._dispose(backend)
                raise
            except Exception as exc:
                log.warning(
                    "the event bus (%s) could not reconnect (attempt %d): %s", self._name, attempt, exc
                )
                await self._dispose(backend)
                continue
            log.warning("the event bus (%s) reconnected after %d attempt(s)", self._name, attempt)
            return backend

    async def _dispose(self, backend: BroadcastBackend) -> None:
        try:
            await backend.disconnect()
        except Exception as exc:
            log.warning("closing the event bus backend (%s) failed: %s", self._name, exc)

    # --- tasks ---------------------------------------------------------------------------------------

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(_guarded(name, work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


async def _guarded(name: str, work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("event bus task %s failed", name)


if TYPE_CHECKING:  # mypy proves the adapter satisfies the ports

    def _is_an_event_bus(bus: BroadcastEventBus) -> EventBus:
        return bus

    def _is_an_event_subscription(subscription: BusSubscription) -> EventSubscription:
        return subscription
