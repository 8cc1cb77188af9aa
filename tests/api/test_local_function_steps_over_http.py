"""The opt-in local executor (``TRELLIS_FLOW_EXECUTOR=local``), through GraphQL over real HTTP: a flow of
real Python (from a workspace file), Node.js and Bash steps runs to its end with no cluster, each output
the next one's input; a step whose code raises fails with the exception, its traceback in ``stepLogs``,
and the warning that it ran unisolated."""

from __future__ import annotations

import asyncio
import shutil
from itertools import pairwise
from typing import Any

import pytest

from app.settings import Settings
from tests.api.ws_client import subscribed
from tests.graphql_client import GraphQLClient

CREATE = 'mutation { createWorkflow(input: {name: "Laptop", type: FLOW}) { workflow { id workspaceId } } }'
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
UPLOAD = """mutation($input: UploadFileInput!) { uploadFile(input: $input) { file { id } } }"""
RUN = (
    """mutation($id: ID!, $data: JSON) { runWorkflow(input: {id: $id, triggerData: $data}) { run { id } } }"""
)
GET_RUN = """query($id: ID!) { run(id: $id) { status error result nodeStates { nodeId status
  step { attempt output errorKind errorStage error } } } }"""
STEP_LOGS = """subscription($run: ID!, $node: ID!) { stepLogs(runId: $run, nodeId: $node) {
  type status line { level message } } }"""

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed here")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"flow_executor": "local"})


def step(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": data}


def chain(*ids: str) -> list[dict[str, Any]]:
    return [{"id": f"{a}-{b}", "source": a, "target": b} for a, b in pairwise(ids)]


async def flow(gql: GraphQLClient, token: str, nodes: list[Any], edges: list[Any]) -> tuple[str, str]:
    created = (await gql.ok(CREATE, token=token))["createWorkflow"]["workflow"]
    await gql.ok(
        SAVE,
        {"input": {"id": created["id"], "nodes": nodes, "edges": edges, "expectedRevision": 1}},
        token=token,
    )
    return str(created["id"]), str(created["workspaceId"])


async def finished(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    for _ in range(400):
        run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if run["status"] not in ("PENDING", "RUNNING"):
            return run
        await asyncio.sleep(0.025)
    raise AssertionError(f"the run did not end: {run}")


@needs_node
async def test_python_node_and_bash_steps_run_locally_and_pass_their_outputs_on(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    created = (await gql.ok(CREATE, token=token))["createWorkflow"]["workflow"]
    script = (
        "def total(data):\n    print('summing', len(data['items']))\n    return {'sum': sum(data['items'])}\n"
    )
    file_id = (
        await gql.ok(
            UPLOAD,
            {"input": {"workspaceId": created["workspaceId"], "path": "lib/total.py", "content": script}},
            token=token,
        )
    )["uploadFile"]["file"]["id"]
    nodes = [
        step("start", "Start"),
        step("total", "Function", runtime="python", fileId=file_id, entrypoint="total"),
        step(
            "double", "Function", runtime="node", code="exports.main = async (d) => ({ doubled: d.sum * 2 })"
        ),
        step("label", "Function", runtime="bash", code='read -r body; echo "{\\"length\\": ${#body}}"'),
        step("end", "End"),
    ]
    wf = created["id"]
    await gql.ok(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": nodes,
                "edges": chain("start", "total", "double", "label", "end"),
                "expectedRevision": 1,
            }
        },
        token=token,
    )
    run_id = (await gql.ok(RUN, {"id": wf, "data": {"items": [1, 2, 3]}}, token=token))["runWorkflow"]["run"][
        "id"
    ]
    run = await finished(gql, token, run_id)
    assert run["status"] == "COMPLETED", run
    outputs = {s["nodeId"]: (s["step"] or {}).get("output") for s in run["nodeStates"]}
    assert outputs["total"] == {"sum": 6}
    assert outputs["double"] == {"doubled": 12}
    assert outputs["label"] == {"length": len('{"doubled":12}')}  # bash read the JSON on its stdin
    assert run["result"] == outputs["label"]


async def test_a_failing_step_says_why_and_its_log_has_the_traceback(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    code = "def main(data):\n    print('looking up', data['id'])\n    return {'name': data['names'][data['id']]}\n"
    wf, _ = await flow(
        gql,
        token,
        [step("start", "Start"), step("lookup", "Function", code=code), step("end", "End")],
        chain("start", "lookup", "end"),
    )
    run_id = (await gql.ok(RUN, {"id": wf, "data": {"id": "x", "names": {}}}, token=token))["runWorkflow"][
        "run"
    ]["id"]
    run = await finished(gql, token, run_id)
    lookup = next(s for s in run["nodeStates"] if s["nodeId"] == "lookup")
    assert run["status"] == "FAILED"
    assert lookup["status"] == "FAILED" and lookup["step"]["errorKind"] == "ERROR"
    assert lookup["step"]["errorStage"] == "code" and lookup["step"]["error"].startswith("KeyError")
    async with subscribed(gql.url.removesuffix("/graphql"), token) as logs:
        await logs.start(STEP_LOGS, {"run": run_id, "node": "lookup"})
        events = []
        while not events or events[-1]["type"] != "COMPLETE":
            events.append((await asyncio.wait_for(logs.next(), 10))["data"]["stepLogs"])
    lines = [(e["line"]["level"], e["line"]["message"]) for e in events if e["type"] == "LINE"]
    assert lines[0][0] == "WARNING" and "NOT isolated" in lines[0][1]
    text = "\n".join(message for _, message in lines)
    assert "looking up x" in text and "Traceback" in text and "KeyError" in text
    assert events[-1]["status"] == "FAILED"


async def test_a_local_step_writes_a_record_of_its_workspace_with_its_step_token(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    code = (
        "import json, os, urllib.request\n"
        "def main(data):\n"
        "    request = urllib.request.Request(\n"
        "        os.environ['TRELLIS_DATA_URL'] + '/notes/records', data=json.dumps({'text': data['text']}).encode(),\n"
        "        headers={'Authorization': 'Bearer ' + os.environ['TRELLIS_STEP_TOKEN'],\n"
        "                 'Content-Type': 'application/json'}, method='POST')\n"
        "    with urllib.request.urlopen(request) as answer:\n"
        "        return {'status': answer.status, 'id': json.load(answer)['id']}\n"
    )
    wf, ws = await flow(
        gql,
        token,
        [step("start", "Start"), step("save", "Function", code=code), step("end", "End")],
        chain("start", "save", "end"),
    )
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    await gql.ok(
        """mutation($input: CreateDataSchemaInput!) { createDataSchema(input: $input) { dataSchema { id } } }""",
        {"input": {"workspaceId": ws, "collection": "notes", "schema": schema}},
        token=token,
    )
    run_id = (await gql.ok(RUN, {"id": wf, "data": {"text": "hello"}}, token=token))["runWorkflow"]["run"][
        "id"
    ]
    run = await finished(gql, token, run_id)
    assert run["status"] == "COMPLETED", run
    saved = next(s for s in run["nodeStates"] if s["nodeId"] == "save")["step"]["output"]
    assert saved["status"] == 201
    records = await gql.ok(
        """query($ws: ID!) { records(workspaceId: $ws, collection: "notes") { nodes { id data } } }""",
        {"ws": ws},
        token=token,
    )
    assert records["records"]["nodes"] == [{"id": saved["id"], "data": {"text": "hello"}}]
