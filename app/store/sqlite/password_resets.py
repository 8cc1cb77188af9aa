"""Password resets in SQLite: only the hash of each token; completing one is a single transaction."""

from __future__ import annotations

from datetime import datetime

from app.domain.password_resets import PasswordReset
from app.store.codec import encode_datetime
from app.store.people import password_reset_from_doc, password_reset_to_doc
from app.store.sqlite.connection import Database, duplicate_is_conflict


class SqlitePasswordResets:
    """The ``PasswordResetStore`` part of the SQLite store; resets go with their user."""

    _db: Database

    async def insert_password_reset(self, reset: PasswordReset) -> None:
        async with self._db.transaction() as tx:
            with duplicate_is_conflict("a password reset with this id already exists"):
                await tx.insert("password_resets", password_reset_to_doc(reset))

    async def get_password_reset(self, reset_id: str) -> PasswordReset | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM password_resets WHERE id = ?", (reset_id,))
        return None if row is None else password_reset_from_doc(dict(row))

    async def complete_password_reset(self, reset_id: str, password_hash: str, at: datetime) -> str | None:
        stamp = encode_datetime(at)
        async with self._db.transaction() as tx:
            user_id = await tx.value(
                "SELECT user_id FROM password_resets WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                (reset_id, stamp),
            )
            if user_id is None:
                return None
            # This reset and any other still open for the user: one new password ends them all.
            await tx.run(
                "UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                (stamp, user_id),
            )
            await tx.run(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
                (password_hash, stamp, user_id),
            )
            await tx.run(
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (stamp, user_id),
            )
        return str(user_id)
