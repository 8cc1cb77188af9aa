"""Label and field selectors, parsed as kube-apiserver parses them and applied to lists and watches."""

from __future__ import annotations

import json

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException

from tests.kubeapi import ApiError, KubeApiServer
from tests.kubeapi.builders import configmap, pod
from tests.kubeapi.selectors import FieldSelector, LabelSelector

LABELS = {"app": "web", "tier": "front", "version": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=api", True),
        ("missing!=x", True),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("missing notin (web)", True),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("app=web,tier=back", False),
        ("app=web, tier in (front,back)", True),
        ("version>2", True),
        ("version<3", False),
        ("", True),
    ],
)
def test_label_selector_semantics(selector: str, matches: bool) -> None:
    assert LabelSelector.parse(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app in web", "=web", "app in (a", "app==(x)", "app=web,,", "a b"])
def test_malformed_label_selectors_are_bad_requests(selector: str) -> None:
    with pytest.raises(ApiError) as info:
        LabelSelector.parse(selector)
    assert info.value.code == 400 and info.value.message.startswith("unable to parse requirement")


def test_empty_label_value_is_valid() -> None:
    assert LabelSelector.parse("app=").matches({"app": ""})


def test_field_selectors() -> None:
    obj = {"metadata": {"name": "a", "namespace": "ns"}, "status": {"phase": "Running"}}
    assert FieldSelector.parse("metadata.name=a", "ConfigMap").matches(obj)
    assert not FieldSelector.parse("metadata.name!=a", "ConfigMap").matches(obj)
    assert FieldSelector.parse("metadata.namespace==ns,status.phase=Running", "Pod").matches(obj)
    with pytest.raises(ApiError) as info:
        FieldSelector.parse("spec.foo=1", "ConfigMap")
    assert info.value.message == "field label not supported: spec.foo"


async def test_lists_filter_by_labels_and_fields(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.create(
        configmap("a", labels={"app.kubernetes.io/managed-by": "trellis", "trellis.dev/node": "n1"})
    )
    kube_api.create(
        configmap("b", labels={"app.kubernetes.io/managed-by": "trellis", "trellis.dev/node": "n2"})
    )
    kube_api.create(configmap("c", labels={"app.kubernetes.io/managed-by": "helm"}))
    v1 = client.CoreV1Api(kube_client)

    async def names(**kwargs: str) -> list[str]:
        return [c.metadata.name for c in (await v1.list_config_map_for_all_namespaces(**kwargs)).items]

    assert await names(label_selector="app.kubernetes.io/managed-by=trellis") == ["a", "b"]
    assert await names(label_selector="trellis.dev/node in (n2,n3)") == ["b"]
    assert await names(label_selector="!trellis.dev/node") == ["c"]
    assert await names(field_selector="metadata.name=c") == ["c"]
    assert await names(field_selector="metadata.namespace=kube-system") == []
    with pytest.raises(ApiException) as info:
        await names(label_selector="app in (")
    assert info.value.status == 400 and json.loads(info.value.body)["reason"] == "BadRequest"


async def test_pod_field_selector_status_phase(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.create(pod("a"))
    kube_api.create(pod("b"))
    kube_api.pods.running("default", "b")
    v1 = client.CoreV1Api(kube_client)
    running = await v1.list_namespaced_pod("default", field_selector="status.phase=Running")
    assert [p.metadata.name for p in running.items] == ["b"]
