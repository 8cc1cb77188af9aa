"""Git credentials in MongoDB: unique per workspace by lower-cased name; the secret only as ciphertext.

Every write touches one document, so none needs a transaction; a taken name is caught by the unique
index on ``(workspace_id, name_lower)``, so two concurrent writers cannot both take it.
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.git import GitCredential
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.git_credentials import (
    GIT_CREDENTIAL_ID_TAKEN,
    GIT_CREDENTIAL_NAME_TAKEN,
    git_credential_from_doc,
    git_credential_to_doc,
)
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo
from app.store.mongo.scoping import in_scope

COLLECTION = "git_credentials"
BY_NAME = [("name_lower", 1), ("_id", 1)]


def _collection(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[COLLECTION]


def _duplicate(exc: DuplicateKeyError) -> Conflict:
    """Which unique key an insert hit: the id (index ``_id_``) or the name."""
    details = exc.details or {}
    key = details.get("keyPattern") or details.get("keyValue")
    on_id = set(key) == {"_id"} if key else "index: _id_ " in str(exc)
    return Conflict(GIT_CREDENTIAL_ID_TAKEN if on_id else GIT_CREDENTIAL_NAME_TAKEN)


class MongoGitCredentials:
    """The ``GitCredentialStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_git_credential(self, credential: GitCredential) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name or id."""
        with translate_errors():
            workspace = await self._m.workspaces.find_one(
                {"_id": credential.workspace_id}, projection={"_id": True}
            )
            if workspace is None:
                raise NotFound("workspace", credential.workspace_id)
            try:
                await _collection(self._m).insert_one(to_mongo(git_credential_to_doc(credential)))
            except DuplicateKeyError as exc:
                raise _duplicate(exc) from exc

    async def get_git_credential(self, scope: Scope, credential_id: str) -> GitCredential | None:
        with translate_errors():
            doc = await _collection(self._m).find_one(in_scope(scope, {"_id": credential_id}))
        return None if doc is None else git_credential_from_doc(from_mongo(doc))

    async def list_git_credentials(self, scope: Scope, workspace_id: str) -> list[GitCredential]:
        """By lower-cased name, then id; a workspace outside the scope has none."""
        with translate_errors():
            docs = (
                await _collection(self._m)
                .find(in_scope(scope, {"workspace_id": workspace_id}), sort=BY_NAME)
                .to_list()
            )
        return [git_credential_from_doc(from_mongo(doc)) for doc in docs]

    async def delete_git_credential(self, scope: Scope, credential_id: str) -> None:
        """``NotFound`` outside scope."""
        with translate_errors():
            result = await _collection(self._m).delete_one(in_scope(scope, {"_id": credential_id}))
        if result.deleted_count == 0:
            raise NotFound("Git credential", credential_id)


async def reencrypt_git_credentials(
    m: MongoDatabase, session: AsyncClientSession, transform: Callable[[str], str]
) -> int:
    """Inside ``reencrypt``'s transaction: rewrite every Git credential's ciphertext; return how many."""
    count = 0
    async for doc in _collection(m).find({}, projection={"ciphertext": True}, session=session):
        await _collection(m).update_one(
            {"_id": doc["_id"]},
            {"$set": {"ciphertext": transform(str(doc["ciphertext"]))}},
            session=session,
        )
        count += 1
    return count
