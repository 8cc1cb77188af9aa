"""Runs: apply a saved workflow to the Kubernetes API test server, record every node, prune, own nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.graphql_client import GraphQLClient

RUN = """mutation($id: ID!, $data: JSON) { runWorkflow(input: {id: $id, triggerData: $data}) { run { id status version } } }"""
GET_RUN = """query($id: ID!) { run(id: $id) { id status version error warnings durationMs triggeredBy
  startedBy { email } nodeStates { nodeId status message objects { kind name namespace action resourceVersion } }
  pruned { kind name action } logs { level message } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}


async def _wait(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    for _ in range(500):
        run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if run["status"] in FINISHED:
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish: {run}")


async def _workflow(gql: GraphQLClient, token: str, kube_api: Any, name: str = "shop") -> tuple[str, int]:
    cluster = await register_kubeconfig(gql, token, kube_api, name=f"c-{name}")
    data = await gql.ok(
        'mutation($n: String!, $c: ID!) { createWorkflow(input: {name: $n, namespace: "shop", clusterId: $c}) '
        "{ workflow { id revision } } }",
        {"n": name, "c": cluster["id"]},
        token=token,
    )
    wf = data["createWorkflow"]["workflow"]
    return wf["id"], wf["revision"]


async def _save(gql: GraphQLClient, token: str, wf: str, revision: int, nodes: Any, edges: Any) -> int:
    data = await gql.ok(
        SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": revision}}, token=token
    )
    return int(data["saveWorkflow"]["workflow"]["revision"])


def _shop() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=2, port=8080),
        node("svc", "Service", name="web", port=80),
        node("cfg", "ConfigMap", name="web-config", data={"MODE": "production"}),
    ]
    return nodes, [edge("e1", "svc", "web"), edge("e2", "cfg", "web")]


