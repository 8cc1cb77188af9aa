"""Workspace secrets as JSON-safe documents, shared by both backends (see :mod:`app.store.codec` for the
conventions: fixed-width UTC datetimes). The value's ciphertext travels beside, never in a domain object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.workspace_secrets import WorkspaceSecret
from app.store.codec import Document, decode_datetime, encode_datetime

# What setting a secret again rewrites (the ciphertext beside them); created_* are kept.
REPLACED_FIELDS = ("description", "ciphertext", "updated_by", "updated_at")


def secret_to_doc(secret: WorkspaceSecret, ciphertext: str) -> Document:
    return {
        "workspace_id": secret.workspace_id,
        "name": secret.name,
        "description": secret.description,
        "ciphertext": ciphertext,
        "created_by": secret.created_by,
        "created_at": encode_datetime(secret.created_at),
        "updated_by": secret.updated_by,
        "updated_at": encode_datetime(secret.updated_at),
    }


def secret_from_doc(doc: Mapping[str, Any]) -> WorkspaceSecret:
    return WorkspaceSecret(
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        description=doc["description"],
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_by=doc["updated_by"],
        updated_at=decode_datetime(doc["updated_at"]),
    )
