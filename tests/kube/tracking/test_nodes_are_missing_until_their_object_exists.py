"""A node without its object is MISSING; plain kinds are HEALTHY once they exist; only real changes
are told."""

from __future__ import annotations

from app.domain.clusters import ClusterCredentials
from app.domain.health import HealthStatus
from app.kube.tracking import KubeLiveTracker
from app.ports import NodeTarget
from tests.kube.tracking.conftest import CLUSTER, RecordingSink, ours, target
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment, namespace

HEALTHY, MISSING = HealthStatus.HEALTHY, HealthStatus.MISSING


async def test_a_configmap_is_healthy_once_it_exists(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    settings = configmap("settings", data={"LOG_LEVEL": "info"}, labels=ours("wf1", "cfg"))
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings)})
    missing = await sink.wait_health("wf1", "cfg", MISSING)
    assert missing.message == "ConfigMap default/settings is not in the cluster"
    assert missing.facts == {"kind": "ConfigMap", "namespace": "default", "name": "settings"}

    kube_api.apply(settings, manager="trellis-wf1")
    healthy = await sink.wait_health("wf1", "cfg", HEALTHY)
    assert healthy.message == "holds 1 key" and healthy.facts == {"keys": ["LOG_LEVEL"]}


async def test_a_deleted_object_makes_its_node_missing(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    kube_api.controllers.enable()
    web = deployment("web", replicas=1, labels=ours("wf1", "web"))
    kube_api.apply(web, manager="trellis-wf1")
    await kube_api.controllers.settle()
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"web": target(web)})
    await sink.wait_health("wf1", "web", HEALTHY)

    kube_api.delete("Deployment", "default", "web")
    missing = await sink.wait_health("wf1", "web", MISSING)
    assert missing.message == "Deployment default/web is not in the cluster"


async def test_a_namespace_node_has_no_namespace_of_its_own(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    shop = namespace("shop", labels=ours("wf1", "ns"))
    await tracker.track(
        CLUSTER, plain_credentials, "wf1", {"ns": NodeTarget("v1", "Namespace", "shop", "shop")}
    )
    missing = await sink.wait_health("wf1", "ns", MISSING)
    assert missing.message == "Namespace shop is not in the cluster"
    kube_api.create(shop)
    healthy = await sink.wait_health("wf1", "ns", HEALTHY)
    assert healthy.message == "active"


async def test_a_change_that_leaves_the_health_as_it_was_is_not_told(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    first = configmap("first", data={"a": "1"}, labels=ours("wf1", "first"))
    second = configmap("second", data={"b": "2"}, labels=ours("wf1", "second"))
    kube_api.apply(first, manager="trellis-wf1")
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"first": target(first), "second": target(second)})
    await sink.wait_health("wf1", "first", HEALTHY)
    await sink.wait_for(lambda: ("resynced", CLUSTER, ("wf1",)) in sink.calls)

    kube_api.apply(first, manager="trellis-wf1")  # a no-op apply: no event at all
    kube_api.apply({**first, "data": {"a": "2"}}, manager="trellis-wf1")  # a new value, the same keys
    annotated = {**first, "metadata": {**first["metadata"], "annotations": {"note": "x"}}}
    kube_api.apply(annotated, manager="trellis-wf1")
    kube_api.apply(second, manager="trellis-wf1")  # the same watch, after those: told once they were seen
    await sink.wait_health("wf1", "second", HEALTHY)
    assert sink.statuses("wf1", "first") == [HEALTHY]
    assert sink.statuses("wf1", "second") == [MISSING, HEALTHY]

    told = len(sink.calls)  # the service tracks again at every lease renewal: nothing new to tell
    nodes = {"first": target(first), "second": target(second)}
    await tracker.track(CLUSTER, plain_credentials, "wf1", nodes)
    kube_api.apply({**second, "data": {"b": "2", "c": "3"}}, manager="trellis-wf1")
    await sink.wait_for(lambda: len(sink.healths("wf1", "second")) == 3)
    assert len(sink.calls) == told + 1
