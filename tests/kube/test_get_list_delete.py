"""get, list by label selector (all namespaces or one) and delete, by apiVersion and kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import errors
from app.domain.clusters import ClusterCredentials
from app.kube import InClusterEnvironment, KubeGateway, KubeSession
from tests.kube.conftest import TIMEOUT
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment, namespace

OURS = {"app.kubernetes.io/managed-by": "trellis", "trellis.dev/workflow": "wf1"}
THEIRS = {"app.kubernetes.io/managed-by": "trellis", "trellis.dev/workflow": "wf2"}
SELECTOR = "app.kubernetes.io/managed-by=trellis,trellis.dev/workflow=wf1"


@pytest.fixture
def objects(kube_api: KubeApiServer) -> None:
    kube_api.create(namespace("shop"))
    kube_api.create(configmap("a", "default", {"k": "v"}, labels=OURS))
    kube_api.create(configmap("b", "shop", labels=OURS))
    kube_api.create(configmap("c", "shop", labels=THEIRS))
    kube_api.create(configmap("d", "shop"))


async def test_get_returns_the_object_or_none(kube_api: KubeApiServer, session: KubeSession) -> None:
    kube_api.create(deployment("web", labels={"app": "web"}))
    got = await session.get("apps/v1", "Deployment", "web", "default")
    assert got is not None and got["kind"] == "Deployment" and got["apiVersion"] == "apps/v1"
    assert got["metadata"]["name"] == "web" and got["spec"]["replicas"] == 2
    assert await session.get("apps/v1", "Deployment", "gone", "default") is None
    assert await session.get("apps/v1", "Deployment", "web", "no-such-namespace") is None
    assert await session.get("example.com/v1", "Widget", "w", "default") is None


async def test_get_a_cluster_scoped_object(session: KubeSession) -> None:
    got = await session.get("v1", "Namespace", "kube-system", None)
    assert got is not None and got["metadata"]["name"] == "kube-system"


@pytest.mark.usefixtures("objects")
async def test_list_by_label_selector_across_all_namespaces(session: KubeSession) -> None:
    found = await session.list("v1", "ConfigMap", label_selector=SELECTOR)
    assert sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in found) == [
        ("default", "a"),
        ("shop", "b"),
    ]
    assert {(o["apiVersion"], o["kind"]) for o in found} == {("v1", "ConfigMap")}  # items say what they are


@pytest.mark.usefixtures("objects")
async def test_list_by_label_selector_in_one_namespace(session: KubeSession) -> None:
    found = await session.list("v1", "ConfigMap", label_selector=SELECTOR, namespace="shop")
    assert [o["metadata"]["name"] for o in found] == ["b"]
    everything = await session.list("v1", "ConfigMap", label_selector="", namespace="shop")
    assert sorted(o["metadata"]["name"] for o in everything) == ["b", "c", "d"]


async def test_list_of_an_unserved_kind_is_empty(session: KubeSession) -> None:
    assert await session.list("example.com/v1", "Widget", label_selector=SELECTOR) == []


async def test_list_follows_continue_tokens(
    kube_api: KubeApiServer, plain_credentials: ClusterCredentials, tmp_path: Path
) -> None:
    for index in range(5):
        kube_api.create(configmap(f"m{index}", labels=OURS))
    gateway = KubeGateway(in_cluster=InClusterEnvironment(tmp_path, {}), list_page_size=2)
    async with gateway.open(plain_credentials, timeout_seconds=TIMEOUT) as session:
        found = await session.list("v1", "ConfigMap", label_selector=SELECTOR)
    assert sorted(o["metadata"]["name"] for o in found) == [f"m{i}" for i in range(5)]
    pages = [r.query for r in kube_api.requests if r.path == "/api/v1/configmaps"]
    assert len(pages) == 3 and all(q["limit"] == "2" for q in pages)


async def test_delete_is_true_then_false_once_gone(kube_api: KubeApiServer, session: KubeSession) -> None:
    kube_api.create(deployment("web"))
    assert await session.delete("apps/v1", "Deployment", "web", "default") is True
    assert kube_api.get("Deployment", "default", "web") is None
    assert await session.delete("apps/v1", "Deployment", "web", "default") is False
    assert await session.delete("example.com/v1", "Widget", "w", "default") is False
    (first, _) = [r for r in kube_api.requests if r.method == "DELETE"]
    assert first.path == "/apis/apps/v1/namespaces/default/deployments/web"


async def test_delete_forbidden_is_forbidden(kube_api: KubeApiServer, session: KubeSession) -> None:
    kube_api.create(configmap("keep"))
    kube_api.forbid("delete", "configmaps")
    with pytest.raises(errors.Forbidden, match='cannot delete resource "configmaps"'):
        await session.delete("v1", "ConfigMap", "keep", "default")
    assert kube_api.get("ConfigMap", "default", "keep") is not None
