"""The status and scale subresources: status writes never change spec, spec writes never change status."""

from __future__ import annotations

from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client import ApiClient

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import deployment


async def test_status_subresource_round_trip(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    created = await apps.create_namespaced_deployment("default", deployment())
    read = await apps.read_namespaced_deployment_status("web", "default")
    assert read.metadata.uid == created.metadata.uid and read.status.replicas is None
    read.status = client.V1DeploymentStatus(replicas=2, ready_replicas=1, observed_generation=1)
    read.spec.replicas = 9  # ignored by a status write
    updated = await apps.replace_namespaced_deployment_status("web", "default", read)
    assert updated.status.replicas == 2 and updated.spec.replicas == 2
    assert updated.metadata.generation == 1
    patched = await apps.patch_namespaced_deployment_status(
        "web", "default", {"status": {"readyReplicas": 2}}
    )
    assert patched.status.ready_replicas == 2 and patched.status.replicas == 2
    entries = {(m.manager, m.subresource) for m in patched.metadata.managed_fields}
    assert ("OpenAPI-Generator", "status") in entries


async def test_main_resource_writes_keep_status(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    await apps.create_namespaced_deployment("default", deployment())
    kube_api.set_status("Deployment", "default", "web", {"replicas": 2, "availableReplicas": 2})
    current = await apps.read_namespaced_deployment("web", "default")
    current.status = client.V1DeploymentStatus(replicas=0)
    current.spec.replicas = 3
    replaced = await apps.replace_namespaced_deployment("web", "default", current)
    assert replaced.spec.replicas == 3 and replaced.status.replicas == 2
    patched = await apps.patch_namespaced_deployment("web", "default", {"status": {"replicas": 7}})
    assert patched.status.replicas == 2


async def test_create_resets_status(kube_client: ApiClient) -> None:
    apps, v1 = client.AppsV1Api(kube_client), client.CoreV1Api(kube_client)
    body = deployment()
    body["status"] = {"replicas": 5}
    created = await apps.create_namespaced_deployment("default", body)
    assert created.status.replicas is None
    pod = await v1.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running"},
        },
    )
    assert pod.status.phase == "Pending" and pod.status.qos_class == "BestEffort"


async def test_set_status_emits_modified(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    created = await apps.create_namespaced_deployment("default", deployment())
    events: list[tuple[str, int | None]] = []
    async with watch.Watch() as w:
        stream = w.stream(
            apps.list_namespaced_deployment,
            "default",
            resource_version=created.metadata.resource_version,
            timeout_seconds=5,
        )
        kube_api.set_status("Deployment", "default", "web", {"replicas": 2, "readyReplicas": 2})
        async for event in stream:
            events.append((event["type"], event["object"].status.ready_replicas))
            break
    assert events == [("MODIFIED", 2)]
    stored = kube_api.get("Deployment", "default", "web")
    assert stored["metadata"]["generation"] == 1
    assert int(stored["metadata"]["resourceVersion"]) > int(created.metadata.resource_version)


async def test_scale_subresource(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    await apps.create_namespaced_deployment("default", deployment())
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    assert (scale.kind, scale.spec.replicas, scale.status.selector) == ("Scale", 2, "app=web")
    scale.spec.replicas = 4
    await apps.replace_namespaced_deployment_scale("web", "default", scale)
    patched = await apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    assert patched.spec.replicas == 5
    current = await apps.read_namespaced_deployment("web", "default")
    assert current.spec.replicas == 5 and current.metadata.generation == 3
    assert any(m.subresource == "scale" for m in current.metadata.managed_fields)
