"""The id of the request being served, readable from anywhere in the task that serves it (and from
the tasks it starts, which copy the context)."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("trellis_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this code runs for, or None outside any request (background work)."""
    return request_id.get()
