"""Workspace invitations in MongoDB: only the hash of their token; consumed once, atomically — by a member
joining, or together with the account a sign-up creates (one transaction)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.identities import UserIdentity
from app.domain.invitations import Invitation
from app.domain.users import User
from app.domain.workspaces import Membership, Workspace
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime, membership_to_doc
from app.store.common import EMAIL_TAKEN
from app.store.identities import IDENTITY_TAKEN
from app.store.mongo.connection import MongoDatabase, duplicate_of, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo
from app.store.mongo.identities import identity_document
from app.store.mongo.users import insert_user
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
        user and the membership it gives, in one transaction: a taken e-mail or identity aborts it, the
        invitation's update included; an invitation taken first writes nothing."""
        stamp = encode_datetime(at)

        async def write(session: AsyncClientSession) -> User | None:
            doc = await self._m.db[COLLECTION].find_one_and_update(
                {"_id": invitation_id, "accepted_at": None, "revoked_at": None, "expires_at": {"$gt": stamp}},
                {"$set": {"accepted_at": stamp, "accepted_by": user.id}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if doc is None:
                return None
            invitation = invitation_from_doc(from_mongo(doc))
            stored = await insert_user(self._m, session, user, personal_workspace)
            if identity is not None:
                await self._m.db["user_identities"].insert_one(
                    identity_document(replace(identity, user_id=stored.id)), session=session
                )
            await self._m.workspaces.update_one(
                {"_id": invitation.workspace_id}, {"$inc": {"member_seq": 1}}, session=session
            )
            member = Membership(invitation.workspace_id, stored.id, invitation.role, at)
            await self._m.memberships.insert_one(membership_to_doc(member), session=session)
            return stored

        try:
            return await self._m.transaction(write)
        except DuplicateKeyError as exc:
            if duplicate_of(exc, "email"):
                raise Conflict(EMAIL_TAKEN) from exc
            if identity is not None:
                raise Conflict(IDENTITY_TAKEN) from exc
            raise Conflict("a user or workspace with this id already exists") from exc
