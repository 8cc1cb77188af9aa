"""Users and sessions in MongoDB."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

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
from app.store.mongo.connection import (
    USERS_COUNTER,
    MongoDatabase,
    duplicate_of,
    translate_errors,
)
from app.store.mongo.documents import from_mongo, to_mongo


async def insert_user(
    m: MongoDatabase, session: AsyncClientSession, user: User, personal_workspace: Workspace
) -> User:
    """The writes of ``create_user`` inside the caller's transaction: the user (the first one becomes ADMIN
    through the ``counters/users`` document), the personal workspace and its OWNER membership. A taken
    e-mail or id raises ``DuplicateKeyError`` (the caller names it). Returns the user as stored."""
    counter = await m.counters.find_one_and_update(
        {"_id": USERS_COUNTER},
        {"$inc": {"count": 1}},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if counter is None:
        raise RuntimeError("the MongoDB store is not migrated: counters/users is missing")
    role = UserRole.ADMIN if counter["count"] == 1 else user.role
    stored = replace(user, email=normalise_email(user.email), role=role)
    owner = Membership(personal_workspace.id, stored.id, MemberRole.OWNER, stored.created_at)
    await m.users.insert_one(to_mongo(user_to_doc(stored)), session=session)
    await m.workspaces.insert_one(to_mongo(workspace_to_doc(personal_workspace)), session=session)
    await m.memberships.insert_one(membership_to_doc(owner), session=session)
    return stored


class MongoUsers:
    """The ``UserStore`` and ``SessionStore`` parts of the MongoDB store."""

    _m: MongoDatabase

    async def create_user(self, user: User, personal_workspace: Workspace) -> User:
        """User, personal workspace and OWNER membership in one transaction.

        The first-user decision is an ``$inc`` of the ``counters/users`` document inside the same
        transaction: two concurrent registrations both write that document, so one of them hits a
        write conflict and is retried after the other commits, and sees a count of 2. A rolled-back
        registration (taken e-mail) rolls its increment back too.
        """

        async def write(session: AsyncClientSession) -> User:
            return await insert_user(self._m, session, user, personal_workspace)

        try:
            return await self._m.transaction(write)
        except DuplicateKeyError as exc:
            if duplicate_of(exc, "email"):
                raise Conflict(EMAIL_TAKEN) from exc
            raise Conflict("a user or workspace with this id already exists") from exc

    async def get_user(self, user_id: str) -> User | None:
        with translate_errors():
            doc = await self._m.users.find_one({"_id": user_id})
        return None if doc is None else user_from_doc(from_mongo(doc))

    async def get_user_by_email(self, email: str) -> User | None:
        with translate_errors():
            doc = await self._m.users.find_one({"email": normalise_email(email)})
        return None if doc is None else user_from_doc(from_mongo(doc))

    async def create_session(self, session: Session) -> None:
        """``NotFound`` if the user does not exist; ``Conflict`` if the session id is taken."""
        with translate_errors():
            if await self._m.users.find_one({"_id": session.user_id}, projection={"_id": True}) is None:
                raise NotFound("user", session.user_id)
            try:
                await self._m.sessions.insert_one(to_mongo(session_to_doc(session)))
            except DuplicateKeyError as exc:
                raise Conflict("a session with this id already exists") from exc

    async def get_session(self, session_id: str) -> Session | None:
        with translate_errors():
            doc = await self._m.sessions.find_one({"_id": session_id})
        return None if doc is None else session_from_doc(from_mongo(doc))

    async def revoke_session(self, session_id: str, at: datetime) -> None:
        """Mark the session revoked at ``at``; the first revocation wins; an unknown id is a no-op."""
        with translate_errors():
            await self._m.sessions.update_one(
                {"_id": session_id, "revoked_at": None}, {"$set": {"revoked_at": encode_datetime(at)}}
            )
