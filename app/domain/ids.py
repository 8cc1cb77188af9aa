"""Opaque identifiers."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A random 32-hex-character id (fits Kubernetes label values)."""
    return uuid.uuid4().hex
