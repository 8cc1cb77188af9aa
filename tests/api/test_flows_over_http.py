"""FLOW workflows over real HTTP: the type at creation (fixed afterwards, filterable), flow canvases saved
and refused with every problem at its path and nothing saved, flow kinds in nodeKinds, and the deploy-only
operations refused for a flow."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql_client import GraphQLClient

CREATE = """mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { workflow { id type revision } } }"""
GET = """query($id: ID!) { workflow(id: $id) { type revision nodes { id kind data }
  edges { id source target sourceHandle targetHandle } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) {
  workflow { revision nodes { id kind data } edges { sourceHandle targetHandle } } warnings { path message } } }"""
VALIDATE = """query($id: ID!, $nodes: [CanvasNodeInput!]!, $edges: [CanvasEdgeInput!]!) {
  validateWorkflow(id: $id, nodes: $nodes, edges: $edges) { valid errors { path message } } }"""
KINDS = """query($t: WorkflowType) { nodeKinds(workflowType: $t) { kind category workflowType apiVersion
  inPorts { name many } outPorts { name } fields { name type default options } } }"""


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str, source_handle: str | None = None) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": source_handle}


NIGHTLY = (
    [
        node("start", "Start"),
        node(
            "fetch",
            "HttpRequest",
            urlTemplate="https://api.example.com/invoices?day={{ steps.start.output.day }}",
        ),
        node("any", "Condition", expression="length(input.body) > `0`"),
        node(
            "sum",
            "Function",
            runtime="python",
            code="def main(x):\n    return x\n",
            inputMapping={"invoices": "steps.fetch.output.body"},
            retry={"attempts": 3, "on": ["ERROR"]},
        ),
        node("end", "End"),
    ],
    [
        edge("start", "fetch"),
        edge("fetch", "any"),
        edge("any", "sum", "true"),
        edge("any", "end", "false"),
        edge("sum", "end"),
    ],
)


async def _flow(gql: GraphQLClient, token: str) -> str:
    data = await gql.ok(CREATE, {"input": {"name": "Nightly", "type": "FLOW"}}, token=token)
    assert data["createWorkflow"]["workflow"]["type"] == "FLOW"
    return str(data["createWorkflow"]["workflow"]["id"])


async def _save(gql: GraphQLClient, token: str, wf: str, nodes: Any, edges: Any, revision: int = 1) -> Any:
    variables = {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": revision}}
    return await gql.raw(SAVE, variables, token=token)


async def test_a_valid_flow_is_saved_with_explicit_ports(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await _flow(gql, token)
    body = await _save(gql, token, wf, *NIGHTLY)
    assert "errors" not in body, body
    saved = body["data"]["saveWorkflow"]
    assert saved["warnings"] == [] and saved["workflow"]["revision"] == 2
    assert [(x["sourceHandle"], x["targetHandle"]) for x in saved["workflow"]["edges"]] == [
        ("output", "input"),
        ("output", "input"),
        ("true", "input"),
        ("false", "input"),
        ("output", "input"),
    ]
    function = saved["workflow"]["nodes"][3]["data"]
    assert function["retry"] == {"attempts": 3, "on": ["ERROR"]}
    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert stored["type"] == "FLOW" and stored["revision"] == 2 and len(stored["nodes"]) == 5


@pytest.mark.parametrize(
    ("change", "path", "needle"),
    [
        (lambda n, e: (n, [*e, edge("end", "start")]), "edges[5].sourceHandle", "End 'end' has no out-port"),
        (
            lambda n, e: (n, [*e[:2], edge("any", "sum", "maybe"), *e[3:]]),
            "edges[2].sourceHandle",
            "Condition has no out-port 'maybe'; its out-ports: true, false",
        ),
        (
            lambda n, e: (
                [*n, node("m", "Merge"), node("f", "Function", code="x")],
                [*e, edge("sum", "m"), edge("m", "f"), edge("f", "m")],
            ),
            "edges[7]",
            "the edges form a cycle (m → f → m)",
        ),
        (
            lambda n, e: (
                [
                    *n[:3],
                    {**n[3], "data": {**n[3]["data"], "inputMapping": {"x": "steps.nobody.output"}}},
                    *n[4:],
                ],
                e,
            ),
            "nodes[3].data.inputMapping.x",
            "refers to step 'nobody', but no node has that id",
        ),
        (
            lambda n, e: ([*n, node("lost", "Function", code="x")], e),
            "nodes[5]",
            "cannot be reached from the Start",
        ),
        (lambda n, e: ([*n, node("start2", "Start")], e), "nodes[5].kind", "exactly one Start"),
        (
            lambda n, e: ([*n, node("web", "Deployment", image="nginx")], [*e, edge("start", "web")]),
            "nodes[5].kind",
            "Deployment is a Kubernetes resource",
        ),
    ],
    ids=[
        "end-out-port",
        "dangling-port",
        "cycle",
        "unknown-mapping",
        "unreachable",
        "two-starts",
        "k8s-kind",
    ],
)
async def test_invalid_flows_are_refused_with_nothing_saved(
    gql: GraphQLClient, change: Any, path: str, needle: str
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await _flow(gql, token)
    nodes, edges = change(*NIGHTLY)
    body = await _save(gql, token, wf, nodes, edges)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    fields = {f["path"]: f["message"] for f in error["extensions"]["fields"]}
    assert needle in fields[path], fields
    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert stored["revision"] == 1 and stored["nodes"] == []
    validation = (await gql.ok(VALIDATE, {"id": wf, "nodes": nodes, "edges": edges}, token=token))[
        "validateWorkflow"
    ]
    assert not validation["valid"] and path in {p["path"] for p in validation["errors"]}


async def test_a_topology_refuses_flow_steps_by_name(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    data = await gql.ok(CREATE, {"input": {"name": "Shop"}}, token=token)
    wf = data["createWorkflow"]["workflow"]
    assert wf["type"] == "TOPOLOGY"
    body = await _save(gql, token, wf["id"], [node("f", "Function", code="x")], [])
    fields = body["errors"][0]["extensions"]["fields"]
    assert fields == [
        {
            "path": "nodes[0].kind",
            "message": "Function is a flow step; a TOPOLOGY workflow holds Kubernetes resources only "
            "(create a workflow of type FLOW for steps)",
        }
    ]


async def test_the_type_is_fixed_and_filters_the_list(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await _flow(gql, token)
    await gql.ok(CREATE, {"input": {"name": "Shop"}}, token=token)
    update = (
        "mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) { workflow { name type } } }"
    )
    error = await gql.error(update, {"input": {"id": wf, "type": "TOPOLOGY"}}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "fixed when it is created; this one is a FLOW" in error["message"]
    same = await gql.ok(update, {"input": {"id": wf, "type": "FLOW", "name": "Nightly v2"}}, token=token)
    assert same["updateWorkflow"]["workflow"] == {"name": "Nightly v2", "type": "FLOW"}
    listing = "query($f: WorkflowFilter) { workflows(filter: $f) { totalCount nodes { name type } } }"
    flows = (await gql.ok(listing, {"f": {"type": "FLOW"}}, token=token))["workflows"]
    assert flows == {"totalCount": 1, "nodes": [{"name": "Nightly v2", "type": "FLOW"}]}
    topologies = (await gql.ok(listing, {"f": {"type": "TOPOLOGY"}}, token=token))["workflows"]
    assert topologies["nodes"] == [{"name": "Shop", "type": "TOPOLOGY"}]


async def test_deploy_operations_refuse_a_flow(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await _flow(gql, token)
    for operation in (
        "query($id: ID!) { previewManifests(workflowId: $id) { objects { kind } } }",
        "query($id: ID!) { planRun(workflowId: $id) { creates { kind } } }",
    ):
        error = await gql.error(operation, {"id": wf}, token=token)
        assert error["extensions"]["code"] == "BAD_INPUT", error
        assert "is a FLOW: its steps run with the flow engine" in error["message"]


async def test_node_kinds_list_the_flow_kinds_with_their_ports(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    flow = (await gql.ok(KINDS, {"t": "FLOW"}, token=token))["nodeKinds"]
    assert [k["kind"] for k in flow] == [
        "Start",
        "End",
        "Function",
        "HttpRequest",
        "Condition",
        "Merge",
        "AiAgent",
    ]
    assert {k["workflowType"] for k in flow} == {"FLOW"} and {k["category"] for k in flow} == {"flow"}
    by_kind = {k["kind"]: k for k in flow}
    assert [p["name"] for p in by_kind["Condition"]["outPorts"]] == ["true", "false"]
    assert by_kind["Merge"]["inPorts"] == [{"name": "input", "many": True}]
    runtime = next(f for f in by_kind["Function"]["fields"] if f["name"] == "runtime")
    assert runtime == {
        "name": "runtime",
        "type": "ENUM",
        "default": "python",
        "options": ["python", "node", "bash"],
    }
    topology = (await gql.ok(KINDS, {"t": "TOPOLOGY"}, token=token))["nodeKinds"]
    assert "Deployment" in {k["kind"] for k in topology} and {k["workflowType"] for k in topology} == {
        "TOPOLOGY"
    }
    everything = (await gql.ok(KINDS, {}, token=token))["nodeKinds"]
    assert len(everything) == len(flow) + len(topology)
