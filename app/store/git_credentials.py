"""What both backends share about Git credentials: the document form (the secret stays the opaque
ciphertext the service made), the lower-cased name under the per-workspace unique index, and the
messages of the errors they raise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.git import GitCredential, GitCredentialKind
from app.store.codec import Document, decode_datetime, encode_datetime

GIT_CREDENTIAL_NAME_TAKEN = "the workspace already has a Git credential of this name"
GIT_CREDENTIAL_ID_TAKEN = "a Git credential with this id already exists"


def git_credential_name_key(name: str) -> str:
    """Names are unique per workspace case-insensitively: this (Unicode-aware) lower-cased form is
    stored beside the name and carries the unique index in both backends."""
    return name.lower()


def git_credential_to_doc(credential: GitCredential) -> Document:
    return {
        "id": credential.id,
        "workspace_id": credential.workspace_id,
        "name": credential.name,
        "name_lower": git_credential_name_key(credential.name),
        "host": credential.host,
        "kind": credential.kind.value,
        "username": credential.username,
        "ciphertext": credential.ciphertext,
        "created_by": credential.created_by,
        "created_at": encode_datetime(credential.created_at),
    }


def git_credential_from_doc(doc: Mapping[str, Any]) -> GitCredential:
    return GitCredential(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        host=doc["host"],
        kind=GitCredentialKind(doc["kind"]),
        username=doc.get("username"),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        ciphertext=doc["ciphertext"],
    )
