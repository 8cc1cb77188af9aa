"""Data collections: schemas (JSON Schema draft 2020-12, versioned) and the records they describe, for
people (GraphQL) and for flow steps (``/v1/data/…`` with their step token, while their attempt runs).

Every record written is validated against its collection's current schema first; nothing is written when
it does not satisfy it (``BAD_INPUT`` naming the field). A schema update reports the existing records that
no longer satisfy the new schema; they are kept as they are (fix or delete them as needed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from app import errors
from app.auth.step_tokens import StepTokenCodec
from app.domain.data_collections import (
    DataRecord,
    DataSchema,
    InvalidRecord,
    collection_problem,
    encoded_size,
    first_problem,
    record_problems,
    schema_problems,
)
from app.domain.ids import new_id, new_ordered_id
from app.domain.paging import Page
from app.domain.record_filters import parse_filter
from app.domain.workspaces import Scope
from app.ports import Clock, DataCollectionStore, RunStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal
from app.services.step_outputs import bearer_claims, require_running_attempt

MAX_INVALID_LISTED = 100  # records a schema update lists as no longer valid (the count covers all)
_SCAN_PAGE = 200
CURSOR_LIST = "records"


def record_cursor(record: DataRecord) -> str:
    """The opaque cursor of ``record`` in its collection's list (pass it as ``after``)."""
    return encode_cursor(CURSOR_LIST, [record.id])


