"""BOOKMARKs only move the resourceVersion on: nothing is delivered, and a later resume starts there
(so a quiet watch survives a compaction without a relist)."""

from __future__ import annotations

import asyncio

from app.kube.watching import WatchPool
from tests.kube.watching.conftest import OURS, RecordingSink, eventually, list_requests, watch_requests
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap


async def test_a_bookmark_advances_the_resource_version(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    listed_at = watch_requests(kube_api)[0].query["resourceVersion"]

    for index in range(3):
        kube_api.create(configmap(f"theirs-{index}"))  # not selected: the watch hears nothing of them
    bookmark_at = str(kube_api.resource_version)
    assert bookmark_at != listed_at
    kube_api.send_bookmark()
    kube_api.compact()  # resuming from the list's resourceVersion would now be 410
    kube_api.drop_watches()  # the stream ends after the bookmark (the server writes them in order)

    await eventually(lambda: len(watch_requests(kube_api)) == 2)
    assert watch_requests(kube_api)[1].query["resourceVersion"] == bookmark_at
    await kube_api.wait_for_watches(1)
    kube_api.create(configmap("b", labels=OURS))
    await sink.wait_calls(2)
    assert sink.kinds_of_calls() == ["resync", "event"]
    assert len(list_requests(kube_api, "/configmaps")) == 1  # no relist


async def test_periodic_bookmarks_move_the_resource_version_and_deliver_nothing(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.bookmark_interval = 0.02
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    kube_api.create(configmap("theirs"))
    await asyncio.sleep(0.15)  # the server's bookmark timer, not ours, is what we wait for
    kube_api.drop_watches()
    await eventually(lambda: len(watch_requests(kube_api)) == 2)
    assert watch_requests(kube_api)[1].query["resourceVersion"] == str(kube_api.resource_version)
    assert sink.kinds_of_calls() == ["resync"]
    assert len(list_requests(kube_api, "/configmaps")) == 1
