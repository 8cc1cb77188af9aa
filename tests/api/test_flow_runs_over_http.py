"""FLOW runs over real HTTP and WebSocket: runWorkflow walks the flow with the engine (HttpRequest steps to a
loopback server the test runs, a Condition taking each branch, the other SKIPPED), step outputs passed
along and shown per node, NODE_UPDATEs on runStatus, a private address refused by the egress guard, and
cancelRun stopping a running step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from app.settings import Settings
from tests.api.ws_client import subscribed
from tests.graphql_client import GraphQLClient

CREATE = """mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { workflow { id } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
RUN = """mutation($id: ID!, $data: JSON) {
  runWorkflow(input: {id: $id, triggerData: $data}) { run { id status version } } }"""
CANCEL = """mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id cancelRequested } } }"""
STEPS = """nodeStates { nodeId status message step { attempt port output outputSize errorKind errorStage error
  startedAt finishedAt durationMs } }"""
GET_RUN = f"""query($id: ID!) {{ run(id: $id) {{ id status error version {STEPS} }} }}"""
WATCH = """subscription($id: ID!) { runStatus(runId: $id) { type run { status }
  node { nodeId status step { attempt port } } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allowed: the test's API server; private addresses stay refused."""
    return settings.model_copy(update={"egress_allow_loopback": True})


class Api:
    """A loopback HTTP API: ``/orders/<id>`` answers JSON; ``/hang`` waits until released."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: list[str] = []
        self.hanging = asyncio.Event()
        self.release = asyncio.Event()

    async def orders(self, request: web.Request) -> web.Response:
        self.seen.append(request.path_qs)
        order = request.match_info["id"]
        return web.json_response({"id": order, "paid": order == "7", "total": 42})

    async def notify(self, request: web.Request) -> web.Response:
        self.seen.append(f"{request.path_qs} {await request.text()}")
        return web.json_response({"sent": True})

    async def hang(self, request: web.Request) -> web.Response:
        self.seen.append(request.path_qs)
        self.hanging.set()
        await self.release.wait()
        return web.json_response({})


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    server = Api()
    app = web.Application()
    app.router.add_get("/orders/{id}", server.orders)
    app.router.add_post("/notify", server.notify)
    app.router.add_get("/hang", server.hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str, source_handle: str | None = None) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": source_handle}


async def flow(gql: GraphQLClient, token: str, nodes: list[Any], edges: list[Any]) -> str:
    created = await gql.ok(CREATE, {"input": {"name": "Orders", "type": "FLOW"}}, token=token)
    wf = str(created["createWorkflow"]["workflow"]["id"])
    variables = {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}}
    await gql.ok(SAVE, variables, token=token)
    return wf


def order_flow(base: str) -> tuple[list[Any], list[Any]]:
    return (
        [
            node("start", "Start"),
            node("fetch", "HttpRequest", urlTemplate=base + "/orders/{{ input.order }}"),
            node("paid", "Condition", expression="input.body.paid"),
            node("done", "End"),
            node(
                "remind",
                "HttpRequest",
                method="POST",
                urlTemplate=base + "/notify",
                body='{"order": "{{ steps.fetch.output.body.id }}", "total": {{ input.body.total }}}',
            ),
            node("reminded", "End"),
        ],
        [
            edge("start", "fetch"),
            edge("fetch", "paid"),
            edge("paid", "done", "true"),
            edge("paid", "remind", "false"),
            edge("remind", "reminded"),
        ],
    )


async def follow(gql: GraphQLClient, token: str, run_id: str) -> list[dict[str, Any]]:
    """Every runStatus event of the run until COMPLETE."""
    events = []
    async with subscribed(gql.url.removesuffix("/graphql"), token) as sub:
        await sub.start(WATCH, {"id": run_id})
        while True:
            payload = await asyncio.wait_for(sub.next(), 10)
            if payload.get("complete"):
                return events
            event = payload["data"]["runStatus"]
            events.append(event)
            if event["type"] == "COMPLETE":
                return events


def by_node(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {state["nodeId"]: state for state in run["nodeStates"]}


async def test_a_flow_runs_its_steps_and_the_condition_routes_to_the_true_branch(
    gql: GraphQLClient, api: Api
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(gql, token, *order_flow(api.url))
    started = (await gql.ok(RUN, {"id": wf, "data": {"order": "7"}}, token=token))["runWorkflow"]["run"]
    assert started["status"] == "RUNNING" and started["version"] == 1  # a snapshot version, like a deploy
    events = await follow(gql, token, started["id"])
    assert events[-1] == {"type": "COMPLETE", "run": {"status": "COMPLETED"}, "node": None}
    updates = [(e["node"]["nodeId"], e["node"]["status"]) for e in events if e["type"] == "NODE_UPDATE"]
    assert ("fetch", "COMPLETED") in updates and ("remind", "SKIPPED") in updates
    run = (await gql.ok(GET_RUN, {"id": started["id"]}, token=token))["run"]
    assert run["status"] == "COMPLETED" and run["error"] is None
    states = by_node(run)
    assert {k: v["status"] for k, v in states.items()} == {
        "start": "COMPLETED",
        "fetch": "COMPLETED",
        "paid": "COMPLETED",
        "done": "COMPLETED",
        "remind": "SKIPPED",
        "reminded": "SKIPPED",
    }
    assert states["start"]["step"]["output"] == {"order": "7"}
    fetched = states["fetch"]["step"]
    assert fetched["output"]["status"] == 200
    assert fetched["output"]["body"] == {"id": "7", "paid": True, "total": 42}
    assert fetched["attempt"] == 1 and fetched["outputSize"] > 0 and fetched["durationMs"] is not None
    assert states["paid"]["step"]["port"] == "true"
    assert states["done"]["step"]["output"] == fetched["output"]  # the Condition passes its input on
    assert states["remind"]["step"] is None or states["remind"]["step"]["output"] is None
    assert api.seen == ["/orders/7"]


async def test_the_false_branch_gets_the_outputs_of_steps_upstream(gql: GraphQLClient, api: Api) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(gql, token, *order_flow(api.url))
    run_id = (await gql.ok(RUN, {"id": wf, "data": {"order": "8"}}, token=token))["runWorkflow"]["run"]["id"]
    await follow(gql, token, run_id)
    run = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
    states = by_node(run)
    assert run["status"] == "COMPLETED"
    assert states["paid"]["step"]["port"] == "false"
    assert states["done"]["status"] == "SKIPPED" and states["remind"]["status"] == "COMPLETED"
    assert states["reminded"]["step"]["output"]["body"] == {"sent": True}
    assert api.seen == ["/orders/8", '/notify {"order": "8", "total": 42}']


async def test_a_request_to_a_private_address_is_refused_and_fails_the_run(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    nodes = [
        node("start", "Start"),
        node("call", "HttpRequest", urlTemplate="http://10.1.2.3/admin"),
        node("end", "End"),
    ]
    wf = await flow(gql, token, nodes, [edge("start", "call"), edge("call", "end")])
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await follow(gql, token, run_id)
    run = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
    assert run["status"] == "FAILED"
    states = by_node(run)
    call = states["call"]
    assert call["status"] == "FAILED"
    assert call["step"]["errorKind"] == "REFUSED" and call["step"]["errorStage"] == "egress"
    assert "private" in call["step"]["error"]
    assert run["error"].startswith("step call failed:")
    assert states["end"]["status"] == "CANCELLED"


async def test_an_unexpected_status_takes_the_error_port_when_it_is_connected(
    gql: GraphQLClient, api: Api
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    nodes = [
        node("start", "Start"),
        node("call", "HttpRequest", urlTemplate=api.url + "/orders/1", expectedStatus=["201"]),
        node("ok", "End"),
        node("fallback", "End"),
    ]
    edges = [edge("start", "call"), edge("call", "ok"), edge("call", "fallback", "error")]
    wf = await flow(gql, token, nodes, edges)
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await follow(gql, token, run_id)
    run = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
    states = by_node(run)
    assert run["status"] == "COMPLETED"
    assert states["call"]["status"] == "FAILED" and states["call"]["step"]["errorStage"] == "status"
    assert states["ok"]["status"] == "SKIPPED"
    assert states["fallback"]["step"]["output"]["error"]["stage"] == "status"


async def test_cancel_run_stops_a_running_step(gql: GraphQLClient, api: Api) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    nodes = [
        node("start", "Start"),
        node("wait", "HttpRequest", urlTemplate=api.url + "/hang"),
        node("end", "End"),
    ]
    wf = await flow(gql, token, nodes, [edge("start", "wait"), edge("wait", "end")])
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await asyncio.wait_for(api.hanging.wait(), 10)
    cancelled = (await gql.ok(CANCEL, {"id": run_id}, token=token))["cancelRun"]["run"]
    assert cancelled["cancelRequested"] is True
    events = await follow(gql, token, run_id)
    assert events[-1]["run"]["status"] == "CANCELLED"
    run = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
    states = by_node(run)
    assert run["status"] == "CANCELLED"
    assert states["wait"]["status"] == "CANCELLED" and states["wait"]["step"]["errorKind"] == "CANCELLED"
    assert states["end"]["status"] == "CANCELLED"
    error = await gql.error(CANCEL, {"id": run_id}, token=token)
    assert error["extensions"]["code"] == "CONFLICT"


async def test_a_flow_with_an_incomplete_step_does_not_start(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(
        gql, token, [node("start", "Start"), node("call", "HttpRequest")], [edge("start", "call")]
    )
    error = await gql.error(RUN, {"id": wf}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    listing = "query($id: ID!) { runs(workflowId: $id) { totalCount } }"
    assert (await gql.ok(listing, {"id": wf}, token=token))["runs"]["totalCount"] == 0
