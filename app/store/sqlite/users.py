"""Users and sessions in SQLite."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.domain.users import Session, User, UserRole
from app.domain.workspaces import MemberRole, Membership, Workspace
from app.errors import Conflict, NotFound
from app.store.codec import (
    encode_datetime,
    membership_to_doc,
    session_from_doc,
    session_to_doc,
    user_from_doc,
    user_to_doc,
    workspace_to_doc,
)
from app.store.common import EMAIL_TAKEN, normalise_email
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict


async def insert_user(tx: Tx, user: User, personal_workspace: Workspace) -> User:
    """The writes of ``create_user`` inside the caller's write transaction: the user (the first one becomes
    ADMIN, decided under the write lock), the personal workspace and its OWNER membership. ``Conflict`` for
    a taken e-mail or id. Returns the user as stored."""
    email = normalise_email(user.email)
    if await tx.value("SELECT 1 FROM users WHERE email = ?", (email,)) is not None:
        raise Conflict(EMAIL_TAKEN)
    first = await tx.value("SELECT 1 FROM users LIMIT 1") is None
    stored = replace(user, email=email, role=UserRole.ADMIN if first else user.role)
    owner = Membership(personal_workspace.id, stored.id, MemberRole.OWNER, stored.created_at)
    with duplicate_is_conflict("a user or workspace with this id already exists"):
        await tx.insert("users", user_to_doc(stored))
        await tx.insert("workspaces", workspace_to_doc(personal_workspace))
        await tx.insert("memberships", membership_to_doc(owner))
    return stored


class SqliteUsers:
    """The ``UserStore`` and ``SessionStore`` parts of the SQLite store."""

    _db: Database

    async def create_user(self, user: User, personal_workspace: Workspace) -> User:
        """User, personal workspace and OWNER membership in one ``BEGIN IMMEDIATE`` transaction; the
        "first user is ADMIN" check runs inside it, under SQLite's write lock, so it cannot race."""
        async with self._db.transaction() as tx:
            return await insert_user(tx, user, personal_workspace)

    async def get_user(self, user_id: str) -> User | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else user_from_doc(dict(row))

    async def get_user_by_email(self, email: str) -> User | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM users WHERE email = ?", (normalise_email(email),))
        return None if row is None else user_from_doc(dict(row))

    async def create_session(self, session: Session) -> None:
        """``NotFound`` if the user does not exist; ``Conflict`` if the session id is taken."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM users WHERE id = ?", (session.user_id,)) is None:
                raise NotFound("user", session.user_id)
            with duplicate_is_conflict("a session with this id already exists"):
                await tx.insert("sessions", session_to_doc(session))

    async def get_session(self, session_id: str) -> Session | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return None if row is None else session_from_doc(dict(row))

    async def revoke_session(self, session_id: str, at: datetime) -> None:
        """Mark the session revoked at ``at``; the first revocation wins; an unknown id is a no-op."""
        async with self._db.transaction() as tx:
            await tx.run(
                "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (encode_datetime(at), session_id),
            )
