"""clusterResources and clusterSummary: what a cluster runs, managed by Trellis or not, read from the
Kubernetes API test server through GraphQL over real HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.clusters import register_kubeconfig
from tests.api.people import add_member, team
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.kubeapi.builders import configmap, deployment, namespace, pod

RESOURCES = """query($c: ID!, $k: ClusterResourceKind!, $ns: String, $s: String, $first: Int, $after: String) {
  clusterResources(clusterId: $c, kind: $k, namespace: $ns, search: $s, first: $first, after: $after) {
    totalCount fetchedAt cached pageInfo { hasNextPage endCursor }
    nodes { kind apiVersion name namespace labels createdAt managed workflowId nodeId
      health { status message } usage { cpuMillicores memoryBytes } } } }"""
SUMMARY = """query($c: ID!) { clusterSummary(clusterId: $c) { clusterId fetchedAt cached
  nodes { name ready capacity { cpuMillicores memoryBytes } allocatable { cpuMillicores memoryBytes }
    usage { cpuMillicores } }
  namespaces { name status podCount } } }"""
MANAGED = {
    "app.kubernetes.io/managed-by": "trellis",
    "trellis.dev/workflow": "wf-1",
    "trellis.dev/node": "web",
}


async def _cluster(gql: GraphQLClient, kube_api: Any) -> tuple[str, str]:
    token = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    return token, cluster["id"]


async def test_managed_and_unmanaged_objects_are_listed_with_health_and_pages(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token, cluster_id = await _cluster(gql, kube_api)
    kube_api.create(namespace("shop"))
    kube_api.create(deployment("web", "shop", labels=MANAGED))
    kube_api.create(deployment("legacy", "default"))
    kube_api.create(configmap("settings", "shop"))

    found = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "DEPLOYMENT"}, token=token))["clusterResources"]
    assert found["totalCount"] == 2 and found["cached"] is False and found["fetchedAt"]
    legacy, web = found["nodes"]
    assert (legacy["namespace"], legacy["name"], legacy["managed"]) == ("default", "legacy", False)
    assert legacy["workflowId"] is None and legacy["nodeId"] is None
    assert legacy["labels"] == {"app": "legacy"}
    assert (web["namespace"], web["name"], web["managed"]) == ("shop", "web", True)
    assert (web["workflowId"], web["nodeId"]) == ("wf-1", "web")
    assert web["kind"] == "DEPLOYMENT" and web["apiVersion"] == "apps/v1" and web["createdAt"]
    assert web["health"]["status"] == "PROGRESSING"  # no controller has rolled it out
    assert web["usage"] is None  # only pods and nodes have usage

    in_shop = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "DEPLOYMENT", "ns": "shop"}, token=token))[
        "clusterResources"
    ]
    assert [n["name"] for n in in_shop["nodes"]] == ["web"]
    searched = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "DEPLOYMENT", "s": "LEG"}, token=token))[
        "clusterResources"
    ]
    assert [n["name"] for n in searched["nodes"]] == ["legacy"] and searched["totalCount"] == 1

    first = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "DEPLOYMENT", "first": 1}, token=token))[
        "clusterResources"
    ]
    assert [n["name"] for n in first["nodes"]] == ["legacy"] and first["pageInfo"]["hasNextPage"] is True
    assert first["cached"] is True  # the same (cluster, kind, namespace) within the TTL
    after = first["pageInfo"]["endCursor"]
    second = (
        await gql.ok(RESOURCES, {"c": cluster_id, "k": "DEPLOYMENT", "first": 1, "after": after}, token=token)
    )["clusterResources"]
    assert [n["name"] for n in second["nodes"]] == ["web"] and second["pageInfo"]["hasNextPage"] is False
    assert second["totalCount"] == 2

    nodes = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "NODE"}, token=token))["clusterResources"]
    assert [(n["name"], n["namespace"]) for n in nodes["nodes"]] == [("node-1", None)]


async def test_secrets_show_names_never_values(kube_api: Any, gql: GraphQLClient) -> None:
    token, cluster_id = await _cluster(gql, kube_api)
    kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "default", "labels": {"tier": "db"}},
            "stringData": {"password": "hunter2-very-secret"},
        }
    )
    body = await gql.raw(RESOURCES, {"c": cluster_id, "k": "SECRET"}, token=token)
    assert not body.get("errors")
    (secret,) = body["data"]["clusterResources"]["nodes"]
    assert (secret["name"], secret["labels"]) == ("db", {"tier": "db"})
    text = str(body)
    assert "hunter2" not in text and "aHVudGVyMi" not in text  # neither plain nor base64


async def test_pods_without_metrics_server_have_no_usage_and_the_summary_counts_them(
    kube_api: Any, gql: GraphQLClient
) -> None:
    token, cluster_id = await _cluster(gql, kube_api)
    kube_api.create(namespace("shop"))
    kube_api.create(pod("a", "shop"))
    kube_api.create(pod("b", "shop"))
    kube_api.create(pod("c", "default", labels=MANAGED))
    pods = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "POD"}, token=token))["clusterResources"]
    assert [(p["namespace"], p["name"]) for p in pods["nodes"]] == [
        ("default", "c"),
        ("shop", "a"),
        ("shop", "b"),
    ]
    assert all(p["usage"] is None for p in pods["nodes"])  # metrics.k8s.io is not served: null, no error
    assert [p["managed"] for p in pods["nodes"]] == [True, False, False]

    summary = (await gql.ok(SUMMARY, {"c": cluster_id}, token=token))["clusterSummary"]
    assert summary["clusterId"] == cluster_id
    (node,) = summary["nodes"]
    assert node["name"] == "node-1" and node["usage"] is None
    counts = {n["name"]: (n["status"], n["podCount"]) for n in summary["namespaces"]}
    assert counts["shop"] == ("Active", 2) and counts["default"] == ("Active", 1)
    assert counts["kube-public"] == ("Active", 0)


async def test_a_cached_list_lives_only_for_the_ttl_and_an_unreachable_cluster_is_an_error(
    kube_api: Any, gql: GraphQLClient, clock: FakeClock
) -> None:
    token, cluster_id = await _cluster(gql, kube_api)
    variables = {"c": cluster_id, "k": "CONFIG_MAP", "ns": "default"}
    kube_api.create(configmap("one"))
    fresh = (await gql.ok(RESOURCES, variables, token=token))["clusterResources"]
    assert fresh["cached"] is False and [n["name"] for n in fresh["nodes"]] == ["one"]

    kube_api.create(configmap("two"))
    clock.advance(seconds=5)
    cached = (await gql.ok(RESOURCES, variables, token=token))["clusterResources"]
    assert cached["cached"] is True and cached["fetchedAt"] == fresh["fetchedAt"]
    assert [n["name"] for n in cached["nodes"]] == ["one"]

    clock.advance(seconds=5)  # 10 s: the default TTL is over
    again = (await gql.ok(RESOURCES, variables, token=token))["clusterResources"]
    assert again["cached"] is False and again["fetchedAt"] > fresh["fetchedAt"]
    assert [n["name"] for n in again["nodes"]] == ["one", "two"]

    await kube_api.stop()
    clock.advance(seconds=10)
    down = await gql.error(RESOURCES, variables, token=token)
    assert down["extensions"]["code"] == "UNAVAILABLE"
    summary_down = await gql.error(SUMMARY, {"c": cluster_id}, token=token)
    assert summary_down["extensions"]["code"] == "UNAVAILABLE"


async def test_workspace_roles_decide_who_sees_a_cluster_and_bad_input_is_refused(
    kube_api: Any, gql: GraphQLClient
) -> None:
    owner = (await gql.register("ada@example.com"))["token"]
    viewer = (await gql.register("vic@example.com"))["token"]
    stranger = (await gql.register("eve@example.com"))["token"]
    workspace_id = await team(gql, owner)
    await add_member(gql, owner, workspace_id, "vic@example.com", "VIEWER")
    cluster_id = (await register_kubeconfig(gql, owner, kube_api, workspaceId=workspace_id))["id"]

    seen = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "NAMESPACE"}, token=viewer))["clusterResources"]
    assert "default" in [n["name"] for n in seen["nodes"]]
    assert (await gql.ok(SUMMARY, {"c": cluster_id}, token=viewer))["clusterSummary"]["nodes"]
    hidden = await gql.error(RESOURCES, {"c": cluster_id, "k": "POD"}, token=stranger)
    assert hidden["extensions"]["code"] == "NOT_FOUND"
    assert (await gql.error(SUMMARY, {"c": cluster_id}, token=stranger))["extensions"]["code"] == "NOT_FOUND"

    def field(error: dict[str, Any]) -> str:
        assert error["extensions"]["code"] == "BAD_INPUT", error
        path: str = error["extensions"]["fields"][0]["path"]
        return path

    assert field(await gql.error(RESOURCES, {"c": cluster_id, "k": "NODE", "ns": "x"}, token=owner)) == (
        "namespace"
    )
    assert field(await gql.error(RESOURCES, {"c": cluster_id, "k": "POD", "ns": "Bad_NS"}, token=owner)) == (
        "namespace"
    )
    assert field(await gql.error(RESOURCES, {"c": cluster_id, "k": "POD", "first": 1000}, token=owner)) == (
        "first"
    )
    assert field(await gql.error(RESOURCES, {"c": cluster_id, "k": "POD", "after": "nope"}, token=owner)) == (
        "after"
    )
    unknown_kind = await gql.raw(RESOURCES, {"c": cluster_id, "k": "WIDGET"}, token=owner)
    assert unknown_kind["errors"] and unknown_kind.get("data") is None


async def test_usage_comes_from_metrics_server_when_it_answers(kube_api: Any, gql: GraphQLClient) -> None:
    token, cluster_id = await _cluster(gql, kube_api)
    kube_api.serve_metrics()
    kube_api.create(pod("api", "default", containers=("app", "sidecar")))
    kube_api.create(pod("idle", "default"))
    kube_api.create(
        {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "PodMetrics",
            "metadata": {"name": "api", "namespace": "default"},
            "timestamp": "2026-01-15T09:00:00Z",
            "window": "15s",
            "containers": [
                {"name": "app", "usage": {"cpu": "250m", "memory": "64Mi"}},
                {"name": "sidecar", "usage": {"cpu": "1500000n", "memory": "1024Ki"}},
            ],
        }
    )
    kube_api.create(
        {
            "apiVersion": "metrics.k8s.io/v1beta1",
            "kind": "NodeMetrics",
            "metadata": {"name": "node-1"},
            "timestamp": "2026-01-15T09:00:00Z",
            "window": "15s",
            "usage": {"cpu": "1", "memory": "2Gi"},
        }
    )
    pods = (await gql.ok(RESOURCES, {"c": cluster_id, "k": "POD"}, token=token))["clusterResources"]
    usage = {p["name"]: p["usage"] for p in pods["nodes"]}
    assert usage == {"api": {"cpuMillicores": 252, "memoryBytes": float(65 * 2**20)}, "idle": None}

    summary = (await gql.ok(SUMMARY, {"c": cluster_id}, token=token))["clusterSummary"]
    (node,) = summary["nodes"]
    assert node["usage"] == {"cpuMillicores": 1000}
    assert node["ready"] is True
    assert node["capacity"] == {"cpuMillicores": 4000, "memoryBytes": float(8 * 2**30)}