class DataServiceStore(DataCollectionStore, WorkspaceStore, RunStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class DataActor:
    """Who reads or writes records: a person (``user_id``, their scope and roles) or a flow step (its
    workspace only, ``user_id`` None; ``name`` is ``step:<run>/<node>``)."""

    scope: Scope
    name: str
    user_id: str | None
    principal: Principal | None = None

    @classmethod
    def person(cls, principal: Principal) -> DataActor:
        return cls(principal.scope, principal.user_id, principal.user_id, principal)

    def require_write(self, workspace_id: str) -> None:
        if self.principal is not None:
            self.principal.require_write(workspace_id)


@dataclass(frozen=True, slots=True)
class SchemaUpdate:
    """The result of ``updateDataSchema``: the schema as stored and the records it no longer accepts
    (the first :data:`MAX_INVALID_LISTED`; ``invalid_count`` counts them all)."""

    schema: DataSchema
    invalid: list[InvalidRecord]
    invalid_count: int


class DataService:
    def __init__(
        self,
        *,
        store: DataServiceStore,
        clock: Clock,
        auditor: Auditor,
        tokens: StepTokenCodec,
        paging: PageRules,
        max_record_bytes: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._tokens = tokens
        self._paging = paging
        self.max_record_bytes = max_record_bytes

    # --- who ---------------------------------------------------------------------------------------

    async def step_actor(self, authorization: str) -> DataActor:
        """The flow step an ``Authorization: Bearer <step token>`` header names, while its attempt runs;
        ``Unauthenticated`` for no or a bad token, ``Conflict`` once the attempt is over."""
        claims = bearer_claims(self._tokens, self._clock, authorization)
        await require_running_attempt(self._store, claims)
        name = f"step:{claims.run_id}/{claims.node_id}"
        return DataActor(Scope.of([claims.workspace_id]), name, None)

    # --- schemas -----------------------------------------------------------------------------------

    async def schemas(self, principal: Principal, workspace_id: str) -> list[DataSchema]:
        if await self._store.get_workspace(principal.scope, workspace_id) is None:
            raise errors.NotFound("workspace", workspace_id)
        return await self._store.list_data_schemas(principal.scope, workspace_id)

    def _check_schema(self, schema: Any) -> dict[str, Any]:
        problems = schema_problems(schema)
        if problems:
            raise errors.Invalid(
                f"the schema is not valid: {problems[0].path}: {problems[0].message}", problems
            )
        if encoded_size(schema) > self.max_record_bytes:
            raise errors.Invalid.field("schema", f"is larger than {self.max_record_bytes} bytes")
        return dict(schema)

    async def create_schema(
        self, principal: Principal, workspace_id: str, collection: str, schema: Any
    ) -> DataSchema:
        async with self._auditor.action(
            "data.schema.create",
            actor_id=principal.user_id,
            target_type="data_schema",
            workspace_id=workspace_id,
        ) as record:
            if await self._store.get_workspace(principal.scope, workspace_id) is None:
                raise errors.NotFound("workspace", workspace_id)
            principal.require_write(workspace_id)
            problem = collection_problem(collection)
            if problem:
                raise errors.Invalid.field("collection", problem)
            checked = self._check_schema(schema)
            now = self._clock.now()
            created = DataSchema(
                id=new_id(),
                workspace_id=workspace_id,
                collection=collection,
                schema=checked,
                version=1,
                created_by=principal.user_id,
                created_at=now,
                updated_by=principal.user_id,
                updated_at=now,
                history=(),
            )
            await self._store.create_data_schema(created)
            record.target_id = created.id
            record.detail = {"collection": collection, "version": "1"}
            stored = await self._store.get_data_schema(principal.scope, created.id)
            assert stored is not None
            return stored

    async def update_schema(
        self, principal: Principal, schema_id: str, schema: Any, expected_version: int
    ) -> SchemaUpdate:
        async with self._auditor.action(
            "data.schema.update", actor_id=principal.user_id, target_type="data_schema", target_id=schema_id
        ) as record:
            current = await self._store.get_data_schema(principal.scope, schema_id)
            if current is None:
                raise errors.NotFound("data schema", schema_id)
            record.workspace_id = current.workspace_id
            principal.require_write(current.workspace_id)
            checked = self._check_schema(schema)
            if current.version != expected_version:
                raise errors.Conflict(
                    f"the schema is at version {current.version}, not {expected_version}",
                    {"currentVersion": current.version},
                )
            invalid, count = await self._invalid_records(principal.scope, current, checked)
            now = self._clock.now()
            updated = DataSchema(
                id=current.id,
                workspace_id=current.workspace_id,
                collection=current.collection,
                schema=checked,
                version=current.version + 1,
                created_by=current.created_by,
                created_at=current.created_at,
                updated_by=principal.user_id,
                updated_at=now,
                history=(),
            )
            await self._store.update_data_schema(principal.scope, updated)
            record.detail = {
                "collection": current.collection,
                "version": str(updated.version),
                "invalidRecords": str(count),
            }
            stored = await self._store.get_data_schema(principal.scope, schema_id)
            assert stored is not None
            return SchemaUpdate(stored, invalid, count)

    async def _invalid_records(
        self, scope: Scope, schema: DataSchema, checked: dict[str, Any]
    ) -> tuple[list[InvalidRecord], int]:
        invalid: list[InvalidRecord] = []
        count = 0
        after: str | None = None
        while True:
            page = await self._store.list_records(
                scope, schema.workspace_id, schema.collection, None, _SCAN_PAGE, after
            )
            for item in page.items:
                found = first_problem(checked, item)
                if found is not None:
                    count += 1
                    if len(invalid) < MAX_INVALID_LISTED:
                        invalid.append(found)
            if not page.has_next or not page.items:
                return invalid, count
            after = page.items[-1].id

    # --- records -----------------------------------------------------------------------------------

    async def _collection(self, actor: DataActor, workspace_id: str, collection: str) -> DataSchema:
        schema = await self._store.find_data_schema(actor.scope, workspace_id, collection)
        if schema is None:
            if await self._store.get_workspace(actor.scope, workspace_id) is None:
                raise errors.NotFound("workspace", workspace_id)
            raise errors.NotFound("collection", collection)
        return schema

    def _check_record(self, schema: DataSchema, data: Any) -> dict[str, Any]:
        problems = record_problems(schema.schema, data)
        if problems:
            raise errors.Invalid(
                f"the record does not satisfy the schema of {schema.collection!r} "
                f"(version {schema.version}): {problems[0].path}: {problems[0].message}",
                problems,
            )
        size = encoded_size(data)
        if size > self.max_record_bytes:
            raise errors.Invalid.field(
                "data",
                f"is {size} bytes; a record holds at most {self.max_record_bytes} "
                "(TRELLIS_DATA_RECORD_MAX_BYTES)",
            )
        return dict(data)

    async def records(
        self,
        actor: DataActor,
        workspace_id: str,
        collection: str,
        filter: Any,
        first: int | None,
        after: str | None,
    ) -> Page[DataRecord]:
        size = self._paging.size(first)
        where = parse_filter(filter)
        after_id = None
        if after is not None:
            key = decode_cursor(CURSOR_LIST, after)
            if len(key) != 1 or not isinstance(key[0], str):
                raise errors.Invalid.field("after", "is not a cursor of this list")
            after_id = key[0]
        await self._collection(actor, workspace_id, collection)
        return await self._store.list_records(actor.scope, workspace_id, collection, where, size, after_id)

    async def record(self, actor: DataActor, record_id: str, collection: str | None = None) -> DataRecord:
        found = await self._store.get_record(actor.scope, record_id)
        if found is None or (collection is not None and found.collection != collection):
            raise errors.NotFound("record", record_id)
        return found

    async def create_record(
        self, actor: DataActor, workspace_id: str, collection: str, data: Any
    ) -> DataRecord:
        async with self._auditor.action(
            "data.record.create", actor_id=actor.user_id, target_type="data_record", workspace_id=workspace_id
        ) as audit:
            audit.detail = {"collection": collection, "by": actor.name}
            schema = await self._collection(actor, workspace_id, collection)
            actor.require_write(workspace_id)
            checked = self._check_record(schema, data)
            now = self._clock.now()
            created = DataRecord(
                id=new_ordered_id(),
                workspace_id=workspace_id,
                collection=collection,
                data=checked,
                revision=1,
                created_by=actor.name,
                created_at=now,
                updated_by=actor.name,
                updated_at=now,
            )
            await self._store.insert_record(created)
            audit.target_id = created.id
            return created

    async def update_record(
        self,
        actor: DataActor,
        record_id: str,
        data: Any,
        expected_revision: int | None,
        collection: str | None = None,
    ) -> DataRecord:
        """Replace the record's data; ``expected_revision`` None (steps only) skips the revision check."""
        async with self._auditor.action(
            "data.record.update", actor_id=actor.user_id, target_type="data_record", target_id=record_id
        ) as audit:
            current = await self.record(actor, record_id, collection)
            audit.workspace_id = current.workspace_id
            audit.detail = {"collection": current.collection, "by": actor.name}
            actor.require_write(current.workspace_id)
            schema = await self._collection(actor, current.workspace_id, current.collection)
            checked = self._check_record(schema, data)
            if expected_revision is not None and expected_revision != current.revision:
                raise errors.Conflict(
                    f"the record is at revision {current.revision}, not {expected_revision}",
                    {"currentRevision": current.revision},
                )
            updated = DataRecord(
                id=current.id,
                workspace_id=current.workspace_id,
                collection=current.collection,
                data=checked,
                revision=current.revision + 1,
                created_by=current.created_by,
                created_at=current.created_at,
                updated_by=actor.name,
                updated_at=self._clock.now(),
            )
            await self._store.update_record(actor.scope, updated)
            audit.detail["revision"] = str(updated.revision)
            return updated

    async def delete_record(
        self, actor: DataActor, record_id: str, collection: str | None = None
    ) -> DataRecord:
        async with self._auditor.action(
            "data.record.delete", actor_id=actor.user_id, target_type="data_record", target_id=record_id
        ) as audit:
            current = await self.record(actor, record_id, collection)
            audit.workspace_id = current.workspace_id
            audit.detail = {"collection": current.collection, "by": actor.name}
            actor.require_write(current.workspace_id)
            await self._store.delete_record(actor.scope, record_id)
            return current


def decode_json(text: str, field: str) -> Any:
    """``text`` as JSON; ``BAD_INPUT`` on ``field`` when it is not."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise errors.Invalid.field(field, "is not JSON") from exc
