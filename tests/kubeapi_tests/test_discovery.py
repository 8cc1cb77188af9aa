"""Discovery: /api, /apis, resource lists, /version, and the DynamicClient on top of them."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException
from kubernetes_asyncio.dynamic import DynamicClient

from tests.kubeapi import KubeApiServer


async def _get(api: ApiClient, path: str) -> dict:
    """A raw GET through the client (raises ApiException on errors, like the typed APIs)."""
    return await api.call_api(
        path,
        "GET",
        response_types_map={200: "object"},
        _return_http_data_only=True,
        auth_settings=["BearerToken"],
    )


async def test_core_and_group_discovery(kube_client: ApiClient) -> None:
    core = await _get(kube_client, "/api")
    assert core["kind"] == "APIVersions" and core["versions"] == ["v1"]
    groups = await _get(kube_client, "/apis")
    names = {g["name"]: g["preferredVersion"]["groupVersion"] for g in groups["groups"]}
    assert names == {
        "apps": "apps/v1",
        "batch": "batch/v1",
        "networking.k8s.io": "networking.k8s.io/v1",
        "autoscaling": "autoscaling/v2",
    }
    group = await _get(kube_client, "/apis/apps")
    assert group["kind"] == "APIGroup" and group["name"] == "apps"


async def test_resource_lists_name_subresources(kube_client: ApiClient) -> None:
    core = {r["name"]: r for r in (await _get(kube_client, "/api/v1"))["resources"]}
    assert {
        "namespaces",
        "pods",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "events",
        "serviceaccounts",
    } <= set(core)
    pods = core["pods"]
    assert (pods["singularName"], pods["namespaced"], pods["kind"], pods["shortNames"]) == (
        "pod",
        True,
        "Pod",
        ["po"],
    )
    assert pods["verbs"] == [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    assert core["pods/log"]["kind"] == "Pod" and core["pods/log"]["verbs"] == ["get"]
    assert core["pods/exec"]["kind"] == "PodExecOptions"
    assert core["namespaces"]["namespaced"] is False
    apps = {r["name"]: r for r in (await _get(kube_client, "/apis/apps/v1"))["resources"]}
    assert {
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "deployments/status",
        "deployments/scale",
    } <= set(apps)
    assert (
        apps["deployments/scale"]["group"] == "autoscaling" and apps["deployments/scale"]["kind"] == "Scale"
    )
    batch = {r["name"] for r in (await _get(kube_client, "/apis/batch/v1"))["resources"]}
    assert {"jobs", "cronjobs", "jobs/status"} <= batch
    net = {r["name"] for r in (await _get(kube_client, "/apis/networking.k8s.io/v1"))["resources"]}
    assert {"ingresses", "networkpolicies"} <= net
    hpa = {r["name"] for r in (await _get(kube_client, "/apis/autoscaling/v2"))["resources"]}
    assert "horizontalpodautoscalers" in hpa


async def test_version_is_settable(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    info = await client.VersionApi(kube_client).get_code()
    assert info.git_version == kube_api.version and info.major == "1"
    kube_api.version = "v1.29.4"
    info = await client.VersionApi(kube_client).get_code()
    assert (info.git_version, info.major, info.minor) == ("v1.29.4", "1", "29")


async def test_unknown_paths_are_not_found_statuses(kube_client: ApiClient) -> None:
    for path in ("/apis/example.com/v1", "/apis/apps/v1/widgets", "/api/v1/namespaces/default/widgets/x"):
        with pytest.raises(ApiException) as info:
            await _get(kube_client, path)
        assert info.value.status == 404
        assert json.loads(info.value.body) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        }


async def test_dynamic_client_discovers_resources(dynamic: DynamicClient) -> None:
    deployments = await dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.name == "deployments"
    assert set(deployments.subresources) == {"status", "scale"}
    pods = await dynamic.resources.get(api_version="v1", kind="Pod")
    assert {"log", "exec", "status"} <= set(pods.subresources)
    hpa = await dynamic.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
    assert hpa.group == "autoscaling"
    assert dynamic.version["kubernetes"]["gitVersion"].startswith("v1.")
    listing = await dynamic.get(await dynamic.resources.get(api_version="v1", kind="Namespace"))
    assert {item.metadata.name for item in listing.items} >= {"default", "kube-system"}
