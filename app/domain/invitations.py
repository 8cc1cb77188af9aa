"""Invitations to a workspace: a single-use link sent to an e-mail address, with the role it grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.workspaces import MemberRole


class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Invitation:
    """Only ``token_hash`` (SHA-256 of the whole token) is kept; the link is handed out once."""

    id: str
    workspace_id: str
    email: str  # lower-cased; only an account with this address can accept
    role: MemberRole
    token_hash: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    accepted_by: str | None = None  # None when consumed by a sign-up before the account existed
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if now >= self.expires_at:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING
