"""Workspace files as JSON-safe documents, shared by both backends (see :mod:`app.store.codec` for the
conventions: ``"id"`` key, fixed-width UTC datetimes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.files import WorkspaceFile
from app.store.codec import Document, decode_datetime, encode_datetime

# What replacing a file at the same path rewrites (the revision is bumped beside them).
REPLACED_FIELDS = ("content", "content_type", "size", "sha256", "updated_by", "updated_at")


def file_to_doc(file: WorkspaceFile) -> Document:
    return {
        "id": file.id,
        "workspace_id": file.workspace_id,
        "path": file.path,
        "content": file.content,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        "revision": file.revision,
        "created_by": file.created_by,
        "created_at": encode_datetime(file.created_at),
        "updated_by": file.updated_by,
        "updated_at": encode_datetime(file.updated_at),
    }


def file_from_doc(doc: Mapping[str, Any]) -> WorkspaceFile:
    return WorkspaceFile(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        path=doc["path"],
        content=doc["content"],
        content_type=doc["content_type"],
        size=int(doc["size"]),
        sha256=doc["sha256"],
        revision=int(doc["revision"]),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_by=doc["updated_by"],
        updated_at=decode_datetime(doc["updated_at"]),
    )
