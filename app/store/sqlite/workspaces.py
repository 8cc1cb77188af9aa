"""Workspaces and memberships in SQLite."""

from __future__ import annotations

from app.domain.workspaces import MemberRole, Membership, Scope, Workspace
from app.errors import Conflict, NotFound
from app.store.codec import membership_from_doc, membership_to_doc, workspace_from_doc, workspace_to_doc
from app.store.common import LAST_OWNER
from app.store.sqlite.connection import Database, duplicate_is_conflict
from app.store.sqlite.scoping import in_scope


class SqliteWorkspaces:
    """The ``WorkspaceStore`` part of the SQLite store."""

    _db: Database

    async def create_workspace(self, workspace: Workspace, owner: Membership) -> None:
        """Workspace and first OWNER membership in one transaction."""
        if owner.workspace_id != workspace.id or owner.role is not MemberRole.OWNER:
            raise ValueError("the first membership of a workspace must be an OWNER of that workspace")
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM users WHERE id = ?", (owner.user_id,)) is None:
                raise NotFound("user", owner.user_id)
            with duplicate_is_conflict("a workspace with this id already exists"):
                await tx.insert("workspaces", workspace_to_doc(workspace))
            await tx.insert("memberships", membership_to_doc(owner))

    async def get_workspace(self, scope: Scope, workspace_id: str) -> Workspace | None:
        where = in_scope(scope, "id")
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM workspaces WHERE id = ? AND {where.sql}",  # noqa: S608
                (workspace_id, *where.params),
            )
        return None if row is None else workspace_from_doc(dict(row))

    async def list_workspaces(self, scope: Scope) -> list[Workspace]:
        where = in_scope(scope, "id")
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM workspaces WHERE {where.sql} ORDER BY personal DESC, name, id",  # noqa: S608
                where.params,
            )
        return [workspace_from_doc(dict(row)) for row in rows]

    async def memberships_of_user(self, user_id: str) -> list[Membership]:
        """Not scoped: this is what a caller's scope is built from."""
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM memberships WHERE user_id = ? ORDER BY created_at, workspace_id", (user_id,)
            )
        return [membership_from_doc(dict(row)) for row in rows]

    async def list_members(self, scope: Scope, workspace_id: str) -> list[Membership]:
        """The members of a workspace in scope, oldest first; none for a workspace outside it."""
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM memberships WHERE workspace_id = ? AND {where.sql} "  # noqa: S608
                "ORDER BY created_at, user_id",
                (workspace_id, *where.params),
            )
        return [membership_from_doc(dict(row)) for row in rows]

    async def add_member(self, membership: Membership) -> None:
        """``NotFound`` for an unknown workspace or user; ``Conflict`` if already a member."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (membership.workspace_id,)) is None:
                raise NotFound("workspace", membership.workspace_id)
            if await tx.value("SELECT 1 FROM users WHERE id = ?", (membership.user_id,)) is None:
                raise NotFound("user", membership.user_id)
            with duplicate_is_conflict("the user is already a member of this workspace"):
                await tx.insert("memberships", membership_to_doc(membership))

    async def remove_member(self, workspace_id: str, user_id: str) -> None:
        """Check and delete in one ``BEGIN IMMEDIATE`` transaction, so two concurrent removals of
        the last two owners cannot both pass the check."""
        async with self._db.transaction() as tx:
            role = await tx.value(
                "SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?", (workspace_id, user_id)
            )
            if role is None:
                raise NotFound("membership", f"{workspace_id}/{user_id}")
            if role == MemberRole.OWNER.value:
                others = await tx.value(
                    "SELECT count(*) FROM memberships WHERE workspace_id = ? AND role = ? AND user_id <> ?",
                    (workspace_id, MemberRole.OWNER.value, user_id),
                )
                if others == 0:
                    raise Conflict(LAST_OWNER)
            await tx.run(
                "DELETE FROM memberships WHERE workspace_id = ? AND user_id = ?", (workspace_id, user_id)
            )
