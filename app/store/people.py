"""What both backends share about people: the document forms of invitations, API tokens and password
resets (only hashes of their tokens), the tables that hold a workspace's content, and error messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.api_tokens import ApiToken
from app.domain.invitations import Invitation
from app.domain.password_resets import PasswordReset
from app.domain.workspaces import MemberRole
from app.store.codec import Document, decode_datetime, decode_optional_datetime, encode_datetime
from app.store.codec import encode_optional_datetime as encode_optional

LAST_ADMIN = "this is the last enabled administrator: make someone else an admin first"

# Collections (tables) whose records carry a ``workspace_id`` and go when their workspace is deleted.
# Workflows first: their versions, runs, secret values and health go with them (cascade in SQLite).
WORKSPACE_CONTENT: tuple[str, ...] = (
    "workflows",
    "clusters",
    "registries",
    "git_credentials",
    "compose_imports",
    "builds",
    "workspace_files",
    "workspace_secrets",
)


def search_pattern(search: str) -> str:
    """A ``LIKE`` pattern matching ``search`` anywhere (``\\`` escapes the wildcards)."""
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def invitation_to_doc(invitation: Invitation) -> Document:
    return {
        "id": invitation.id,
        "workspace_id": invitation.workspace_id,
        "email": invitation.email,
        "role": invitation.role.value,
        "token_hash": invitation.token_hash,
        "created_by": invitation.created_by,
        "created_at": encode_datetime(invitation.created_at),
        "expires_at": encode_datetime(invitation.expires_at),
        "accepted_at": encode_optional(invitation.accepted_at),
        "accepted_by": invitation.accepted_by,
        "revoked_at": encode_optional(invitation.revoked_at),
    }


def invitation_from_doc(doc: Mapping[str, Any]) -> Invitation:
    return Invitation(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        email=doc["email"],
        role=MemberRole(doc["role"]),
        token_hash=doc["token_hash"],
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        expires_at=decode_datetime(doc["expires_at"]),
        accepted_at=decode_optional_datetime(doc.get("accepted_at")),
        accepted_by=doc.get("accepted_by"),
        revoked_at=decode_optional_datetime(doc.get("revoked_at")),
    )


def api_token_to_doc(token: ApiToken) -> Document:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "workspace_id": token.workspace_id,
        "name": token.name,
        "role": token.role.value,
        "token_hash": token.token_hash,
        "created_at": encode_datetime(token.created_at),
        "expires_at": encode_optional(token.expires_at),
        "last_used_at": encode_optional(token.last_used_at),
        "revoked_at": encode_optional(token.revoked_at),
    }


def api_token_from_doc(doc: Mapping[str, Any]) -> ApiToken:
    return ApiToken(
        id=doc["id"],
        user_id=doc["user_id"],
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        role=MemberRole(doc["role"]),
        token_hash=doc["token_hash"],
        created_at=decode_datetime(doc["created_at"]),
        expires_at=decode_optional_datetime(doc.get("expires_at")),
        last_used_at=decode_optional_datetime(doc.get("last_used_at")),
        revoked_at=decode_optional_datetime(doc.get("revoked_at")),
    )


def password_reset_to_doc(reset: PasswordReset) -> Document:
    return {
        "id": reset.id,
        "user_id": reset.user_id,
        "token_hash": reset.token_hash,
        "created_at": encode_datetime(reset.created_at),
        "expires_at": encode_datetime(reset.expires_at),
        "used_at": encode_optional(reset.used_at),
    }


def password_reset_from_doc(doc: Mapping[str, Any]) -> PasswordReset:
    return PasswordReset(
        id=doc["id"],
        user_id=doc["user_id"],
        token_hash=doc["token_hash"],
        created_at=decode_datetime(doc["created_at"]),
        expires_at=decode_datetime(doc["expires_at"]),
        used_at=decode_optional_datetime(doc.get("used_at")),
    )
