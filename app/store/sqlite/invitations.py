"""Workspace invitations in SQLite: only the hash of their token; consumed once, atomically — by a member
joining, or together with the account a sign-up creates."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.domain.identities import UserIdentity
from app.domain.invitations import Invitation
from app.domain.users import User
from app.domain.workspaces import Membership, Workspace
from app.errors import NotFound
from app.store.codec import encode_datetime, membership_to_doc
from app.store.people import invitation_from_doc, invitation_to_doc
from app.store.sqlite.connection import Database, duplicate_is_conflict
from app.store.sqlite.identities import insert_identity
from app.store.sqlite.users import insert_user


class SqliteInvitations:
    """The ``InvitationStore`` part of the SQLite store; invitations go with their workspace."""

    _db: Database

    async def insert_invitation(self, invitation: Invitation) -> None:
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (invitation.workspace_id,)) is None:
                raise NotFound("workspace", invitation.workspace_id)
            with duplicate_is_conflict("an invitation with this id already exists"):
                await tx.insert("invitations", invitation_to_doc(invitation))

    async def get_invitation(self, invitation_id: str) -> Invitation | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM invitations WHERE id = ?", (invitation_id,))
        return None if row is None else invitation_from_doc(dict(row))

    async def list_invitations(self, workspace_id: str) -> list[Invitation]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM invitations WHERE workspace_id = ? ORDER BY created_at DESC, id",
                (workspace_id,),
            )
        return [invitation_from_doc(dict(row)) for row in rows]

    async def revoke_invitation(self, invitation_id: str, at: datetime) -> bool:
        async with self._db.transaction() as tx:
            changed = await tx.run(
                "UPDATE invitations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL "
                "AND accepted_at IS NULL",
                (encode_datetime(at), invitation_id),
            )
        return changed > 0

    async def consume_invitation(
        self, invitation_id: str, at: datetime, *, member: Membership | None
    ) -> Invitation | None:
        stamp = encode_datetime(at)
        async with self._db.transaction() as tx:
            changed = await tx.run(
                "UPDATE invitations SET accepted_at = ?, accepted_by = ? "
                "WHERE id = ? AND accepted_at IS NULL "
                "AND revoked_at IS NULL AND expires_at > ?",
                (stamp, member.user_id if member else None, invitation_id, stamp),
            )
            if changed == 0:
                return None
            if member is not None:
                doc = membership_to_doc(member)
                await tx.run(
                    "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (workspace_id, user_id) DO NOTHING",
                    (doc["workspace_id"], doc["user_id"], doc["role"], doc["created_at"]),
                )
            row = await tx.row("SELECT * FROM invitations WHERE id = ?", (invitation_id,))
        return None if row is None else invitation_from_doc(dict(row))

    async def create_user_by_invitation(
        self,
        user: User,
        personal_workspace: Workspace,
        *,
        invitation_id: str,
        at: datetime,
        identity: UserIdentity | None = None,
    ) -> User | None:
        """As ``create_user`` (and ``create_user_with_identity``), plus the invitation accepted by the new
        user and the membership it gives, in one ``BEGIN IMMEDIATE`` transaction: a taken e-mail or
        identity rolls the invitation back with the rest, and an invitation taken first writes nothing."""
        stamp = encode_datetime(at)
        async with self._db.transaction() as tx:
            row = await tx.row(
                "SELECT * FROM invitations WHERE id = ? AND accepted_at IS NULL "
                "AND revoked_at IS NULL AND expires_at > ?",
                (invitation_id, stamp),
            )
            if row is None:
                return None
            invitation = invitation_from_doc(dict(row))
            stored = await insert_user(tx, user, personal_workspace)
            if identity is not None:
                await insert_identity(tx, replace(identity, user_id=stored.id))
            await tx.run(
                "UPDATE invitations SET accepted_at = ?, accepted_by = ? WHERE id = ?",
                (stamp, stored.id, invitation.id),
            )
            member = Membership(invitation.workspace_id, stored.id, invitation.role, at)
            await tx.insert("memberships", membership_to_doc(member))
        return stored
