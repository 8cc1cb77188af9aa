"""The Python `gql` client (PyPI `gql[websockets]`) over the legacy graphql-ws protocol
(subscriptions-transport-ws, subprotocol "graphql-ws"): workflowStatus gives METADATA, then NODE_UPDATE as the
Kubernetes API test server's objects change; a bad token is refused with the protocol's connection_error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportServerError
from gql.transport.websockets import WebsocketsTransport

from tests.clients.deploy import run_to_health, workflow_on_cluster
from tests.graphql_client import GraphQLClient

STATUS = (
    "subscription($id: ID!) { workflowStatus(workflowId: $id) { type workflowId nodes { nodeId health } } }"
)


def _transport(base_url: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=base_url.replace("http://", "ws://") + "/graphql",
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.APOLLO_SUBPROTOCOL],  # the legacy protocol only
    )


async def test_workflow_status_over_the_legacy_protocol(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    kube_api.controllers.enable()
    token, workflow = await workflow_on_cluster(gql, kube_api, "ada@example.com")
    transport = _transport(live_server, token)
    async with Client(transport=transport) as session:
        assert transport.subprotocol == WebsocketsTransport.APOLLO_SUBPROTOCOL
        stream = session.subscribe(GraphQLRequest(STATUS, variable_values={"id": workflow}))
        first = (await asyncio.wait_for(anext(stream), 15))["workflowStatus"]
        assert (first["type"], first["workflowId"]) == ("METADATA", workflow)
        await run_to_health(gql, kube_api, token, workflow)
        update = (await asyncio.wait_for(anext(stream), 15))["workflowStatus"]
        await stream.aclose()
    assert update["type"] == "NODE_UPDATE"
    assert update["nodes"] and {n["nodeId"] for n in update["nodes"]} <= {"web", "svc"}


async def test_a_bad_token_is_refused_over_the_legacy_protocol(live_server: str) -> None:
    with pytest.raises(TransportServerError) as raised:
        async with Client(transport=_transport(live_server, "not-a-token")):
            pass
    assert "token" in str(raised.value)  # the connection_error payload: why the token was refused
