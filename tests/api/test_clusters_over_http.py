"""Registering and testing clusters through the API, against the Kubernetes API test server."""

from __future__ import annotations

from typing import Any

import yaml

from tests.api.clusters import REGISTER, register_kubeconfig
from tests.graphql_client import GraphQLClient

TEST = (
    """mutation($id: ID!) { testCluster(input: {id: $id}) { status { reachable serverVersion reason } } }"""
)


async def test_a_kubeconfig_cluster_registers_and_reports_its_version(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    kube_api.version = "v1.30.2"
    cluster = await register_kubeconfig(gql, token, kube_api)
    assert cluster["authType"] == "KUBECONFIG"
    assert cluster["server"] == kube_api.url
    assert cluster["status"] == {"reachable": True, "serverVersion": "v1.30.2", "reason": None}
    listed = await gql.ok("query { clusters { name } }", token=token)
    assert listed["clusters"] == [{"name": "test"}]


async def test_any_context_of_a_kubeconfig_can_be_chosen(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    config = kube_api.kubeconfig_dict()
    context = config["contexts"][0]
    config["contexts"].append(
        {"name": "broken", "context": {"cluster": "nowhere", "user": context["context"]["user"]}}
    )
    config["clusters"].append({"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}})
    config["current-context"] = "broken"
    text = yaml.safe_dump(config)
    chosen = await gql.ok(
        REGISTER,
        {"input": {"name": "a", "authType": "KUBECONFIG", "kubeconfig": text, "context": context["name"]}},
        token=token,
    )
    assert chosen["registerCluster"]["cluster"]["status"]["reachable"] is True
    missing = await gql.error(
        REGISTER,
        {"input": {"name": "b", "authType": "KUBECONFIG", "kubeconfig": text, "context": "nope"}},
        token=token,
    )
    assert missing["extensions"]["code"] == "BAD_INPUT"
    assert missing["extensions"]["fields"][0]["path"] == "context"


async def test_a_token_cluster_over_tls(kube_api_factory: Any, gql: GraphQLClient) -> None:
    server = await kube_api_factory(tls=True)
    server.require_token("sesame")
    token = (await gql.register("ada@example.com"))["token"]
    base = {"name": "tls", "authType": "TOKEN", "server": server.url, "caData": server.ca.cert_pem.decode()}
    good = await gql.ok(REGISTER, {"input": {**base, "token": "sesame"}}, token=token)
    assert good["registerCluster"]["cluster"]["status"]["reachable"] is True
    wrong = await gql.ok(REGISTER, {"input": {**base, "name": "wrong", "token": "expired"}}, token=token)
    status = wrong["registerCluster"]["cluster"]["status"]
    assert status["reachable"] is False
    assert "401" in status["reason"]
    other_ca = await kube_api_factory(tls=True)
    bad_ca = await gql.ok(
        REGISTER,
        {"input": {**base, "name": "bad-ca", "token": "sesame", "caData": other_ca.ca.cert_pem.decode()}},
        token=token,
    )
    assert "TLS certificate" in bad_ca["registerCluster"]["cluster"]["status"]["reason"]


async def test_unreachable_clusters_say_why(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    await kube_api.stop()
    status = (await gql.ok(TEST, {"id": cluster["id"]}, token=token))["testCluster"]["status"]
    assert status["reachable"] is False
    assert "cannot reach" in status["reason"]


async def test_credentials_are_checked_and_never_returned(kube_api: Any, gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    incomplete = await gql.error(REGISTER, {"input": {"name": "x", "authType": "TOKEN"}}, token=token)
    assert incomplete["extensions"]["code"] == "BAD_INPUT"
    assert {f["path"] for f in incomplete["extensions"]["fields"]} >= {"server", "token"}
    garbage = await gql.error(
        REGISTER,
        {"input": {"name": "x", "authType": "KUBECONFIG", "kubeconfig": "{{{: not yaml"}},
        token=token,
    )
    assert garbage["extensions"]["code"] == "BAD_INPUT"
    in_url = await gql.error(
        REGISTER,
        {
            "input": {
                "name": "x",
                "authType": "TOKEN",
                "server": "https://admin:hunter2@k8s.example.com:6443",
                "token": "t",
                "insecureSkipTlsVerify": True,
            }
        },
        token=token,
    )
    assert [f["path"] for f in in_url["extensions"]["fields"]] == ["server"]
    assert "hunter2" not in str(in_url)
    await register_kubeconfig(gql, token, kube_api, name="dup")
    dup = await gql.error(
        REGISTER,
        {
            "input": {
                "name": "DUP",
                "authType": "KUBECONFIG",
                "kubeconfig": yaml.safe_dump(kube_api.kubeconfig_dict()),
            }
        },
        token=token,
    )
    assert dup["extensions"]["code"] == "CONFLICT"
    schema = await gql.ok('query { __type(name: "Cluster") { fields { name } } }')
    names = {f["name"] for f in schema["__type"]["fields"]}
    assert not names & {"kubeconfig", "token", "credentials", "clientKey", "caData"}


async def test_another_workspaces_cluster_is_invisible(kube_api: Any, gql: GraphQLClient) -> None:
    ada = (await gql.register("ada@example.com"))["token"]
    eve = (await gql.register("eve@example.com"))["token"]
    cluster = await register_kubeconfig(gql, ada, kube_api)
    assert (await gql.error(TEST, {"id": cluster["id"]}, token=eve))["extensions"]["code"] == "NOT_FOUND"
    assert (await gql.ok("query { clusters { id } }", token=eve))["clusters"] == []
    wf = (await gql.ok('mutation { createWorkflow(input: {name: "x"}) { workflow { id } } }', token=eve))[
        "createWorkflow"
    ]["workflow"]["id"]
    refused = await gql.error(
        "mutation($id: ID!, $c: ID!) { updateWorkflow(input: {id: $id, clusterId: $c}) { workflow { id } } }",
        {"id": wf, "c": cluster["id"]},
        token=eve,
    )
    assert refused["extensions"]["code"] == "BAD_INPUT"
