"""Versions: full, append-only snapshots of a workflow's canvas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.workflows import Canvas


@dataclass(frozen=True, slots=True)
class VersionDraft:
    """What a caller asks to snapshot; the store allocates the number atomically."""

    canvas: Canvas
    tag: str | None
    description: str
    created_by: str
    created_at: datetime
    restored_from: int | None = None


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    workflow_id: str
    workspace_id: str
    number: int
    canvas: Canvas
    tag: str | None
    description: str
    created_by: str
    created_at: datetime
    restored_from: int | None = None
