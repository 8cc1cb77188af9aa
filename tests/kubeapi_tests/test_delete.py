"""Deletion: garbage collection through ownerReferences, namespaces, finalizers, preconditions."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment, namespace, pod


async def test_deleting_a_deployment_deletes_its_replicasets_and_pods(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    kube_api.create(deployment(replicas=2))
    await kube_api.controllers.reconcile()
    assert len(kube_api.list("ReplicaSet", "default")) == 1 and len(kube_api.list("Pod", "default")) == 2
    apps = client.AppsV1Api(kube_client)
    status = await apps.delete_namespaced_deployment("web", "default")
    assert (status.status, status.details.name, status.details.kind) == ("Success", "web", "deployments")
    assert kube_api.list("ReplicaSet", "default") == [] and kube_api.list("Pod", "default") == []


async def test_orphan_and_foreground_propagation(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.create(deployment(replicas=1))
    await kube_api.controllers.reconcile()
    apps = client.AppsV1Api(kube_client)
    await apps.delete_namespaced_deployment("web", "default", propagation_policy="Orphan")
    (rs,) = kube_api.list("ReplicaSet", "default")
    assert "ownerReferences" not in rs["metadata"] and len(kube_api.list("Pod", "default")) == 1
    kube_api.create(deployment("api", replicas=1))
    await kube_api.controllers.reconcile()
    raw = await apps.delete_namespaced_deployment(
        "api", "default", propagation_policy="Foreground", _preload_content=False
    )
    body = json.loads(await raw.read())
    assert raw.status == 202 and body["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert body["metadata"]["deletionTimestamp"]
    assert kube_api.get("Deployment", "default", "api") is None
    assert [r["metadata"]["name"] for r in kube_api.list("ReplicaSet", "default")] == [rs["metadata"]["name"]]


async def test_deleting_a_namespace_deletes_everything_in_it(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    v1 = client.CoreV1Api(kube_client)
    await v1.create_namespace(namespace("team"))
    kube_api.create(configmap("a", "team"))
    kube_api.create(deployment("web", "team"))
    kube_api.create(configmap("keep"))
    raw = await v1.delete_namespace("team", _preload_content=False)
    deleted = json.loads(await raw.read())
    assert (raw.status, deleted["kind"], deleted["status"]["phase"]) == (200, "Namespace", "Terminating")
    assert kube_api.get("Namespace", None, "team") is None
    assert kube_api.list("ConfigMap", "team") == [] and kube_api.list("Deployment", "team") == []
    assert kube_api.get("ConfigMap", "default", "keep") is not None


async def test_terminating_namespace_refuses_new_content(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    kube_api.namespace_finalization = "manual"
    v1 = client.CoreV1Api(kube_client)
    await v1.create_namespace(namespace("team"))
    kube_api.create(configmap("a", "team"))
    await v1.delete_namespace("team")
    assert kube_api.get("Namespace", None, "team")["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as info:
        await v1.create_namespaced_config_map("team", configmap("b", "team"))
    body = json.loads(info.value.body)
    assert info.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'configmaps "b" is forbidden: unable to create new content in namespace team '
        "because it is being terminated"
    )
    kube_api.finalize_namespace("team")
    assert kube_api.get("Namespace", None, "team") is None and kube_api.list("ConfigMap", "team") == []


async def test_protected_namespaces(kube_client: ApiClient) -> None:
    with pytest.raises(ApiException) as info:
        await client.CoreV1Api(kube_client).delete_namespace("default")
    assert info.value.status == 403
    assert json.loads(info.value.body)["message"] == (
        'namespaces "default" is forbidden: this namespace may not be deleted'
    )


async def test_finalizers_hold_deletion(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    body = configmap("a")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await v1.create_namespaced_config_map("default", body)
    held = await v1.delete_namespaced_config_map("a", "default")
    assert held.details is None  # the object came back, not a Status
    current = await v1.read_namespaced_config_map("a", "default")
    assert current.metadata.deletion_timestamp is not None
    await v1.patch_namespaced_config_map(
        "a", "default", {"metadata": {"finalizers": None}}, _content_type="application/merge-patch+json"
    )
    assert kube_api.get("ConfigMap", "default", "a") is None


async def test_delete_preconditions_and_not_found(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    kube_api.create(configmap("a"))
    with pytest.raises(ApiException) as info:
        await v1.delete_namespaced_config_map(
            "a",
            "default",
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="not-the-uid")),
        )
    assert info.value.status == 409
    assert json.loads(info.value.body)["message"].startswith(
        'Operation cannot be fulfilled on configmaps "a": Precondition failed: UID in precondition: not-the-uid'
    )
    await v1.delete_namespaced_config_map("a", "default")
    with pytest.raises(ApiException) as info:
        await v1.delete_namespaced_config_map("a", "default")
    assert info.value.status == 404


async def test_delete_collection_by_label(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.create(configmap("a", labels={"trellis.dev/workflow": "w1"}))
    kube_api.create(configmap("b", labels={"trellis.dev/workflow": "w2"}))
    v1 = client.CoreV1Api(kube_client)
    await v1.delete_collection_namespaced_config_map("default", label_selector="trellis.dev/workflow=w1")
    assert [c["metadata"]["name"] for c in kube_api.list("ConfigMap", "default")] == ["b"]


async def test_pod_deletion_is_graceful(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.create(pod("p"))
    kube_api.pods.running("default", "p")
    v1 = client.CoreV1Api(kube_client)
    rv = (await v1.list_namespaced_pod("default")).metadata.resource_version
    deleted = await v1.delete_namespaced_pod("p", "default")
    assert (
        deleted.metadata.deletion_timestamp is not None
        and deleted.metadata.deletion_grace_period_seconds == 30
    )
    raw = await v1.list_namespaced_pod("default", watch=True, resource_version=rv, _preload_content=False)
    events = [json.loads(await raw.content.readline())["type"] for _ in range(2)]
    raw.release()
    assert events == ["MODIFIED", "DELETED"]
