"""Data collections in MongoDB: ``data_schemas`` (one document per workspace and collection, holding every
version in ``history``, so an update is one atomic document write) and ``data_records`` (the data under
``data``). Filters compile to query documents with the semantics of :mod:`app.domain.record_filters`:
MongoDB's implicit array traversal is ruled out by guards, so a path never reaches into an array, and
comparisons only match a field of the value's JSON type.

Every query of these collections goes through :func:`_scoped`, which adds the workspace scope: no caller
writes that condition itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.data_collections import DataRecord, DataSchema
from app.domain.paging import Page
from app.domain.record_filters import ORDERING, AllOf, Compare, Op, RecordFilter
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.common import check_page_size
from app.store.data_collections import (
    RECORD_TAKEN,
    SCHEMA_TAKEN,
    current_version,
    data_schema_from_doc,
    data_schema_to_doc,
    record_from_doc,
    record_to_doc,
    schema_version_to_doc,
)
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo
from app.store.mongo.scoping import in_scope

DataCollection = Literal["data_schemas", "data_records"]
_OPS = {Op.GT: "$gt", Op.GTE: "$gte", Op.LT: "$lt", Op.LTE: "$lte"}
_NOT_ARRAY = {"$not": {"$type": "array"}}


def _scoped(scope: Scope, filter: Mapping[str, Any]) -> Doc:
    """``filter`` within the scope: the one place the workspace condition is added."""
    return in_scope(scope, filter)


def _guarded(path: tuple[str, ...], condition: Doc) -> Doc:
    """``condition`` on ``data.<path>``, the field and every object on the way to it not an array."""
    field = "data." + ".".join(path)
    guards = [{"data." + ".".join(path[:i]): _NOT_ARRAY} for i in range(1, len(path) + 1)]
    return {"$and": [{field: condition}, *guards]}


def _eq(path: tuple[str, ...], value: Any) -> Doc:
    return _guarded(path, {"$type": "null"} if value is None else {"$eq": value})


def _compare(c: Compare) -> Doc:
    if c.op is Op.EQ:
        return _eq(c.path, c.value)
    if c.op is Op.NE:
        return {"$nor": [_eq(c.path, c.value)]}
    if c.op is Op.IN:
        return {"$or": [_eq(c.path, v) for v in c.value]}
    if c.op in ORDERING:
        return _guarded(c.path, {_OPS[c.op]: c.value})
    if c.op is Op.EXISTS:
        found = {"$and": [{"data." + ".".join(c.path): {"$exists": True}}, *_prefix_guards(c.path)]}
        return found if c.value else {"$nor": [found]}
    # contains: an array element equal to the value, or (a string value) a substring of a string field
    field = "data." + ".".join(c.path)
    element = {"$type": "null"} if c.value is None else {"$eq": c.value}
    options: list[Doc] = [{"$and": [{field: {"$elemMatch": element}}, *_prefix_guards(c.path)]}]
    if isinstance(c.value, str):
        options.append(_guarded(c.path, {"$regex": re.escape(c.value)}))
    return {"$or": options}


def _prefix_guards(path: tuple[str, ...]) -> list[Doc]:
    return [{"data." + ".".join(path[:i]): _NOT_ARRAY} for i in range(1, len(path))]


def compile_filter(where: RecordFilter) -> Doc:
    """The query document of a record filter."""
    if isinstance(where, Compare):
        return _compare(where)
    parts = [compile_filter(part) for part in where.parts]
    return {"$and" if isinstance(where, AllOf) else "$or": parts} if parts else {}


def _schema(doc: Doc) -> DataSchema:
    loaded = from_mongo(doc)
    return data_schema_from_doc(loaded, loaded.get("history", []))


def _record(doc: Doc) -> DataRecord:
    return record_from_doc(from_mongo(doc))


class MongoDataCollections:
    """The ``DataCollectionStore`` part of the MongoDB store."""

    _m: MongoDatabase

    def _col(self, name: DataCollection) -> AsyncCollection[Doc]:
        return self._m.db[name]

    async def create_data_schema(self, schema: DataSchema) -> None:
        doc = to_mongo(data_schema_to_doc(schema))
        doc["history"] = [schema_version_to_doc(current_version(schema))]
        with translate_errors():
            if await self._m.workspaces.find_one({"_id": schema.workspace_id}, projection={"_id": 1}) is None:
                raise NotFound("workspace", schema.workspace_id)
            try:
                await self._col("data_schemas").insert_one(doc)
            except DuplicateKeyError as exc:
                raise Conflict(SCHEMA_TAKEN) from exc

    async def get_data_schema(self, scope: Scope, schema_id: str) -> DataSchema | None:
        with translate_errors():
            doc = await self._col("data_schemas").find_one(_scoped(scope, {"_id": schema_id}))
        return None if doc is None else _schema(doc)

    async def find_data_schema(self, scope: Scope, workspace_id: str, collection: str) -> DataSchema | None:
        query = _scoped(scope, {"workspace_id": workspace_id, "collection": collection})
        with translate_errors():
            doc = await self._col("data_schemas").find_one(query)
        return None if doc is None else _schema(doc)

    async def list_data_schemas(self, scope: Scope, workspace_id: str) -> list[DataSchema]:
        query = _scoped(scope, {"workspace_id": workspace_id})
        with translate_errors():
            docs = await self._col("data_schemas").find(query, sort=[("collection", 1)]).to_list()
        return [_schema(doc) for doc in docs]

    async def update_data_schema(self, scope: Scope, schema: DataSchema) -> None:
        doc = data_schema_to_doc(schema)
        update = {
            "$set": {key: doc[key] for key in ("schema", "version", "updated_by", "updated_at")},
            "$push": {"history": schema_version_to_doc(current_version(schema))},
        }
        with translate_errors():
            result = await self._col("data_schemas").update_one(
                _scoped(scope, {"_id": schema.id, "version": schema.version - 1}), update
            )
            if result.matched_count == 1:
                return
            stored = await self._col("data_schemas").find_one(_scoped(scope, {"_id": schema.id}))
        if stored is None:
            raise NotFound("data schema", schema.id)
        raise Conflict(
            f"the schema is at version {stored['version']}, not {schema.version - 1}",
            {"currentVersion": int(stored["version"])},
        )

    async def insert_record(self, record: DataRecord) -> None:
        with translate_errors():
            try:
                await self._col("data_records").insert_one(to_mongo(record_to_doc(record)))
            except DuplicateKeyError as exc:
                raise Conflict(RECORD_TAKEN) from exc

    async def get_record(self, scope: Scope, record_id: str) -> DataRecord | None:
        with translate_errors():
            doc = await self._col("data_records").find_one(_scoped(scope, {"_id": record_id}))
        return None if doc is None else _record(doc)

    async def update_record(self, scope: Scope, record: DataRecord) -> None:
        doc = record_to_doc(record)
        update = {"$set": {key: doc[key] for key in ("data", "revision", "updated_by", "updated_at")}}
        with translate_errors():
            result = await self._col("data_records").update_one(
                _scoped(scope, {"_id": record.id, "revision": record.revision - 1}), update
            )
            if result.matched_count == 1:
                return
            stored = await self._col("data_records").find_one(_scoped(scope, {"_id": record.id}))
        if stored is None:
            raise NotFound("record", record.id)
        raise Conflict(
            f"the record is at revision {stored['revision']}, not {record.revision - 1}",
            {"currentRevision": int(stored["revision"])},
        )

    async def delete_record(self, scope: Scope, record_id: str) -> None:
        with translate_errors():
            result = await self._col("data_records").delete_one(_scoped(scope, {"_id": record_id}))
        if result.deleted_count == 0:
            raise NotFound("record", record_id)

    async def list_records(
        self,
        scope: Scope,
        workspace_id: str,
        collection: str,
        where: RecordFilter | None,
        first: int,
        after: str | None,
    ) -> Page[DataRecord]:
        check_page_size(first)
        conditions: list[Doc] = [{"workspace_id": workspace_id, "collection": collection}]
        if where is not None:
            conditions.append(compile_filter(where))
        total = _scoped(scope, {"$and": conditions})
        page = (
            _scoped(scope, {"$and": [*conditions, {"_id": {"$gt": after}}]}) if after is not None else total
        )
        records = self._col("data_records")
        with translate_errors():
            count = await records.count_documents(total)
            docs = await records.find(page, sort=[("_id", 1)], limit=first + 1).to_list()
        return Page(items=[_record(doc) for doc in docs[:first]], has_next=len(docs) > first, total=count)
