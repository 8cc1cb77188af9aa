"""Git imports in MongoDB: one document per import, the analysis as JSON text (node data is free-form), the
analysis's Secret values as one keyring ciphertext in ``secret_values_ciphertext`` (never read with the
import: every read of an import leaves it out).

Every write touches one document, so none needs a transaction: ``save_import`` and each step of
``fail_stale_imports`` are single-document updates guarded by "still unfinished", so a finished import
is final and two concurrent sweeps never both fail the same import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.imports import GitImport
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import dumps, encode_datetime, loads
from app.store.git_imports import (
    IMPORT_ID_TAKEN,
    SAVED_IMPORT_FIELDS,
    SECRET_VALUES_FIELD,
    UNFINISHED_IMPORT_STATUSES,
    finished_import_conflict,
    import_from_doc,
    import_to_doc,
    stale_failed,
)
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo
from app.store.mongo.scoping import in_scope

COLLECTION = "compose_imports"
UNFINISHED: dict[str, Any] = {"status": {"$in": list(UNFINISHED_IMPORT_STATUSES)}}
WITHOUT_SECRETS: dict[str, Any] = {SECRET_VALUES_FIELD: False}


def _collection(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[COLLECTION]


def import_to_mongo(job: GitImport) -> Doc:
    doc = to_mongo(import_to_doc(job))
    doc["analysis"] = None if doc["analysis"] is None else dumps(doc["analysis"])
    return doc


def import_from_mongo(doc: Mapping[str, Any]) -> GitImport:
    loaded = from_mongo(doc)
    loaded.pop(SECRET_VALUES_FIELD, None)  # read only by import_secret_values
    loaded["analysis"] = None if loaded.get("analysis") is None else loads(loaded["analysis"])
    return import_from_doc(loaded)


def _saved(job: GitImport) -> Doc:
    doc = import_to_mongo(job)
    return {field: doc[field] for field in SAVED_IMPORT_FIELDS}


class MongoImports:
    """The ``ImportStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_import(self, job: GitImport) -> None:
        with translate_errors():
            workspace = await self._m.workspaces.find_one({"_id": job.workspace_id}, projection={"_id": True})
            if workspace is None:
                raise NotFound("workspace", job.workspace_id)
            try:
                await _collection(self._m).insert_one(import_to_mongo(job))
            except DuplicateKeyError as exc:
                raise Conflict(IMPORT_ID_TAKEN) from exc

    async def get_import(self, scope: Scope, import_id: str) -> GitImport | None:
        with translate_errors():
            doc = await _collection(self._m).find_one(
                in_scope(scope, {"_id": import_id}), projection=WITHOUT_SECRETS
            )
        return None if doc is None else import_from_mongo(doc)

    async def save_import(self, job: GitImport, *, secret_values: str | None = None) -> None:
        with translate_errors():
            result = await _collection(self._m).update_one(
                {"$and": [{"_id": job.id}, UNFINISHED]},
                {"$set": {**_saved(job), SECRET_VALUES_FIELD: secret_values}},
            )
            if result.matched_count:
                return
            stored = await _collection(self._m).find_one({"_id": job.id}, projection={"status": True})
        if stored is None:
            raise NotFound("import", job.id)
        raise finished_import_conflict(job, str(stored["status"]))

    async def import_secret_values(self, scope: Scope, import_id: str) -> str | None:
        with translate_errors():
            doc = await _collection(self._m).find_one(
                in_scope(scope, {"_id": import_id}), projection={SECRET_VALUES_FIELD: True}
            )
        value = None if doc is None else doc.get(SECRET_VALUES_FIELD)
        return None if value is None else str(value)

    async def fail_stale_imports(
        self, *, updated_before: datetime, at: datetime, reason: str
    ) -> list[GitImport]:
        stale = {"$and": [UNFINISHED, {"updated_at": {"$lt": encode_datetime(updated_before)}}]}
        failed = []
        with translate_errors():
            docs = (
                await _collection(self._m)
                .find(stale, projection=WITHOUT_SECRETS, sort=[("created_at", 1), ("_id", 1)])
                .to_list()
            )
            for doc in docs:
                job = stale_failed(import_from_mongo(doc), at=at, reason=reason)
                updated = await _collection(self._m).find_one_and_update(
                    {"$and": [{"_id": job.id}, stale]},
                    {"$set": _saved(job)},
                    projection=WITHOUT_SECRETS,
                    return_document=ReturnDocument.AFTER,
                )
                if updated is not None:
                    failed.append(import_from_mongo(updated))
        return failed


async def reencrypt_imports(
    m: MongoDatabase, session: AsyncClientSession, transform: Callable[[str], str]
) -> int:
    """Inside ``reencrypt``'s transaction: rewrite every import's Secret values ciphertext; return how
    many."""
    count = 0
    with_values = {SECRET_VALUES_FIELD: {"$type": "string"}}
    async for doc in _collection(m).find(
        with_values, projection={SECRET_VALUES_FIELD: True}, session=session
    ):
        await _collection(m).update_one(
            {"_id": doc["_id"]},
            {"$set": {SECRET_VALUES_FIELD: transform(str(doc[SECRET_VALUES_FIELD]))}},
            session=session,
        )
        count += 1
    return count
