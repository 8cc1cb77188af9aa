"""/metrics over a live server: GraphQL operations by name and outcome with their latency, open
subscriptions, the watch pool, run status changes, and the optional bearer token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from app.settings import Settings
from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.api.ws_client import subscribed
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

WATCH = (
    """subscription Watch($id: ID!) { workflowStatus(workflowId: $id) { type nodes { nodeId health } } }"""
)
RUN = "mutation StartRun($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"
RUN_STATUS = "query RunStatus($id: ID!) { run(id: $id) { status } }"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(http: httpx.AsyncClient, base_url: str) -> Samples:
    response = await http.get(f"{base_url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _total(samples: Samples, name: str) -> float:
    return sum(value for (sample, _), value in samples.items() if sample == name)


async def _deploy(gql: GraphQLClient, kube_api: Any) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    workflow: str = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "default", clusterId: $c}) '
            "{ workflow { id } } }",
            {"c": cluster["id"]},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    nodes = [
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=1, port=80),
        node("cfg", "ConfigMap", name="cfg", data={"A": "1"}),
    ]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {"i": {"id": workflow, "nodes": nodes, "edges": [edge("c", "cfg", "web")], "expectedRevision": 1}},
        token=token,
    )
    return token, workflow


async def _next_status(subscription: Any) -> dict[str, Any]:
    payload = await asyncio.wait_for(subscription.next(), timeout=15)
    event: dict[str, Any] = payload["data"]["workflowStatus"]
    return event


async def test_metrics_count_operations_subscriptions_watches_and_runs(
    kube_api: Any, gql: GraphQLClient, http: httpx.AsyncClient, live_server: str
) -> None:
    kube_api.controllers.enable()
    token, workflow = await _deploy(gql, kube_api)
    async with subscribed(live_server, token) as subscription:
        await subscription.start(WATCH, {"id": workflow})
        assert (await _next_status(subscription))["type"] == "METADATA"
        run_id = (await gql.ok(RUN, {"id": workflow}, token=token))["runWorkflow"]["run"]["id"]
        await kube_api.controllers.reconcile()
        healthy: dict[str, str] = {}
        while healthy != {"web": "HEALTHY", "cfg": "HEALTHY"}:
            healthy.update({n["nodeId"]: n["health"] for n in (await _next_status(subscription))["nodes"]})
        status = "RUNNING"
        while status in ("PENDING", "RUNNING"):
            status = (await gql.ok(RUN_STATUS, {"id": run_id}, token=token))["run"]["status"]
        assert status == "COMPLETED"
        pod = kube_api.list("Pod", "default")[0]["metadata"]["name"]
        kube_api.pods.crash_loop("default", pod)  # a change the watches see as it happens
        while {n["nodeId"]: n["health"] for n in (await _next_status(subscription))["nodes"]}.get("web") != (
            "DEGRADED"
        ):
            pass
        refused = await gql.error("query Broken { noSuchField }", token=token)
        assert refused["extensions"]["code"]

        during = await _scrape(http, live_server)

    assert _value(during, "trellis_graphql_subscriptions_active", operation="Watch") == 1
    operations = "trellis_graphql_operations_total"
    assert _value(during, operations, operation="StartRun", type="mutation", outcome="success") == 1
    assert _value(during, operations, operation="RunStatus", type="query", outcome="success") >= 1
    assert _value(during, operations, operation="Broken", type="query", outcome="error") == 1
    assert _value(during, operations, operation="anonymous", type="mutation", outcome="success") >= 3
    latency = "trellis_graphql_operation_duration_seconds_count"
    assert _value(during, latency, operation="StartRun", type="mutation") == 1
    assert _value(during, latency, operation="Watch", type="subscription") == 0  # open streams are not timed
    assert _value(during, "trellis_watches") >= 2  # the Deployment's, the ConfigMap's, pods, events…
    assert _value(during, "trellis_watch_events_total", kind="Pod", type="MODIFIED") >= 1
    changes = "trellis_run_status_changes_total"
    assert _value(during, changes, status="RUNNING") == 1
    assert _value(during, changes, status="COMPLETED") == 1
    assert _value(during, changes, status="FAILED") == 0
    assert _value(during, "trellis_build_status_changes_total", status="COMPLETED") == 0

    for _ in range(200):  # the server notices the closed connection and ends the stream
        after = await _scrape(http, live_server)
        if _value(after, "trellis_graphql_subscriptions_active", operation="Watch") == 0:
            break
        await asyncio.sleep(0.01)
    assert _value(after, "trellis_graphql_subscriptions_active", operation="Watch") == 0
    assert _value(after, operations, operation="Watch", type="subscription", outcome="success") == 1


async def test_a_metrics_token_keeps_metrics_from_anyone_without_it(
    settings: Settings, clock: FakeClock
) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-token-0123456789")})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(guarded, clock=clock) as url:
            missing = await http.get(f"{url}/metrics")
            wrong = await http.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"})
            right = await http.get(
                f"{url}/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"}
            )
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "trellis_" not in missing.text + wrong.text
    assert right.status_code == 200
    assert "trellis_graphql_operations_total" in right.text
