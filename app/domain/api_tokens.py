"""Personal API tokens: a user's credential for the CLI and CI, limited to one workspace and a role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.workspaces import MemberRole


@dataclass(frozen=True, slots=True)
class ApiToken:
    """Only ``token_hash`` (SHA-256 of the whole token) is kept; the token itself is shown once."""

    id: str
    user_id: str
    workspace_id: str
    name: str
    role: MemberRole  # at most the creator's role in the workspace, when created and when used
    token_hash: str
    created_at: datetime
    expires_at: datetime | None  # None: until revoked
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)
