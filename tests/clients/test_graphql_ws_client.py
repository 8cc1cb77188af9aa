"""The reference `graphql-ws` client (npm, tests/clients/ws-client.mjs) against a real Uvicorn:
workflowStatus gives METADATA and then NODE_UPDATE as the Kubernetes API test server's objects change, and
the protocol's close codes come as specified: bad token 4403, no connection_init 4408
(TRELLIS_WS_CONNECTION_INIT_SECONDS, small here), a subscription id used twice 4409."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from app.settings import Settings
from tests.clients.deploy import run_to_health, workflow_on_cluster
from tests.clients.operations import CLIENTS_DIR, node_with_packages
from tests.graphql_client import GraphQLClient

STATUS = (
    "subscription($id: ID!) { workflowStatus(workflowId: $id) { type workflowId nodes { nodeId health } } }"
)
INIT_SECONDS = 0.3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A short connection_init wait, so the 4408 test takes a fraction of a second."""
    return settings.model_copy(update={"ws_connection_init_seconds": INIT_SECONDS})


class NodeClient:
    """The running script: its JSON lines, read one at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, seconds: float = 15) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), seconds)
        if not raw:
            assert self.process.stderr is not None
            raise AssertionError(f"the client ended: {(await self.process.stderr.read()).decode()}")
        line: dict[str, Any] = json.loads(raw)
        return line

    async def until(self, event: str, limit: int = 100) -> dict[str, Any]:
        for _ in range(limit):
            line = await self.line()
            if line["event"] == event:
                return line
        raise AssertionError(f"no {event} line")


@asynccontextmanager
async def graphql_ws(base_url: str, scenario: str, **config: Any) -> AsyncIterator[NodeClient]:
    node = node_with_packages()
    url = base_url.replace("http://", "ws://") + "/graphql"
    argument = json.dumps({"url": url, "scenario": scenario, **config})
    process = await asyncio.create_subprocess_exec(
        node, "ws-client.mjs", argument, cwd=CLIENTS_DIR, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield NodeClient(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_workflow_status_streams_metadata_then_node_updates(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    kube_api.controllers.enable()
    token, workflow = await workflow_on_cluster(gql, kube_api, "ada@example.com")
    async with graphql_ws(
        live_server, "subscribe", token=token, query=STATUS, variables={"id": workflow}
    ) as client:
        assert (await client.line())["event"] == "connected"
        first = (await client.until("next"))["payload"]["data"]["workflowStatus"]
        assert (first["type"], first["workflowId"]) == ("METADATA", workflow)
        assert isinstance(first["nodes"], list)  # the current state: nothing deployed yet

        await run_to_health(gql, kube_api, token, workflow)
        update = (await client.until("next"))["payload"]["data"]["workflowStatus"]
    assert update["type"] == "NODE_UPDATE"
    assert update["nodes"] and {n["nodeId"] for n in update["nodes"]} <= {"web", "svc"}


async def test_a_bad_token_is_closed_with_4403(live_server: str) -> None:
    async with graphql_ws(live_server, "subscribe", token="not-a-token", query=STATUS) as client:
        closed = await client.line()
    assert (closed["event"], closed["code"]) == ("closed", 4403)


async def test_no_connection_init_is_closed_with_4408(live_server: str) -> None:
    async with graphql_ws(live_server, "no-init") as client:
        closed = await client.line(seconds=INIT_SECONDS + 10)
    assert (closed["event"], closed["code"]) == ("closed", 4408)
    assert "timeout" in closed["reason"].lower()


async def test_a_subscription_id_used_twice_is_closed_with_4409(gql: GraphQLClient, live_server: str) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    workflow = (
        await gql.ok('mutation { createWorkflow(input: {name: "shop"}) { workflow { id } } }', token=token)
    )["createWorkflow"]["workflow"]["id"]
    async with graphql_ws(
        live_server, "duplicate-id", token=token, query=STATUS, variables={"id": workflow}
    ) as client:
        closed = await client.until("closed")
    assert closed["code"] == 4409
    assert "same-id" in closed["reason"]
