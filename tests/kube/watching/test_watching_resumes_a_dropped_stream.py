"""A stream that ends (server restart, timeoutSeconds, silence) is watched again from the last
resourceVersion: no relist, nothing delivered twice, nothing missed."""

from __future__ import annotations

from app.kube.watching import WatchPool, WatchSettings
from tests.kube.watching.conftest import (
    OURS,
    PoolFactory,
    RecordingSink,
    eventually,
    list_requests,
    watch_requests,
)
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap


async def test_a_dropped_watch_resumes_from_the_last_resource_version(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    kube_api.create(configmap("b", labels=OURS))
    await sink.wait_calls(2)
    last_seen = sink.events[-1][2]

    kube_api.delay(0.2)  # the reconnection takes a while…
    kube_api.drop_watches()
    kube_api.create(configmap("c", labels=OURS))  # …and these happen meanwhile
    kube_api.apply(configmap("a", data={"k": "v"}, labels=OURS))
    await sink.wait_calls(4)
    kube_api.delay(0)

    assert [e[:2] for e in sink.events] == [("ADDED", "b"), ("ADDED", "c"), ("MODIFIED", "a")]
    assert [r.query["resourceVersion"] for r in watch_requests(kube_api)][-1] == last_seen
    assert len(list_requests(kube_api, "/configmaps")) == 1  # no relist
    assert sink.resyncs == [("ConfigMap", "default", ["a"])]


async def test_repeated_drops_deliver_nothing_twice(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    for index in range(3):
        await kube_api.wait_for_watches(1)
        kube_api.create(configmap(f"cm-{index}", labels=OURS))
        await sink.wait_calls(2 + index)
        kube_api.drop_watches()
    await eventually(lambda: len(watch_requests(kube_api)) == 4)
    assert [e[:2] for e in sink.events] == [("ADDED", "cm-0"), ("ADDED", "cm-1"), ("ADDED", "cm-2")]
    assert len(list_requests(kube_api, "/configmaps")) == 1


async def test_a_silent_stream_is_cut_after_the_inactivity_timeout_and_resumed(
    kube_api: KubeApiServer, make_pool: PoolFactory, sink: RecordingSink
) -> None:
    kube_api.bookmark_interval = None  # a stream that says nothing at all
    pool = await make_pool(settings=WatchSettings(inactivity_timeout_seconds=0.2))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await eventually(lambda: len(watch_requests(kube_api)) >= 2)
    first, second = watch_requests(kube_api)[:2]
    assert first.query["resourceVersion"] == second.query["resourceVersion"]
    assert len(list_requests(kube_api, "/configmaps")) == 1
    kube_api.create(configmap("late", labels=OURS))
    await sink.wait_calls(2)
    assert [e[:2] for e in sink.events] == [("ADDED", "late")]
