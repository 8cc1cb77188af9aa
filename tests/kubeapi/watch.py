"""``watch=true``: newline-delimited JSON events with resourceVersion semantics and bookmarks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from .errors import ApiError, bad_request
from .objects import shaped
from .params import flag
from .resources import ResourceType
from .selectors import FieldSelector, LabelSelector
from .store import BOOKMARK, CLOSE, Event, Store, Watcher


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": event_type, "object": obj}, separators=(",", ":")) + "\n").encode()


def bookmark(rt: ResourceType, rv: int, *, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}


def serve_watch(
    store: Store,
    rt: ResourceType,
    namespace: str | None,
    query: dict[str, str],
    bookmark_interval: Callable[[], float | None],
) -> StreamingResponse:
    labels = LabelSelector.parse(query.get("labelSelector"))
    fields = FieldSelector.parse(query.get("fieldSelector"), rt.kind)
    rv_param = query.get("resourceVersion") or ""
    if rv_param and not rv_param.isdigit():
        raise bad_request(f'resourceVersion: Invalid value: "{rv_param}": must be a non-negative integer')
    allow_bookmarks = flag(query, "allowWatchBookmarks")
    send_initial = flag(query, "sendInitialEvents")
    timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        watcher = Watcher(rt, namespace, labels, fields)
        # snapshot and registration happen without an await in between: nothing is missed
        initial: list[tuple[str, dict[str, Any]]] = []
        replay: list[Event] = []
        if not rv_param or rv_param == "0" or send_initial:
            for obj in store.list(rt, namespace):
                if labels.matches(obj["metadata"].get("labels")) and fields.matches(obj):
                    initial.append(("ADDED", shaped(rt, obj)))
            start_rv = store.rv
        else:
            try:
                replay = store.events_since(int(rv_param))
            except ApiError as err:
                yield _line("ERROR", err.status())
                return
            start_rv = store.rv
        store.register(watcher)
        try:
            for event_type, obj in initial:
                yield _line(event_type, obj)
            if send_initial and allow_bookmarks:
                yield _line("BOOKMARK", bookmark(rt, start_rv, initial_end=True))
            for event in replay:
                if watcher.wants(event) and (seen := watcher.translate(event)) is not None:
                    yield _line(seen[0], shaped(rt, seen[1]))
            last_bookmark = loop.time()
            while True:
                waits = []
                if deadline is not None:
                    waits.append(deadline - loop.time())
                interval = bookmark_interval() if allow_bookmarks else None
                if interval is not None:
                    waits.append(last_bookmark + interval - loop.time())
                wait = max(min(waits), 0) if waits else None
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), wait)
                except TimeoutError:
                    if deadline is not None and loop.time() >= deadline:
                        return
                    last_bookmark = loop.time()
                    yield _line("BOOKMARK", bookmark(rt, store.rv))
                    continue
                if item is CLOSE:
                    return
                if item is BOOKMARK:
                    if allow_bookmarks:
                        last_bookmark = loop.time()
                        yield _line("BOOKMARK", bookmark(rt, store.rv))
                    continue
                assert isinstance(item, Event)
                seen = watcher.translate(item)
                if seen is not None:
                    yield _line(seen[0], shaped(rt, seen[1]))
        finally:
            store.unregister(watcher)

    return StreamingResponse(stream(), media_type="application/json")