async def test_a_run_applies_every_node_and_labels_what_it_owns(kube_api: Any, gql: GraphQLClient) -> None:
    user = await gql.register("ada@example.com")
    token = user["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    started = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]
    assert started["status"] == "RUNNING"
    assert started["version"] == 1
    run = await _wait(gql, token, started["id"])
    assert run["status"] == "COMPLETED", run
    assert run["triggeredBy"] == "MANUAL"
    assert run["startedBy"] == {"email": "ada@example.com"}
    assert run["durationMs"] >= 0
    assert {s["nodeId"]: s["status"] for s in run["nodeStates"]} == dict.fromkeys(
        ["ns", "web", "svc", "cfg"], "APPLIED"
    )
    deployment = kube_api.get("Deployment", "shop", "web")
    labels = deployment["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "trellis"
    assert labels["trellis.dev/workflow"] == wf
    assert labels["trellis.dev/node"] == "web"
    assert deployment["spec"]["template"]["metadata"]["labels"]["trellis.dev/node"] == "web"
    service = kube_api.get("Service", "shop", "web")
    assert service["spec"]["selector"] == {"trellis.dev/workflow": wf, "trellis.dev/node": "web"}
    managers = {entry["manager"] for entry in deployment["metadata"]["managedFields"]}
    assert f"trellis-{wf}" in managers
    versions = await gql.ok(
        "query($id: ID!) { versions(workflowId: $id) { nodes { number description } } }",
        {"id": wf},
        token=token,
    )
    assert versions["versions"]["nodes"][0]["number"] == 1


async def test_a_second_run_with_nothing_changed_changes_nothing(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    first = await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    versions_before = {
        (o["kind"], o["name"]): o["resourceVersion"] for s in first["nodeStates"] for o in s["objects"]
    }
    second = await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    assert second["status"] == "COMPLETED"
    actions = {o["kind"]: o["action"] for s in second["nodeStates"] for o in s["objects"]}
    assert set(actions.values()) == {"UNCHANGED"}, actions
    versions_after = {
        (o["kind"], o["name"]): o["resourceVersion"] for s in second["nodeStates"] for o in s["objects"]
    }
    assert versions_after == versions_before


async def test_removed_nodes_are_pruned_and_foreign_objects_are_left_alone(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    nodes.append(node("data", "PersistentVolumeClaim", name="data", storage="1Gi"))
    revision = await _save(gql, token, wf, revision, nodes, edges)
    await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    kube_api.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "shop"}}
    )
    kept = [n for n in nodes if n["id"] in {"ns", "web"}]
    await _save(gql, token, wf, revision, kept, [])
    run = await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    assert run["status"] == "COMPLETED", run
    assert {(p["kind"], p["name"]) for p in run["pruned"]} == {
        ("Service", "web"),
        ("ConfigMap", "web-config"),
    }
    assert kube_api.get("Service", "shop", "web") is None
    assert kube_api.get("ConfigMap", "shop", "theirs") is not None
    assert (
        kube_api.get("PersistentVolumeClaim", "shop", "data") is not None
    )  # volumes only with deleteVolumes


async def test_two_workflows_claiming_one_object_conflict(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    first, r1 = await _workflow(gql, token, kube_api, "first")
    second, r2 = await _workflow(gql, token, kube_api, "second")
    cfg = [node("ns", "Namespace", name="shop"), node("cfg", "ConfigMap", name="shared", data={"A": "1"})]
    await _save(gql, token, first, r1, cfg, [])
    await _save(gql, token, second, r2, [node("cfg2", "ConfigMap", name="shared", data={"A": "2"})], [])
    assert (
        await _wait(gql, token, (await gql.ok(RUN, {"id": first}, token=token))["runWorkflow"]["run"]["id"])
    )["status"] == "COMPLETED"
    run = await _wait(
        gql, token, (await gql.ok(RUN, {"id": second}, token=token))["runWorkflow"]["run"]["id"]
    )
    assert run["status"] == "FAILED"
    state = next(s for s in run["nodeStates"] if s["nodeId"] == "cfg2")
    assert state["status"] == "FAILED"
    assert first in state["message"]
    assert kube_api.get("ConfigMap", "shop", "shared")["data"] == {"A": "1"}


async def test_a_node_the_api_server_rejects_fails_alone(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    kube_api.forbid("patch", "configmaps")
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    run = await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    assert run["status"] == "FAILED"
    states = {s["nodeId"]: s for s in run["nodeStates"]}
    assert states["cfg"]["status"] == "FAILED"
    assert "forbidden" in states["cfg"]["message"].lower()
    assert states["web"]["status"] == "APPLIED"
    assert states["svc"]["status"] == "APPLIED"


async def test_secret_values_are_applied_but_never_returned(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("db", "Secret", name="db", keys=[{"id": "k1", "name": "PASSWORD"}]),
        node("empty", "Secret", name="empty", keys=[{"id": "k1", "name": "TOKEN"}]),
    ]
    await _save(gql, token, wf, revision, nodes, [])
    await gql.ok(
        """mutation($wf: ID!) { setSecretValues(input: {workflowId: $wf, nodeId: "db",
           values: [{key: "PASSWORD", value: "hunter2-stored"}]}) { secret { keys } } }""",
        {"wf": wf},
        token=token,
    )
    keys = await gql.ok(
        "query($wf: ID!) { secretKeys(workflowId: $wf) { nodeId keys } }", {"wf": wf}, token=token
    )
    assert keys["secretKeys"] == [{"nodeId": "db", "keys": ["PASSWORD"]}]
    preview = await gql.ok(
        "query($wf: ID!) { previewManifests(workflowId: $wf) { yaml skipped { nodeId } } }",
        {"wf": wf},
        token=token,
    )
    assert "hunter2" not in preview["previewManifests"]["yaml"]
    assert preview["previewManifests"]["skipped"] == [{"nodeId": "empty"}]
    run = await _wait(
        gql,
        token,
        (
            await gql.ok(
                RUN, {"id": wf, "data": {"secrets": {"db": {"PASSWORD": "hunter2-override"}}}}, token=token
            )
        )["runWorkflow"]["run"]["id"],
    )
    assert run["status"] == "COMPLETED", run
    assert {s["nodeId"]: s["status"] for s in run["nodeStates"]}["empty"] == "SKIPPED"
    assert run["warnings"]
    assert "hunter2" not in str(run)
    import base64

    secret = kube_api.get("Secret", "shop", "db")
    stored = (
        secret.get("data", {}).get("PASSWORD")
        or base64.b64encode(secret.get("stringData", {}).get("PASSWORD", "").encode()).decode()
    )
    assert base64.b64decode(stored).decode() == "hunter2-override"
    assert kube_api.get("Secret", "shop", "empty") is None


async def test_two_runs_of_one_workflow_never_apply_at_once(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    kube_api.delay(0.2)
    results = await asyncio.gather(*(gql.raw(RUN, {"id": wf}, token=token) for _ in range(3)))
    started = [r for r in results if not r.get("errors")]
    refused = [r for r in results if r.get("errors")]
    assert len(started) == 1
    assert all(r["errors"][0]["extensions"]["code"] == "CONFLICT" for r in refused)
    kube_api.delay(0)
    await _wait(gql, token, started[0]["data"]["runWorkflow"]["run"]["id"])


async def test_a_cancelled_run_stops_between_waves(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    kube_api.delay(0.3)
    run_id = (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"]
    await gql.ok(
        "mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id } } }", {"id": run_id}, token=token
    )
    kube_api.delay(0)
    run = await _wait(gql, token, run_id)
    assert run["status"] == "CANCELLED", run
    assert any(s["status"] == "CANCELLED" for s in run["nodeStates"])
    assert kube_api.get("Service", "shop", "web") is None


async def test_runs_are_refused_without_a_cluster_or_when_archived(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    bare = (
        await gql.ok('mutation { createWorkflow(input: {name: "bare"}) { workflow { id } } }', token=token)
    )["createWorkflow"]["workflow"]["id"]
    assert (await gql.error(RUN, {"id": bare}, token=token))["extensions"]["code"] == "BAD_INPUT"
    wf, _ = await _workflow(gql, token, kube_api)
    await gql.ok(
        "mutation($id: ID!) { updateWorkflow(input: {id: $id, status: ARCHIVED}) { workflow { id } } }",
        {"id": wf},
        token=token,
    )
    assert (await gql.error(RUN, {"id": wf}, token=token))["extensions"]["code"] == "BAD_INPUT"
    runs = await gql.ok("query($id: ID!) { runs(workflowId: $id) { totalCount } }", {"id": wf}, token=token)
    assert runs["runs"]["totalCount"] == 0


async def test_plan_reports_creates_changes_and_prunes_without_changing_anything(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    revision = await _save(gql, token, wf, revision, nodes, edges)
    plan_query = """query($id: ID!) { planRun(workflowId: $id) { creates { kind name } unchanged { kind }
      changes { kind name changes { path oldValue newValue } } prunes { kind name } refused { kind problem } } }"""
    first = (await gql.ok(plan_query, {"id": wf}, token=token))["planRun"]
    assert {(c["kind"], c["name"]) for c in first["creates"]} == {
        ("Namespace", "shop"),
        ("Deployment", "web"),
        ("Service", "web"),
        ("ConfigMap", "web-config"),
    }
    assert kube_api.get("Deployment", "shop", "web") is None  # a dry run stores nothing
    await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    nodes[1]["data"]["replicas"] = 5
    changed = [n for n in nodes if n["id"] != "cfg"]
    await _save(gql, token, wf, revision, changed, [edge("e1", "svc", "web")])
    plan = (await gql.ok(plan_query, {"id": wf}, token=token))["planRun"]
    assert plan["creates"] == []
    deployment = next(c for c in plan["changes"] if c["kind"] == "Deployment")
    assert {"path": "spec.replicas", "oldValue": 2, "newValue": 5} in deployment["changes"]
    assert plan["prunes"] == [{"kind": "ConfigMap", "name": "web-config"}]
    assert kube_api.get("Deployment", "shop", "web")["spec"]["replicas"] == 2


async def test_deleting_with_resources_removes_what_was_deployed(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    kube_api.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "shop"}}
    )
    data = await gql.ok(
        "mutation($id: ID!) { deleteWorkflow(input: {id: $id, deleteResources: true}) { removedObjects } }",
        {"id": wf},
        token=token,
    )
    assert data["deleteWorkflow"]["removedObjects"] == 3  # the Namespace stays: it holds a foreign ConfigMap
    assert kube_api.get("Deployment", "shop", "web") is None
    assert kube_api.get("Namespace", None, "shop") is not None
    assert kube_api.get("ConfigMap", "shop", "theirs") is not None


async def test_archiving_removes_what_was_deployed(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    await gql.ok(
        "mutation($id: ID!) { updateWorkflow(input: {id: $id, status: ARCHIVED}) { workflow { status } } }",
        {"id": wf},
        token=token,
    )
    assert kube_api.get("Deployment", "shop", "web") is None
    assert kube_api.get("Service", "shop", "web") is None


async def test_a_run_against_an_unreachable_cluster_fails_with_the_reason(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _workflow(gql, token, kube_api)
    nodes, edges = _shop()
    await _save(gql, token, wf, revision, nodes, edges)
    await kube_api.stop()
    run = await _wait(gql, token, (await gql.ok(RUN, {"id": wf}, token=token))["runWorkflow"]["run"]["id"])
    assert run["status"] == "FAILED"
    assert "cannot reach" in run["error"]
    assert all(s["status"] in {"PENDING", "CANCELLED"} for s in run["nodeStates"])
