"""diagnoseNode reads the node's live health; applyNodeFix saves the suggested data change."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.health import Health, HealthStatus
from app.domain.live import NodeHealth
from app.settings import Settings
from app.store.opening import open_store
from tests.api.canvas import node
from tests.graphql_client import GraphQLClient

DIAGNOSE = """query($wf: ID!) { diagnoseNode(workflowId: $wf, nodeId: "web") { health message
  checks { name verdict message suggestion fix { id description changes } } } }"""
FIX = """mutation($i: ApplyNodeFixInput!) { applyNodeFix(input: $i) { workflow { revision nodes { id data } } } }"""


async def test_an_oom_killed_node_gets_a_memory_fix(gql: GraphQLClient, settings: Settings) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = (
        await gql.ok('mutation { createWorkflow(input: {name: "shop"}) { workflow { id } } }', token=token)
    )["createWorkflow"]["workflow"]["id"]
    web = node("web", "Deployment", name="web", image="nginx", resources={"limits": {"memory": "128Mi"}})
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {"i": {"id": wf, "nodes": [web], "edges": [], "expectedRevision": 1}},
        token=token,
    )
    store = await open_store(settings.resolved_store_url)
    try:
        health = Health(HealthStatus.DEGRADED, "container web was OOMKilled", {"reason": "OOMKilled"})
        await store.put_node_health(NodeHealth(wf, "web", health, datetime.now(UTC)))
    finally:
        await store.close()

    diagnosis = (await gql.ok(DIAGNOSE, {"wf": wf}, token=token))["diagnoseNode"]
    assert diagnosis["health"] == "DEGRADED"
    (check,) = diagnosis["checks"]
    assert check["verdict"] == "ERROR"
    assert check["fix"]["changes"] == {"resources.limits.memory": "256Mi"}

    fixed = (
        await gql.ok(
            FIX,
            {"i": {"workflowId": wf, "nodeId": "web", "fixId": check["fix"]["id"], "expectedRevision": 2}},
            token=token,
        )
    )["applyNodeFix"]["workflow"]
    assert fixed["revision"] == 3
    assert fixed["nodes"][0]["data"]["resources"]["limits"]["memory"] == "256Mi"
    unknown = await gql.error(
        FIX,
        {"i": {"workflowId": wf, "nodeId": "web", "fixId": "made-up", "expectedRevision": 3}},
        token=token,
    )
    assert unknown["extensions"]["code"] == "BAD_INPUT"
