"""A stopping server lets go cleanly: requests in flight get their answers, open subscriptions are closed
with 1012 (service restart) so clients reconnect elsewhere, the cluster's watch lease is released at once
(another replica takes over without waiting for it to expire), and a server started next serves a fresh
subscription from ``METADATA``."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from app.settings import Settings
from app.store.opening import sqlite_path
from tests.api.canvas import node
from tests.api.clusters import register_kubeconfig
from tests.api.ws_client import LEGACY_WS, TRANSPORT_WS, Subscription, subscribed
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

STATUS = "subscription($id: ID!) { workflowStatus(workflowId: $id) { type nodes { nodeId health } } }"
RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"
SERVICE_RESTART = 1012


async def _workflow(gql: GraphQLClient, kube_api: Any) -> tuple[str, str, str]:
    """A workflow of one ConfigMap on the test cluster: (token, workflow id, cluster id)."""
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster: str = (await register_kubeconfig(gql, token, kube_api))["id"]
    wf: str = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "default", clusterId: $c}) '
            "{ workflow { id } } }",
            {"c": cluster},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    nodes = [node("cfg", "ConfigMap", name="cfg", data={"A": "1"})]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {"i": {"id": wf, "nodes": nodes, "edges": [], "expectedRevision": 1}},
        token=token,
    )
    return token, wf, cluster


async def _event(subscription: Subscription) -> dict[str, Any]:
    payload = await asyncio.wait_for(subscription.next(), timeout=15)
    event: dict[str, Any] = payload["data"]["workflowStatus"]
    return event


async def _closing(subscription: Subscription) -> ConnectionClosed:
    """Read until the server closes the connection (events sent before the close frame come first)."""
    try:
        while True:
            await _event(subscription)
    except ConnectionClosed as closed:
        return closed


async def _until_more(kube_api: Any, seen: int) -> None:
    """Wait until the Kubernetes API test server has received more than ``seen`` requests (it offers
    no notification, so its request log is polled)."""
    for _ in range(1000):
        if len(kube_api.requests) > seen:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the request never reached the cluster")


def _lease_owner(settings: Settings, cluster_id: str) -> str | None:
    """Who holds the cluster's watch lease, read from the SQLite file (None: released)."""
    with contextlib.closing(sqlite3.connect(sqlite_path(settings.resolved_store_url))) as db:
        row = db.execute("SELECT owner FROM leases WHERE name = ?", (f"watch:{cluster_id}",)).fetchone()
    return None if row is None else str(row[0])


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_stopping_closes_subscriptions_with_1012_and_releases_the_watch_lease(
    kube_api: Any, settings: Settings, clock: FakeClock, protocol: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        server = contextlib.ExitStack()
        url = server.enter_context(serving(settings, clock=clock))
        try:
            token, wf, cluster = await _workflow(GraphQLClient(url, http), kube_api)
            async with subscribed(url, token, protocol) as subscription:
                await subscription.start(STATUS, {"id": wf})
                assert (await _event(subscription))["type"] == "METADATA"
                await GraphQLClient(url, http).ok(RUN, {"id": wf}, token=token)
                while {n["nodeId"]: n["health"] for n in (await _event(subscription))["nodes"]} != {
                    "cfg": "HEALTHY"
                }:
                    pass  # tracked: this server holds the cluster's watch lease
                first_owner = _lease_owner(settings, cluster)
                assert first_owner is not None
                server.close()  # Uvicorn's graceful shutdown, then the lifespan's
                closed = await _closing(subscription)
        finally:
            server.close()
        assert closed.rcvd is not None
        assert closed.rcvd.code == SERVICE_RESTART
        assert _lease_owner(settings, cluster) is None  # released, not left to expire

        with serving(settings, clock=clock) as url:
            second_owner = _lease_owner(settings, cluster)  # taken at start, before serving
            async with subscribed(url, token, protocol) as subscription:
                await subscription.start(STATUS, {"id": wf})
                first = await _event(subscription)
    assert second_owner not in (None, first_owner)
    assert first["type"] == "METADATA"
    assert first["nodes"] == [{"nodeId": "cfg", "health": "HEALTHY"}]


async def test_a_request_in_flight_when_the_server_stops_still_gets_its_answer(
    kube_api: Any, settings: Settings, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        server = contextlib.ExitStack()
        url = server.enter_context(serving(settings, clock=clock))
        try:
            gql = GraphQLClient(url, http)
            token: str = (await gql.register("ada@example.com"))["token"]
            seen = len(kube_api.requests)
            kube_api.delay(0.5)  # the cluster check of registerCluster takes a while
            registering = asyncio.create_task(register_kubeconfig(gql, token, kube_api, name="slow"))
            await _until_more(kube_api, seen)  # the request is being served: it reached the cluster
            await asyncio.to_thread(server.close)  # Uvicorn waits for it before the lifespan ends
            cluster = await registering
        finally:
            kube_api.delay(0)
            server.close()
    assert cluster["name"] == "slow"
    assert cluster["status"]["reachable"] is True
