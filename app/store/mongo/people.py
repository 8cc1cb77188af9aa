"""Administering people in MongoDB: listing users, roles, disabling, passwords, deletion, sessions of a
user, and members' roles.

Changes that could remove the last enabled admin first ``$inc`` the ``counters/admin_changes``
document inside their transaction, so two of them never run side by side (one hits a write conflict
and is retried after the other commits); members' roles touch the workspace's ``member_seq`` like
:class:`~app.store.mongo.workspaces.MongoWorkspaces` does.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from app.domain.paging import Page
from app.domain.people import OwnedWorkspace
from app.domain.users import Session, User, UserRole
from app.domain.workspaces import MemberRole, Membership
from app.errors import Conflict, NotFound
from app.ports import UserKey
from app.store.codec import encode_datetime, membership_from_doc, session_from_doc, user_from_doc
from app.store.common import LAST_OWNER, check_page_size
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo
from app.store.mongo.step_records import delete_step_records
from app.store.people import LAST_ADMIN, WORKSPACE_CONTENT

ADMIN_CHANGES = "admin_changes"
# Records keyed by workflow rather than workspace, removed with a deleted workspace's workflows.
_BY_WORKFLOW = ("secret_values", "node_healths")
# Further records that carry a workspace_id (beside WORKSPACE_CONTENT and memberships).
_BY_WORKSPACE = ("versions", "runs", "registry_pull_secrets", "invitations", "api_tokens")


class MongoPeople:
    """The ``UserAdminStore`` part, the session listing of ``SessionStore`` and members' roles."""

    _m: MongoDatabase

    async def list_users(self, search: str | None, first: int, after: UserKey | None) -> Page[User]:
        check_page_size(first)
        query: dict[str, Any] = {}
        if search:
            pattern = {"$regex": re.escape(search), "$options": "i"}
            query = {"$or": [{"email": pattern}, {"name": pattern}]}
        page_query = dict(query)
        if after is not None:
            page_query = {
                "$and": [
                    query,
                    {"$or": [{"email": {"$gt": after[0]}}, {"email": after[0], "_id": {"$gt": after[1]}}]},
                ]
            }
        with translate_errors():
            total = await self._m.users.count_documents(query)
            docs = await self._m.users.find(
                page_query, sort=[("email", 1), ("_id", 1)], limit=first + 1
            ).to_list()
        users = [user_from_doc(from_mongo(doc)) for doc in docs]
        return Page(items=users[:first], has_next=len(users) > first, total=total)

    async def set_user_role(self, user_id: str, role: UserRole, at: datetime) -> User:
        async def write(session: AsyncClientSession) -> User:
            user = await self._guarded_user(session, user_id)
            if role is not UserRole.ADMIN:
                await self._keep_an_admin(session, user)
            await self._m.users.update_one(
                {"_id": user_id},
                {"$set": {"role": role.value, "updated_at": encode_datetime(at)}},
                session=session,
            )
            return await self._user(session, user_id)

        return await self._m.transaction(write)

    async def set_user_disabled(self, user_id: str, disabled: bool, at: datetime) -> User:
        async def write(session: AsyncClientSession) -> User:
            user = await self._guarded_user(session, user_id)
            if disabled:
                await self._keep_an_admin(session, user)
                await self._m.sessions.update_many(
                    {"user_id": user_id, "revoked_at": None},
                    {"$set": {"revoked_at": encode_datetime(at)}},
                    session=session,
                )
            await self._m.users.update_one(
                {"_id": user_id},
                {"$set": {"disabled": disabled, "updated_at": encode_datetime(at)}},
                session=session,
            )
            return await self._user(session, user_id)

        return await self._m.transaction(write)

    async def set_password(
        self, user_id: str, password_hash: str, at: datetime, *, keep_session: str | None
    ) -> None:
        async def write(session: AsyncClientSession) -> None:
            await self._user(session, user_id)
            stamp = encode_datetime(at)
            await self._m.users.update_one(
                {"_id": user_id},
                {"$set": {"password_hash": password_hash, "updated_at": stamp}},
                session=session,
            )
            await self._m.sessions.update_many(
                {"user_id": user_id, "revoked_at": None, "_id": {"$ne": keep_session}},
                {"$set": {"revoked_at": stamp}},
                session=session,
            )

        await self._m.transaction(write)

    async def owned_workspaces(self, user_id: str) -> list[OwnedWorkspace]:
        with translate_errors():
            return await self._owned(None, user_id)

    async def delete_user(self, user_id: str, at: datetime, *, hand_over_to: str | None) -> list[str]:
        async def write(session: AsyncClientSession) -> list[str]:
            await self._keep_an_admin(session, await self._guarded_user(session, user_id))
            if hand_over_to is not None:
                if hand_over_to == user_id:
                    raise NotFound("user", hand_over_to)
                await self._user(session, hand_over_to)
            deleted: list[str] = []
            for owned in await self._owned(session, user_id):
                if hand_over_to is None or not owned.needs_decision:
                    await self._delete_workspace(session, owned.workspace_id)
                    deleted.append(owned.workspace_id)
                    continue
                await self._m.memberships.update_one(
                    {"workspace_id": owned.workspace_id, "user_id": hand_over_to},
                    {
                        "$set": {"role": MemberRole.OWNER.value},
                        "$setOnInsert": {"created_at": encode_datetime(at)},
                    },
                    upsert=True,
                    session=session,
                )
                await self._m.workspaces.update_one(
                    {"_id": owned.workspace_id},
                    {"$set": {"personal": False}, "$inc": {"member_seq": 1}},
                    session=session,
                )
            for name in ("sessions", "api_tokens", "password_resets", "memberships", "user_identities"):
                await self._m.db[name].delete_many({"user_id": user_id}, session=session)
            await self._m.users.delete_one({"_id": user_id}, session=session)
            return deleted

        return await self._m.transaction(write)

    async def list_sessions(self, user_id: str) -> list[Session]:
        with translate_errors():
            docs = await self._m.sessions.find(
                {"user_id": user_id, "revoked_at": None}, sort=[("created_at", -1), ("_id", 1)]
            ).to_list()
        return [session_from_doc(from_mongo(doc)) for doc in docs]

    async def revoke_sessions(self, user_id: str, at: datetime, *, keep: str | None = None) -> int:
        with translate_errors():
            result = await self._m.sessions.update_many(
                {"user_id": user_id, "revoked_at": None, "_id": {"$ne": keep}},
                {"$set": {"revoked_at": encode_datetime(at)}},
            )
        return result.modified_count

    async def set_member_role(self, workspace_id: str, user_id: str, role: MemberRole) -> Membership:
        async def write(session: AsyncClientSession) -> Membership:
            await self._m.workspaces.update_one(
                {"_id": workspace_id}, {"$inc": {"member_seq": 1}}, session=session
            )
            key = {"workspace_id": workspace_id, "user_id": user_id}
            member = await self._m.memberships.find_one(key, session=session)
            if member is None:
                raise NotFound("membership", f"{workspace_id}/{user_id}")
            if member["role"] == MemberRole.OWNER.value and role is not MemberRole.OWNER:
                others = await self._m.memberships.count_documents(
                    {
                        "workspace_id": workspace_id,
                        "role": MemberRole.OWNER.value,
                        "user_id": {"$ne": user_id},
                    },
                    session=session,
                )
                if others == 0:
                    raise Conflict(LAST_OWNER)
            await self._m.memberships.update_one(key, {"$set": {"role": role.value}}, session=session)
            return membership_from_doc({**member, "role": role.value})

        return await self._m.transaction(write)

    async def _user(self, session: AsyncClientSession, user_id: str) -> User:
        doc = await self._m.users.find_one({"_id": user_id}, session=session)
        if doc is None:
            raise NotFound("user", user_id)
        return user_from_doc(from_mongo(doc))

    async def _guarded_user(self, session: AsyncClientSession, user_id: str) -> User:
        """The user, after serialising with every other change that could remove the last admin."""
        await self._m.counters.update_one(
            {"_id": ADMIN_CHANGES}, {"$inc": {"seq": 1}}, upsert=True, session=session
        )
        return await self._user(session, user_id)

    async def _keep_an_admin(self, session: AsyncClientSession, user: User) -> None:
        if user.role is not UserRole.ADMIN or user.disabled:
            return
        others = await self._m.users.count_documents(
            {"role": UserRole.ADMIN.value, "disabled": False, "_id": {"$ne": user.id}}, session=session
        )
        if others == 0:
            raise Conflict(LAST_ADMIN)

    async def _owned(self, session: AsyncClientSession | None, user_id: str) -> list[OwnedWorkspace]:
        owned = []
        mine = await self._m.memberships.find(
            {"user_id": user_id, "role": MemberRole.OWNER.value}, session=session
        ).to_list()
        for membership in mine:
            workspace_id = membership["workspace_id"]
            co_owners = await self._m.memberships.count_documents(
                {"workspace_id": workspace_id, "role": MemberRole.OWNER.value, "user_id": {"$ne": user_id}},
                session=session,
            )
            workspace = await self._m.workspaces.find_one({"_id": workspace_id}, session=session)
            if co_owners or workspace is None:
                continue
            others = await self._m.memberships.count_documents(
                {"workspace_id": workspace_id, "user_id": {"$ne": user_id}}, session=session
            )
            content = False
            for name in WORKSPACE_CONTENT:
                if await self._m.db[name].find_one({"workspace_id": workspace_id}, session=session):
                    content = True
                    break
            owned.append(
                OwnedWorkspace(
                    workspace_id=workspace_id,
                    name=workspace["name"],
                    personal=bool(workspace["personal"]),
                    other_members=others,
                    has_content=content,
                )
            )
        return sorted(owned, key=lambda w: (w.name, w.workspace_id))

    async def _delete_workspace(self, session: AsyncClientSession, workspace_id: str) -> None:
        """The workspace and everything in it (the records only: objects deployed to clusters stay)."""
        workflow_ids = [
            doc["_id"]
            async for doc in self._m.workflows.find(
                {"workspace_id": workspace_id}, projection={"_id": True}, session=session
            )
        ]
        for name in _BY_WORKFLOW:
            await self._m.db[name].delete_many({"workflow_id": {"$in": workflow_ids}}, session=session)
        await delete_step_records(self._m, {"workspace_id": workspace_id}, session)
        for name in (*WORKSPACE_CONTENT, *_BY_WORKSPACE, "memberships"):
            await self._m.db[name].delete_many({"workspace_id": workspace_id}, session=session)
        await self._m.workspaces.delete_one({"_id": workspace_id}, session=session)
