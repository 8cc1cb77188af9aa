"""Workspace files in MongoDB: one document per (workspace, path), held unique by an index, written with
one ``find_one_and_update`` upsert (atomic on one document) that replaces the content at a taken path and
bumps its revision. A workspace's files go with it (``workspace_files`` is workspace content)."""

from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.files import WorkspaceFile
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.files import REPLACED_FIELDS, file_from_doc, file_to_doc
from app.store.mongo.connection import MongoDatabase, duplicate_of, translate_errors
from app.store.mongo.documents import Doc, from_mongo
from app.store.mongo.scoping import in_scope

FILES = "workspace_files"
_ATTEMPTS = 2  # two writers inserting one new path together: the loser's upsert is retried as an update


def _files(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[FILES]


def _file(doc: Doc) -> WorkspaceFile:
    return file_from_doc(from_mongo(doc))


class MongoFiles:
    """The ``FileStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def put_file(self, file: WorkspaceFile) -> WorkspaceFile:
        doc = file_to_doc(file)
        update = {
            "$set": {field: doc[field] for field in REPLACED_FIELDS},
            "$inc": {"revision": 1},
            "$setOnInsert": {
                "_id": file.id,
                "created_by": file.created_by,
                "created_at": doc["created_at"],
            },
        }
        with translate_errors():
            workspace = await self._m.workspaces.find_one(
                {"_id": file.workspace_id}, projection={"_id": True}
            )
            if workspace is None:
                raise NotFound("workspace", file.workspace_id)
            for attempt in range(_ATTEMPTS):
                try:
                    stored = await _files(self._m).find_one_and_update(
                        {"workspace_id": file.workspace_id, "path": file.path},
                        update,
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                except DuplicateKeyError as exc:
                    if duplicate_of(exc, "_id") or attempt == _ATTEMPTS - 1:
                        raise Conflict("a file with this id already exists") from exc
                    continue
                assert stored is not None  # an upsert returning the document after it always finds one
                return _file(stored)
        raise AssertionError("unreachable")

    async def get_file(self, scope: Scope, file_id: str) -> WorkspaceFile | None:
        with translate_errors():
            doc = await _files(self._m).find_one(in_scope(scope, {"_id": file_id}))
        return None if doc is None else _file(doc)

    async def list_files(self, scope: Scope, workspace_id: str) -> list[WorkspaceFile]:
        with translate_errors():
            docs = (
                await _files(self._m)
                .find(in_scope(scope, {"workspace_id": workspace_id}), sort=[("path", 1)])
                .to_list()
            )
        return [_file(doc) for doc in docs]

    async def delete_file(self, scope: Scope, file_id: str) -> None:
        with translate_errors():
            result = await _files(self._m).delete_one(in_scope(scope, {"_id": file_id}))
        if result.deleted_count == 0:
            raise NotFound("file", file_id)
