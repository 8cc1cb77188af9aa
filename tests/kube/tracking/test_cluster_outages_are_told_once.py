"""The API server goes away: ``cluster_unreachable`` once; it comes back: ``cluster_reachable``, every
node told again (the service showed them UNKNOWN meanwhile), then ``resynced`` once."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.clusters import ClusterCredentials
from app.domain.health import HealthStatus
from app.kube.tracking import KubeLiveTracker
from tests.kube.conftest import token_credentials
from tests.kube.tracking.conftest import CLUSTER, RecordingSink, eventually, no_tracker_tasks, ours, target
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap

HEALTHY, MISSING = HealthStatus.HEALTHY, HealthStatus.MISSING


async def test_down_once_then_reachable_every_node_again_and_one_resync(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    kept = configmap("kept", data={"a": "1"}, labels=ours("wf1", "kept"))
    going = configmap("going", labels=ours("wf1", "going"))
    other = configmap("other", labels=ours("wf2", "other"))
    for obj in (kept, going, other):
        kube_api.apply(obj, manager="trellis-wf1")
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"kept": target(kept), "going": target(going)})
    await tracker.track(CLUSTER, plain_credentials, "wf2", {"other": target(other)})
    await sink.wait_for(lambda: sink.latest("wf2", "other") is not None)
    # every watch open before the server stops: a watch request still on its way when it stops would
    # outlive the stop on the test server (it misses the end-of-stream signal; its socket is left open)
    await kube_api.wait_for_watches(4)
    before = len(sink.calls)

    await kube_api.stop()
    await sink.wait_for(lambda: "unreachable" in sink.kinds())
    await asyncio.sleep(0.3)  # every watch keeps retrying (10 ms, then 20, 40, 50…), none says it again
    assert sink.kinds()[before:] == ["unreachable"]
    assert sink.calls[-1][1] == CLUSTER and "connection refused" in sink.calls[-1][2]

    kube_api.delete("ConfigMap", "default", "going")  # the cluster moves on meanwhile
    await kube_api.start()
    await sink.wait_for(lambda: "resynced" in sink.kinds()[before:])
    after = sink.calls[before + 1 :]
    assert after[0] == ("reachable", CLUSTER)
    assert after[-1] == ("resynced", CLUSTER, ("wf1", "wf2"))
    told = {(c[2], c[3]): c[4].status for c in after if c[0] == "health"}
    assert told == {("wf1", "going"): MISSING, ("wf1", "kept"): HEALTHY, ("wf2", "other"): HEALTHY}
    assert len([c for c in after if c[0] == "health"]) == 3

    await kube_api.wait_for_watches(4)  # and it watches on
    kube_api.apply({**kept, "data": {"a": "1", "b": "2"}}, manager="trellis-wf1")
    await sink.wait_for(lambda: sink.latest("wf1", "kept").facts == {"keys": ["a", "b"]})  # type: ignore[union-attr]


async def test_a_cluster_down_from_the_start_is_told_then_recovers(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    settings = configmap("settings", labels=ours("wf1", "cfg"))
    kube_api.apply(settings, manager="trellis-wf1")
    await kube_api.stop()
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings)})
    await sink.wait_for(lambda: "unreachable" in sink.kinds())
    await kube_api.start()
    await sink.wait_for(lambda: "resynced" in sink.kinds())
    assert sink.kinds() == ["unreachable", "reachable", "health", "resynced"]
    assert sink.statuses("wf1", "cfg") == [HEALTHY]


async def test_a_workflow_tracked_while_the_cluster_is_down_is_unknown_with_the_reason(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    first = configmap("first", labels=ours("wf1", "cfg"))
    later = configmap("later", labels=ours("wf2", "cfg"))
    for obj in (first, later):
        kube_api.apply(obj, manager="trellis-wf1")
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(first)})
    await sink.wait_for(lambda: "resynced" in sink.kinds())
    await kube_api.wait_for_watches(4)  # see test_down_once_…
    await kube_api.stop()
    await sink.wait_for(lambda: "unreachable" in sink.kinds())

    await tracker.track(CLUSTER, plain_credentials, "wf2", {"cfg": target(later)})
    unknown = await sink.wait_health("wf2", "cfg", HealthStatus.UNKNOWN)
    assert (
        unknown.message.startswith("the cluster cannot be reached: ")
        and "connection refused" in unknown.message
    )
    assert sink.statuses("wf1", "cfg") == [HEALTHY]  # the service marked it already

    await kube_api.start()
    await sink.wait_for(lambda: "resynced" in sink.kinds()[3:])
    assert sink.calls[-1] == ("resynced", CLUSTER, ("wf1", "wf2"))
    assert sink.statuses("wf2", "cfg") == [HealthStatus.UNKNOWN, HEALTHY]
    assert sink.statuses("wf1", "cfg") == [HEALTHY, HEALTHY]


async def test_new_credentials_reconnect_the_cluster(
    kube_api: KubeApiServer, tracker: KubeLiveTracker, sink: RecordingSink
) -> None:
    kube_api.require_token("the-new-token")
    settings = configmap("settings", labels=ours("wf1", "cfg"))
    kube_api.apply(settings, manager="trellis-wf1")
    nodes = {"cfg": target(settings)}
    await tracker.track(CLUSTER, token_credentials(kube_api, token="an-old-token"), "wf1", nodes)
    await sink.wait_for(lambda: "unreachable" in sink.kinds())
    assert "401" in sink.calls[0][2] or "nauthori" in sink.calls[0][2]

    await tracker.track(CLUSTER, token_credentials(kube_api, token="the-new-token"), "wf1", nodes)
    await sink.wait_for(lambda: "resynced" in sink.kinds())
    assert sink.kinds() == ["unreachable", "reachable", "health", "resynced"]
    assert sink.statuses("wf1", "cfg") == [HEALTHY]


async def test_release_cluster_stops_everything_and_close_refuses_more(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    settings = configmap("settings", labels=ours("wf1", "cfg"))
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings)})
    await tracker.track(CLUSTER, plain_credentials, "wf2", {"cfg": target(settings)})
    await kube_api.wait_for_watches(4)

    await tracker.release_cluster(CLUSTER)  # another replica took the lease
    assert tracker.watches(CLUSTER) == frozenset() and tracker.cluster_of("wf1") is None
    await eventually(lambda: kube_api.open_watches == 0)
    assert no_tracker_tasks()
    await tracker.release_cluster(CLUSTER)  # twice is fine

    await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings)})  # it comes back
    await kube_api.wait_for_watches(4)
    await tracker.close()
    await eventually(lambda: kube_api.open_watches == 0)
    assert no_tracker_tasks()
    await tracker.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings)})
