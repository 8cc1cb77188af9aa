"""A watch lists first (every page), delivers the whole set, then streams changes from the list's
resourceVersion, in order, with apiVersion and kind on every object."""

from __future__ import annotations

from app.kube.watching import WatchEventType, WatchPool, WatchSettings
from tests.kube.watching.conftest import OURS, PoolFactory, RecordingSink, list_requests, watch_requests
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, namespace


async def test_initial_list_then_events_in_order(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    kube_api.create(configmap("b", labels=OURS))
    kube_api.create(configmap("not-ours"))

    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    assert sink.resyncs == [("ConfigMap", "default", ["a", "b"])]
    objects = sink.calls[0][3]
    assert {(o["apiVersion"], o["kind"]) for o in objects} == {
        ("v1", "ConfigMap")
    }  # a list's items lack them

    await kube_api.wait_for_watches(1)
    created = kube_api.create(configmap("c", labels=OURS))
    changed = kube_api.apply(configmap("a", data={"k": "v"}, labels=OURS))
    kube_api.delete("ConfigMap", "default", "b")
    kube_api.create(configmap("not-ours-either"))
    await sink.wait_calls(4)
    rv = kube_api.resource_version
    assert sink.events == [
        ("ADDED", "c", created["metadata"]["resourceVersion"]),
        ("MODIFIED", "a", changed["metadata"]["resourceVersion"]),
        ("DELETED", "b", str(rv - 1)),
    ]
    event = sink.calls[2][1]
    assert event.type is WatchEventType.MODIFIED and event.obj["data"] == {"k": "v"}
    assert (event.obj["apiVersion"], event.obj["kind"], event.namespace) == ("v1", "ConfigMap", "default")


async def test_the_watch_starts_at_the_lists_resource_version_and_asks_for_bookmarks(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    listed_at = kube_api.resource_version
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await kube_api.wait_for_watches(1)
    [listing] = list_requests(kube_api, "/api/v1/namespaces/default/configmaps")
    assert listing.query["labelSelector"] == "app.kubernetes.io/managed-by=trellis"
    [watching] = watch_requests(kube_api)
    assert watching.path == "/api/v1/namespaces/default/configmaps"
    assert watching.query == {
        "watch": "true",
        "allowWatchBookmarks": "true",
        "resourceVersion": str(listed_at),
        "timeoutSeconds": "60",
        "labelSelector": "app.kubernetes.io/managed-by=trellis",
    }


async def test_the_list_is_read_page_by_page(
    kube_api: KubeApiServer, make_pool: PoolFactory, sink: RecordingSink
) -> None:
    for index in range(5):
        kube_api.create(configmap(f"cm-{index}", labels=OURS))
    pool = await make_pool(settings=WatchSettings(list_page_size=2))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    assert sink.resyncs == [("ConfigMap", "default", [f"cm-{i}" for i in range(5)])]
    pages = list_requests(kube_api, "/configmaps")
    assert [p.query.get("limit") for p in pages] == ["2", "2", "2"]
    assert "continue" not in pages[0].query and all("continue" in p.query for p in pages[1:])


async def test_a_watch_over_all_namespaces(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(namespace("shop"))
    kube_api.create(configmap("a", "default", labels=OURS))
    kube_api.create(configmap("b", "shop", labels=OURS))
    await pool.ensure("v1", "ConfigMap", None, holder="wf1")
    await sink.wait_calls(1)
    assert [sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in sink.calls[0][3])] == [
        [("default", "a"), ("shop", "b")]
    ]
    assert sink.resyncs[0][:2] == ("ConfigMap", None)
    await kube_api.wait_for_watches(1)
    assert watch_requests(kube_api)[0].path == "/api/v1/configmaps"
    kube_api.create(configmap("c", "shop", labels=OURS))
    await sink.wait_calls(2)
    assert sink.calls[1][1].namespace == "shop"


async def test_pods_and_namespaces_are_watched_by_their_labels(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(namespace("shop", labels=OURS))
    kube_api.create(namespace("elsewhere"))
    await pool.ensure("v1", "Namespace", "ignored-for-cluster-scoped-kinds", holder="wf1")
    await sink.wait_calls(1)
    assert sink.resyncs == [("Namespace", None, ["shop"])]
    await kube_api.wait_for_watches(1)
    assert watch_requests(kube_api)[0].path == "/api/v1/namespaces"
