"""Linked provider identities, OAuth states and one-time codes in MongoDB.

An identity's ``_id`` is ``<provider>:<subject>`` (provider ids hold no ``:``), so (provider, subject) is
unique by the primary key. States and codes are consumed with one ``find_one_and_delete``: of concurrent
consumers exactly one gets the document. ``create_user_with_identity`` is one transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.identities import OAuthCode, OAuthState, UserIdentity
from app.domain.users import User
from app.domain.workspaces import Workspace
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime
from app.store.common import EMAIL_TAKEN
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
from app.store.mongo.connection import MongoDatabase, duplicate_of, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo
from app.store.mongo.users import insert_user


def identity_document(identity: UserIdentity) -> dict[str, Any]:
    """The stored document of a linked identity (its ``_id`` is ``<provider>:<subject>``)."""
    return {"_id": f"{identity.provider}:{identity.subject}", **identity_to_doc(identity)}


class MongoIdentities:
    """The ``IdentityLinkStore`` part of the MongoDB store."""

    _m: MongoDatabase

    def _col(self, name: str) -> AsyncCollection[Doc]:
        return self._m.db[name]

    async def get_identity(self, provider: str, subject: str) -> UserIdentity | None:
        with translate_errors():
            doc = await self._col("user_identities").find_one({"_id": f"{provider}:{subject}"})
        return None if doc is None else identity_from_doc(doc)

    async def identities_of_user(self, user_id: str) -> list[UserIdentity]:
        with translate_errors():
            cursor = self._col("user_identities").find({"user_id": user_id}).sort([("_id", 1)])
            return [identity_from_doc(doc) async for doc in cursor]

    async def link_identity(self, identity: UserIdentity) -> None:
        with translate_errors():
            if await self._m.users.find_one({"_id": identity.user_id}, projection={"_id": True}) is None:
                raise NotFound("user", identity.user_id)
            try:
                await self._col("user_identities").insert_one(identity_document(identity))
            except DuplicateKeyError as exc:
                raise Conflict(IDENTITY_TAKEN) from exc

    async def create_user_with_identity(
        self, user: User, personal_workspace: Workspace, identity: UserIdentity
    ) -> User:
        """As ``create_user`` (the first user is ADMIN through the ``counters/users`` document), plus the
        identity, in one transaction."""

        async def write(session: AsyncClientSession) -> User:
            stored = await insert_user(self._m, session, user, personal_workspace)
            await self._col("user_identities").insert_one(
                identity_document(replace(identity, user_id=stored.id)), session=session
            )
            return stored

        try:
            return await self._m.transaction(write)
        except DuplicateKeyError as exc:
            if duplicate_of(exc, "email"):
                raise Conflict(EMAIL_TAKEN) from exc
            raise Conflict(IDENTITY_TAKEN) from exc

    async def create_oauth_state(self, state: OAuthState, *, sweep_before: datetime) -> None:
        with translate_errors():
            await self._col("oauth_states").delete_many(
                {"expires_at": {"$lt": encode_datetime(sweep_before)}}
            )
            try:
                await self._col("oauth_states").insert_one(to_mongo(state_to_doc(state)))
            except DuplicateKeyError as exc:
                raise Conflict(STATE_TAKEN) from exc

    async def consume_oauth_state(self, state_id: str) -> OAuthState | None:
        with translate_errors():
            doc = await self._col("oauth_states").find_one_and_delete({"_id": state_id})
        return None if doc is None else state_from_doc(from_mongo(doc))

    async def create_oauth_code(self, code: OAuthCode, *, now: datetime) -> None:
        with translate_errors():
            await self._col("oauth_codes").delete_many({"expires_at": {"$lte": encode_datetime(now)}})
            try:
                await self._col("oauth_codes").insert_one(to_mongo(code_to_doc(code)))
            except DuplicateKeyError as exc:
                raise Conflict(CODE_TAKEN) from exc

    async def consume_oauth_code(self, code_id: str, *, now: datetime) -> OAuthCode | None:
        with translate_errors():
            doc = await self._col("oauth_codes").find_one_and_delete({"_id": code_id})
        if doc is None:
            return None
        code = code_from_doc(from_mongo(doc))
        return code if now < code.expires_at else None
