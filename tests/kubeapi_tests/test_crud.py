"""Create, get, list, replace, patch, delete and the Status objects errors come back as."""

from __future__ import annotations

import json
import uuid

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment, namespace, pod, service


def _status(exc: ApiException) -> dict:
    return json.loads(exc.body)


async def test_create_sets_server_fields(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    before = kube_api.resource_version
    created = await apps.create_namespaced_deployment("default", deployment())
    meta = created.metadata
    assert uuid.UUID(meta.uid)
    assert int(meta.resource_version) == before + 1
    assert meta.generation == 1 and meta.creation_timestamp is not None
    assert created.spec.replicas == 2 and created.spec.revision_history_limit == 10
    assert created.spec.progress_deadline_seconds == 600
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    container = created.spec.template.spec.containers[0]
    assert (container.image_pull_policy, container.termination_message_path) == (
        "IfNotPresent",
        "/dev/termination-log",
    )
    assert created.spec.template.spec.restart_policy == "Always"
    assert created.spec.template.spec.dns_policy == "ClusterFirst"
    (entry,) = meta.managed_fields
    assert (entry.manager, entry.operation, entry.api_version) == ("OpenAPI-Generator", "Update", "apps/v1")
    assert "f:progressDeadlineSeconds" in entry.fields_v1["f:spec"]  # POST owns what defaulting added


async def test_service_defaults_and_cluster_ip(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    svc = await v1.create_namespaced_service("default", service("web", port=8080))
    assert svc.spec.type == "ClusterIP" and svc.spec.session_affinity == "None"
    assert svc.spec.cluster_ip.startswith("10.96.") and svc.spec.cluster_ips == [svc.spec.cluster_ip]
    assert svc.spec.ports[0].target_port == 8080 and svc.spec.ports[0].protocol == "TCP"
    other = await v1.create_namespaced_service("default", service("api"))
    assert other.spec.cluster_ip != svc.spec.cluster_ip


async def test_get_and_lists(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1, apps = client.CoreV1Api(kube_client), client.AppsV1Api(kube_client)
    await v1.create_namespace(namespace("team-a"))
    await apps.create_namespaced_deployment("default", deployment("web"))
    await apps.create_namespaced_deployment("team-a", deployment("api", "team-a"))
    got = await apps.read_namespaced_deployment("web", "default")
    assert got.metadata.name == "web" and got.kind == "Deployment" and got.api_version == "apps/v1"
    everywhere = await apps.list_deployment_for_all_namespaces()
    assert [(d.metadata.namespace, d.metadata.name) for d in everywhere.items] == [
        ("default", "web"),
        ("team-a", "api"),
    ]
    assert int(everywhere.metadata.resource_version) == kube_api.resource_version
    assert [d.metadata.name for d in (await apps.list_namespaced_deployment("team-a")).items] == ["api"]


async def test_list_items_carry_no_kind(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    await v1.create_namespaced_config_map("default", configmap("a"))
    raw = await v1.list_namespaced_config_map("default", _preload_content=False)
    body = json.loads(await raw.read())
    assert body["kind"] == "ConfigMapList" and body["apiVersion"] == "v1"
    assert "kind" not in body["items"][0] and "apiVersion" not in body["items"][0]


async def test_pagination(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    for i in range(5):
        await v1.create_namespaced_config_map("default", configmap(f"cm-{i}"))
    first = await v1.list_namespaced_config_map("default", limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"]
    assert first.metadata.remaining_item_count == 3
    second = await v1.list_namespaced_config_map("default", limit=2, _continue=first.metadata._continue)
    assert [c.metadata.name for c in second.items] == ["cm-2", "cm-3"]


async def test_not_found_and_already_exists(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await apps.read_namespaced_deployment("nope", "default")
    assert info.value.status == 404
    assert _status(info.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"},
        "code": 404,
    }
    await apps.create_namespaced_deployment("default", deployment())
    with pytest.raises(ApiException) as info:
        await apps.create_namespaced_deployment("default", deployment())
    assert info.value.status == 409
    body = _status(info.value)
    assert (body["reason"], body["message"]) == ("AlreadyExists", 'deployments.apps "web" already exists')
    with pytest.raises(ApiException) as info:
        await client.CoreV1Api(kube_client).read_namespaced_pod("gone", "default")
    assert _status(info.value)["details"] == {"name": "gone", "kind": "pods"}


async def test_invalid_name_is_422_with_causes(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    bad = deployment("Bad_Name", labels={"app": "x"})
    bad["spec"]["template"]["spec"]["containers"][0]["name"] = "web"
    with pytest.raises(ApiException) as info:
        await apps.create_namespaced_deployment("default", bad)
    assert info.value.status == 422
    body = _status(info.value)
    detail = (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
        r"validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )
    assert body["reason"] == "Invalid"
    assert (
        body["message"]
        == f'Deployment.apps "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {detail}'
    )
    assert body["details"] == {
        "name": "Bad_Name",
        "group": "apps",
        "kind": "Deployment",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": f'Invalid value: "Bad_Name": {detail}',
                "field": "metadata.name",
            }
        ],
    }


async def test_missing_containers_and_selector_mismatch(kube_client: ApiClient) -> None:
    apps, v1 = client.AppsV1Api(kube_client), client.CoreV1Api(kube_client)
    broken = deployment()
    broken["spec"]["template"]["spec"]["containers"] = []
    with pytest.raises(ApiException) as info:
        await apps.create_namespaced_deployment("default", broken)
    assert _status(info.value)["message"] == (
        'Deployment.apps "web" is invalid: spec.template.spec.containers: Required value'
    )
    mismatched = deployment()
    mismatched["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    with pytest.raises(ApiException) as info:
        await apps.create_namespaced_deployment("default", mismatched)
    assert _status(info.value)["message"] == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )
    bare = pod("p")
    bare["spec"]["containers"] = []
    with pytest.raises(ApiException) as info:
        await v1.create_namespaced_pod("default", bare)
    body = _status(info.value)
    assert body["message"] == 'Pod "p" is invalid: spec.containers: Required value'
    assert body["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}
    ]
    with pytest.raises(ApiException) as info:
        await v1.create_namespace(namespace("Team.A"))
    assert "a lowercase RFC 1123 label must consist of" in _status(info.value)["message"]


async def test_namespace_must_exist_and_match(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await v1.create_namespaced_config_map("nowhere", configmap("a", "nowhere"))
    assert info.value.status == 404
    assert _status(info.value)["message"] == 'namespaces "nowhere" not found'
    with pytest.raises(ApiException) as info:
        await v1.create_namespaced_config_map("default", configmap("a", "kube-system"))
    assert info.value.status == 400
    assert _status(info.value)["message"] == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )


async def test_replace_with_stale_resource_version_conflicts(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    created = await v1.create_namespaced_config_map("default", configmap("a", data={"k": "1"}))
    created.data = {"k": "2"}
    updated = await v1.replace_namespaced_config_map("a", "default", created)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    created.data = {"k": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as info:
        await v1.replace_namespaced_config_map("a", "default", created)
    assert info.value.status == 409
    body = _status(info.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    with pytest.raises(ApiException) as info:
        await v1.replace_namespaced_config_map("missing", "default", configmap("missing"))
    assert info.value.status == 404


async def test_generation_follows_spec_only(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    await apps.create_namespaced_deployment("default", deployment())
    labelled = await apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 5}})
    assert scaled.metadata.generation == 2
    same = await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 5}})
    assert same.metadata.resource_version == scaled.metadata.resource_version  # no-op: nothing written


async def test_patch_flavours(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    dep = deployment()
    dep["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    await apps.create_namespaced_deployment("default", dep)
    # strategic merge: containers merge by name, env by name
    patched = await apps.patch_namespaced_deployment(
        "web",
        "default",
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}
            }
        },
    )
    env = patched.spec.template.spec.containers[0].env
    assert [(e.name, e.value) for e in env] == [("A", "1"), ("B", "2")]
    assert patched.spec.template.spec.containers[0].image == "nginx:1.25"
    # JSON merge patch: lists are replaced
    merged = await apps.patch_namespaced_deployment(
        "web",
        "default",
        {"metadata": {"labels": {"app": None, "tier": "front"}}},
        _content_type="application/merge-patch+json",
    )
    assert merged.metadata.labels == {"tier": "front"}
    # JSON patch
    ops = [
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "add", "path": "/metadata/annotations", "value": {"note": "x"}},
    ]
    jp = await apps.patch_namespaced_deployment(
        "web", "default", ops, _content_type="application/json-patch+json"
    )
    assert jp.spec.replicas == 4 and jp.metadata.annotations == {"note": "x"}
    with pytest.raises(ApiException) as info:
        await apps.patch_namespaced_deployment(
            "web",
            "default",
            [{"op": "test", "path": "/spec/replicas", "value": 9}],
            _content_type="application/json-patch+json",
        )
    assert info.value.status == 422


async def test_patch_content_type_and_options(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    await apps.create_namespaced_deployment("default", deployment())
    with pytest.raises(ApiException) as info:
        await apps.patch_namespaced_deployment(
            "web", "default", {"spec": {}}, _content_type="application/json"
        )
    assert info.value.status == 415
    assert _status(info.value)["reason"] == "UnsupportedMediaType"
    with pytest.raises(ApiException) as info:
        await apps.patch_namespaced_deployment("web", "default", {"spec": {}}, force=True)
    assert info.value.status == 422
    assert _status(info.value)["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch'
    )


async def test_generate_name_and_dry_run_create(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    body = {"metadata": {"generateName": "job-"}, "data": {}}
    made = await v1.create_namespaced_config_map("default", body)
    assert made.metadata.name.startswith("job-") and len(made.metadata.name) == 9
    before = kube_api.resource_version
    dry = await v1.create_namespaced_config_map("default", configmap("dry"), dry_run="All")
    assert dry.metadata.uid and dry.metadata.resource_version is None
    assert kube_api.resource_version == before and kube_api.get("ConfigMap", "default", "dry") is None


async def test_secret_string_data_becomes_data(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    secret = await v1.create_namespaced_secret(
        "default", {"metadata": {"name": "s"}, "stringData": {"pw": "hi"}}
    )
    assert secret.data == {"pw": "aGk="} and secret.type == "Opaque" and secret.string_data is None


async def test_test_api_objects(kube_api: KubeApiServer) -> None:
    kube_api.create(configmap("a", labels={"x": "1"}))
    kube_api.create(configmap("b"))
    assert [o["metadata"]["name"] for o in kube_api.list("ConfigMap", "default", labels="x=1")] == ["a"]
    assert kube_api.get("configmaps", "default", "a")["kind"] == "ConfigMap"
    kube_api.delete("ConfigMap", "default", "a")
    assert kube_api.get("ConfigMap", "default", "a") is None
