"""``Event`` ↔ JSON text, the only form events take on a broadcaster channel.

The envelope is versioned and decoded strictly: a message from another version of Trellis, or anything
else that is not exactly an envelope this code writes, is refused with ``EventDecodeError`` — never
half-understood. ``try_decode`` turns that refusal into a logged warning, so garbage on a channel is
skipped instead of stopping the listener.

Envelope (version 1)::

    {"v": 1, "type": "NODE_UPDATE", "topic": "workflow:…", "at": "2026-01-15T09:00:00.123456+00:00",
     "payload": {…}}

``payload`` must be JSON already: str, int, float, bool, None, lists (tuples read back as lists) and
mappings with str keys (read back as dicts); a ``StrEnum`` member travels as its string and compares
equal to it. Anything else — a datetime, a set, NaN — is refused by ``encode`` with the path to the
offending value, rather than silently turned into something the reader cannot tell apart.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from app.domain.events import Event, EventType

log = logging.getLogger(__name__)

VERSION: Final = 1
_FIELDS: Final = frozenset({"v", "type", "topic", "at", "payload"})
_LOGGED_CHARS: Final = 200


class EventDecodeError(ValueError):
    """The text is not a version-``VERSION`` event envelope; the message says why."""


def encode(event: Event) -> str:
    """The JSON text of ``event``; ``ValueError`` if it cannot be carried faithfully."""
    if not isinstance(event.type, EventType):
        raise ValueError(f"event type {event.type!r} is not an EventType")
    if not event.topic:
        raise ValueError("event topic is empty")
    if event.at.utcoffset() is None:
        raise ValueError("event time must be timezone-aware")
    envelope = {
        "v": VERSION,
        "type": event.type.value,
        "topic": event.topic,
        "at": event.at.isoformat(),
        "payload": _plain(event.payload, "payload"),
    }
    return json.dumps(envelope, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def decode(text: str) -> Event:
    """The event in ``text``; ``EventDecodeError`` for anything but a well-formed version-1 envelope."""
    try:
        raw = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise EventDecodeError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise EventDecodeError(f"not an object but {type(raw).__name__}")
    version = raw.get("v")
    if type(version) is not int:
        raise EventDecodeError("no version")
    if version != VERSION:
        raise EventDecodeError(f"unsupported version {version} (this reader knows {VERSION})")
    if raw.keys() != _FIELDS:
        missing = sorted(_FIELDS - raw.keys())
        extra = sorted(raw.keys() - _FIELDS)
        raise EventDecodeError(f"fields differ from the envelope: missing {missing}, unexpected {extra}")
    try:
        event_type = EventType(raw["type"])
    except ValueError:
        raise EventDecodeError(f"unknown event type {raw['type']!r}") from None
    topic = raw["topic"]
    if not isinstance(topic, str) or not topic:
        raise EventDecodeError("topic is not a non-empty string")
    at = _parse_time(raw["at"])
    payload = raw["payload"]
    if not isinstance(payload, dict):
        raise EventDecodeError("payload is not an object")
    return Event(type=event_type, topic=topic, at=at, payload=payload)


def try_decode(text: str, *, channel: str) -> Event | None:
    """``decode``, or ``None`` after a logged warning naming the channel and showing the start of ``text``."""
    try:
        return decode(text)
    except EventDecodeError as exc:
        shown = text if len(text) <= _LOGGED_CHARS else text[:_LOGGED_CHARS] + "…"
        log.warning("skipping a message on channel %s that is not an event (%s): %r", channel, exc, shown)
        return None


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise EventDecodeError("at is not a string")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise EventDecodeError(f"at is not an ISO 8601 time: {value!r}") from None
    if at.utcoffset() is None:
        raise EventDecodeError(f"at has no time zone: {value!r}")
    return at


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _plain(value: Any, path: str) -> Any:
    """A copy of ``value`` made of dicts and lists; ``ValueError`` for what JSON cannot carry."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} is not a finite number")
        return value
    if isinstance(value, Mapping):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is not a string")
            plain[key] = _plain(item, f"{path}.{key}")
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ValueError(f"{path}: {type(value).__name__} is not JSON (convert it before publishing)")
