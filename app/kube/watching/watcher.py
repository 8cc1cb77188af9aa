"""One watch: list, then watch from the list's resourceVersion, forever (until cancelled).

- The first list (and the first after the cluster was down) goes to the sink whole (``on_resync``).
- ADDED/MODIFIED/DELETED go out as ``on_event`` only when the object really changed (see
  :mod:`~app.kube.watching.snapshots`); BOOKMARKs only move the resourceVersion on.
- A stream that ends (the server's ``timeoutSeconds``, a dropped connection, nothing heard for the
  inactivity timeout) is watched again from the last resourceVersion seen, without a relist.
- 410 Gone/Expired (as an ERROR event or as the answer) relists at once and sends only the real
  changes since what was delivered, deletions included.
- The cluster unreachable (connection, TLS, timeout, 401, 429, 5xx): the pool's ``Availability``
  says so once and this watch waits (backoff) and tries again; other refusals (403, an unknown kind)
  are logged and retried the same way. An unexpected error is logged with its traceback and the
  watch relists after the backoff: it never stops by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextlib import aclosing
from typing import Any

from app.kube.discovery import Resource
from app.kube.errors import KubeError, KubeUnavailable
from app.kube.watching.availability import Availability
from app.kube.watching.kinds import label_selector, shaped
from app.kube.watching.settings import Backoff, WatchSettings
from app.kube.watching.sinks import WatchEventType, WatchKey, WatchSink, delivered
from app.kube.watching.snapshots import Snapshot, resource_version
from app.kube.watching.streams import ClusterApi, MalformedStream, WatchStream

log = logging.getLogger(__name__)

Sleep = Callable[[float], Coroutine[Any, Any, None]]
GONE = 410


class Expired(Exception):
    """The resourceVersion is too old (410): relist."""


class StreamError(Exception):
    """The watch stream sent an ERROR other than 410."""


class KindWatch:
    def __init__(
        self,
        key: WatchKey,
        *,
        name: str,
        api: ClusterApi,
        sink: WatchSink,
        availability: Availability,
        settings: WatchSettings,
        sleep: Sleep,
        monotonic: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self.key = key
        self.name = name
        self._api = api
        self._sink = sink
        self._availability = availability
        self._settings = settings
        self._sleep = sleep
        self._monotonic = monotonic
        self._backoff = Backoff(settings, random)
        self._selector = label_selector(key)
        self._snapshot = Snapshot()
        self._resource: Resource | None = None
        self._resync = True  # the next list goes out whole
        self._stream: WatchStream | None = None
        self._wake = asyncio.Event()
        self._hasty_ends = 0  # streams in a row that ended at once having sent nothing
        self._complaint: str | None = None  # the last problem logged as a warning

    def request_resync(self) -> None:
        """The next list goes out whole (after an outage); an open stream is cut so that it comes now."""
        self._resync = True
        if self._stream is not None:
            self._stream.close()

    def wake(self) -> None:
        """Stop waiting to retry (the cluster is back)."""
        self._wake.set()

    async def run(self) -> None:
        since: str | None = None
        while True:
            try:
                if since is None or self._resync:
                    since = await self._relist()
                since = await self._watch(since)
            except Expired as exc:
                log.info("%s: %s; relisting", self.name, exc)
                since = None
            except KubeError as exc:
                if exc.status == GONE:  # the watch's resourceVersion, or a list's continue token, expired
                    log.info("%s: %s; relisting", self.name, exc)
                    if since is None:  # it was the relist that failed: not again at once
                        await self._pause()
                    since = None
                    continue
                if isinstance(exc, KubeUnavailable):
                    await self._availability.lost(str(exc))
                else:
                    self._complain(f"{exc}; trying again")
                await self._pause()
            except (StreamError, MalformedStream) as exc:
                self._complain(f"{exc}; relisting")
                since = None
                await self._pause()
            except Exception:
                log.exception("%s failed unexpectedly; relisting", self.name)
                since = None
                await self._pause()

    # --- list -------------------------------------------------------------------------------------

    async def _resolve(self) -> Resource:
        if self._resource is None:
            self._resource = await self._api.resolve(self.key.api_version, self.key.kind)
        return self._resource

    def _complain(self, problem: str) -> None:
        """A warning the first time, then quieter while the same problem repeats at each retry."""
        level = logging.DEBUG if problem == self._complaint else logging.WARNING
        log.log(level, "%s: %s", self.name, problem)
        self._complaint = problem

    async def _relist(self) -> str:
        resource = await self._resolve()
        listing = await self._api.list_objects(
            resource,
            self.key.namespace,
            label_selector=self._selector,
            page_size=self._settings.list_page_size,
        )
        await self._availability.reached()
        self._backoff.reset()
        self._complaint = None
        objects = [shaped(self.key, item) for item in listing.items]
        if self._resync:
            self._resync = False
            self._snapshot.replace(objects)
            log.debug("%s: listed %d at %s", self.name, len(objects), listing.resource_version)
            await delivered(
                self._sink.on_resync(self.key.kind, self.key.namespace, self._snapshot.objects()),
                f"{self.name} resync",
                log,
            )
        else:
            changes = self._snapshot.changes(objects)
            log.debug("%s: relisted at %s, %d changes", self.name, listing.resource_version, len(changes))
            for event in changes:
                await delivered(self._sink.on_event(event), f"{self.name} {event.type}", log)
        return listing.resource_version

    # --- watch ------------------------------------------------------------------------------------

    async def _watch(self, since: str) -> str:
        resource = await self._resolve()
        started = self._monotonic()
        heard = False
        watching = self._api.watch(
            resource,
            self.key.namespace,
            since=since,
            label_selector=self._selector,
            server_timeout=self._settings.server_timeout_seconds,
            inactivity_timeout=self._settings.inactivity_timeout_seconds,
        )
        async with watching as stream:
            if self._resync:  # an outage was declared while this one was opening
                return since
            self._stream = stream
            try:
                await self._availability.reached()
                async with aclosing(stream.events()) as events:
                    async for raw in events:
                        if not heard:
                            heard = True
                            self._backoff.reset()
                        since = await self._handle(raw, since)
            finally:
                self._stream = None
        if self._resync:
            return since
        log.debug(
            "%s: stream ended (%s); resuming from %s", self.name, stream.ending or "by the server", since
        )
        if heard or self._monotonic() - started >= self._settings.min_stream_seconds:
            self._hasty_ends = 0
        else:
            self._hasty_ends += 1
            if self._hasty_ends > 1:  # a server that ends every stream at once is not asked again at once
                await self._pause()
        return since

    async def _handle(self, raw: dict[str, Any], since: str) -> str:
        kind, obj = raw.get("type"), raw.get("object")
        if not isinstance(obj, dict):
            log.warning("%s: ignoring an event without an object: %.200r", self.name, raw)
            return since
        if kind == "BOOKMARK":
            return resource_version(obj) or since
        if kind == "ERROR":
            message = f"{obj.get('code')} {obj.get('reason')}: {obj.get('message')}"
            if obj.get("code") == GONE:
                raise Expired(f"the watch from resourceVersion {since} expired ({message})")
            raise StreamError(f"the watch stream failed ({message})")
        try:
            event_type = WatchEventType(str(kind))
        except ValueError:
            log.warning("%s: ignoring an event of unknown type %r", self.name, kind)
            return since
        for event in self._snapshot.apply(event_type, shaped(self.key, obj)):
            await delivered(self._sink.on_event(event), f"{self.name} {event.type}", log)
        return resource_version(obj) or since

    # --- waiting ----------------------------------------------------------------------------------

    async def _pause(self) -> None:
        """Wait the next backoff delay, or until woken."""
        delay = self._backoff.next_delay()
        log.debug("%s: retrying in %.1f s", self.name, delay)
        self._wake.clear()
        loop = asyncio.get_running_loop()
        sleeping = loop.create_task(self._sleep(delay), name=f"{self.name}: backoff")
        woken = loop.create_task(self._wake.wait(), name=f"{self.name}: wake")
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            woken.cancel()
            await asyncio.gather(sleeping, woken, return_exceptions=True)
