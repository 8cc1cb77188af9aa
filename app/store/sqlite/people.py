"""Administering people in SQLite: listing users, roles, disabling, passwords, deletion, sessions of a
user, and members' roles. Every write is one ``BEGIN IMMEDIATE`` transaction, so the "last enabled
admin" and "last owner" checks cannot race."""

from __future__ import annotations

from datetime import datetime

from app.domain.paging import Page
from app.domain.people import OwnedWorkspace
from app.domain.users import Session, User, UserRole
from app.domain.workspaces import MemberRole, Membership
from app.errors import Conflict, NotFound
from app.ports import UserKey
from app.store.codec import encode_datetime, membership_from_doc, session_from_doc, user_from_doc
from app.store.common import LAST_OWNER, check_page_size
from app.store.people import LAST_ADMIN, WORKSPACE_CONTENT, search_pattern
from app.store.sqlite.connection import Database, Tx

_ENABLED_ADMINS = "SELECT count(*) FROM users WHERE role = 'ADMIN' AND disabled = 0 AND id <> ?"
_SOLE_OWNER = (
    "SELECT w.id, w.name, w.personal FROM workspaces w JOIN memberships m ON m.workspace_id = w.id "
    "WHERE m.user_id = ? AND m.role = 'OWNER' AND NOT EXISTS (SELECT 1 FROM memberships o "
    "WHERE o.workspace_id = w.id AND o.role = 'OWNER' AND o.user_id <> ?) ORDER BY w.name, w.id"
)


async def _user(tx: Tx, user_id: str) -> User:
    row = await tx.row("SELECT * FROM users WHERE id = ?", (user_id,))
    if row is None:
        raise NotFound("user", user_id)
    return user_from_doc(dict(row))


async def _keep_an_admin(tx: Tx, user: User) -> None:
    """``Conflict`` if ``user`` is the only enabled admin (called before demoting, disabling, deleting)."""
    if user.role is UserRole.ADMIN and not user.disabled and await tx.value(_ENABLED_ADMINS, (user.id,)) == 0:
        raise Conflict(LAST_ADMIN)


