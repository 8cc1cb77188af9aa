"""Data collections: JSON Schemas (versioned) and the records they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.domain.data_collections import DataRecord as DomainRecord
from app.domain.data_collections import DataSchema as DomainSchema
from app.domain.data_collections import DataSchemaVersion as DomainVersion
from app.domain.data_collections import InvalidRecord as DomainInvalid


def _json(value: Any) -> Any:
    """A JSON object for a ``JSON`` field (a plain dict)."""
    return dict(value)


@strawberry.type(description="One saved version of a collection's schema.")
class DataSchemaVersion:
    version: int = strawberry.field(description="1 for the first; one more with each update.")
    schema: JSON = strawberry.field(description="The JSON Schema (draft 2020-12) of this version.")
    created_at: datetime = strawberry.field(description="When this version was saved.")

    @classmethod
    def from_domain(cls, version: DomainVersion) -> DataSchemaVersion:
        return cls(version=version.version, schema=_json(version.schema), created_at=version.created_at)


@strawberry.type(description="The JSON Schema (draft 2020-12) every record of a collection must satisfy.")
class DataSchema:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    collection: str = strawberry.field(description="The collection's name, unique in the workspace.")
    schema: JSON = strawberry.field(description="The current JSON Schema.")
    version: int = strawberry.field(description="The current version (pass it as `expectedVersion`).")
    created_at: datetime = strawberry.field(description="When the collection was created.")
    updated_at: datetime = strawberry.field(description="When the current version was saved.")
    history: list[DataSchemaVersion] = strawberry.field(description="Every version, oldest first.")

    @classmethod
    def from_domain(cls, schema: DomainSchema) -> DataSchema:
        return cls(
            id=strawberry.ID(schema.id),
            workspace_id=strawberry.ID(schema.workspace_id),
            collection=schema.collection,
            schema=_json(schema.schema),
            version=schema.version,
            created_at=schema.created_at,
            updated_at=schema.updated_at,
            history=[DataSchemaVersion.from_domain(v) for v in schema.history],
        )


@strawberry.type(description="A record of a data collection: a JSON object its schema accepts.")
class DataRecord:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    collection: str = strawberry.field(description="The collection it belongs to.")
    data: JSON = strawberry.field(description="The record's JSON object.")
    revision: int = strawberry.field(description="1 when created; one more with each update.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    updated_by: str = strawberry.field(
        description="Who changed it last: a user id, or `step:<runId>/<nodeId>` for a flow step."
    )

    @classmethod
    def from_domain(cls, record: DomainRecord) -> DataRecord:
        return cls(
            id=strawberry.ID(record.id),
            workspace_id=strawberry.ID(record.workspace_id),
            collection=record.collection,
            data=_json(record.data),
            revision=record.revision,
            created_at=record.created_at,
            updated_at=record.updated_at,
            updated_by=record.updated_by,
        )


@strawberry.type(description="A record that does not satisfy a schema, with its first problem.")
class InvalidRecord:
    record_id: strawberry.ID = strawberry.field(description="The record.")
    path: str = strawberry.field(description="Where in the record, e.g. `data.items[2].price`.")
    message: str = strawberry.field(description="What is wrong there.")

    @classmethod
    def from_domain(cls, invalid: DomainInvalid) -> InvalidRecord:
        return cls(record_id=strawberry.ID(invalid.record_id), path=invalid.path, message=invalid.message)


@strawberry.input(description="Create a data collection with its schema.")
class CreateDataSchemaInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    collection: str = strawberry.field(
        description="Name: a lower-case letter, then lower-case letters, digits, `_` or `-` (64 at most)."
    )
    schema: JSON = strawberry.field(
        description="A JSON Schema, draft 2020-12, of objects (`type` object or left out)."
    )


@strawberry.type(description="The result of `createDataSchema`.")
class CreateDataSchemaPayload:
    data_schema: DataSchema = strawberry.field(description="The schema as stored, at version 1.")


@strawberry.input(description="Save a new version of a collection's schema.")
class UpdateDataSchemaInput:
    id: strawberry.ID = strawberry.field(description="The schema.")
    schema: JSON = strawberry.field(description="The new JSON Schema (draft 2020-12).")
    expected_version: int = strawberry.field(
        description="The version this change is based on; another one is a CONFLICT with `currentVersion`."
    )


@strawberry.type(description="The result of `updateDataSchema`.")
class UpdateDataSchemaPayload:
    data_schema: DataSchema = strawberry.field(description="The schema as stored, its version bumped.")
    invalid_records: list[InvalidRecord] = strawberry.field(
        description="Existing records the new version does not accept (the first 100). They are kept "
        "unchanged: fix or delete them."
    )
    invalid_record_count: int = strawberry.field(description="How many records the new version refuses.")


@strawberry.input(description="Add a record to a collection.")
class CreateRecordInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    collection: str = strawberry.field(description="The collection.")
    data: JSON = strawberry.field(
        description="A JSON object its schema accepts (at most TRELLIS_DATA_RECORD_MAX_BYTES)."
    )


@strawberry.type(description="The result of `createRecord`.")
class CreateRecordPayload:
    record: DataRecord = strawberry.field(description="The record as stored.")


@strawberry.input(description="Replace a record's data.")
class UpdateRecordInput:
    id: strawberry.ID = strawberry.field(description="The record.")
    data: JSON = strawberry.field(description="The new JSON object (its schema must accept it).")
    expected_revision: int = strawberry.field(
        description="The revision this change is based on; another one is a CONFLICT with `currentRevision`."
    )


@strawberry.type(description="The result of `updateRecord`.")
class UpdateRecordPayload:
    record: DataRecord = strawberry.field(description="The record as stored, its revision bumped.")


@strawberry.input(description="Delete a record.")
class DeleteRecordInput:
    id: strawberry.ID = strawberry.field(description="The record.")


@strawberry.type(description="The result of `deleteRecord`.")
class DeleteRecordPayload:
    deleted_record_id: strawberry.ID = strawberry.field(description="The id of the deleted record.")
