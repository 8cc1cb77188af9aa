"""Drift over HTTP: a workflow deployed to the Kubernetes API test server, then changed behind Trellis's
back (another field manager, a deletion, a stray labelled object), seen by `workflowDrift` on the fields
Trellis applied only, and undone by `syncWorkflow`."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.graphql_client import GraphQLClient

RUN = """mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"""
GET_RUN = """query($id: ID!) { run(id: $id) { id status version error } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
DRIFT = """query($id: ID!) { workflowDrift(workflowId: $id) { workflowId runId version inSync
  objects { nodeId state kind name namespace changes { path applied live manager } } } }"""
SYNC = """mutation($id: ID!) { syncWorkflow(input: {workflowId: $id}) { run { id status version } } }"""
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}


async def _wait(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    for _ in range(500):
        run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        if run["status"] in FINISHED:
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} did not finish")


async def _deployed(gql: GraphQLClient, token: str, kube_api: Any) -> tuple[str, int]:
    """A workflow with a Namespace, a Deployment, a Service and a ConfigMap, deployed; its id, revision."""
    cluster = await register_kubeconfig(gql, token, kube_api, name="c-drift")
    created = await gql.ok(
        'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) '
        "{ workflow { id revision } } }",
        {"c": cluster["id"]},
        token=token,
    )
    wf = created["createWorkflow"]["workflow"]
    nodes = [
        node("ns", "Namespace", name="shop"),
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=2, port=8080),
        node("svc", "Service", name="web", port=80),
        node("cfg", "ConfigMap", name="web-config", data={"MODE": "production"}),
    ]
    edges = [edge("e1", "svc", "web"), edge("e2", "cfg", "web")]
    saved = await gql.ok(
        SAVE,
        {"input": {"id": wf["id"], "nodes": nodes, "edges": edges, "expectedRevision": wf["revision"]}},
        token=token,
    )
    run = await _wait(
        gql, token, (await gql.ok(RUN, {"id": wf["id"]}, token=token))["runWorkflow"]["run"]["id"]
    )
    assert run["status"] == "COMPLETED", run
    return wf["id"], int(saved["saveWorkflow"]["workflow"]["revision"])


async def _drift(gql: GraphQLClient, token: str, wf: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gql.ok(DRIFT, {"id": wf}, token=token))["workflowDrift"]
    return found


def _states(drift: dict[str, Any]) -> dict[str, str]:
    return {f"{o['kind']}/{o['name']}": o["state"] for o in drift["objects"]}


async def test_drift_shows_what_others_changed_and_sync_undoes_it(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, _ = await _deployed(gql, token, kube_api)

    fresh = await _drift(gql, token, wf)
    assert fresh["inSync"] is True, fresh
    assert fresh["version"] == 1
    assert set(_states(fresh).values()) == {"IN_SYNC"}
    assert set(_states(fresh)) == {"Namespace/shop", "Deployment/web", "Service/web", "ConfigMap/web-config"}

    # Fields only others set (and those the server defaulted) are not drift.
    kube_api.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "annotations": {"team": "payments"}},
            "spec": {"revisionHistoryLimit": 3},
        },
        manager="ops-tool",
    )
    assert kube_api.get("Deployment", "shop", "web")["spec"]["strategy"]  # defaulted by the server
    assert (await _drift(gql, token, wf))["inSync"] is True

    # Another manager forces new values onto fields Trellis applied.
    live = kube_api.get("Deployment", "shop", "web")
    container = live["spec"]["template"]["spec"]["containers"][0]["name"]
    kube_api.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "replicas": 5,
                "template": {"spec": {"containers": [{"name": container, "image": "nginx:1.28"}]}},
            },
        },
        manager="kubectl",
        force=True,
    )
    kube_api.delete("ConfigMap", "shop", "web-config")
    kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "left-over",
                "namespace": "shop",
                "labels": {
                    "app.kubernetes.io/managed-by": "trellis",
                    "trellis.dev/workflow": wf,
                    "trellis.dev/node": "gone",
                },
            },
        }
    )
    drifted = await _drift(gql, token, wf)
    assert drifted["inSync"] is False
    assert _states(drifted) == {
        "Namespace/shop": "IN_SYNC",
        "Deployment/web": "MODIFIED",
        "Service/web": "IN_SYNC",
        "ConfigMap/web-config": "MISSING",
        "ConfigMap/left-over": "EXTRA",
    }
    deployment = next(o for o in drifted["objects"] if o["kind"] == "Deployment")
    assert deployment["nodeId"] == "web"
    assert deployment["changes"] == [
        {"path": "spec.replicas", "applied": 2, "live": 5, "manager": "kubectl"},
        {
            "path": f"spec.template.spec.containers[name={container}].image",
            "applied": "nginx:1.27",
            "live": "nginx:1.28",
            "manager": "kubectl",
        },
    ]
    extra = next(o for o in drifted["objects"] if o["state"] == "EXTRA")
    assert extra["nodeId"] == "gone"

    synced = (await gql.ok(SYNC, {"id": wf}, token=token))["syncWorkflow"]["run"]
    run = await _wait(gql, token, synced["id"])
    assert run["status"] == "COMPLETED", run
    after = await _drift(gql, token, wf)
    assert after["inSync"] is True, after
    assert after["runId"] == synced["id"]
    assert kube_api.get("Deployment", "shop", "web")["spec"]["replicas"] == 2
    assert kube_api.get("ConfigMap", "shop", "web-config") is not None
    assert kube_api.get("ConfigMap", "shop", "left-over") is None  # pruned: its node is not in the workflow
    kept = kube_api.get("Deployment", "shop", "web")
    assert kept["metadata"]["annotations"]["team"] == "payments"  # others' fields are left alone
    assert kept["spec"]["revisionHistoryLimit"] == 3


async def test_nothing_deployed_has_no_drift_and_cannot_sync(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api, name="c-empty")
    wf = (
        await gql.ok(
            'mutation($c: ID!) { createWorkflow(input: {name: "empty", clusterId: $c}) { workflow { id } } }',
            {"c": cluster["id"]},
            token=token,
        )
    )["createWorkflow"]["workflow"]["id"]
    drift = await _drift(gql, token, wf)
    assert drift == {"workflowId": wf, "runId": None, "version": None, "inSync": True, "objects": []}
    error = await gql.error(SYNC, {"id": wf}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"


async def test_sync_refuses_a_workflow_changed_since_its_deploy(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, revision = await _deployed(gql, token, kube_api)
    await gql.ok(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": [node("ns", "Namespace", name="shop")],
                "edges": [],
                "expectedRevision": revision,
            }
        },
        token=token,
    )
    error = await gql.error(SYNC, {"id": wf}, token=token)
    assert error["extensions"]["code"] == "CONFLICT"
    runs = await gql.ok("query($id: ID!) { runs(workflowId: $id) { totalCount } }", {"id": wf}, token=token)
    assert runs["runs"]["totalCount"] == 1  # nothing started


async def test_another_workspace_sees_no_drift(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf, _ = await _deployed(gql, token, kube_api)
    other = (await gql.register("eve@example.com"))["token"]
    for query in (DRIFT, SYNC):
        error = await gql.error(query, {"id": wf}, token=other)
        assert error["extensions"]["code"] == "NOT_FOUND"
