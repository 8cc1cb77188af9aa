"""Events published on the event bus and streamed to subscribers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    METADATA = "METADATA"  # always first on a stream: the current state
    NODE_UPDATE = "NODE_UPDATE"  # one node's state changed
    WORKFLOW_SYNC = "WORKFLOW_SYNC"  # a later full resync (relist, bus reconnect, dropped queue)
    ERROR = "ERROR"
    COMPLETE = "COMPLETE"  # ends a finite stream (a run)
    DRIFT = "DRIFT"
    PRESENCE = "PRESENCE"


@dataclass(frozen=True, slots=True)
class Event:
    """``topic`` names the stream (``workflow:<id>``, ``run:<id>``); ``payload`` is JSON-safe."""

    type: EventType
    topic: str
    at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


def workflow_topic(workflow_id: str) -> str:
    return f"workflow:{workflow_id}"


def run_topic(run_id: str) -> str:
    return f"run:{run_id}"


def step_log_topic(run_id: str, node_id: str) -> str:
    """The lines of one flow step's log as they are stored (NODE_UPDATE with ``lines``), and its end
    (COMPLETE with ``status``)."""
    return f"steplog:{run_id}:{node_id}"
