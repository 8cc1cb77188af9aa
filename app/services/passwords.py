"""Changing a password (other sessions end) and resetting a forgotten one by a single-use token.

Delivery of reset tokens is pluggable (:class:`PasswordResetNotifier`). The default,
:class:`LogPasswordResetNotifier`, logs only that a reset was requested (never the token or link): an
operator without e-mail delivery resets passwords another way (an admin, or the CLI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from app import errors
from app.auth.opaque_tokens import PASSWORD_RESET_PREFIX, matches, mint, token_id
from app.auth.passwords import MAX_PASSWORD_BYTES, PasswordHasher
from app.domain.password_resets import PasswordReset
from app.ports import Clock, PasswordResetStore, UserAdminStore, UserStore
from app.services.auditing import Auditor
from app.services.identity import PrincipalCache
from app.services.principals import Principal

log = logging.getLogger(__name__)

RESET_REFUSED = "the reset token is unknown, used or expired; ask for a new one"


@dataclass(frozen=True, slots=True)
class PasswordResetMessage:
    email: str
    name: str
    link: str  # holds the single-use token
    expires_at: datetime


class PasswordResetNotifier(Protocol):
    async def send_password_reset(self, message: PasswordResetMessage) -> None: ...


class LogPasswordResetNotifier:
    """Delivers nothing and logs only that a reset was requested."""

    async def send_password_reset(self, message: PasswordResetMessage) -> None:  # noqa: ARG002
        log.info("a password reset was requested (no delivery configured: the token was not sent)")


class PasswordServiceStore(UserStore, UserAdminStore, PasswordResetStore, Protocol):
    pass


def password_problems(password: str, min_length: int, path: str) -> list[errors.FieldError]:
    if len(password) < min_length:
        return [errors.FieldError(path, f"must be at least {min_length} characters")]
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return [errors.FieldError(path, f"must be at most {MAX_PASSWORD_BYTES} bytes")]
    return []


class PasswordService:
    def __init__(
        self,
        *,
        store: PasswordServiceStore,
        hasher: PasswordHasher,
        clock: Clock,
        auditor: Auditor,
        principals: PrincipalCache,
        notifier: PasswordResetNotifier,
        min_length: int,
        reset_ttl: timedelta,
        reset_url: str,
    ) -> None:
        """``reset_url``: the front end's page that sets a new password; ``?token=…`` is appended."""
        self._store = store
        self._hasher = hasher
        self._clock = clock
        self._auditor = auditor
        self._principals = principals
        self._notifier = notifier
        self._min_length = min_length
        self._reset_ttl = reset_ttl
        self._reset_url = reset_url

    async def change(self, principal: Principal, *, current: str, new: str) -> None:
        """Set a new password; every other session of the user ends."""
        principal.require_session()
        async with self._auditor.action(
            "auth.password.change",
            actor_id=principal.user_id,
            target_type="user",
            target_id=principal.user_id,
        ):
            user = await self._store.get_user(principal.user_id)
            if user is None or not await self._hasher.verify(current, user.password_hash):
                raise errors.Invalid.field("currentPassword", "is not your current password")
            problems = password_problems(new, self._min_length, "newPassword")
            if problems:
                raise errors.Invalid("the new password is not valid", problems)
            await self._store.set_password(
                user.id, await self._hasher.hash(new), self._clock.now(), keep_session=principal.session_id
            )
        self._principals.clear()

    async def request_reset(self, email: str) -> None:
        """Send a reset token if an active account has this address; the answer never tells."""
        async with self._auditor.action(
            "auth.password.reset_request", actor_id=None, target_type="user"
        ) as record:
            user = await self._store.get_user_by_email(email.strip().lower())
            if user is None or user.disabled:
                return
            record.target_id = user.id
            now = self._clock.now()
            minted = mint(PASSWORD_RESET_PREFIX)
            reset = PasswordReset(
                id=minted.id,
                user_id=user.id,
                token_hash=minted.digest,
                created_at=now,
                expires_at=now + self._reset_ttl,
            )
            await self._store.insert_password_reset(reset)
            await self._notifier.send_password_reset(
                PasswordResetMessage(
                    email=user.email,
                    name=user.name,
                    link=f"{self._reset_url}?token={quote(minted.plaintext)}",
                    expires_at=reset.expires_at,
                )
            )

    async def reset(self, *, token: str, new_password: str) -> None:
        """Set the password of the token's user (once); every session of that user ends."""
        async with self._auditor.action("auth.password.reset", actor_id=None, target_type="user") as record:
            token = token.strip()
            ident = token_id(PASSWORD_RESET_PREFIX, token)
            reset = None if ident is None else await self._store.get_password_reset(ident)
            if reset is None or not matches(token, reset.token_hash) or not reset.usable(self._clock.now()):
                raise errors.Invalid.field("token", RESET_REFUSED)
            record.actor_id = record.target_id = reset.user_id
            problems = password_problems(new_password, self._min_length, "newPassword")
            if problems:
                raise errors.Invalid("the new password is not valid", problems)
            hashed = await self._hasher.hash(new_password)
            if await self._store.complete_password_reset(reset.id, hashed, self._clock.now()) is None:
                raise errors.Invalid.field("token", RESET_REFUSED)
        self._principals.clear()
