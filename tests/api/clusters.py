"""Registering the Kubernetes API test server as a cluster through the API."""

from __future__ import annotations

from typing import Any

import yaml

from tests.graphql_client import GraphQLClient

REGISTER = """mutation($input: RegisterClusterInput!) { registerCluster(input: $input) {
  cluster { id name authType server workspaceId status { reachable serverVersion reason } } } }"""


async def register_kubeconfig(
    gql: GraphQLClient, token: str, kube_api: Any, name: str = "test", **extra: Any
) -> dict[str, Any]:
    text = yaml.safe_dump(kube_api.kubeconfig_dict())
    data = await gql.ok(
        REGISTER,
        {"input": {"name": name, "authType": "KUBECONFIG", "kubeconfig": text, **extra}},
        token=token,
    )
    cluster: dict[str, Any] = data["registerCluster"]["cluster"]
    return cluster
