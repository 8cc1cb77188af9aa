"""Server-side apply: managed fields, conflicts, force, pruning, list-map merges, no-ops and dry runs."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException
from kubernetes_asyncio.dynamic import DynamicClient

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment, service

APPLY = "application/apply-patch+yaml"


async def apply(
    api: ApiClient,
    body: dict[str, Any],
    manager: str,
    *,
    force: bool | None = None,
    dry_run: str | None = None,
) -> Any:
    """Apply a Deployment with the typed API (raises ApiException on errors)."""
    apps = client.AppsV1Api(api)
    kwargs: dict[str, Any] = {"field_manager": manager, "_content_type": APPLY}
    if force is not None:
        kwargs["force"] = force
    if dry_run:
        kwargs["dry_run"] = dry_run
    return await apps.patch_namespaced_deployment(
        body["metadata"]["name"], body["metadata"]["namespace"], body, **kwargs
    )


def managers(obj: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m.manager, m.operation): m.fields_v1 for m in obj.metadata.managed_fields}


async def test_apply_creates_and_records_fieldsv1(kube_client: ApiClient) -> None:
    created = await apply(kube_client, deployment(), "trellis-wf1")
    assert created.metadata.generation == 1 and created.metadata.uid
    (entry,) = created.metadata.managed_fields
    assert (entry.manager, entry.operation, entry.api_version, entry.fields_type) == (
        "trellis-wf1",
        "Apply",
        "apps/v1",
        "FieldsV1",
    )
    assert entry.fields_v1 == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"web"}': {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                            },
                        }
                    }
                },
            },
        },
    }
    # defaults are on the object but owned by nobody
    assert created.spec.revision_history_limit == 10
    assert created.spec.template.spec.containers[0].ports[0].protocol == "TCP"


async def test_apply_answers_201_then_200(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    raw = await apps.patch_namespaced_deployment(
        "web", "default", deployment(), field_manager="m", _content_type=APPLY, _preload_content=False
    )
    assert raw.status == 201
    raw.release()
    raw = await apps.patch_namespaced_deployment(
        "web", "default", deployment(), field_manager="m", _content_type=APPLY, _preload_content=False
    )
    assert raw.status == 200
    raw.release()


async def test_noop_apply_keeps_resource_version_and_generation(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    first = await apply(kube_client, deployment(), "m")
    again = await apply(kube_client, deployment(), "m")
    assert again.metadata.resource_version == first.metadata.resource_version
    assert again.metadata.generation == first.metadata.generation == 1
    assert again.metadata.managed_fields[0].time == first.metadata.managed_fields[0].time
    changed = await apply(kube_client, deployment(replicas=3), "m")
    assert changed.metadata.generation == 2
    assert int(changed.metadata.resource_version) > int(first.metadata.resource_version)


async def test_conflict_names_manager_and_field(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(replicas=2), "trellis-a")
    with pytest.raises(ApiException) as info:
        await apply(kube_client, deployment(replicas=3), "trellis-b")
    assert info.value.status == 409
    assert json.loads(info.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "trellis-a": .spec.replicas',
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "trellis-a"',
                    "field": ".spec.replicas",
                }
            ]
        },
        "code": 409,
    }


async def test_several_conflicts_are_listed(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(replicas=2), "a")
    other = deployment(replicas=3, image="nginx:1.27")
    with pytest.raises(ApiException) as info:
        await apply(kube_client, other, "b")
    body = json.loads(info.value.body)
    assert body["message"] == (
        'Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n'
        '- .spec.template.spec.containers[name="web"].image'
    )
    assert [c["field"] for c in body["details"]["causes"]] == [
        ".spec.replicas",
        '.spec.template.spec.containers[name="web"].image',
    ]


async def test_same_value_is_shared_not_a_conflict(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(replicas=2), "a")
    shared = await apply(kube_client, deployment(replicas=2), "b")
    fields = managers(shared)
    assert (
        "f:replicas" in fields[("a", "Apply")]["f:spec"] and "f:replicas" in fields[("b", "Apply")]["f:spec"]
    )


async def test_force_takes_ownership(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(replicas=2), "a")
    forced = await apply(kube_client, deployment(replicas=5), "b", force=True)
    assert forced.spec.replicas == 5
    fields = managers(forced)
    assert "f:replicas" not in fields[("a", "Apply")]["f:spec"]
    assert "f:replicas" in fields[("b", "Apply")]["f:spec"]
    # "a" applying its old value now conflicts with "b"
    with pytest.raises(ApiException) as info:
        await apply(kube_client, deployment(replicas=2), "a")
    assert 'conflict with "b"' in json.loads(info.value.body)["message"]


async def test_update_manager_conflict_is_described_with_api_version(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(replicas=2), "trellis")
    apps = client.AppsV1Api(kube_client)
    await apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"replicas": 4}}, field_manager="kubectl"
    )
    with pytest.raises(ApiException) as info:
        await apply(kube_client, deployment(replicas=2), "trellis")
    assert json.loads(info.value.body)["message"] == (
        'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas'
    )


async def test_fields_a_manager_stops_sending_are_removed(kube_client: ApiClient) -> None:
    body = deployment()
    body["metadata"]["labels"]["tier"] = "front"
    body["metadata"]["annotations"] = {"note": "x"}
    await apply(kube_client, body, "m")
    slimmer = deployment()
    result = await apply(kube_client, slimmer, "m")
    assert result.metadata.labels == {"app": "web"}
    assert result.metadata.annotations is None
    # a field that falls back to its default when its owner lets go of it
    result = await apply(
        kube_client, {**slimmer, "spec": {k: v for k, v in slimmer["spec"].items() if k != "replicas"}}, "m"
    )
    assert result.spec.replicas == 1


async def test_fields_kept_while_another_manager_owns_them(kube_client: ApiClient) -> None:
    body = deployment()
    body["metadata"]["labels"]["shared"] = "yes"
    await apply(kube_client, body, "a")
    await apply(kube_client, body, "b")
    result = await apply(kube_client, deployment(), "a")
    assert result.metadata.labels == {"app": "web", "shared": "yes"}


async def test_containers_merge_by_name_across_managers(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(), "main")
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "proxy", "image": "envoy:1", "env": [{"name": "MODE", "value": "edge"}]}
                    ]
                }
            }
        },
    }
    both = await apply(kube_client, sidecar, "mesh")
    assert [c.name for c in both.spec.template.spec.containers] == ["web", "proxy"]
    assert both.spec.template.spec.containers[0].image == "nginx:1.25"
    # env merges by name: main adds its own variable to the web container
    body = deployment()
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    again = await apply(kube_client, body, "main")
    web = again.spec.template.spec.containers[0]
    assert [(e.name, e.value) for e in web.env] == [("A", "1")]
    assert [c.name for c in again.spec.template.spec.containers] == ["web", "proxy"]
    # the sidecar manager drops its container: it goes, web stays
    empty = copy.deepcopy(sidecar)
    empty["spec"]["template"]["spec"]["containers"] = []
    del empty["spec"]
    result = await apply(kube_client, empty, "mesh")
    assert [c.name for c in result.spec.template.spec.containers] == ["web"]


async def test_list_maps_by_key_and_atomic_lists(kube_client: ApiClient) -> None:
    body = deployment()
    web = body["spec"]["template"]["spec"]["containers"][0]
    web["args"] = ["--a", "--b"]
    web["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    body["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    await apply(kube_client, body, "a")
    extra = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "ports": [{"containerPort": 9090, "name": "metrics"}],
                            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                        }
                    ],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                }
            }
        },
    }
    merged = await apply(kube_client, extra, "b")
    container = merged.spec.template.spec.containers[0]
    assert [(p.container_port, p.protocol) for p in container.ports] == [(80, "TCP"), (9090, "TCP")]
    assert [m.mount_path for m in container.volume_mounts] == ["/data", "/cache"]
    assert [v.name for v in merged.spec.template.spec.volumes] == ["data", "cache"]
    # args is atomic: a second manager replaces it whole (and takes it over with force)
    takeover = copy.deepcopy(extra)
    takeover["spec"]["template"]["spec"]["containers"][0]["args"] = ["--c"]
    with pytest.raises(ApiException) as info:
        await apply(kube_client, takeover, "b")
    assert json.loads(info.value.body)["details"]["causes"][0]["field"] == (
        '.spec.template.spec.containers[name="web"].args'
    )
    replaced = await apply(kube_client, takeover, "b", force=True)
    assert replaced.spec.template.spec.containers[0].args == ["--c"]


async def test_service_ports_merge_by_port_and_protocol(kube_client: ApiClient) -> None:
    v1 = client.CoreV1Api(kube_client)
    svc = service("web", port=80)
    first = await v1.patch_namespaced_service("web", "default", svc, field_manager="a", _content_type=APPLY)
    cluster_ip = first.spec.cluster_ip
    assert first.spec.ports[0].target_port == 80
    other = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 443, "name": "https"}]},
    }
    with pytest.raises(ApiException):
        # two ports need names: the merged object is invalid
        await v1.patch_namespaced_service("web", "default", other, field_manager="b", _content_type=APPLY)
    svc["spec"]["ports"][0]["name"] = "http"
    await v1.patch_namespaced_service("web", "default", svc, field_manager="a", _content_type=APPLY)
    merged = await v1.patch_namespaced_service(
        "web", "default", other, field_manager="b", _content_type=APPLY
    )
    assert [(p.port, p.name) for p in merged.spec.ports] == [(80, "http"), (443, "https")]
    assert merged.spec.cluster_ip == cluster_ip


async def test_dry_run_returns_result_without_storing(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    before = kube_api.resource_version
    dry = await apply(kube_client, deployment(), "m", dry_run="All")
    assert dry.metadata.name == "web" and dry.spec.revision_history_limit == 10
    assert kube_api.get("Deployment", "default", "web") is None and kube_api.resource_version == before
    stored = await apply(kube_client, deployment(), "m")
    dry = await apply(kube_client, deployment(replicas=7), "m", dry_run="All")
    assert dry.spec.replicas == 7 and dry.metadata.generation == 2
    assert kube_api.get("Deployment", "default", "web")["spec"]["replicas"] == 2
    assert kube_api.get("Deployment", "default", "web")["metadata"]["resourceVersion"] == (
        stored.metadata.resource_version
    )


async def test_apply_requires_field_manager(kube_client: ApiClient) -> None:
    apps = client.AppsV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await apps.patch_namespaced_deployment("web", "default", deployment(), _content_type=APPLY)
    assert info.value.status == 422
    assert json.loads(info.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply '
        "patch",
        "reason": "Invalid",
        "details": {
            "group": "meta.k8s.io",
            "kind": "PatchOptions",
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: is required for apply patch",
                    "field": "fieldManager",
                }
            ],
        },
        "code": 422,
    }


async def test_apply_body_checks(kube_client: ApiClient) -> None:
    body = deployment()
    body["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(ApiException) as info:
        await apply(kube_client, body, "m")
    assert (info.value.status, json.loads(info.value.body)["message"]) == (
        400,
        "metadata.managedFields must be nil",
    )
    other = deployment("other")
    apps = client.AppsV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await apps.patch_namespaced_deployment(
            "web", "default", other, field_manager="m", _content_type=APPLY
        )
    assert json.loads(info.value.body)["message"] == (
        "the name of the object (other) does not match the name on the URL (web)"
    )


async def test_apply_never_touches_status(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(), "m")
    kube_api.set_status("Deployment", "default", "web", {"replicas": 2, "readyReplicas": 2})
    body = deployment()
    body["status"] = {"replicas": 99}
    result = await apply(kube_client, body, "m")
    assert result.status.replicas == 2 and result.status.ready_replicas == 2
    assert "f:status" not in managers(result)[("m", "Apply")]


async def test_apply_with_resource_version_is_a_precondition(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(), "m")
    body = deployment(replicas=4)
    body["metadata"]["resourceVersion"] = "1"
    with pytest.raises(ApiException) as info:
        await apply(kube_client, body, "m")
    assert info.value.status == 409 and json.loads(info.value.body)["reason"] == "Conflict"


async def test_dynamic_client_server_side_apply(dynamic: DynamicClient) -> None:
    deployments = await dynamic.resources.get(api_version="apps/v1", kind="Deployment")
    created = await dynamic.server_side_apply(deployments, body=deployment(), field_manager="trellis-x")
    assert created.metadata.managedFields[0].manager == "trellis-x"
    forced = await dynamic.server_side_apply(
        deployments, body=deployment(replicas=3), field_manager="other", force_conflicts=True
    )
    assert forced.spec.replicas == 3
    # kubernetes_asyncio 36.1's DynamicClient does not raise on HTTP errors: it hands back the Status
    status = await dynamic.server_side_apply(
        deployments, body=deployment(replicas=4), field_manager="trellis-x"
    )
    assert (status.kind, status.code, status.reason) == ("Status", 409, "Conflict")


async def test_configmap_data_keys_are_granular(kube_api: KubeApiServer) -> None:
    kube_api.apply(configmap("c", data={"a": "1"}), manager="one")
    kube_api.apply(configmap("c", data={"b": "2"}), manager="two")
    assert kube_api.get("ConfigMap", "default", "c")["data"] == {"a": "1", "b": "2"}
    kube_api.apply(configmap("c", data={}), manager="one")
    assert kube_api.get("ConfigMap", "default", "c")["data"] == {"b": "2"}


async def test_init_containers_merge_by_name(kube_client: ApiClient) -> None:
    body = deployment()
    body["spec"]["template"]["spec"]["initContainers"] = [{"name": "migrate", "image": "app:1"}]
    await apply(kube_client, body, "a")
    extra = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": {"spec": {"initContainers": [{"name": "wait", "image": "busybox"}]}}},
    }
    merged = await apply(kube_client, extra, "b")
    assert [c.name for c in merged.spec.template.spec.init_containers] == ["migrate", "wait"]
    assert merged.spec.template.spec.init_containers[1].termination_message_path == "/dev/termination-log"


async def test_apply_to_the_status_subresource(kube_client: ApiClient) -> None:
    await apply(kube_client, deployment(), "trellis")
    apps = client.AppsV1Api(kube_client)
    status = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 9},
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
    }
    result = await apps.patch_namespaced_deployment_status(
        "web", "default", status, field_manager="my-controller", _content_type=APPLY
    )
    assert result.status.replicas == 2 and result.spec.replicas == 2
    entry = next(m for m in result.metadata.managed_fields if m.manager == "my-controller")
    assert (entry.operation, entry.subresource) == ("Apply", "status")
    assert set(entry.fields_v1) == {"f:status"}
    assert entry.fields_v1["f:status"]["f:conditions"] == {
        'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}
    }
