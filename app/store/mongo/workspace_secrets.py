"""Workspace secrets in MongoDB: one document per (workspace, name), held unique by an index, written with
one ``find_one_and_update`` upsert (atomic on one document) that keeps ``created_*``; the value only as its
ciphertext. A workspace's secrets go with it (``workspace_secrets`` is workspace content)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.ids import new_id
from app.domain.workspace_secrets import WorkspaceSecret
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo
from app.store.mongo.scoping import in_scope
from app.store.workspace_secrets import REPLACED_FIELDS, secret_from_doc, secret_to_doc

SECRETS = "workspace_secrets"
_ATTEMPTS = 2  # two writers inserting one new name together: the loser's upsert is retried as an update


def _secrets(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[SECRETS]


def _secret(doc: Doc) -> WorkspaceSecret:
    return secret_from_doc(from_mongo(doc))


class MongoWorkspaceSecrets:
    """The ``WorkspaceSecretStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def put_workspace_secret(self, secret: WorkspaceSecret, ciphertext: str) -> WorkspaceSecret:
        doc = secret_to_doc(secret, ciphertext)
        update = {
            "$set": {field: doc[field] for field in REPLACED_FIELDS},
            "$setOnInsert": {
                "_id": new_id(),
                "created_by": doc["created_by"],
                "created_at": doc["created_at"],
            },
        }
        with translate_errors():
            workspace = await self._m.workspaces.find_one(
                {"_id": secret.workspace_id}, projection={"_id": True}
            )
            if workspace is None:
                raise NotFound("workspace", secret.workspace_id)
            for attempt in range(_ATTEMPTS):
                try:
                    stored = await _secrets(self._m).find_one_and_update(
                        {"workspace_id": secret.workspace_id, "name": secret.name},
                        update,
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                except DuplicateKeyError as exc:
                    if attempt == _ATTEMPTS - 1:
                        raise Conflict("the secret was written concurrently; try again") from exc
                    continue
                assert stored is not None  # an upsert returning the document after it always finds one
                return _secret(stored)
        raise AssertionError("unreachable")

    async def list_workspace_secrets(self, scope: Scope, workspace_id: str) -> list[WorkspaceSecret]:
        with translate_errors():
            docs = (
                await _secrets(self._m)
                .find(in_scope(scope, {"workspace_id": workspace_id}), sort=[("name", 1)])
                .to_list()
            )
        return [_secret(doc) for doc in docs]

    async def get_workspace_secret(
        self, scope: Scope, workspace_id: str, name: str
    ) -> WorkspaceSecret | None:
        with translate_errors():
            doc = await _secrets(self._m).find_one(
                in_scope(scope, {"workspace_id": workspace_id, "name": name})
            )
        return None if doc is None else _secret(doc)

    async def delete_workspace_secret(self, scope: Scope, workspace_id: str, name: str) -> None:
        with translate_errors():
            result = await _secrets(self._m).delete_one(
                in_scope(scope, {"workspace_id": workspace_id, "name": name})
            )
        if result.deleted_count == 0:
            raise NotFound("secret", name)

    async def workspace_secret_ciphertexts(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        with translate_errors():
            docs = (
                await _secrets(self._m)
                .find(
                    {"workspace_id": workspace_id, "name": {"$in": sorted(set(names))}},
                    projection={"name": True, "ciphertext": True},
                )
                .to_list()
            )
        return {str(doc["name"]): str(doc["ciphertext"]) for doc in docs}

    async def reencrypt_workspace_secrets(self, transform: Callable[[str], str]) -> int:
        """In one transaction: a ciphertext ``transform`` cannot decrypt aborts all of it."""

        async def write(session: AsyncClientSession) -> int:
            count = 0
            async for doc in _secrets(self._m).find({}, projection={"ciphertext": True}, session=session):
                await _secrets(self._m).update_one(
                    {"_id": doc["_id"]},
                    {"$set": {"ciphertext": transform(str(doc["ciphertext"]))}},
                    session=session,
                )
                count += 1
            return count

        return await self._m.transaction(write)
