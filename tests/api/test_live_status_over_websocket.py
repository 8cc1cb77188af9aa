"""workflowStatus comes alive after a run: node health from the watch pool, failures with their reason,
and — with two servers sharing one Redis — a change seen by the watching server reaches a subscriber of
the other."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.settings import Settings
from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.api.ws_client import subscribed
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving
from tests.redis_server import RedisServer

STATUS = """subscription($id: ID!) { workflowStatus(workflowId: $id) { type nodes { nodeId health colour message
  facts } message } }"""
RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"


async def _deploy(gql: GraphQLClient, kube_api: Any) -> tuple[str, str]:
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
    nodes = [
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=1, port=80),
        node("svc", "Service", name="web", port=80),
        node("cfg", "ConfigMap", name="cfg", data={"A": "1"}),
    ]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {
            "i": {
                "id": wf,
                "nodes": nodes,
                "edges": [edge("e", "svc", "web"), edge("c", "cfg", "web")],
                "expectedRevision": 1,
            }
        },
        token=token,
    )
    return token, wf


async def _until(subscription: Any, predicate: Any, limit: int = 200) -> dict[str, Any]:
    """Read events until one satisfies ``predicate`` (an event of workflowStatus)."""
    for _ in range(limit):
        payload = await asyncio.wait_for(subscription.next(), timeout=15)
        event: dict[str, Any] = payload["data"]["workflowStatus"]
        if predicate(event):
            return event
    raise AssertionError("the expected event never came")


async def _finished(gql: GraphQLClient, token: str, run_id: str) -> str:
    for _ in range(500):
        answer = await gql.ok("query($id: ID!) { run(id: $id) { status } }", {"id": run_id}, token=token)
        run = answer["run"]
        if run["status"] not in ("PENDING", "RUNNING"):
            return str(run["status"])
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish")


def _healths(event: dict[str, Any]) -> dict[str, str]:
    return {n["nodeId"]: n["health"] for n in event["nodes"]}


async def test_node_health_streams_after_a_run_and_failures_say_why(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    kube_api.controllers.enable()
    token, wf = await _deploy(gql, kube_api)
    async with subscribed(live_server, token) as subscription:
        await subscription.start(STATUS, {"id": wf})
        first = await _until(subscription, lambda e: True)
        assert first["type"] == "METADATA"
        await gql.ok(RUN, {"id": wf}, token=token)
        await kube_api.controllers.reconcile()
        healthy: dict[str, str] = {}

        def all_healthy(event: dict[str, Any]) -> bool:
            healthy.update(_healths(event))
            return healthy == {"web": "HEALTHY", "svc": "HEALTHY", "cfg": "HEALTHY"}

        await _until(subscription, all_healthy)

        pod = kube_api.list("Pod", "default")[0]["metadata"]["name"]
        kube_api.pods.crash_loop("default", pod)
        degraded = await _until(
            subscription, lambda e: e["type"] == "NODE_UPDATE" and _healths(e).get("web") == "DEGRADED"
        )
    web = next(n for n in degraded["nodes"] if n["nodeId"] == "web")
    assert web["colour"] == "red"
    assert "crash" in web["message"].lower()
    assert web["facts"]["reason"] == "CrashLoopBackOff"


async def test_a_change_seen_by_one_server_reaches_a_subscriber_of_another(
    kube_api: Any,
    redis_server: RedisServer,
    settings: Settings,
    clock: FakeClock,
) -> None:
    kube_api.controllers.enable()
    shared = settings.model_copy(update={"broadcast_url": redis_server.url})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(shared, clock=clock) as first_url, serving(shared, clock=clock) as second_url:
            first = GraphQLClient(first_url, http)
            token, wf = await _deploy(first, kube_api)
            async with subscribed(second_url, token) as subscription:
                await subscription.start(STATUS, {"id": wf})
                assert (await _until(subscription, lambda e: True))["type"] == "METADATA"
                await first.ok(RUN, {"id": wf}, token=token)
                await kube_api.controllers.reconcile()
                event = await _until(
                    subscription, lambda e: e["type"] == "NODE_UPDATE" and _healths(e).get("web") == "HEALTHY"
                )
    assert event["nodes"][0]["nodeId"] == "web"


async def test_the_watching_server_follows_a_run_another_server_executed(
    kube_api: Any,
    redis_server: RedisServer,
    settings: Settings,
    clock: FakeClock,
) -> None:
    """The first server holds the cluster's watch lease; a later run executed by the second server adds a
    node, and the first server learns of it from the store at its next lease renewal and watches it."""
    kube_api.controllers.enable()
    shared = settings.model_copy(update={"broadcast_url": redis_server.url, "watch_lease_seconds": 0.9})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(shared, clock=clock) as first_url, serving(shared, clock=clock) as second_url:
            first, second = GraphQLClient(first_url, http), GraphQLClient(second_url, http)
            token, wf = await _deploy(first, kube_api)
            first_run = (await first.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
            await kube_api.controllers.reconcile()
            assert await _finished(first, token, first_run) == "COMPLETED"  # the first server follows it
            saved = await first.ok(
                "query($id: ID!) { workflow(id: $id) { revision nodes { id kind position { x y } data } "
                "edges { id source target sourceHandle targetHandle } } }",
                {"id": wf},
                token=token,
            )
            workflow = saved["workflow"]
            api = node("api", "Deployment", name="api", image="nginx:1.27", replicas=1, port=81)
            await first.ok(
                "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
                {
                    "i": {
                        "id": wf,
                        "nodes": [*workflow["nodes"], api],
                        "edges": workflow["edges"],
                        "expectedRevision": workflow["revision"],
                    }
                },
                token=token,
            )
            async with subscribed(first_url, token) as subscription:
                await subscription.start(STATUS, {"id": wf})
                assert (await _until(subscription, lambda e: True))["type"] == "METADATA"
                second_run = (await second.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
                assert await _finished(second, token, second_run) == "COMPLETED"
                await kube_api.controllers.reconcile()  # the new Deployment's pods become ready
                event = await _until(
                    subscription, lambda e: e["type"] == "NODE_UPDATE" and _healths(e).get("api") == "HEALTHY"
                )
    assert event["nodes"][0]["nodeId"] == "api"
