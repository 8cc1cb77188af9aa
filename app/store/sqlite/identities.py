"""Linked provider identities, OAuth states and one-time codes in SQLite.

States and codes are consumed with one ``DELETE … RETURNING *``, so of concurrent consumers exactly one
gets the row; expired rows are swept when new ones are written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.domain.identities import OAuthCode, OAuthState, UserIdentity
from app.domain.users import User
from app.domain.workspaces import Workspace
from app.errors import NotFound
from app.store.codec import encode_datetime
from app.store.identities import (
    CODE_TAKEN,
    IDENTITY_TAKEN,
    STATE_TAKEN,
    code_from_doc,
    code_to_doc,
    identity_from_doc,
    identity_to_doc,
    state_from_doc,
    state_to_doc,
)
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.users import insert_user


async def insert_identity(tx: Tx, identity: UserIdentity) -> None:
    """Link ``identity`` inside the caller's write transaction; ``Conflict`` when it is linked already."""
    with duplicate_is_conflict(IDENTITY_TAKEN):
        await tx.insert("user_identities", identity_to_doc(identity))


class SqliteIdentities:
    """The ``IdentityLinkStore`` part of the SQLite store."""

    _db: Database

    async def get_identity(self, provider: str, subject: str) -> UserIdentity | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                "SELECT * FROM user_identities WHERE provider = ? AND subject = ?", (provider, subject)
            )
        return None if row is None else identity_from_doc(dict(row))

    async def identities_of_user(self, user_id: str) -> list[UserIdentity]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM user_identities WHERE user_id = ? ORDER BY provider, subject", (user_id,)
            )
        return [identity_from_doc(dict(row)) for row in rows]

    async def link_identity(self, identity: UserIdentity) -> None:
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM users WHERE id = ?", (identity.user_id,)) is None:
                raise NotFound("user", identity.user_id)
            await insert_identity(tx, identity)

    async def create_user_with_identity(
        self, user: User, personal_workspace: Workspace, identity: UserIdentity
    ) -> User:
        """As ``create_user`` (the first user is ADMIN, decided under the write lock), plus the identity,
        in one ``BEGIN IMMEDIATE`` transaction."""
        async with self._db.transaction() as tx:
            stored = await insert_user(tx, user, personal_workspace)
            await insert_identity(tx, replace(identity, user_id=stored.id))
        return stored

    async def create_oauth_state(self, state: OAuthState, *, sweep_before: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.run("DELETE FROM oauth_states WHERE expires_at < ?", (encode_datetime(sweep_before),))
            with duplicate_is_conflict(STATE_TAKEN):
                await tx.insert("oauth_states", state_to_doc(state))

    async def consume_oauth_state(self, state_id: str) -> OAuthState | None:
        async with self._db.transaction() as tx:
            row = await tx.row("DELETE FROM oauth_states WHERE id = ? RETURNING *", (state_id,))
        return None if row is None else state_from_doc(dict(row))

    async def create_oauth_code(self, code: OAuthCode, *, now: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.run("DELETE FROM oauth_codes WHERE expires_at <= ?", (encode_datetime(now),))
            with duplicate_is_conflict(CODE_TAKEN):
                await tx.insert("oauth_codes", code_to_doc(code))

    async def consume_oauth_code(self, code_id: str, *, now: datetime) -> OAuthCode | None:
        async with self._db.transaction() as tx:
            row = await tx.row("DELETE FROM oauth_codes WHERE id = ? RETURNING *", (code_id,))
        if row is None:
            return None
        code = code_from_doc(dict(row))
        return code if now < code.expires_at else None
