"""runStatus and workflowStatus over both WebSocket protocols, against a real Uvicorn."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets

from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.api.ws_client import LEGACY_WS, TRANSPORT_WS, subscribed
from tests.graphql_client import GraphQLClient

RUN_STATUS = """subscription($id: ID!) { runStatus(runId: $id) { type run { status nodeStates { nodeId status } }
  node { nodeId status } } }"""
WORKFLOW_STATUS = (
    """subscription($id: ID!) { workflowStatus(workflowId: $id) { type workflowId nodes { nodeId } } }"""
)


async def _deployable(gql: GraphQLClient, kube_api: Any) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    wf: str = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) { workflow { id } } }',
            {"c": cluster["id"]},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("web", "Deployment", name="web", image="nginx:1.27"),
        node("svc", "Service", name="web", port=80),
    ]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {"i": {"id": wf, "nodes": nodes, "edges": [edge("e", "svc", "web")], "expectedRevision": 1}},
        token=token,
    )
    return token, wf


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_run_status_streams_metadata_node_updates_and_complete(
    kube_api: Any, gql: GraphQLClient, live_server: str, protocol: str
) -> None:
    token, wf = await _deployable(gql, kube_api)
    kube_api.delay(0.05)
    run_id = (
        await gql.ok(
            "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }", {"id": wf}, token=token
        )
    )["runWorkflow"]["run"]["id"]
    async with subscribed(live_server, token, protocol) as subscription:
        await subscription.start(RUN_STATUS, {"id": run_id})
        events = []
        while True:
            payload = await subscription.next()
            if payload.get("complete"):
                break
            event = payload["data"]["runStatus"]
            events.append(event)
            if event["type"] == "COMPLETE":
                break
    kube_api.delay(0)
    assert events[0]["type"] == "METADATA"
    assert events[-1]["type"] == "COMPLETE"
    assert events[-1]["run"]["status"] == "COMPLETED"
    assert {s["status"] for s in events[-1]["run"]["nodeStates"]} == {"APPLIED"}
    updates = [e for e in events if e["type"] == "NODE_UPDATE"]
    assert all(e["node"]["nodeId"] in {"ns", "web", "svc"} for e in updates)


async def test_workflow_status_starts_with_the_current_state(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    token, wf = await _deployable(gql, kube_api)
    async with subscribed(live_server, token) as subscription:
        await subscription.start(WORKFLOW_STATUS, {"id": wf})
        first = (await subscription.next())["data"]["workflowStatus"]
    assert first["type"] == "METADATA"
    assert first["workflowId"] == wf


async def test_a_bad_token_is_refused_before_ack(live_server: str) -> None:
    url = live_server.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[TRANSPORT_WS]) as connection:
        await connection.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_another_workspaces_run_is_not_found(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    token, wf = await _deployable(gql, kube_api)
    run_id = (
        await gql.ok(
            "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }", {"id": wf}, token=token
        )
    )["runWorkflow"]["run"]["id"]
    eve = (await gql.register("eve@example.com"))["token"]
    async with subscribed(live_server, eve) as subscription:
        await subscription.start(RUN_STATUS, {"id": run_id})
        message = json.loads(await subscription.connection.recv())
    assert message["type"] in ("next", "error")
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_browsers_from_other_origins_are_refused(gql: GraphQLClient, live_server: str) -> None:
    url = live_server.replace("http://", "ws://") + "/graphql"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(
            url, subprotocols=[TRANSPORT_WS], additional_headers={"Origin": "https://evil.example"}
        ):
            pass
    token = (await gql.register("ada@example.com"))["token"]
    async with subscribed(live_server, token, origin=live_server) as subscription:
        await subscription.start('subscription { workflowStatus(workflowId: "nope") { type } }')
        first = await subscription.next()
    assert "extensions" in first["errors"][0], first
    assert first["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_stream_ends_when_its_session_does(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    token, wf = await _deployable(gql, kube_api)
    async with subscribed(live_server, token) as subscription:
        await subscription.start(WORKFLOW_STATUS, {"id": wf})
        assert (await subscription.next())["data"]["workflowStatus"]["type"] == "METADATA"
        await gql.ok("mutation { logout { sessionEnded } }", token=token)
        ended = await subscription.next()  # within one recheck interval
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_stream_ends_when_membership_is_lost(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    owner = (await gql.register("owner@example.com"))["token"]
    member = await gql.register("member@example.com")
    ws = (
        await gql.ok('mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }', token=owner)
    )["createWorkspace"]["workspace"]["id"]
    await gql.ok(
        'mutation($ws: ID!) { addWorkspaceMember(input: {workspaceId: $ws, email: "member@example.com", '
        "role: VIEWER}) { member { role } } }",
        {"ws": ws},
        token=owner,
    )
    wf = (
        await gql.ok(
            'mutation($ws: ID!) { createWorkflow(input: {name: "x", workspaceId: $ws}) { workflow { id } } }',
            {"ws": ws},
            token=owner,
        )
    )["createWorkflow"]["workflow"]["id"]
    async with subscribed(live_server, member["token"]) as subscription:
        await subscription.start(WORKFLOW_STATUS, {"id": wf})
        assert (await subscription.next())["data"]["workflowStatus"]["type"] == "METADATA"
        await gql.ok(
            "mutation($ws: ID!, $u: ID!) { removeWorkspaceMember(input: {workspaceId: $ws, userId: $u}) "
            "{ removedUserId } }",
            {"ws": ws, "u": member["user"]["id"]},
            token=owner,
        )
        ended = await subscription.next()
    assert ended["errors"][0]["extensions"]["code"] == "NOT_FOUND"
