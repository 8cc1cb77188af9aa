"""Data collections in SQLite: ``data_schemas`` (one row per workspace and collection, the current schema),
``data_schema_versions`` (every version, appended in the same transaction as the update) and
``data_records`` (the data as JSON text). Filters compile to JSON1 expressions (``json_type`` and
``json_extract``) with the semantics of :mod:`app.domain.record_filters`.

Every query of these tables goes through :func:`_scoped`, which adds the workspace scope: no caller
writes that clause itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from app.domain.data_collections import DataRecord, DataSchema
from app.domain.paging import Page
from app.domain.record_filters import ORDERING, AllOf, AnyOf, Compare, Op, RecordFilter
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import dumps, loads
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
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.scoping import Clause, in_scope

DataTable = Literal["data_schemas", "data_records"]
_OPS = {Op.GT: ">", Op.GTE: ">=", Op.LT: "<", Op.LTE: "<="}
_NUMBER_TYPES = "('integer', 'real')"


def _scoped(scope: Scope, table: DataTable, where: Sequence[Clause], tail: str = "") -> Clause:
    """``SELECT * FROM <table> WHERE <scope> AND <where…> <tail>``: the one place the scope is added."""
    parts = [in_scope(scope), *where]
    sql = f"SELECT * FROM {table} WHERE " + " AND ".join(f"({p.sql})" for p in parts)  # noqa: S608
    return Clause(f"{sql} {tail}", tuple(param for p in parts for param in p.params))


def _json_path(path: tuple[str, ...]) -> str:
    return "$." + ".".join(path)  # segments are checked names: letters, digits, _


def _same_scalar(type_sql: str, value_sql: str, value: Any, params: list[Any]) -> str:
    """SQL true when the JSON value whose ``json_type`` is ``type_sql`` and SQL value ``value_sql`` equals
    the scalar ``value`` (same JSON type)."""
    if value is None:
        return f"{type_sql} = 'null'"
    if isinstance(value, bool):
        return f"{type_sql} = '{'true' if value else 'false'}'"
    params.append(value)
    if isinstance(value, int | float):
        return f"({type_sql} IN {_NUMBER_TYPES} AND {value_sql} = ?)"
    return f"({type_sql} = 'text' AND {value_sql} = ?)"


def _compare(c: Compare, params: list[Any]) -> str:
    path = _json_path(c.path)
    typ, val = "json_type(data, ?)", "json_extract(data, ?)"

    def eq(value: Any) -> str:
        local: list[Any] = []
        sql = _same_scalar(typ, val, value, local)
        params.append(path)  # json_type's path
        if local:
            params.extend([path, *local])  # json_extract's path, then the value
        return f"IFNULL({sql}, 0)"

    if c.op is Op.EQ:
        return eq(c.value)
    if c.op is Op.NE:
        return f"NOT {eq(c.value)}"
    if c.op is Op.IN:
        return "(" + " OR ".join(eq(v) for v in c.value) + ")"
    if c.op in ORDERING:
        kinds = _NUMBER_TYPES if isinstance(c.value, int | float) else "('text')"
        params.extend([path, path, c.value])
        return f"IFNULL({typ} IN {kinds} AND {val} {_OPS[c.op]} ?, 0)"
    if c.op is Op.EXISTS:
        params.append(path)
        return f"{typ} IS {'NOT ' if c.value else ''}NULL"
    # contains: an array element equal to the value, or (a string value) a substring of a string field
    element: list[Any] = []
    element_sql = _same_scalar("e.type", "e.value", c.value, element)
    params.extend([path, path, *element])
    inside = f"SELECT 1 FROM json_each(data, ?) AS e WHERE {element_sql}"  # noqa: S608 - fixed fragments
    sql = f"IFNULL({typ} = 'array' AND EXISTS ({inside}), 0)"
    if isinstance(c.value, str):
        params.extend([path, path, c.value])
        sql = f"({sql} OR IFNULL({typ} = 'text' AND instr({val}, ?) > 0, 0))"
    return sql


def compile_filter(where: RecordFilter) -> Clause:
    """The SQL condition (over the ``data`` column) of a record filter."""
    params: list[Any] = []

    def walk(node: RecordFilter) -> str:
        if isinstance(node, Compare):
            return _compare(node, params)
        joiner = " AND " if isinstance(node, AllOf) else " OR "
        assert isinstance(node, AllOf | AnyOf)
        return "(" + joiner.join(walk(part) for part in node.parts) + ")" if node.parts else "1"

    sql = walk(where)
    return Clause(sql, tuple(params))


def _schema_row(row: Any, history: Sequence[Any]) -> DataSchema:
    doc = dict(row)
    doc["schema"] = loads(doc["schema"])
    return data_schema_from_doc(doc, [{**dict(h), "schema": loads(h["schema"])} for h in history])


def _record_row(row: Any) -> DataRecord:
    doc = dict(row)
    doc["data"] = loads(doc["data"])
    return record_from_doc(doc)


async def _history(tx: Tx, schema_id: str) -> list[Any]:
    return await tx.rows(
        "SELECT * FROM data_schema_versions WHERE schema_id = ? ORDER BY version", (schema_id,)
    )


class SqliteDataCollections:
    """The ``DataCollectionStore`` part of the SQLite store."""

    _db: Database

    async def create_data_schema(self, schema: DataSchema) -> None:
        row = data_schema_to_doc(schema)
        row["schema"] = dumps(row["schema"])
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (schema.workspace_id,)) is None:
                raise NotFound("workspace", schema.workspace_id)
            with duplicate_is_conflict(SCHEMA_TAKEN):
                await tx.insert("data_schemas", row)
            await self._append_version(tx, schema)

    async def _append_version(self, tx: Tx, schema: DataSchema) -> None:
        version = schema_version_to_doc(current_version(schema))
        await tx.insert(
            "data_schema_versions", {"schema_id": schema.id, **version, "schema": dumps(version["schema"])}
        )

    async def _schemas(self, scope: Scope, where: Sequence[Clause], tail: str = "") -> list[DataSchema]:
        query = _scoped(scope, "data_schemas", where, tail)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(query.sql, query.params)
            return [_schema_row(row, await _history(tx, row["id"])) for row in rows]

    async def get_data_schema(self, scope: Scope, schema_id: str) -> DataSchema | None:
        found = await self._schemas(scope, [Clause("id = ?", (schema_id,))])
        return found[0] if found else None

    async def find_data_schema(self, scope: Scope, workspace_id: str, collection: str) -> DataSchema | None:
        where = [Clause("workspace_id = ? AND collection = ?", (workspace_id, collection))]
        found = await self._schemas(scope, where)
        return found[0] if found else None

    async def list_data_schemas(self, scope: Scope, workspace_id: str) -> list[DataSchema]:
        return await self._schemas(
            scope, [Clause("workspace_id = ?", (workspace_id,))], "ORDER BY collection"
        )

    async def update_data_schema(self, scope: Scope, schema: DataSchema) -> None:
        query = _scoped(scope, "data_schemas", [Clause("id = ?", (schema.id,))])
        async with self._db.transaction() as tx:
            stored = await tx.row(query.sql, query.params)
            if stored is None:
                raise NotFound("data schema", schema.id)
            if int(stored["version"]) != schema.version - 1:
                raise Conflict(
                    f"the schema is at version {stored['version']}, not {schema.version - 1}",
                    {"currentVersion": int(stored["version"])},
                )
            await tx.run(
                "UPDATE data_schemas SET schema = ?, version = ?, updated_by = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    dumps(dict(schema.schema)),
                    schema.version,
                    schema.updated_by,
                    data_schema_to_doc(schema)["updated_at"],
                    schema.id,
                ),
            )
            await self._append_version(tx, schema)

    async def insert_record(self, record: DataRecord) -> None:
        row = record_to_doc(record)
        row["data"] = dumps(row["data"])
        async with self._db.transaction() as tx:
            with duplicate_is_conflict(RECORD_TAKEN):
                await tx.insert("data_records", row)

    async def get_record(self, scope: Scope, record_id: str) -> DataRecord | None:
        query = _scoped(scope, "data_records", [Clause("id = ?", (record_id,))])
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(query.sql, query.params)
        return None if row is None else _record_row(row)

    async def update_record(self, scope: Scope, record: DataRecord) -> None:
        query = _scoped(scope, "data_records", [Clause("id = ?", (record.id,))])
        row = record_to_doc(record)
        async with self._db.transaction() as tx:
            stored = await tx.row(query.sql, query.params)
            if stored is None:
                raise NotFound("record", record.id)
            if int(stored["revision"]) != record.revision - 1:
                raise Conflict(
                    f"the record is at revision {stored['revision']}, not {record.revision - 1}",
                    {"currentRevision": int(stored["revision"])},
                )
            await tx.run(
                "UPDATE data_records SET data = ?, revision = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                (dumps(row["data"]), record.revision, record.updated_by, row["updated_at"], record.id),
            )

    async def delete_record(self, scope: Scope, record_id: str) -> None:
        query = _scoped(scope, "data_records", [Clause("id = ?", (record_id,))])
        async with self._db.transaction() as tx:
            if await tx.row(query.sql, query.params) is None:
                raise NotFound("record", record_id)
            await tx.run("DELETE FROM data_records WHERE id = ?", (record_id,))

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
        conditions = [Clause("workspace_id = ? AND collection = ?", (workspace_id, collection))]
        if where is not None:
            conditions.append(compile_filter(where))
        total = _scoped(scope, "data_records", conditions)
        page = [*conditions, Clause("id > ?", (after,))] if after is not None else conditions
        query = _scoped(scope, "data_records", page, "ORDER BY id LIMIT ?")
        async with self._db.transaction(write=False) as tx:
            count = await tx.value(f"SELECT count(*) FROM ({total.sql})", total.params)  # noqa: S608
            rows = await tx.rows(query.sql, (*query.params, first + 1))
        items = [_record_row(row) for row in rows[:first]]
        return Page(items=items, has_next=len(rows) > first, total=int(count))
