"""Data collections through GraphQL over real HTTP (schemas versioned, invalid schemas and records refused
with the field named, filters, pages, an update listing the records it no longer accepts) and through
``/v1/data/…`` with a step token: only the step's own workspace, only while its attempt runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.flows.function_jobs import attempt_name
from app.settings import Settings
from tests.api.test_function_steps_over_http import (
    edge,
    ended,
    function,
    make_flow,
    node,
    start,
    step_token,
    until,
)
from tests.flows.step_pods import StepPod
from tests.graphql_client import GraphQLClient

CREATE_SCHEMA = """mutation($input: CreateDataSchemaInput!) { createDataSchema(input: $input) {
  dataSchema { id collection version schema history { version schema } } } }"""
UPDATE_SCHEMA = """mutation($input: UpdateDataSchemaInput!) { updateDataSchema(input: $input) {
  dataSchema { id version history { version } } invalidRecords { recordId path message } invalidRecordCount } }"""
CREATE = (
    """mutation($input: CreateRecordInput!) { createRecord(input: $input) { record { id revision data } } }"""
)
UPDATE = (
    """mutation($input: UpdateRecordInput!) { updateRecord(input: $input) { record { id revision data } } }"""
)
DELETE = """mutation($id: ID!) { deleteRecord(input: {id: $id}) { deletedRecordId } }"""
RECORDS = """query($ws: ID!, $c: String!, $f: JSON, $first: Int, $after: String) {
  records(workspaceId: $ws, collection: $c, filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id data } } }"""
SCHEMAS = "query($ws: ID!) { dataSchemas(workspaceId: $ws) { collection version } }"
INVOICE = {
    "type": "object",
    "required": ["customer", "total"],
    "properties": {
        "customer": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
    },
}


async def personal(gql: GraphQLClient, email: str) -> tuple[str, str]:
    token: str = (await gql.register(email))["token"]
    workspaces = (await gql.ok("query { workspaces { id personal } }", token=token))["workspaces"]
    return token, str(next(w["id"] for w in workspaces if w["personal"]))


async def invoices(gql: GraphQLClient, token: str, ws: str) -> dict[str, Any]:
    created = await gql.ok(
        CREATE_SCHEMA,
        {"input": {"workspaceId": ws, "collection": "invoices", "schema": INVOICE}},
        token=token,
    )
    return created["createDataSchema"]["dataSchema"]  # type: ignore[no-any-return]


async def add(gql: GraphQLClient, token: str, ws: str, data: Any) -> dict[str, Any]:
    created = await gql.ok(
        CREATE, {"input": {"workspaceId": ws, "collection": "invoices", "data": data}}, token=token
    )
    return created["createRecord"]["record"]  # type: ignore[no-any-return]


async def test_schemas_are_checked_versioned_and_report_records_they_no_longer_accept(
    gql: GraphQLClient,
) -> None:
    token, ws = await personal(gql, "ada@example.com")
    bad = await gql.error(
        CREATE_SCHEMA,
        {
            "input": {
                "workspaceId": ws,
                "collection": "invoices",
                "schema": {"type": "object", "required": "x"},
            }
        },
        token=token,
    )
    assert bad["extensions"]["code"] == "BAD_INPUT"
    assert bad["extensions"]["fields"][0]["path"] == "schema.required"
    bad_name = await gql.error(
        CREATE_SCHEMA, {"input": {"workspaceId": ws, "collection": "Bad Name", "schema": {}}}, token=token
    )
    assert bad_name["extensions"]["fields"][0]["path"] == "collection"
    assert (await gql.ok(SCHEMAS, {"ws": ws}, token=token))["dataSchemas"] == []  # nothing written

    created = await invoices(gql, token, ws)
    assert created["version"] == 1 and created["history"] == [{"version": 1, "schema": INVOICE}]
    cheap = await add(gql, token, ws, {"customer": "acme", "total": 5})
    big = await add(gql, token, ws, {"customer": "globex", "total": 500})
    stricter = {
        **INVOICE,
        "properties": {**INVOICE["properties"], "total": {"type": "number", "minimum": 10}},
    }
    stale = await gql.error(
        UPDATE_SCHEMA, {"input": {"id": created["id"], "schema": stricter, "expectedVersion": 7}}, token=token
    )
    assert stale["extensions"]["code"] == "CONFLICT"
    updated = (
        await gql.ok(
            UPDATE_SCHEMA,
            {"input": {"id": created["id"], "schema": stricter, "expectedVersion": 1}},
            token=token,
        )
    )["updateDataSchema"]
    assert updated["dataSchema"]["version"] == 2
    assert [v["version"] for v in updated["dataSchema"]["history"]] == [1, 2]
    assert updated["invalidRecordCount"] == 1
    assert updated["invalidRecords"][0]["recordId"] == cheap["id"]
    assert updated["invalidRecords"][0]["path"] == "data.total"
    listed = (await gql.ok(RECORDS, {"ws": ws, "c": "invoices"}, token=token))["records"]
    assert {n["id"] for n in listed["nodes"]} == {cheap["id"], big["id"]}  # kept


async def test_records_are_validated_filtered_paged_and_revised(gql: GraphQLClient) -> None:
    token, ws = await personal(gql, "ada@example.com")
    await invoices(gql, token, ws)
    refused = await gql.error(
        CREATE,
        {
            "input": {
                "workspaceId": ws,
                "collection": "invoices",
                "data": {"customer": "acme", "total": 1, "lines": [{"qty": "two"}]},
            }
        },
        token=token,
    )
    assert refused["extensions"]["code"] == "BAD_INPUT"
    assert refused["extensions"]["fields"] == [
        {"path": "data.lines[0].qty", "message": "'two' is not of type 'integer'"}
    ]
    missing = await gql.error(
        CREATE, {"input": {"workspaceId": ws, "collection": "invoices", "data": {"total": 1}}}, token=token
    )
    assert missing["extensions"]["fields"][0]["path"] == "data"
    assert "customer" in missing["extensions"]["fields"][0]["message"]

    made = [
        await add(gql, token, ws, {"customer": c, "total": t})
        for c, t in [("a", 1), ("b", 20), ("c", 30), ("d", 40)]
    ]
    first = (
        await gql.ok(
            RECORDS, {"ws": ws, "c": "invoices", "f": {"total": {"gte": 20}}, "first": 2}, token=token
        )
    )["records"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    assert [n["data"]["customer"] for n in first["nodes"]] == ["b", "c"]
    rest = (
        await gql.ok(
            RECORDS,
            {
                "ws": ws,
                "c": "invoices",
                "f": {"total": {"gte": 20}},
                "first": 2,
                "after": first["pageInfo"]["endCursor"],
            },
            token=token,
        )
    )["records"]
    assert [n["data"]["customer"] for n in rest["nodes"]] == ["d"] and not rest["pageInfo"]["hasNextPage"]
    bad_filter = await gql.error(
        RECORDS, {"ws": ws, "c": "invoices", "f": {"total": {"near": 3}}}, token=token
    )
    assert bad_filter["extensions"]["fields"][0]["path"] == "filter.total.near"

    one = made[0]
    changed = await gql.ok(
        UPDATE,
        {"input": {"id": one["id"], "data": {"customer": "a", "total": 2}, "expectedRevision": 1}},
        token=token,
    )
    assert changed["updateRecord"]["record"]["revision"] == 2
    stale = await gql.error(
        UPDATE,
        {"input": {"id": one["id"], "data": {"customer": "a", "total": 3}, "expectedRevision": 1}},
        token=token,
    )
    assert stale["extensions"]["code"] == "CONFLICT"
    assert (await gql.ok(DELETE, {"id": one["id"]}, token=token))["deleteRecord"]["deletedRecordId"] == one[
        "id"
    ]

    other, _ = await personal(gql, "grace@example.com")  # another workspace's records are not found
    hidden = await gql.error(DELETE, {"id": made[1]["id"]}, token=other)
    assert hidden["extensions"]["code"] == "NOT_FOUND"
    assert (await gql.error(RECORDS, {"ws": ws, "c": "invoices"}, token=other))["extensions"][
        "code"
    ] == "NOT_FOUND"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"flow_job_poll_seconds": 0.05, "run_heartbeat_seconds": 0.2, "flow_job_ttl_seconds": 60}
    )


@pytest.fixture
def pods_wait(kube_api: Any) -> None:
    kube_api.controllers.enable()
    kube_api.controllers.job_pod_state = "running"


async def test_a_step_reaches_only_its_own_workspace_while_its_attempt_runs(
    kube_api: Any, pods_wait: None, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    token, wf = await make_flow(
        gql,
        kube_api,
        [node("start", "Start"), function("save"), node("end", "End")],
        [edge("start", "save"), edge("save", "end")],
    )
    workspaces = (await gql.ok("query { workspaces { id personal } }", token=token))["workspaces"]
    ws = str(next(w["id"] for w in workspaces if w["personal"]))
    await invoices(gql, token, ws)
    other_token, other_ws = await personal(gql, "grace@example.com")
    await invoices(gql, other_token, other_ws)  # the same name in another workspace
    theirs = await add(gql, other_token, other_ws, {"customer": "grace", "total": 1})

    run_id = await start(gql, token, wf)
    pod = await StepPod.of(kube_api, run_id, "save", 1)
    await until(gql, token, run_id, lambda r: any(s["status"] == "RUNNING" for s in r["nodeStates"]))
    step = {"authorization": "Bearer " + step_token(kube_api, run_id, "save", 1)}
    job = kube_api.get("Job", "invoices", attempt_name(run_id, "save", 1))
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TRELLIS_DATA_URL"] == gql.url.removesuffix("/graphql") + "/v1/data"
    base = gql.url.removesuffix("/graphql") + "/v1/data/invoices/records"

    assert (await http.post(base, json={"customer": "acme", "total": 1})).status_code == 401
    assert (
        await http.post(
            base, json={"customer": "acme", "total": 1}, headers={"authorization": "Bearer " + token}
        )
    ).status_code == 401
    refused = await http.post(base, json={"customer": "acme", "total": -1}, headers=step)
    assert refused.status_code == 400 and refused.json()["error"]["fields"][0]["path"] == "data.total"
    created = await http.post(base, json={"customer": "acme", "total": 7}, headers=step)
    assert created.status_code == 201
    mine = created.json()
    assert mine["revision"] == 1
    listed = await http.get(base, params={"filter": '{"customer": {"eq": "acme"}}'}, headers=step)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["records"]] == [mine["id"]]
    put = await http.put(
        f"{base}/{mine['id']}",
        json={"data": {"customer": "acme", "total": 8}, "expectedRevision": 1},
        headers=step,
    )
    assert put.status_code == 200 and put.json()["revision"] == 2
    # the other workspace's record: not found, whatever the verb, and untouched
    for method in ("GET", "PUT", "DELETE"):
        answer = await http.request(
            method, f"{base}/{theirs['id']}", json={"customer": "x", "total": 1}, headers=step
        )
        assert answer.status_code == 404, method
    assert (
        await http.get(gql.url.removesuffix("/graphql") + "/v1/data/nothing/records", headers=step)
    ).status_code == 404
    rows = (await gql.ok(RECORDS, {"ws": other_ws, "c": "invoices"}, token=other_token))["records"]["nodes"]
    assert rows == [{"id": theirs["id"], "data": {"customer": "grace", "total": 1}}]
    seen = (await gql.ok(RECORDS, {"ws": ws, "c": "invoices"}, token=token))["records"]["nodes"]
    assert seen == [{"id": mine["id"], "data": {"customer": "acme", "total": 8}}]

    await pod.succeed({"ok": True})
    assert (await until(gql, token, run_id, ended))["status"] == "COMPLETED"
    late = await http.get(base, headers=step)
    assert late.status_code == 409  # the attempt is over
