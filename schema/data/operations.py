"""Data collection queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.services.data_collections import DataActor, record_cursor
from schema.connections import Connection, connection
from schema.context import Info
from schema.data.types import (
    CreateDataSchemaInput,
    CreateDataSchemaPayload,
    CreateRecordInput,
    CreateRecordPayload,
    DataRecord,
    DataSchema,
    DeleteRecordInput,
    DeleteRecordPayload,
    InvalidRecord,
    UpdateDataSchemaInput,
    UpdateDataSchemaPayload,
    UpdateRecordInput,
    UpdateRecordPayload,
)


@strawberry.type
class DataQuery:
    @strawberry.field(description="A workspace's data collections (their schemas), by name.")
    async def data_schemas(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
    ) -> list[DataSchema]:
        principal = await info.context.principal()
        schemas = await info.context.services.data.schemas(principal, workspace_id)
        return [DataSchema.from_domain(s) for s in schemas]

    @strawberry.field(description="The records of a collection, by id (creation order).")
    async def records(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
        collection: Annotated[str, strawberry.argument(description="The collection.")],
        filter: Annotated[
            JSON | None,
            strawberry.argument(
                description='Only matching records: `{"field.path": {"eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|'
                '"contains"|"exists": value}, "and": [...], "or": [...]}`.'
            ),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[DataRecord]:
        actor = DataActor.person(await info.context.principal())
        page = await info.context.services.data.records(actor, workspace_id, collection, filter, first, after)
        return connection(page, DataRecord.from_domain, record_cursor, after=after)

    @strawberry.field(description="One record.")
    async def record(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The record.")]
    ) -> DataRecord:
        actor = DataActor.person(await info.context.principal())
        return DataRecord.from_domain(await info.context.services.data.record(actor, id))


@strawberry.type
class DataMutation:
    @strawberry.mutation(description="Create a data collection with its JSON Schema (draft 2020-12).")
    async def create_data_schema(self, info: Info, input: CreateDataSchemaInput) -> CreateDataSchemaPayload:
        principal = await info.context.principal()
        schema = await info.context.services.data.create_schema(
            principal, input.workspace_id, input.collection, input.schema
        )
        return CreateDataSchemaPayload(data_schema=DataSchema.from_domain(schema))

    @strawberry.mutation(
        description="Save a new version of a collection's schema; lists the records it no longer accepts."
    )
    async def update_data_schema(self, info: Info, input: UpdateDataSchemaInput) -> UpdateDataSchemaPayload:
        principal = await info.context.principal()
        result = await info.context.services.data.update_schema(
            principal, input.id, input.schema, input.expected_version
        )
        return UpdateDataSchemaPayload(
            data_schema=DataSchema.from_domain(result.schema),
            invalid_records=[InvalidRecord.from_domain(i) for i in result.invalid],
            invalid_record_count=result.invalid_count,
        )

    @strawberry.mutation(description="Add a record to a collection (checked against its schema).")
    async def create_record(self, info: Info, input: CreateRecordInput) -> CreateRecordPayload:
        actor = DataActor.person(await info.context.principal())
        record = await info.context.services.data.create_record(
            actor, input.workspace_id, input.collection, input.data
        )
        return CreateRecordPayload(record=DataRecord.from_domain(record))

    @strawberry.mutation(description="Replace a record's data (checked against its collection's schema).")
    async def update_record(self, info: Info, input: UpdateRecordInput) -> UpdateRecordPayload:
        actor = DataActor.person(await info.context.principal())
        record = await info.context.services.data.update_record(
            actor, input.id, input.data, input.expected_revision
        )
        return UpdateRecordPayload(record=DataRecord.from_domain(record))

    @strawberry.mutation(description="Delete a record.")
    async def delete_record(self, info: Info, input: DeleteRecordInput) -> DeleteRecordPayload:
        actor = DataActor.person(await info.context.principal())
        await info.context.services.data.delete_record(actor, input.id)
        return DeleteRecordPayload(deleted_record_id=input.id)
