"""The codec carries events exactly, refuses what it could not carry, and rejects anything that is not an
envelope it writes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import pytest

from app.domain.events import Event, EventType
from app.events.codec import VERSION, EventDecodeError, decode, encode, try_decode


class Colour(StrEnum):
    GREEN = "GREEN"


PAYLOAD = {
    "node": {"id": "n1", "health": {"status": "DEGRADED", "facts": {"ready": 0, "desired": 3}}},
    "pods": [{"name": "web-0", "restarts": 7, "reason": "CrashLoopBackOff"}, {"name": "web-1", "ok": True}],
    "ratio": 0.25,
    "nothing": None,
    "text": 'ünïcødé ✓ "quoted" \n newline',
    "empty": {},
}


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_survives_with_time_and_nested_payload(event_type: EventType) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    original = Event(type=event_type, topic="workflow:wf-1", at=at, payload=PAYLOAD)

    copy = decode(encode(original))

    assert copy == original
    assert copy.type is event_type
    assert copy.at == at and copy.at.utcoffset() == timedelta(0)


def test_times_keep_their_offset_and_microseconds() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    copy = decode(encode(Event(EventType.METADATA, "run:r1", at, {})))
    assert copy.at == at and copy.at.utcoffset() == timedelta(hours=5, minutes=30)


def test_str_enums_travel_as_their_strings_and_tuples_as_lists() -> None:
    original = Event(EventType.NODE_UPDATE, "workflow:w", datetime.now(UTC), {"c": Colour.GREEN, "t": (1, 2)})
    copy = decode(encode(original))
    assert copy.payload == {"c": "GREEN", "t": [1, 2]}
    assert copy.payload["c"] == Colour.GREEN


def test_the_envelope_is_versioned_json() -> None:
    text = encode(Event(EventType.COMPLETE, "run:r1", datetime(2026, 1, 1, tzinfo=UTC), {"status": "FAILED"}))
    assert json.loads(text) == {
        "v": VERSION,
        "type": "COMPLETE",
        "topic": "run:r1",
        "at": "2026-01-01T00:00:00+00:00",
        "payload": {"status": "FAILED"},
    }


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "payload.when"),
        ({"a": [1, {"b": {1, 2}}]}, r"payload.a\[1\].b"),
        ({"x": float("nan")}, "payload.x"),
        ({"x": float("inf")}, "payload.x"),
        ({1: "int key"}, "payload"),
        ({"raw": b"bytes"}, "payload.raw"),
    ],
)
def test_what_json_cannot_carry_is_refused_with_its_path(payload: dict[object, object], path: str) -> None:
    with pytest.raises(ValueError, match=path):
        encode(Event(EventType.NODE_UPDATE, "workflow:w", datetime.now(UTC), payload))  # type: ignore[arg-type]


def test_a_naive_time_or_empty_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        encode(Event(EventType.NODE_UPDATE, "workflow:w", datetime(2026, 1, 1), {}))
    with pytest.raises(ValueError, match="topic"):
        encode(Event(EventType.NODE_UPDATE, "", datetime.now(UTC), {}))


GOOD = {
    "v": 1,
    "type": "NODE_UPDATE",
    "topic": "workflow:w",
    "at": "2026-01-01T00:00:00+00:00",
    "payload": {},
}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not JSON"),
        ("\ufffd\ufffdgarbage", "not JSON"),
        ("[1, 2]", "not an object"),
        ('"a string"', "not an object"),
        ("{}", "no version"),
        (json.dumps({**GOOD, "v": 2}), "unsupported version 2"),
        (json.dumps({**GOOD, "v": "1"}), "no version"),
        (json.dumps({**GOOD, "v": True}), "no version"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "payload"}), r"missing \['payload'\]"),
        (json.dumps({**GOOD, "extra": 1}), r"unexpected \['extra'\]"),
        (json.dumps({**GOOD, "type": "node_update"}), "unknown event type"),
        (json.dumps({**GOOD, "topic": ""}), "topic"),
        (json.dumps({**GOOD, "topic": 7}), "topic"),
        (json.dumps({**GOOD, "at": "yesterday"}), "ISO 8601"),
        (json.dumps({**GOOD, "at": "2026-01-01T00:00:00"}), "no time zone"),
        (json.dumps({**GOOD, "at": 1700000000}), "not a string"),
        (json.dumps({**GOOD, "payload": [1]}), "payload"),
        (json.dumps(GOOD).replace("{}", '{"x": NaN}'), "not JSON"),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_anything_but_an_envelope_is_rejected(text: str, reason: str) -> None:
    with pytest.raises(EventDecodeError, match=reason):
        decode(text)


def test_try_decode_logs_a_warning_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.events.codec"):
        assert try_decode("x" * 1000, channel="workflow:w") is None
    [record] = caplog.records
    assert "workflow:w" in record.getMessage() and "not JSON" in record.getMessage()
    assert len(record.getMessage()) < 500  # the garbage is shown only in part
    assert try_decode(json.dumps(GOOD), channel="workflow:w") == decode(json.dumps(GOOD))
