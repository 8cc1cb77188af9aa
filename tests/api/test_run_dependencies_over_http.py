"""Dependency edges honoured by runs, over HTTP against the Kubernetes API test server: a dependent is
applied only once its dependency is healthy (or its Job completed), judged from the watch pool; the wait
is in the run's log; a timeout, a failed dependency or a cancel fail or stop the dependents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from app.settings import Settings
from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id status } } }"
GET_RUN = """query($id: ID!) { run(id: $id) { id status error nodeStates { nodeId status message }
  logs { level message nodeId } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
HEALTH = "query($w: ID!, $n: ID!) { diagnoseNode(workflowId: $w, nodeId: $n) { health message } }"
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}


async def _until(
    gql: GraphQLClient, token: str, run_id: str, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The run, read again until ``predicate`` holds (at most ~20 s)."""
    run: dict[str, Any] = {}
    for _ in range(1000):
        run = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if predicate(run):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"the run never got there: {run}")


def _finished(run: dict[str, Any]) -> bool:
    return run["status"] in FINISHED


def _logged(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda run: any(text in line["message"] for line in run["logs"]) or _finished(run)


def _states(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["nodeId"]: s for s in run["nodeStates"]}


async def _workflow(
    gql: GraphQLClient, kube_api: Any, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    wf: str = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) '
            "{ workflow { id } } }",
            {"c": cluster["id"]},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    await gql.ok(
        SAVE,
        {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}},
        token=token,
    )
    return token, wf


def _shop(db_kind: str = "StatefulSet") -> list[dict[str, Any]]:
    return [
        node("ns", "Namespace", name="shop"),
        node("db", db_kind, name="db", image="postgres:16", replicas=1, port=5432),
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=1, port=80),
    ]


def _ready(kube_api: Any, name: str) -> None:
    """Mark a StatefulSet rolled out at its current generation, as its controller would."""
    generation = kube_api.get("StatefulSet", "shop", name)["metadata"]["generation"]
    kube_api.set_status(
        "StatefulSet",
        "shop",
        name,
        {
            "observedGeneration": generation,
            "replicas": 1,
            "readyReplicas": 1,
            "currentReplicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
            "currentRevision": f"{name}-{generation}",
            "updateRevision": f"{name}-{generation}",
        },
    )


async def test_a_dependent_is_applied_only_once_its_dependency_is_healthy(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token, wf = await _workflow(gql, kube_api, _shop(), [edge("dep", "db", "web")])
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    waiting = await _until(gql, token, run_id, _logged("web waits for db to be healthy (timeout 300 s)"))
    assert waiting["status"] == "RUNNING", waiting
    assert _states(waiting)["db"]["status"] == "APPLIED"
    assert _states(waiting)["web"]["status"] == "PENDING"
    assert _states(waiting)["web"]["message"] == "waiting for db to be healthy"
    line = next(x for x in waiting["logs"] if x["message"].startswith("web waits for db"))
    assert line["nodeId"] == "web"

    for _ in range(500):  # the watch pool reports db: created, not rolled out (no controller runs here)
        health = (await gql.ok(HEALTH, {"w": wf, "n": "db"}, token=token))["diagnoseNode"]
        if health["health"] == "PROGRESSING":
            break
        await asyncio.sleep(0.02)
    assert health["health"] == "PROGRESSING", health
    assert kube_api.get("Deployment", "shop", "web") is None
    assert (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]["status"] == "RUNNING"

    _ready(kube_api, "db")
    run = await _until(gql, token, run_id, _finished)
    assert run["status"] == "COMPLETED", run
    assert _states(run)["web"]["status"] == "APPLIED"
    assert kube_api.get("Deployment", "shop", "web") is not None
    messages = [x["message"] for x in run["logs"]]
    healthy = next(m for m in messages if m.startswith("db is healthy after "))
    assert healthy.endswith(" s; applying web"), healthy
    assert messages.index(healthy) < next(
        i for i, m in enumerate(messages) if m == "applying Deployment shop/web"
    )


async def test_later_runs_judge_the_dependency_as_it_is_now_not_as_it_was(
    kube_api: Any, gql: GraphQLClient
) -> None:
    nodes = _shop()
    token, wf = await _workflow(gql, kube_api, nodes, [edge("dep", "db", "web")])
    first = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await _until(gql, token, first, _logged("web waits for db"))
    _ready(kube_api, "db")
    assert (await _until(gql, token, first, _finished))["status"] == "COMPLETED"

    # nothing changed: db is still healthy, so web goes on without anything happening in the cluster
    second = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    run = await _until(gql, token, second, _finished)
    assert run["status"] == "COMPLETED", run
    assert any(x["message"].startswith("db is healthy after ") for x in run["logs"])

    # db changed: its earlier HEALTHY no longer counts; web waits for the new rollout
    nodes[1]["data"]["image"] = "postgres:17"
    await gql.ok(
        SAVE,
        {"input": {"id": wf, "nodes": nodes, "edges": [edge("dep", "db", "web")], "expectedRevision": 2}},
        token=token,
    )
    third = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await _until(gql, token, third, _logged("web waits for db"))
    for _ in range(500):
        health = (await gql.ok(HEALTH, {"w": wf, "n": "db"}, token=token))["diagnoseNode"]
        if health["health"] == "PROGRESSING":
            break
        await asyncio.sleep(0.02)
    assert health["health"] == "PROGRESSING", health
    run = (await gql.ok(GET_RUN, {"id": third}, token=token))["run"]
    assert run["status"] == "RUNNING"
    assert _states(run)["web"]["status"] == "PENDING"
    _ready(kube_api, "db")
    run = await _until(gql, token, third, _finished)
    assert run["status"] == "COMPLETED", run
    assert kube_api.get("StatefulSet", "shop", "db")["spec"]["template"]["spec"]["containers"][0][
        "image"
    ] == ("postgres:17")


async def test_a_dependency_that_stays_unhealthy_fails_its_dependents_after_the_timeout(
    kube_api: Any, settings: Settings, clock: FakeClock
) -> None:
    nodes = [*_shop("Deployment"), node("worker", "Deployment", name="worker", image="worker:1")]
    impatient = settings.model_copy(update={"run_dependency_timeout_seconds": 0.5})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(impatient, clock=clock) as url:
            gql = GraphQLClient(url, http)
            token, wf = await _workflow(
                gql, kube_api, nodes, [edge("d1", "db", "web"), edge("d2", "web", "worker", "started")]
            )
            run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
            run = await _until(gql, token, run_id, _finished)
    assert run["status"] == "FAILED", run
    assert run["error"] == "2 node(s) failed: web, worker"
    states = _states(run)
    assert states["db"]["status"] == "APPLIED"
    assert states["web"]["status"] == "FAILED"
    assert states["web"]["message"].startswith("db did not become healthy within 0.5 s (it was PROGRESSING")
    assert states["worker"]["status"] == "FAILED"
    assert states["worker"]["message"] == "not applied: its dependency web failed"
    messages = [x["message"] for x in run["logs"]]
    assert "web waits for db to be healthy (timeout 0.5 s)" in messages
    assert "prune skipped: some nodes failed" in messages
    assert kube_api.get("Deployment", "shop", "web") is None
    assert kube_api.get("Deployment", "shop", "worker") is None


def _migrate_and_web() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("migrate", "Job", name="migrate", image="migrate:1"),
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=1),
    ]
    return nodes, [edge("dep", "migrate", "web", "completed")]


async def test_a_job_dependency_lets_its_dependent_start_once_it_completed(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token, wf = await _workflow(gql, kube_api, *_migrate_and_web())
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    waiting = await _until(gql, token, run_id, _logged("web waits for migrate to complete"))
    assert waiting["status"] == "RUNNING", waiting
    assert kube_api.get("Deployment", "shop", "web") is None
    kube_api.set_status(
        "Job",
        "shop",
        "migrate",
        {
            "startTime": "2026-01-15T09:00:00Z",
            "completionTime": "2026-01-15T09:00:05Z",
            "succeeded": 1,
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached"},
            ],
        },
    )
    run = await _until(gql, token, run_id, _finished)
    assert run["status"] == "COMPLETED", run
    assert any(x["message"].startswith("migrate has completed after ") for x in run["logs"])
    assert kube_api.get("Deployment", "shop", "web") is not None


async def test_a_failed_job_fails_its_dependent_at_once(kube_api: Any, gql: GraphQLClient) -> None:
    token, wf = await _workflow(gql, kube_api, *_migrate_and_web())
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await _until(gql, token, run_id, _logged("web waits for migrate to complete"))
    kube_api.set_status(
        "Job",
        "shop",
        "migrate",
        {
            "startTime": "2026-01-15T09:00:00Z",
            "failed": 7,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"},
            ],
        },
    )
    run = await _until(gql, token, run_id, _finished)  # long before the 300 s timeout
    assert run["status"] == "FAILED", run
    web = _states(run)["web"]
    assert web["status"] == "FAILED"
    assert web["message"].startswith(
        "not applied: its dependency migrate failed (failed: its pods failed 7 times"
    )
    assert kube_api.get("Deployment", "shop", "web") is None


async def test_cancelling_a_run_stops_its_wait(kube_api: Any, gql: GraphQLClient) -> None:
    token, wf = await _workflow(gql, kube_api, _shop(), [edge("dep", "db", "web")])
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await _until(gql, token, run_id, _logged("web waits for db"))
    await gql.ok(
        "mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id } } }", {"id": run_id}, token=token
    )
    run = await _until(gql, token, run_id, _finished)
    assert run["status"] == "CANCELLED", run
    web = _states(run)["web"]
    assert web == {
        "nodeId": "web",
        "status": "CANCELLED",
        "message": "the run stopped before this node (waiting for db to be healthy)",
    }
    assert kube_api.get("Deployment", "shop", "web") is None


async def test_a_dependency_cycle_is_refused_when_saving(kube_api: Any, gql: GraphQLClient) -> None:
    token, wf = await _workflow(gql, kube_api, _shop(), [])
    errors = await gql.raw(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": _shop(),
                "edges": [edge("d1", "db", "web"), edge("d2", "web", "db", "started")],
                "expectedRevision": 2,
            }
        },
        token=token,
    )
    error = errors["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert {
        "path": "edges[1]",
        "message": "the dependencies form a cycle (db → web → db): none of these workloads could ever start "
        "first; remove one of these edges",
    } in error["extensions"]["fields"]
    stored = await gql.ok(
        "query($id: ID!) { workflow(id: $id) { revision edges { id } } }", {"id": wf}, token=token
    )
    assert stored["workflow"] == {"revision": 2, "edges": []}
    bad = await gql.raw(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": _shop(),
                "edges": [edge("d1", "db", "web", "completed")],
                "expectedRevision": 2,
            }
        },
        token=token,
    )
    assert bad["errors"][0]["extensions"]["fields"] == [
        {
            "path": "edges[0].sourceHandle",
            "message": "'completed' needs a Job as the dependency, but 'db' is a StatefulSet, which never "
            "completes: use 'healthy' or 'started'",
        }
    ]


async def test_the_node_kinds_list_dependencies_and_their_conditions(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    kinds = await gql.ok(
        "{ nodeKinds { kind outgoingEdges { targetKind description handle } } }", token=token
    )
    job = next(k for k in kinds["nodeKinds"] if k["kind"] == "Job")
    to_web = next(e for e in job["outgoingEdges"] if e["targetKind"] == "Deployment")
    assert "starts after" in to_web["description"]
    assert "'completed': the Job completed" in to_web["handle"]
