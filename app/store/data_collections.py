"""Data schemas and records as JSON-safe documents, shared by both backends (see :mod:`app.store.codec`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.data_collections import DataRecord, DataSchema, DataSchemaVersion
from app.store.codec import Document, decode_datetime, encode_datetime

SCHEMA_TAKEN = "the workspace already has a collection of this name"
RECORD_TAKEN = "a record with this id already exists"


def schema_version_to_doc(version: DataSchemaVersion) -> Document:
    return {
        "version": version.version,
        "schema": dict(version.schema),
        "created_by": version.created_by,
        "created_at": encode_datetime(version.created_at),
    }


def schema_version_from_doc(doc: Mapping[str, Any]) -> DataSchemaVersion:
    return DataSchemaVersion(
        version=int(doc["version"]),
        schema=doc["schema"],
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
    )


def current_version(schema: DataSchema) -> DataSchemaVersion:
    """The history entry of ``schema``'s own version."""
    return DataSchemaVersion(schema.version, schema.schema, schema.updated_by, schema.updated_at)


def data_schema_to_doc(schema: DataSchema) -> Document:
    """Without its history (each backend keeps that its own way)."""
    return {
        "id": schema.id,
        "workspace_id": schema.workspace_id,
        "collection": schema.collection,
        "schema": dict(schema.schema),
        "version": schema.version,
        "created_by": schema.created_by,
        "created_at": encode_datetime(schema.created_at),
        "updated_by": schema.updated_by,
        "updated_at": encode_datetime(schema.updated_at),
    }


def data_schema_from_doc(doc: Mapping[str, Any], history: Sequence[Mapping[str, Any]]) -> DataSchema:
    return DataSchema(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        collection=doc["collection"],
        schema=doc["schema"],
        version=int(doc["version"]),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_by=doc["updated_by"],
        updated_at=decode_datetime(doc["updated_at"]),
        history=tuple(sorted((schema_version_from_doc(h) for h in history), key=lambda h: h.version)),
    )


def record_to_doc(record: DataRecord) -> Document:
    return {
        "id": record.id,
        "workspace_id": record.workspace_id,
        "collection": record.collection,
        "data": dict(record.data),
        "revision": record.revision,
        "created_by": record.created_by,
        "created_at": encode_datetime(record.created_at),
        "updated_by": record.updated_by,
        "updated_at": encode_datetime(record.updated_at),
    }


def record_from_doc(doc: Mapping[str, Any]) -> DataRecord:
    return DataRecord(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        collection=doc["collection"],
        data=doc["data"],
        revision=int(doc["revision"]),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_by=doc["updated_by"],
        updated_at=decode_datetime(doc["updated_at"]),
    )
