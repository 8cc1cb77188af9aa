"""Password resets: a short-lived, single-use token that lets a user set a new password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """Only ``token_hash`` (SHA-256 of the whole token) is kept; the token goes to the user's inbox."""

    id: str
    user_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at
