"""`trellis workflows run|status` against the Kubernetes API test server: a run started from the command
line, followed over the `runStatus` subscription until COMPLETE (exit 0), a failing run (exit 1), and the
nodes' live health from `workflowStatus`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.cli.conftest import Trellis
from tests.graphql_client import GraphQLClient

CREATE = """mutation($n: String!) { createWorkflow(input: {name: $n, namespace: "shop"}) {
  workflow { id revision } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""


async def _shop(gql: GraphQLClient, token: str) -> str:
    data = (await gql.ok(CREATE, {"n": "shop"}, token=token))["createWorkflow"]["workflow"]
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=1, port=8080),
        node("svc", "Service", name="web", port=80),
        node("cfg", "ConfigMap", name="web-config", data={"MODE": "production"}),
    ]
    edges = [edge("e1", "svc", "web"), edge("e2", "cfg", "web")]
    await gql.ok(
        SAVE,
        {"input": {"id": data["id"], "nodes": nodes, "edges": edges, "expectedRevision": data["revision"]}},
        token=token,
    )
    return str(data["id"])


@pytest.fixture
async def token(gql: GraphQLClient, live_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    token: str = (await gql.register("ada@example.com"))["token"]
    monkeypatch.setenv("TRELLIS_TOKEN", token)
    monkeypatch.setenv("TRELLIS_URL", live_server)
    return token


async def test_a_run_started_here_is_followed_until_complete(
    kube_api: Any, gql: GraphQLClient, token: str, trellis: Trellis
) -> None:
    await register_kubeconfig(gql, token, kube_api, name="lab")
    wf = await _shop(gql, token)

    never = await trellis("workflows", "status", wf)
    assert (never.code, never.out.strip()) == (0, f"workflow {wf} has not run yet")

    started = await trellis("workflows", "run", wf, "--cluster", "lab", "--output", "json")
    assert started.code == 0, started.err
    run = started.json()
    assert run["workflowId"] == wf and run["status"] in ("PENDING", "RUNNING")

    followed = await trellis("workflows", "status", wf, "--follow", "--output", "json")
    assert followed.code == 0, followed.err
    events = followed.json_lines()
    assert events[0]["type"] == "METADATA" and events[0]["run"]["id"] == run["id"]
    assert events[-1]["type"] == "COMPLETE"
    assert events[-1]["run"]["status"] == "COMPLETED"
    assert {s["nodeId"]: s["status"] for s in events[-1]["run"]["nodeStates"]} == dict.fromkeys(
        ["ns", "web", "svc", "cfg"], "APPLIED"
    )
    assert kube_api.get("Deployment", "shop", "web") is not None

    text = await trellis("workflows", "status", wf, "--run", run["id"])
    assert text.code == 0
    assert f"run {run['id']} (version 1): COMPLETED" in text.out
    assert "web" in text.out and "APPLIED" in text.out

    health = await trellis("workflows", "status", wf, "--health", "--output", "json")
    assert health.code == 0, health.err
    metadata = health.json()
    assert metadata["type"] == "METADATA"
    assert {n["nodeId"] for n in metadata["nodes"]} >= {"web", "svc", "cfg"}


async def test_a_failing_run_exits_1(kube_api: Any, gql: GraphQLClient, token: str, trellis: Trellis) -> None:
    cluster = await register_kubeconfig(gql, token, kube_api, name="lab")
    wf = await _shop(gql, token)
    kube_api.forbid("patch", "configmaps")

    waited = await trellis("workflows", "run", wf, "--cluster", cluster["id"], "--wait")
    assert waited.code == 1, waited.err
    assert "cfg: FAILED" in waited.out
    assert "FAILED" in waited.err.splitlines()[-1]

    status = await trellis("workflows", "status", wf, "--output", "json")
    assert status.code == 1
    assert status.json()["status"] == "FAILED"

    elsewhere = await trellis("workflows", "run", wf, "--cluster", "nowhere")
    assert elsewhere.code == 4
    assert "no cluster 'nowhere'" in elsewhere.err
