"""A run is never left RUNNING: a stopping server marks it INTERRUPTED, and a starting server marks the runs
of a server that died (stale heartbeat) INTERRUPTED too."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from app.domain.runs import Run, RunStatus, TriggerKind
from app.domain.versions import VersionDraft
from app.domain.workflows import Canvas
from app.domain.workspaces import Scope
from app.settings import Settings
from app.store.opening import open_store
from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id status } } }"
GET_RUN = "query($id: ID!) { run(id: $id) { status error nodeStates { nodeId status } } }"


async def _prepare(gql: GraphQLClient, kube_api: Any) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    created = await gql.ok(
        'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) '
        "{ workflow { id } } }",
        {"c": cluster["id"]},
        token=token,
    )
    wf: str = created["createWorkflow"]["workflow"]["id"]
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


async def test_stopping_the_server_mid_run_marks_it_interrupted(
    kube_api: Any, settings: Settings, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(settings, clock=clock) as url:
            gql = GraphQLClient(url, http)
            token, wf = await _prepare(gql, kube_api)
            kube_api.delay(0.5)
            run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
            await asyncio.sleep(0.1)
        kube_api.delay(0)
        with serving(settings, clock=clock) as url:
            run = (await GraphQLClient(url, http).ok(GET_RUN, {"id": run_id}, token=token))["run"]
    assert run["status"] == "INTERRUPTED"
    assert "stopped" in run["error"]
    assert {s["status"] for s in run["nodeStates"]} <= {"APPLIED", "CANCELLED", "APPLYING", "PENDING"}


async def test_runs_of_a_dead_server_are_interrupted_at_start(
    kube_api: Any, settings: Settings, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(settings, clock=clock) as url:
            gql = GraphQLClient(url, http)
            token, wf = await _prepare(gql, kube_api)
            workflow = (
                await gql.ok(
                    "query($id: ID!) { workflow(id: $id) { workspaceId clusterId } }", {"id": wf}, token=token
                )
            )["workflow"]
        # Another server died while holding a run: RUNNING, with a heartbeat long ago.
        store = await open_store(settings.resolved_store_url)
        try:
            long_ago = clock.now() - timedelta(hours=1)
            scope = Scope.of([workflow["workspaceId"]])
            draft = VersionDraft(
                canvas=Canvas(), tag=None, description="", created_by="someone", created_at=long_ago
            )
            orphan = Run(
                id="orphan",
                workflow_id=wf,
                workspace_id=workflow["workspaceId"],
                cluster_id=workflow["clusterId"],
                version=0,
                status=RunStatus.RUNNING,
                triggered_by=TriggerKind.MANUAL,
                started_by="someone",
                started_at=long_ago,
                owner="dead-server",
                heartbeat_at=long_ago,
            )
            await store.start_run(scope, draft, orphan)
        finally:
            await store.close()
        with serving(settings, clock=clock) as url:
            run = (await GraphQLClient(url, http).ok(GET_RUN, {"id": "orphan"}, token=token))["run"]
    assert run["status"] == "INTERRUPTED"
    assert "stopped" in run["error"]
