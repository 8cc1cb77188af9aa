"""What one watch has delivered so far, so that only real changes go out.

Objects are keyed by (namespace, name). A watch event whose object has the ``resourceVersion``
already delivered is a repeat (a replay after a reconnect) and is dropped, as is a DELETED for an
object that is not known. After a relist, :meth:`Snapshot.changes` compares the new list with what was
delivered and yields only the differences: new objects as ADDED, a new ``resourceVersion`` as
MODIFIED, a new ``uid`` under the same name (deleted and made again meanwhile) as DELETED then ADDED,
and what vanished as DELETED with its last known state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from app.kube.watching.sinks import WatchEvent, WatchEventType

ObjectKey = tuple[str, str]  # namespace ("" for cluster scope), name


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    meta = _meta(obj)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def resource_version(obj: Mapping[str, Any]) -> str | None:
    value = _meta(obj).get("resourceVersion")
    return str(value) if value else None


def _uid(obj: Mapping[str, Any]) -> str | None:
    value = _meta(obj).get("uid")
    return str(value) if value else None


class Snapshot:
    def __init__(self) -> None:
        self._objects: dict[ObjectKey, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._objects)

    def objects(self) -> list[dict[str, Any]]:
        return list(self._objects.values())

    def replace(self, objects: Iterable[dict[str, Any]]) -> None:
        self._objects = {object_key(obj): obj for obj in objects}

    def apply(self, event_type: WatchEventType, obj: dict[str, Any]) -> list[WatchEvent]:
        """Record one watch event; what to deliver for it (nothing for a repeat)."""
        key = object_key(obj)
        known = self._objects.get(key)
        if event_type is WatchEventType.DELETED:
            if known is None:
                return []
            del self._objects[key]
            return [WatchEvent(WatchEventType.DELETED, obj)]
        self._objects[key] = obj
        if known is None:
            return [WatchEvent(WatchEventType.ADDED, obj)]
        return list(self._change(known, obj))

    def changes(self, objects: Iterable[dict[str, Any]]) -> list[WatchEvent]:
        """Replace the snapshot with a fresh list; the real changes, in list order, then deletions."""
        fresh = {object_key(obj): obj for obj in objects}
        events: list[WatchEvent] = []
        for key, obj in fresh.items():
            known = self._objects.get(key)
            if known is None:
                events.append(WatchEvent(WatchEventType.ADDED, obj))
            else:
                events.extend(self._change(known, obj))
        events.extend(
            WatchEvent(WatchEventType.DELETED, known)
            for key, known in self._objects.items()
            if key not in fresh
        )
        self._objects = fresh
        return events

    @staticmethod
    def _change(known: dict[str, Any], obj: dict[str, Any]) -> Iterator[WatchEvent]:
        if _uid(known) and _uid(obj) and _uid(known) != _uid(obj):
            yield WatchEvent(WatchEventType.DELETED, known)
            yield WatchEvent(WatchEventType.ADDED, obj)
        elif resource_version(known) != resource_version(obj) or resource_version(obj) is None:
            yield WatchEvent(WatchEventType.MODIFIED, obj)
