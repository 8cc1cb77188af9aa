"""Opaque identifiers."""

from __future__ import annotations

import itertools
import secrets
import time
import uuid

_sequence = itertools.count()


def new_id() -> str:
    """A random 32-hex-character id (fits Kubernetes label values)."""
    return uuid.uuid4().hex


def new_ordered_id() -> str:
    """A 32-hex-character id that sorts in creation order within this process (time, then a counter),
    for append-only records listed newest first (audit entries), where timestamps may tie."""
    return f"{time.time_ns():016x}{next(_sequence) % 0xFFFFFF:06x}{secrets.token_hex(5)}"
