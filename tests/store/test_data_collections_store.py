"""Contract: data collections — schemas versioned with their history, records with revisions, the workspace
scope on every read and write, pagination by id, and the record filter language giving the same answers
on every backend (the same cases run on SQLite and, when TRELLIS_TEST_MONGODB_URL is set, MongoDB)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from app.domain.data_collections import DataRecord, DataSchema
from app.domain.record_filters import parse_filter
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make

# Records of the filter cases: their ids sort as listed.
ROWS: dict[str, dict[str, Any]] = {
    "r1": {
        "name": "Ada",
        "age": 36,
        "score": 9.5,
        "vip": True,
        "tags": ["math", "engine"],
        "city": {"name": "London"},
    },
    "r2": {
        "name": "Grace",
        "age": 85,
        "vip": False,
        "tags": ["navy"],
        "city": {"name": "New York"},
        "note": None,
    },
    "r3": {"name": "Linus", "age": "36", "tags": [], "city": [{"name": "Helsinki"}], "note": "kernel"},
    "r4": {"name": "Edsger", "age": 72.0, "score": 1, "tags": ["go", 1, True, None], "city": {"name": None}},
    "r5": {"nested": {"deep": {"value": 3}}, "age": True, "tags": "math,navy"},
}

CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"name": {"eq": "Ada"}}, ["r1"]),
    ({"age": {"eq": 36}}, ["r1"]),  # the string "36" is not the number 36
    ({"age": {"eq": 72}}, ["r4"]),  # 72 equals 72.0
    ({"age": {"eq": "36"}}, ["r3"]),
    ({"vip": {"eq": True}}, ["r1"]),
    ({"age": {"eq": 1}}, []),  # true is not 1
    ({"score": {"eq": 1}}, ["r4"]),
    ({"note": {"eq": None}}, ["r2"]),  # a present null only
    ({"note": {"ne": None}}, ["r1", "r3", "r4", "r5"]),
    ({"name": {"ne": "Ada"}}, ["r2", "r3", "r4", "r5"]),  # missing fields match ne
    ({"age": {"gt": 36}}, ["r2", "r4"]),
    ({"age": {"gte": 36}}, ["r1", "r2", "r4"]),
    ({"age": {"lt": 72}}, ["r1"]),
    ({"age": {"lte": 72}}, ["r1", "r4"]),
    ({"name": {"gte": "Edsger", "lt": "Linus"}}, ["r2", "r4"]),  # strings by code point
    ({"age": {"gt": "1"}}, ["r3"]),  # only strings compare with a string
    ({"name": {"in": ["Ada", "Linus", 36]}}, ["r1", "r3"]),
    ({"age": {"in": [36, True]}}, ["r1", "r5"]),
    ({"tags": {"contains": "math"}}, ["r1", "r5"]),  # an array element, or a substring of a string
    ({"tags": {"contains": 1}}, ["r4"]),
    ({"tags": {"contains": True}}, ["r4"]),
    ({"tags": {"contains": None}}, ["r4"]),
    ({"name": {"contains": "ra"}}, ["r2"]),
    ({"note": {"exists": True}}, ["r2", "r3"]),
    ({"note": {"exists": False}}, ["r1", "r4", "r5"]),
    ({"city.name": {"eq": "London"}}, ["r1"]),
    ({"city.name": {"exists": True}}, ["r1", "r2", "r4"]),  # never through an array (r3)
    ({"city.name": {"eq": None}}, ["r4"]),
    ({"city": {"exists": True}, "city.name": {"exists": False}}, ["r3"]),
    ({"nested.deep.value": {"gte": 3}}, ["r5"]),
    ({"tags": {"eq": "navy"}}, []),  # eq never looks inside an array
    ({"city.name": {"ne": "London"}}, ["r2", "r3", "r4", "r5"]),
    ({"or": [{"name": {"eq": "Ada"}}, {"age": {"gt": 80}}]}, ["r1", "r2"]),
    ({"and": [{"age": {"gt": 30}}, {"or": [{"vip": {"eq": False}}, {"score": {"lt": 5}}]}]}, ["r2", "r4"]),
    ({"name": {"eq": "Ada"}, "age": {"eq": 85}}, []),
]


def schema(make: Make, workspace_id: str, collection: str = "people", **overrides: Any) -> DataSchema:
    at = make.at()
    return DataSchema(
        id=overrides.pop("id", None) or make.id("schema"),
        workspace_id=workspace_id,
        collection=collection,
        schema=overrides.pop("schema", {"type": "object"}),
        version=1,
        created_by="user-a",
        created_at=at,
        updated_by="user-a",
        updated_at=at,
        history=(),
    )


def record(make: Make, workspace_id: str, data: dict[str, Any], **overrides: Any) -> DataRecord:
    at = make.at()
    return DataRecord(
        id=overrides.pop("id", None) or make.id("rec"),
        workspace_id=workspace_id,
        collection=overrides.pop("collection", "people"),
        data=data,
        revision=1,
        created_by="user-a",
        created_at=at,
        updated_by="user-a",
        updated_at=at,
    )


async def ids(
    store: Store, scope: Scope, workspace_id: str, where: dict[str, Any], first: int = 100
) -> list[str]:
    page = await store.list_records(scope, workspace_id, "people", parse_filter(where), first, None)
    return [r.id for r in page.items]


async def test_the_filter_language_means_the_same_on_every_backend(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    await store.create_data_schema(schema(make, workspace.id))
    for record_id, data in ROWS.items():
        await store.insert_record(record(make, workspace.id, data, id=record_id))
    failures = []
    for where, expected in CASES:
        got = await ids(store, scope, workspace.id, where)
        if got != expected:
            failures.append((where, expected, got))
    assert not failures, failures
    page = await store.list_records(
        scope, workspace.id, "people", parse_filter({"age": {"gte": 36}}), 2, None
    )
    assert page.total == 3 and page.has_next and [r.id for r in page.items] == ["r1", "r2"]


async def test_schemas_keep_every_version_and_refuse_a_stale_one(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    first = schema(make, workspace.id)
    await store.create_data_schema(first)
    with pytest.raises(Conflict):
        await store.create_data_schema(schema(make, workspace.id))  # the collection name is taken
    second = replace(first, schema={"type": "object", "required": ["name"]}, version=2, updated_at=make.at())
    await store.update_data_schema(scope, second)
    with pytest.raises(Conflict) as stale:
        await store.update_data_schema(scope, second)
    assert stale.value.details == {"currentVersion": 2}
    stored = await store.get_data_schema(scope, first.id)
    assert stored is not None and stored.version == 2 and stored.schema == second.schema
    assert [(v.version, v.schema) for v in stored.history] == [(1, first.schema), (2, second.schema)]
    assert await store.find_data_schema(scope, workspace.id, "people") == stored
    assert [s.id for s in await store.list_data_schemas(scope, workspace.id)] == [first.id]


async def test_records_are_scoped_paged_and_revised(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    _, other, other_scope = await make.tenant(store)
    await store.create_data_schema(schema(make, workspace.id))
    created = [record(make, workspace.id, {"n": i}, id=f"rec-{i:02d}") for i in range(5)]
    for item in created:
        await store.insert_record(item)
    page = await store.list_records(scope, workspace.id, "people", None, 2, "rec-01")
    assert [r.id for r in page.items] == ["rec-02", "rec-03"] and page.has_next and page.total == 5
    assert await store.get_record(other_scope, "rec-00") is None
    assert (await store.list_records(other_scope, workspace.id, "people", None, 10, None)).items == []
    assert (
        await store.get_data_schema(other_scope, (await store.list_data_schemas(scope, workspace.id))[0].id)
        is None
    )
    with pytest.raises(NotFound):
        await store.delete_record(other_scope, "rec-00")
    with pytest.raises(NotFound):
        await store.update_record(other_scope, replace(created[0], revision=2))
    updated = replace(created[0], data={"n": 100}, revision=2, updated_by="step:run/node")
    await store.update_record(scope, updated)
    with pytest.raises(Conflict) as stale:
        await store.update_record(scope, updated)
    assert stale.value.details == {"currentRevision": 2}
    assert await store.get_record(scope, "rec-00") == updated
    await store.delete_record(scope, "rec-00")
    assert await store.get_record(scope, "rec-00") is None
    assert other.id != workspace.id
