"""Workspaces and memberships in MongoDB."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.workspaces import MemberRole, Membership, Scope, Workspace
from app.errors import Conflict, NotFound
from app.store.codec import membership_from_doc, membership_to_doc, workspace_from_doc, workspace_to_doc
from app.store.common import LAST_OWNER
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo
from app.store.mongo.scoping import in_scope


class MongoWorkspaces:
    """The ``WorkspaceStore`` part of the MongoDB store.

    Membership changes first ``$inc`` the workspace's ``member_seq``: concurrent transactions on the
    members of one workspace then write the same document, so MongoDB serialises them (one gets a
    write conflict and is retried). That makes the last-owner check of :meth:`remove_member` safe.
    """

    _m: MongoDatabase

    async def create_workspace(self, workspace: Workspace, owner: Membership) -> None:
        """Workspace and first OWNER membership in one transaction."""
        if owner.workspace_id != workspace.id or owner.role is not MemberRole.OWNER:
            raise ValueError("the first membership of a workspace must be an OWNER of that workspace")

        async def write(session: AsyncClientSession) -> None:
            if (
                await self._m.users.find_one(
                    {"_id": owner.user_id}, projection={"_id": True}, session=session
                )
                is None
            ):
                raise NotFound("user", owner.user_id)
            await self._m.workspaces.insert_one(to_mongo(workspace_to_doc(workspace)), session=session)
            await self._m.memberships.insert_one(membership_to_doc(owner), session=session)

        try:
            await self._m.transaction(write)
        except DuplicateKeyError as exc:
            raise Conflict("a workspace with this id already exists") from exc

    async def get_workspace(self, scope: Scope, workspace_id: str) -> Workspace | None:
        with translate_errors():
            doc = await self._m.workspaces.find_one(in_scope(scope, {"_id": workspace_id}, "_id"))
        return None if doc is None else workspace_from_doc(from_mongo(doc))

    async def list_workspaces(self, scope: Scope) -> list[Workspace]:
        with translate_errors():
            docs = await self._m.workspaces.find(
                in_scope(scope, {}, "_id"), sort=[("personal", -1), ("name", 1), ("_id", 1)]
            ).to_list()
        return [workspace_from_doc(from_mongo(doc)) for doc in docs]

    async def memberships_of_user(self, user_id: str) -> list[Membership]:
        """Not scoped: this is what a caller's scope is built from."""
        with translate_errors():
            docs = await self._m.memberships.find(
                {"user_id": user_id}, sort=[("created_at", 1), ("workspace_id", 1)]
            ).to_list()
        return [membership_from_doc(doc) for doc in docs]

    async def list_members(self, scope: Scope, workspace_id: str) -> list[Membership]:
        """The members of a workspace in scope, oldest first; none for a workspace outside it."""
        with translate_errors():
            docs = await self._m.memberships.find(
                in_scope(scope, {"workspace_id": workspace_id}), sort=[("created_at", 1), ("user_id", 1)]
            ).to_list()
        return [membership_from_doc(doc) for doc in docs]

    async def add_member(self, membership: Membership) -> None:
        """``NotFound`` for an unknown workspace or user; ``Conflict`` if already a member."""

        async def write(session: AsyncClientSession) -> None:
            touched = await self._m.workspaces.update_one(
                {"_id": membership.workspace_id}, {"$inc": {"member_seq": 1}}, session=session
            )
            if touched.matched_count == 0:
                raise NotFound("workspace", membership.workspace_id)
            user = await self._m.users.find_one(
                {"_id": membership.user_id}, projection={"_id": True}, session=session
            )
            if user is None:
                raise NotFound("user", membership.user_id)
            await self._m.memberships.insert_one(membership_to_doc(membership), session=session)

        try:
            await self._m.transaction(write)
        except DuplicateKeyError as exc:
            raise Conflict("the user is already a member of this workspace") from exc

    async def remove_member(self, workspace_id: str, user_id: str) -> None:
        """Touch the workspace, check, delete: one transaction, serialised per workspace."""

        async def write(session: AsyncClientSession) -> None:
            await self._m.workspaces.update_one(
                {"_id": workspace_id}, {"$inc": {"member_seq": 1}}, session=session
            )
            key = {"workspace_id": workspace_id, "user_id": user_id}
            member = await self._m.memberships.find_one(key, session=session)
            if member is None:
                raise NotFound("membership", f"{workspace_id}/{user_id}")
            if member["role"] == MemberRole.OWNER.value:
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
            await self._m.memberships.delete_one(key, session=session)

        await self._m.transaction(write)
