"""A small deployed workflow for the live-stream client tests: a Deployment behind a Service, on the
Kubernetes API test server registered as a cluster through the API."""

from __future__ import annotations

from typing import Any

from tests.api.canvas import edge, node
from tests.api.clusters import register_kubeconfig
from tests.graphql_client import GraphQLClient

RUN = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"


async def workflow_on_cluster(gql: GraphQLClient, kube_api: Any, email: str) -> tuple[str, str]:
    """(token, workflow id) of a saved, not yet run, workflow of a new user on the test cluster."""
    token: str = (await gql.register(email))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    created = await gql.ok(
        'mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "default", clusterId: $c}) '
        "{ workflow { id } } }",
        {"c": cluster["id"]},
        token=token,
    )
    workflow: str = created["createWorkflow"]["workflow"]["id"]
    nodes = [
        node("web", "Deployment", name="web", image="nginx:1.27", replicas=1, port=80),
        node("svc", "Service", name="web", port=80),
    ]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {"i": {"id": workflow, "nodes": nodes, "edges": [edge("e", "svc", "web")], "expectedRevision": 1}},
        token=token,
    )
    return token, workflow


async def run_to_health(gql: GraphQLClient, kube_api: Any, token: str, workflow: str) -> None:
    """Run the workflow and let the test server's controllers make its objects ready."""
    await gql.ok(RUN, {"id": workflow}, token=token)
    await kube_api.controllers.reconcile()
