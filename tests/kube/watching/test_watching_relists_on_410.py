"""410 Gone/Expired: the pool relists and delivers only what really changed, deletions included."""

from __future__ import annotations

from app.kube.watching import WatchPool
from tests.kube.watching.conftest import OURS, RecordingSink, eventually, list_requests, watch_requests
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap


async def test_expired_relists_and_delivers_only_real_changes(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    for name in ("kept", "changed", "removed"):
        kube_api.create(configmap(name, labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    removed = kube_api.get("ConfigMap", "default", "removed")

    kube_api.delay(0.3)  # while the watch is away…
    kube_api.drop_watches()
    changed = kube_api.apply(configmap("changed", data={"k": "v"}, labels=OURS))
    kube_api.delete("ConfigMap", "default", "removed")
    added = kube_api.create(configmap("added", labels=OURS))
    kube_api.compact()  # …the history it would resume from is gone
    await sink.wait_calls(4)
    kube_api.delay(0)

    assert sink.events == [  # in list order, then what vanished
        ("ADDED", "added", added["metadata"]["resourceVersion"]),
        ("MODIFIED", "changed", changed["metadata"]["resourceVersion"]),
        ("DELETED", "removed", removed["metadata"]["resourceVersion"]),  # its last known state
    ]
    assert sink.kinds_of_calls() == ["resync", "event", "event", "event"]  # no second resync
    assert len(list_requests(kube_api, "/configmaps")) == 2  # the relist
    await eventually(lambda: len(watch_requests(kube_api)) == 3)
    assert watch_requests(kube_api)[-1].query["resourceVersion"] == str(kube_api.resource_version)

    kube_api.create(configmap("after", labels=OURS))  # and it carries on watching
    await sink.wait_calls(5)
    assert sink.events[-1][:2] == ("ADDED", "after")


async def test_expired_with_nothing_changed_delivers_nothing(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    kube_api.create(configmap("not-ours"))  # moves the resourceVersion on, unseen by our selector
    kube_api.compact()
    kube_api.drop_watches()
    await eventually(lambda: len(list_requests(kube_api, "/configmaps")) == 2)
    await kube_api.wait_for_watches(1)
    assert sink.kinds_of_calls() == ["resync"]


async def test_a_410_answer_to_the_watch_request_relists_too(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    kube_api.fail_requests(410, times=1, method="GET", path="/api/v1/namespaces/default/configmaps")
    kube_api.drop_watches()
    await eventually(lambda: len(list_requests(kube_api, "/configmaps")) == 2)
    await kube_api.wait_for_watches(1)
    kube_api.create(configmap("after", labels=OURS))
    await sink.wait_calls(2)
    assert sink.kinds_of_calls() == ["resync", "event"]