class SqlitePeople:
    """The ``UserAdminStore`` part, the session listing of ``SessionStore`` and members' roles."""

    _db: Database

    async def list_users(self, search: str | None, first: int, after: UserKey | None) -> Page[User]:
        check_page_size(first)
        where, params = "1 = 1", []
        if search:
            where = "(email LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')"
            params = [search_pattern(search)] * 2
        async with self._db.transaction(write=False) as tx:
            total = int(await tx.value(f"SELECT count(*) FROM users WHERE {where}", params))  # noqa: S608
            page_where, page_params = where, list(params)
            if after is not None:
                page_where += " AND (email > ? OR (email = ? AND id > ?))"
                page_params += [after[0], after[0], after[1]]
            rows = await tx.rows(
                f"SELECT * FROM users WHERE {page_where} ORDER BY email, id LIMIT ?",  # noqa: S608
                (*page_params, first + 1),
            )
        users = [user_from_doc(dict(row)) for row in rows]
        return Page(items=users[:first], has_next=len(users) > first, total=total)

    async def set_user_role(self, user_id: str, role: UserRole, at: datetime) -> User:
        async with self._db.transaction() as tx:
            user = await _user(tx, user_id)
            if role is not UserRole.ADMIN:
                await _keep_an_admin(tx, user)
            await tx.run(
                "UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
                (role.value, encode_datetime(at), user_id),
            )
            return await _user(tx, user_id)

    async def set_user_disabled(self, user_id: str, disabled: bool, at: datetime) -> User:
        async with self._db.transaction() as tx:
            user = await _user(tx, user_id)
            if disabled:
                await _keep_an_admin(tx, user)
                await tx.run(
                    "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                    (encode_datetime(at), user_id),
                )
            await tx.run(
                "UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?",
                (int(disabled), encode_datetime(at), user_id),
            )
            return await _user(tx, user_id)

    async def set_password(
        self, user_id: str, password_hash: str, at: datetime, *, keep_session: str | None
    ) -> None:
        async with self._db.transaction() as tx:
            await _user(tx, user_id)
            await tx.run(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
                (password_hash, encode_datetime(at), user_id),
            )
            await tx.run(
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
                (encode_datetime(at), user_id, keep_session),
            )

    async def owned_workspaces(self, user_id: str) -> list[OwnedWorkspace]:
        async with self._db.transaction(write=False) as tx:
            return await _owned(tx, user_id)

    async def delete_user(self, user_id: str, at: datetime, *, hand_over_to: str | None) -> list[str]:
        async with self._db.transaction() as tx:
            await _keep_an_admin(tx, await _user(tx, user_id))
            if hand_over_to is not None:
                if hand_over_to == user_id:
                    raise NotFound("user", hand_over_to)
                await _user(tx, hand_over_to)
            deleted: list[str] = []
            for owned in await _owned(tx, user_id):
                if hand_over_to is None or not owned.needs_decision:
                    await _delete_workspace(tx, owned.workspace_id)
                    deleted.append(owned.workspace_id)
                    continue
                await tx.run(
                    "INSERT INTO memberships (workspace_id, user_id, role, created_at) "
                    "VALUES (?, ?, 'OWNER', ?) "
                    "ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = 'OWNER'",
                    (owned.workspace_id, hand_over_to, encode_datetime(at)),
                )
                await tx.run("UPDATE workspaces SET personal = 0 WHERE id = ?", (owned.workspace_id,))
            await tx.run("DELETE FROM users WHERE id = ?", (user_id,))  # sessions, memberships cascade
            return deleted

    async def list_sessions(self, user_id: str) -> list[Session]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM sessions WHERE user_id = ? AND revoked_at IS NULL "
                "ORDER BY created_at DESC, id",
                (user_id,),
            )
        return [session_from_doc(dict(row)) for row in rows]

    async def revoke_sessions(self, user_id: str, at: datetime, *, keep: str | None = None) -> int:
        async with self._db.transaction() as tx:
            return await tx.run(
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
                (encode_datetime(at), user_id, keep),
            )

    async def set_member_role(self, workspace_id: str, user_id: str, role: MemberRole) -> Membership:
        async with self._db.transaction() as tx:
            row = await tx.row(
                "SELECT * FROM memberships WHERE workspace_id = ? AND user_id = ?", (workspace_id, user_id)
            )
            if row is None:
                raise NotFound("membership", f"{workspace_id}/{user_id}")
            if row["role"] == MemberRole.OWNER.value and role is not MemberRole.OWNER:
                others = await tx.value(
                    "SELECT count(*) FROM memberships "
                    "WHERE workspace_id = ? AND role = 'OWNER' AND user_id <> ?",
                    (workspace_id, user_id),
                )
                if others == 0:
                    raise Conflict(LAST_OWNER)
            await tx.run(
                "UPDATE memberships SET role = ? WHERE workspace_id = ? AND user_id = ?",
                (role.value, workspace_id, user_id),
            )
            return membership_from_doc({**dict(row), "role": role.value})


async def _owned(tx: Tx, user_id: str) -> list[OwnedWorkspace]:
    owned = []
    for row in await tx.rows(_SOLE_OWNER, (user_id, user_id)):
        others = await tx.value(
            "SELECT count(*) FROM memberships WHERE workspace_id = ? AND user_id <> ?", (row["id"], user_id)
        )
        content = False
        for table in WORKSPACE_CONTENT:
            if await tx.value(f"SELECT 1 FROM {table} WHERE workspace_id = ? LIMIT 1", (row["id"],)):  # noqa: S608
                content = True
                break
        owned.append(
            OwnedWorkspace(
                workspace_id=row["id"],
                name=row["name"],
                personal=bool(row["personal"]),
                other_members=int(others),
                has_content=content,
            )
        )
    return owned


async def _delete_workspace(tx: Tx, workspace_id: str) -> None:
    """The workspace and everything in it (the records only: objects deployed to clusters stay)."""
    for table in WORKSPACE_CONTENT:
        await tx.run(f"DELETE FROM {table} WHERE workspace_id = ?", (workspace_id,))  # noqa: S608
    await tx.run("DELETE FROM workspaces WHERE id = ?", (workspace_id,))
