"""Password resets in MongoDB: only the hash of each token; completing one is a single transaction."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.password_resets import PasswordReset
from app.errors import Conflict
from app.store.codec import encode_datetime
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo
from app.store.people import password_reset_from_doc, password_reset_to_doc

COLLECTION = "password_resets"


class MongoPasswordResets:
    """The ``PasswordResetStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_password_reset(self, reset: PasswordReset) -> None:
        with translate_errors():
            try:
                await self._m.db[COLLECTION].insert_one(to_mongo(password_reset_to_doc(reset)))
            except DuplicateKeyError as exc:
                raise Conflict("a password reset with this id already exists") from exc

    async def get_password_reset(self, reset_id: str) -> PasswordReset | None:
        with translate_errors():
            doc = await self._m.db[COLLECTION].find_one({"_id": reset_id})
        return None if doc is None else password_reset_from_doc(from_mongo(doc))

    async def complete_password_reset(self, reset_id: str, password_hash: str, at: datetime) -> str | None:
        stamp = encode_datetime(at)

        async def write(session: AsyncClientSession) -> str | None:
            doc = await self._m.db[COLLECTION].find_one(
                {"_id": reset_id, "used_at": None, "expires_at": {"$gt": stamp}}, session=session
            )
            if doc is None:
                return None
            user_id = str(doc["user_id"])
            # This reset and any other still open for the user: one new password ends them all.
            await self._m.db[COLLECTION].update_many(
                {"user_id": user_id, "used_at": None}, {"$set": {"used_at": stamp}}, session=session
            )
            await self._m.users.update_one(
                {"_id": user_id},
                {"$set": {"password_hash": password_hash, "updated_at": stamp}},
                session=session,
            )
            await self._m.sessions.update_many(
                {"user_id": user_id, "revoked_at": None}, {"$set": {"revoked_at": stamp}}, session=session
            )
            return user_id

        return await self._m.transaction(write)
