"""People who sign in, and their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class UserRole(StrEnum):
    """A platform-wide role. The first user ever registered is an ``ADMIN``."""

    ADMIN = "ADMIN"
    USER = "USER"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str  # stored lower-cased; unique
    name: str
    password_hash: str
    role: UserRole
    disabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """One sign-in. Every token names its session; revoking the session ends every token of it."""

    id: str
    user_id: str
    created_at: datetime  # the moment of login; refresh is allowed while this is recent enough
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
