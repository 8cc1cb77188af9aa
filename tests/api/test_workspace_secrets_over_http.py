"""Workspace secrets through GraphQL over real HTTP: names only (never values), validation, roles, another
workspace's refused, delete refused while a flow reads the secret (then forced); and a canary secret used by
a local Function step (as an environment variable) and an HttpRequest header (to a loopback server that
checks it and echoes it back) that appears nowhere: not in the SQLite files, any GraphQL response, the run,
the step logs, the audit events or the server's log."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from app.settings import Settings
from tests.api.people import add_member, login, team
from tests.api.ws_client import subscribed
from tests.graphql_client import GraphQLClient

CANARY = "canary-5b7e0c1d-never-shown-9f2a"
SECRETS = """query($ws: ID!) { secrets(workspaceId: $ws) { workspaceId name description createdAt updatedAt
  createdBy { id } updatedBy { id } } }"""
SET = """mutation($input: SetSecretInput!) { setSecret(input: $input) { secret { name description } } }"""
DELETE = """mutation($input: DeleteSecretInput!) { deleteSecret(input: $input) { deletedName } }"""
CREATE = """mutation($ws: ID!) { createWorkflow(input: {name: "Billing", type: FLOW, workspaceId: $ws}) {
  workflow { id } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
RUN = """mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"""
GET_RUN = """query($id: ID!) { run(id: $id) { status error result triggerData nodeStates { nodeId status
  step { attempt output errorKind errorStage error } } } }"""
STEP_LOGS = """subscription($run: ID!, $node: ID!) { stepLogs(runId: $run, nodeId: $node) {
  type status line { level message } } }"""
AUDIT = """query($ws: ID!) { auditEvents(workspaceId: $ws, first: 100) { nodes { action targetId outcome
  errorCode detail { key value } } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The local executor (no cluster) and loopback allowed: the test's API server."""
    return settings.model_copy(update={"flow_executor": "local", "egress_allow_loopback": True})


class Recorder(GraphQLClient):
    """A GraphQL client that keeps every response body it received."""

    bodies: list[str]

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        body = await super().raw(query, variables, token=token)
        self.bodies.append(json.dumps(body))
        return body


@pytest.fixture
def api(gql: GraphQLClient) -> Recorder:
    recorder = Recorder(gql.url.removesuffix("/graphql"), gql.http)
    recorder.bodies = []
    return recorder


class Billing:
    """A loopback API that wants ``Authorization: Bearer <CANARY>`` and echoes it in a header and the body."""

    def __init__(self) -> None:
        self.url = ""
        self.authorized: list[bool] = []

    async def charge(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        self.authorized.append(given == f"Bearer {CANARY}")
        return web.json_response({"echo": given}, headers={"X-Echo": given}, status=200 if given else 401)


@pytest.fixture
async def billing() -> AsyncIterator[Billing]:
    server = Billing()
    app = web.Application()
    app.router.add_post("/charge", server.charge)
    runner = web.AppRunner(app, access_log=None)  # the test's own server: not Trellis's log
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


def every_byte(folder: Path) -> bytes:
    """The bytes of every file under ``folder`` (the SQLite database, its WAL and anything beside)."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target}


async def personal(api: GraphQLClient, token: str) -> str:
    data = await api.ok("{ me { id } workspaces { id personal } }", token=token)
    return str(next(w["id"] for w in data["workspaces"] if w["personal"]))


async def flow(api: GraphQLClient, token: str, workspace: str, nodes: list[Any], edges: list[Any]) -> str:
    wf = str((await api.ok(CREATE, {"ws": workspace}, token=token))["createWorkflow"]["workflow"]["id"])
    variables = {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}}
    await api.ok(SAVE, variables, token=token)
    return wf


async def finished(api: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    for _ in range(400):
        run: dict[str, Any] = (await api.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if run["status"] not in ("PENDING", "RUNNING"):
            return run
        await asyncio.sleep(0.025)
    raise AssertionError(f"the run did not end: {run}")


async def step_log(base: str, token: str, run_id: str, node_id: str) -> list[dict[str, Any]]:
    async with subscribed(base, token) as logs:
        await logs.start(STEP_LOGS, {"run": run_id, "node": node_id})
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] != "COMPLETE":
            events.append((await asyncio.wait_for(logs.next(), 10))["data"]["stepLogs"])
    return events


async def test_secrets_are_listed_by_name_validated_and_kept_to_editors_of_the_workspace(
    api: Recorder,
) -> None:
    owner = (await api.register("ada@example.com"))["token"]
    await api.register("vic@example.com")
    await api.register("eve@example.com")
    ws = await team(api, owner)
    await add_member(api, owner, ws, "vic@example.com", "VIEWER")
    viewer = await login(api, "vic@example.com")
    stranger = await login(api, "eve@example.com")

    made = await api.ok(
        SET,
        {"input": {"workspaceId": ws, "name": "API_KEY", "value": CANARY, "description": "Stripe"}},
        token=owner,
    )
    assert made["setSecret"]["secret"] == {"name": "API_KEY", "description": "Stripe"}
    await api.ok(SET, {"input": {"workspaceId": ws, "name": "API_KEY", "value": CANARY + "2"}}, token=owner)
    [listed] = (await api.ok(SECRETS, {"ws": ws}, token=viewer))["secrets"]
    assert listed["name"] == "API_KEY" and listed["description"] == "" and listed["createdBy"]["id"]
    value = await api.error(
        "query($ws: ID!) { secrets(workspaceId: $ws) { value } }", {"ws": ws}, token=owner
    )
    assert "value" in value["message"]

    bad = await api.error(SET, {"input": {"workspaceId": ws, "name": "api-key", "value": ""}}, token=owner)
    assert bad["extensions"]["code"] == "BAD_INPUT"
    assert {f["path"] for f in bad["extensions"]["fields"]} == {"name", "value"}
    huge = await api.error(
        SET, {"input": {"workspaceId": ws, "name": "BIG", "value": "x" * 70_000}}, token=owner
    )
    assert [f["path"] for f in huge["extensions"]["fields"]] == ["value"]

    denied = await api.error(SET, {"input": {"workspaceId": ws, "name": "MINE", "value": "v"}}, token=viewer)
    assert denied["extensions"]["code"] == "FORBIDDEN"
    denied = await api.error(DELETE, {"input": {"workspaceId": ws, "name": "API_KEY"}}, token=viewer)
    assert denied["extensions"]["code"] == "FORBIDDEN"
    for query, variables in (
        (SECRETS, {"ws": ws}),
        (SET, {"input": {"workspaceId": ws, "name": "MINE", "value": "v"}}),
        (DELETE, {"input": {"workspaceId": ws, "name": "API_KEY"}}),
    ):
        assert (await api.error(query, variables, token=stranger))["extensions"]["code"] == "NOT_FOUND"
    missing = await api.error(DELETE, {"input": {"workspaceId": ws, "name": "NOPE"}}, token=owner)
    assert missing["extensions"]["code"] == "NOT_FOUND"
    assert [s["name"] for s in (await api.ok(SECRETS, {"ws": ws}, token=owner))["secrets"]] == ["API_KEY"]
    assert not any(CANARY in body for body in api.bodies)


async def test_a_canary_secret_reaches_a_function_and_a_header_and_shows_nowhere(
    api: Recorder,
    billing: Billing,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = (await api.register("ada@example.com"))["token"]
    ws = await personal(api, owner)
    await api.ok(SET, {"input": {"workspaceId": ws, "name": "API_KEY", "value": CANARY}}, token=owner)
    code = "import os\n\ndef main(data):\n    print('key set:', 'API_KEY' in os.environ)\n    return {'length': len(os.environ['API_KEY'])}\n"
    nodes = [
        node("start", "Start"),
        node("measure", "Function", runtime="python", code=code, secrets=["API_KEY"]),
        node(
            "charge",
            "HttpRequest",
            method="POST",
            urlTemplate=billing.url + "/charge?key={{ secrets.API_KEY }}",
            headers={"Authorization": "Bearer {{ secrets.API_KEY }}"},
            body='{"length": {{ input.length }}}',
        ),
        node("end", "End"),
    ]
    wf = await flow(
        api, owner, ws, nodes, [edge("start", "measure"), edge("measure", "charge"), edge("charge", "end")]
    )
    run_id = (await api.ok(RUN, {"id": wf}, token=owner))["runWorkflow"]["run"]["id"]
    run = await finished(api, owner, run_id)

    assert run["status"] == "COMPLETED", run
    steps = {s["nodeId"]: s["step"] for s in run["nodeStates"]}
    assert steps["measure"]["output"] == {"length": len(CANARY)}
    assert billing.authorized == [True]
    charged = steps["charge"]["output"]
    assert charged["body"] == {"echo": "Bearer ***"} and charged["headers"]["x-echo"] == "Bearer ***"

    base = api.url.removesuffix("/graphql")
    lines = [await step_log(base, owner, run_id, step) for step in ("measure", "charge")]
    assert any("key set: True" in json.dumps(events) for events in lines)
    audit = await api.ok(AUDIT, {"ws": ws}, token=owner)
    assert any(
        e["action"] == "secret.set" and e["targetId"] == "API_KEY" for e in audit["auditEvents"]["nodes"]
    )

    # Deleting a secret a flow reads is refused, naming the flow, until forced.
    used = await api.error(DELETE, {"input": {"workspaceId": ws, "name": "API_KEY"}}, token=owner)
    assert used["extensions"]["code"] == "CONFLICT" and used["extensions"]["workflowIds"] == [wf]
    assert "Billing" in used["message"] and "measure" in used["message"] and "charge" in used["message"]
    forced = await api.ok(
        DELETE, {"input": {"workspaceId": ws, "name": "API_KEY", "force": True}}, token=owner
    )
    assert forced["deleteSecret"]["deletedName"] == "API_KEY"

    # Nowhere: the store's files (values only encrypted), any response, the run, logs, audit, server log.
    stored = every_byte(Path(settings.data_dir))
    assert b"API_KEY" in stored and CANARY.encode() not in stored
    everything = "\n".join([*api.bodies, json.dumps(run), json.dumps(lines), json.dumps(audit)])
    assert CANARY not in everything
    assert CANARY not in "\n".join(record.getMessage() for record in caplog.records)
    assert CANARY not in caplog.text


async def test_a_missing_secret_fails_the_step_before_it_starts_naming_it(
    api: Recorder, billing: Billing
) -> None:
    owner = (await api.register("ada@example.com"))["token"]
    ws = await personal(api, owner)
    nodes = [
        node("start", "Start"),
        node("measure", "Function", runtime="python", code="def main(d):\n    return 1\n", secrets=["GONE"]),
        node("end", "End"),
    ]
    wf = await flow(api, owner, ws, nodes, [edge("start", "measure"), edge("measure", "end")])
    run = await finished(api, owner, (await api.ok(RUN, {"id": wf}, token=owner))["runWorkflow"]["run"]["id"])
    step = next(s["step"] for s in run["nodeStates"] if s["nodeId"] == "measure")
    assert run["status"] == "FAILED"
    assert (step["errorKind"], step["errorStage"]) == ("REFUSED", "start") and "GONE" in step["error"]

    call = node(
        "call", "HttpRequest", urlTemplate=billing.url + "/charge?k={{ secrets.ALSO_GONE }}", method="POST"
    )
    wf = await flow(api, owner, ws, [node("start", "Start"), call], [edge("start", "call")])
    run = await finished(api, owner, (await api.ok(RUN, {"id": wf}, token=owner))["runWorkflow"]["run"]["id"])
    step = next(s["step"] for s in run["nodeStates"] if s["nodeId"] == "call")
    assert step["errorKind"] == "REFUSED" and "ALSO_GONE" in step["error"] and billing.authorized == []


async def test_a_bad_secret_reference_is_refused_at_save(api: Recorder) -> None:
    owner = (await api.register("ada@example.com"))["token"]
    ws = await personal(api, owner)
    wf = str((await api.ok(CREATE, {"ws": ws}, token=owner))["createWorkflow"]["workflow"]["id"])
    call = node("call", "HttpRequest", urlTemplate="https://example.com/{{ secrets.lower_case }}")
    variables = {
        "input": {
            "id": wf,
            "nodes": [node("start", "Start"), call],
            "edges": [edge("start", "call")],
            "expectedRevision": 1,
        }
    }
    error = await api.error(SAVE, variables, token=owner)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert any(f["path"].endswith("urlTemplate") for f in error["extensions"]["fields"])
