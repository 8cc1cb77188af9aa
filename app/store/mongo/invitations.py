"""Workspace invitations in MongoDB: only the hash of their token; consumed once, atomically."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.invitations import Invitation
from app.domain.workspaces import Membership
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime, membership_to_doc
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo
from app.store.people import invitation_from_doc, invitation_to_doc

COLLECTION = "invitations"


class MongoInvitations:
    """The ``InvitationStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_invitation(self, invitation: Invitation) -> None:
        with translate_errors():
            if (
                await self._m.workspaces.find_one({"_id": invitation.workspace_id}, projection={"_id": True})
                is None
            ):
                raise NotFound("workspace", invitation.workspace_id)
            try:
                await self._m.db[COLLECTION].insert_one(to_mongo(invitation_to_doc(invitation)))
            except DuplicateKeyError as exc:
                raise Conflict("an invitation with this id already exists") from exc

    async def get_invitation(self, invitation_id: str) -> Invitation | None:
        with translate_errors():
            doc = await self._m.db[COLLECTION].find_one({"_id": invitation_id})
        return None if doc is None else invitation_from_doc(from_mongo(doc))

    async def list_invitations(self, workspace_id: str) -> list[Invitation]:
        with translate_errors():
            docs = (
                await self._m.db[COLLECTION]
                .find({"workspace_id": workspace_id}, sort=[("created_at", -1), ("_id", 1)])
                .to_list()
            )
        return [invitation_from_doc(from_mongo(doc)) for doc in docs]

    async def revoke_invitation(self, invitation_id: str, at: datetime) -> bool:
        with translate_errors():
            result = await self._m.db[COLLECTION].update_one(
                {"_id": invitation_id, "revoked_at": None, "accepted_at": None},
                {"$set": {"revoked_at": encode_datetime(at)}},
            )
        return result.modified_count > 0

    async def consume_invitation(
        self, invitation_id: str, at: datetime, *, member: Membership | None
    ) -> Invitation | None:
        stamp = encode_datetime(at)

        async def write(session: AsyncClientSession) -> Invitation | None:
            doc = await self._m.db[COLLECTION].find_one_and_update(
                {"_id": invitation_id, "accepted_at": None, "revoked_at": None, "expires_at": {"$gt": stamp}},
                {"$set": {"accepted_at": stamp, "accepted_by": member.user_id if member else None}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if doc is None:
                return None
            if member is not None:
                await self._m.workspaces.update_one(
                    {"_id": member.workspace_id}, {"$inc": {"member_seq": 1}}, session=session
                )
                await self._m.memberships.update_one(
                    {"workspace_id": member.workspace_id, "user_id": member.user_id},
                    {"$setOnInsert": membership_to_doc(member)},
                    upsert=True,
                    session=session,
                )
            return invitation_from_doc(from_mongo(doc))

        return await self._m.transaction(write)
