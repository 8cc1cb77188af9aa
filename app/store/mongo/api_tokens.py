"""Personal API tokens in MongoDB: only the hash of each token; single-document writes."""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from app.domain.api_tokens import ApiToken
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo
from app.store.people import api_token_from_doc, api_token_to_doc

COLLECTION = "api_tokens"


class MongoApiTokens:
    """The ``ApiTokenStore`` part of the MongoDB store (a deleted user's tokens go in ``delete_user``)."""

    _m: MongoDatabase

    async def insert_api_token(self, token: ApiToken) -> None:
        with translate_errors():
            if await self._m.users.find_one({"_id": token.user_id}, projection={"_id": True}) is None:
                raise NotFound("user", token.user_id)
            if (
                await self._m.workspaces.find_one({"_id": token.workspace_id}, projection={"_id": True})
                is None
            ):
                raise NotFound("workspace", token.workspace_id)
            try:
                await self._m.db[COLLECTION].insert_one(to_mongo(api_token_to_doc(token)))
            except DuplicateKeyError as exc:
                raise Conflict("an API token with this id already exists") from exc

    async def get_api_token(self, token_id: str) -> ApiToken | None:
        with translate_errors():
            doc = await self._m.db[COLLECTION].find_one({"_id": token_id})
        return None if doc is None else api_token_from_doc(from_mongo(doc))

    async def list_api_tokens(self, user_id: str) -> list[ApiToken]:
        with translate_errors():
            docs = (
                await self._m.db[COLLECTION]
                .find({"user_id": user_id}, sort=[("created_at", -1), ("_id", 1)])
                .to_list()
            )
        return [api_token_from_doc(from_mongo(doc)) for doc in docs]

    async def revoke_api_token(self, user_id: str, token_id: str, at: datetime) -> bool:
        with translate_errors():
            result = await self._m.db[COLLECTION].update_one(
                {"_id": token_id, "user_id": user_id, "revoked_at": None},
                {"$set": {"revoked_at": encode_datetime(at)}},
            )
        return result.modified_count > 0

    async def touch_api_token(self, token_id: str, at: datetime) -> None:
        with translate_errors():
            await self._m.db[COLLECTION].update_one(
                {"_id": token_id}, {"$set": {"last_used_at": encode_datetime(at)}}
            )
