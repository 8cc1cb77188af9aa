"""Data collections: per-workspace collections of JSON records, each collection described by a versioned
JSON Schema (draft 2020-12) that every record written to it must satisfy."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, ValidationError

from app.errors import FieldError

MAX_COLLECTION = 64
_COLLECTION = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class DataSchemaVersion:
    """One version of a collection's schema as it was saved (versions start at 1, never change)."""

    version: int
    schema: Mapping[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DataSchema:
    """The schema of a collection of a workspace; ``collection`` is unique in the workspace. ``version``
    grows by one with each update; ``history`` holds every version, oldest first (the last is current)."""

    id: str
    workspace_id: str
    collection: str
    schema: Mapping[str, Any]
    version: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    history: tuple[DataSchemaVersion, ...]


@dataclass(frozen=True, slots=True)
class DataRecord:
    """A record of a collection: a JSON object. ``revision`` is 1 when created and grows with each update;
    ``updated_by`` is a user id, or ``step:<run>/<node>`` for a flow step."""

    id: str
    workspace_id: str
    collection: str
    data: Mapping[str, Any]
    revision: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """A record that does not satisfy a schema: its first problem, ``path`` pointing into its data."""

    record_id: str
    path: str
    message: str


def collection_problem(name: str) -> str | None:
    """Why ``name`` cannot name a collection, or None."""
    if not _COLLECTION.match(name):
        return (
            f"must be 1 to {MAX_COLLECTION} characters: a lower-case letter, then lower-case letters, "
            "digits, _ or -"
        )
    return None


def json_path(parts: Iterable[Any], root: str) -> str:
    """``root.a[2].b`` from the path parts of a jsonschema error."""
    text = root
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def schema_problems(schema: Any, where: str = "schema") -> list[FieldError]:
    """Why ``schema`` is not a JSON Schema (draft 2020-12) of objects; empty when it is."""
    if not isinstance(schema, Mapping):
        return [FieldError(where, "must be a JSON object (a JSON Schema)")]
    declared = schema.get("$schema")
    if declared is not None and declared != jsonschema.Draft202012Validator.META_SCHEMA["$id"]:
        return [FieldError(f"{where}.$schema", "must be draft 2020-12 (or be left out)")]
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [FieldError(json_path(exc.absolute_path, where), exc.message)]
    if schema.get("type", "object") != "object":
        return [FieldError(f"{where}.type", "must be object: records are JSON objects")]
    return []


def _sorted_errors(schema: Mapping[str, Any], data: Any) -> list[ValidationError]:
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))


def record_problems(schema: Mapping[str, Any], data: Any, where: str = "data") -> list[FieldError]:
    """What is wrong with ``data`` against ``schema`` (each with the path of the field), at most 20."""
    if not isinstance(data, Mapping):
        return [FieldError(where, "must be a JSON object")]
    return [
        FieldError(json_path(e.absolute_path, where), e.message) for e in _sorted_errors(schema, data)[:20]
    ]


def first_problem(schema: Mapping[str, Any], record: DataRecord) -> InvalidRecord | None:
    """The first problem of ``record`` against ``schema``, or None when it is valid."""
    problems = record_problems(schema, record.data)
    if not problems:
        return None
    return InvalidRecord(record.id, problems[0].path, problems[0].message)


def encoded_size(data: Any) -> int:
    """The size of ``data`` as compact JSON in UTF-8 bytes (what the record limits count)."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
