"""One watch per kind however many workflows; a workflow holds what its nodes need and lets go of the
rest; the pool of a cluster goes with its last workflow."""

from __future__ import annotations

from app.domain.clusters import ClusterCredentials
from app.domain.health import HealthStatus
from app.kube.tracking import KubeLiveTracker, TrackingSettings
from app.kube.watching import WatchKey
from tests.kube.tracking.conftest import (
    CLUSTER,
    FAST,
    RecordingSink,
    eventually,
    no_tracker_tasks,
    ours,
    target,
)
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment, namespace, service

HEALTHY, MISSING = HealthStatus.HEALTHY, HealthStatus.MISSING
DEPLOYMENTS = WatchKey("apps/v1", "Deployment", None)
CONFIGMAPS = WatchKey("v1", "ConfigMap", None)
SERVICES = WatchKey("v1", "Service", None)
CHILDREN = {WatchKey("v1", "Pod", None), WatchKey("apps/v1", "ReplicaSet", None)}


def events_in(namespace: str | None) -> WatchKey:
    return WatchKey("v1", "Event", namespace)


def watch_paths(api: KubeApiServer) -> list[str]:
    return sorted(r.path for r in api.requests if r.method == "GET" and r.query.get("watch") == "true")


async def test_two_workflows_share_one_watch_per_kind(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    web, api = deployment("web", labels=ours("wf1", "web")), deployment("api", labels=ours("wf2", "api"))
    settings = configmap("settings", labels=ours("wf1", "cfg"))
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"web": target(web), "cfg": target(settings)})
    await tracker.track(CLUSTER, plain_credentials, "wf2", {"api": target(api)})
    await sink.wait_for(lambda: sink.latest("wf2", "api") is not None)
    assert tracker.watches(CLUSTER) == {DEPLOYMENTS, CONFIGMAPS, *CHILDREN, events_in("default")}
    await kube_api.wait_for_watches(5)
    assert kube_api.open_watches == 5
    assert watch_paths(kube_api) == [
        "/api/v1/configmaps",
        "/api/v1/namespaces/default/events",
        "/api/v1/pods",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/replicasets",
    ]
    assert tracker.cluster_of("wf1") == tracker.cluster_of("wf2") == CLUSTER

    kube_api.apply(web, manager="trellis-wf1")
    kube_api.apply(api, manager="trellis-wf2")  # one stream tells both workflows
    await sink.wait_for(lambda: sink.statuses("wf2", "api")[-1] is not MISSING)
    await sink.wait_for(lambda: sink.statuses("wf1", "web")[-1] is not MISSING)

    await tracker.untrack("wf1")  # the ConfigMaps were wf1's alone
    assert tracker.watches(CLUSTER) == {DEPLOYMENTS, *CHILDREN, events_in("default")}
    await eventually(lambda: kube_api.open_watches == 4)
    await tracker.untrack("wf2")
    assert tracker.watches(CLUSTER) == frozenset() and tracker.cluster_of("wf2") is None
    await eventually(lambda: kube_api.open_watches == 0)
    assert no_tracker_tasks()


async def test_untrack_stops_the_watches_and_nothing_more_is_told(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    settings = configmap("settings", labels=ours("wf1", "cfg"))
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings)})
    await sink.wait_for(lambda: ("resynced", CLUSTER, ("wf1",)) in sink.calls)
    await kube_api.wait_for_watches(4)

    await tracker.untrack("wf1")
    await eventually(lambda: kube_api.open_watches == 0)
    assert no_tracker_tasks()
    told = len(sink.calls)
    kube_api.apply(settings, manager="trellis-wf1")
    await tracker.untrack("wf1")  # twice is fine
    await tracker.untrack("never-tracked")
    assert len(sink.calls) == told


async def test_tracking_again_recomputes_at_once_and_lets_go_of_what_is_not_needed(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    v1 = configmap("settings-v1", data={"a": "1"}, labels=ours("wf1", "cfg"))
    v2 = configmap("settings-v2", data={"a": "1", "b": "2"}, labels=ours("wf1", "cfg"))
    api = service("api")
    api["metadata"]["labels"] = ours("wf1", "svc")
    for obj in (v1, v2, api):
        kube_api.apply(obj, manager="trellis-wf1")
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(v1)})
    first = await sink.wait_health("wf1", "cfg", HEALTHY)
    assert first.facts == {"keys": ["a"]}

    # a second run: the ConfigMap node now names settings-v2, and a Service node is new
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(v2), "svc": target(api)})
    await sink.wait_for(lambda: len(sink.healths("wf1", "cfg")) == 2)
    second = sink.healths("wf1", "cfg")[1]
    assert second.status is HEALTHY and second.facts == {"keys": ["a", "b"]}
    await sink.wait_health("wf1", "svc", HEALTHY)
    assert tracker.watches(CLUSTER) == {CONFIGMAPS, SERVICES, *CHILDREN, events_in("default")}

    # a third: the ConfigMap node is gone, so is the ConfigMap watch
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"svc": target(api)})
    assert tracker.watches(CLUSTER) == {SERVICES, *CHILDREN, events_in("default")}
    await eventually(lambda: kube_api.open_watches == 4)
    kube_api.delete("ConfigMap", "default", "settings-v2")
    kube_api.delete("Service", "default", "api")  # the same order on the same cluster: after the above
    await sink.wait_health("wf1", "svc", MISSING)
    assert sink.statuses("wf1", "cfg") == [HEALTHY, HEALTHY]

    await tracker.track(CLUSTER, plain_credentials, "wf1", {})  # no nodes: nothing to watch
    assert tracker.watches(CLUSTER) == frozenset() and no_tracker_tasks()


async def test_events_are_watched_per_namespace_until_too_many_are_in_use(
    kube_api: KubeApiServer, sink: RecordingSink, plain_credentials: ClusterCredentials
) -> None:
    tracker = KubeLiveTracker(sink, watch_settings=FAST, settings=TrackingSettings(event_namespaces_max=1))
    try:
        for name in ("shop", "blog"):
            kube_api.create(namespace(name))
        shop = configmap("settings", "shop", labels=ours("wf1", "cfg"))
        blog = configmap("settings", "blog", labels=ours("wf2", "cfg"))
        await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(shop)})
        assert events_in("shop") in tracker.watches(CLUSTER)

        await tracker.track(CLUSTER, plain_credentials, "wf2", {"cfg": target(blog)})  # two namespaces > 1
        watches = tracker.watches(CLUSTER)
        assert events_in(None) in watches and not {events_in("shop"), events_in("blog")} & watches

        await tracker.untrack("wf2")  # one namespace again
        watches = tracker.watches(CLUSTER)
        assert events_in("shop") in watches and events_in(None) not in watches
        await eventually(lambda: kube_api.open_watches == 4)
    finally:
        await tracker.close()
    assert no_tracker_tasks()
