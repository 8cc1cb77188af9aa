"""The exec terminal: a single-use ticket from createExecTicket opens a WebSocket into a container."""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets

from tests.api.canvas import node
from tests.api.clusters import register_kubeconfig
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient

TICKET = """mutation($input: CreateExecTicketInput!) { createExecTicket(input: $input) { ticket url expiresAt } }"""


async def _pod_of_a_node(gql: GraphQLClient, kube_api: Any) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    wf: str = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "default", clusterId: $c}) '
            "{ workflow { id } } }",
            {"c": cluster["id"]},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {
            "i": {
                "id": wf,
                "nodes": [node("web", "Deployment", name="web", image="nginx:1.27")],
                "edges": [],
                "expectedRevision": 1,
            }
        },
        token=token,
    )
    labels = {
        "app.kubernetes.io/managed-by": "trellis",
        "trellis.dev/workflow": wf,
        "trellis.dev/node": "web",
    }
    kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default", "labels": labels},
            "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx"}]},
        }
    )
    kube_api.pods.running("default", "web-1")
    return token, wf


def _ws_url(live_server: str, path: str) -> str:
    return live_server.replace("http://", "ws://") + path


async def _session(url: str) -> list[dict[str, Any]]:
    messages = []
    async with websockets.connect(url) as connection:
        async for raw in connection:
            message = json.loads(raw)
            messages.append(message)
            if message["type"] == "close":
                break
    return messages


async def _refused(url: str) -> str:
    """The error message of a refused terminal; the socket then closes with 4401."""
    async with websockets.connect(url) as connection:
        message = json.loads(await connection.recv())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    assert message["type"] == "error"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    return str(message["message"])


async def test_a_ticket_opens_one_terminal_once(kube_api: Any, gql: GraphQLClient, live_server: str) -> None:
    token, wf = await _pod_of_a_node(gql, kube_api)
    ticket = (
        await gql.ok(
            TICKET,
            {"input": {"workflowId": wf, "nodeId": "web", "pod": "web-1", "shell": "echo hello"}},
            token=token,
        )
    )["createExecTicket"]
    messages = await _session(_ws_url(live_server, ticket["url"]))
    assert messages[0] == {
        "type": "metadata",
        "pod": "web-1",
        "container": "web",
        "command": ["echo", "hello"],
    }
    assert "".join(m["data"] for m in messages if m["type"] == "output") == "hello\n"
    assert messages[-1] == {"type": "close", "exitCode": 0}

    assert await _refused(_ws_url(live_server, ticket["url"]))


async def test_interactive_input_reaches_the_container(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    token, wf = await _pod_of_a_node(gql, kube_api)

    async def shout(session: Any) -> int:
        line = await session.readline()
        await session.write(line.upper())
        return 0

    kube_api.on_exec("web-1", shout)
    ticket = (
        await gql.ok(TICKET, {"input": {"workflowId": wf, "nodeId": "web", "pod": "web-1"}}, token=token)
    )["createExecTicket"]
    async with websockets.connect(_ws_url(live_server, ticket["url"])) as connection:
        assert json.loads(await connection.recv())["type"] == "metadata"
        await connection.send(json.dumps({"type": "resize", "cols": 120, "rows": 40}))
        await connection.send(json.dumps({"type": "input", "data": "hello there\n"}))
        received = []
        async for raw in connection:
            message = json.loads(raw)
            received.append(message)
            if message["type"] == "close":
                break
    assert "HELLO THERE" in "".join(m.get("data", "") for m in received)


async def test_expired_and_stolen_tickets_are_refused(
    kube_api: Any, gql: GraphQLClient, live_server: str, clock: FakeClock
) -> None:
    token, wf = await _pod_of_a_node(gql, kube_api)
    request = {"input": {"workflowId": wf, "nodeId": "web", "pod": "web-1"}}
    expired = (await gql.ok(TICKET, request, token=token))["createExecTicket"]
    clock.advance(seconds=31)
    assert "expired" in await _refused(_ws_url(live_server, expired["url"]))
    fresh_token = (
        await gql.ok(
            "mutation($i: LoginInput!) { login(input: $i) { token } }",
            {"i": {"email": "ada@example.com", "password": "correct horse battery"}},
        )
    )["login"]["token"]
    stolen = (await gql.ok(TICKET, request, token=fresh_token))["createExecTicket"]
    await gql.ok("mutation { logout { sessionEnded } }", token=fresh_token)
    assert "session" in await _refused(_ws_url(live_server, stolen["url"]))
    assert await _refused(_ws_url(live_server, "/v1/api/exec?ticket=made-up"))


async def test_tickets_are_only_for_pods_of_the_node(kube_api: Any, gql: GraphQLClient) -> None:
    token, wf = await _pod_of_a_node(gql, kube_api)
    kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "other", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        }
    )
    error = await gql.error(
        TICKET, {"input": {"workflowId": wf, "nodeId": "web", "pod": "other"}}, token=token
    )
    assert error["extensions"]["code"] == "BAD_INPUT"
    viewer = (await gql.register("eve@example.com"))["token"]
    hidden = await gql.error(
        TICKET, {"input": {"workflowId": wf, "nodeId": "web", "pod": "web-1"}}, token=viewer
    )
    assert hidden["extensions"]["code"] == "NOT_FOUND"
