"""A sink that raises is logged and told again later; a watch that cannot list holds the others' nodes
back only for the grace period."""

from __future__ import annotations

import logging

import pytest

from app.domain.clusters import ClusterCredentials
from app.domain.health import HealthStatus
from app.kube.tracking import KubeLiveTracker, TrackingSettings
from tests.kube.tracking.conftest import CLUSTER, FAST, RecordingSink, ours, target
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, service

HEALTHY, UNKNOWN, MISSING = HealthStatus.HEALTHY, HealthStatus.UNKNOWN, HealthStatus.MISSING


async def test_a_sink_that_raises_is_logged_and_told_again(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink.fail = True
    first = configmap("first", data={"a": "1"}, labels=ours("wf1", "first"))
    second = configmap("second", labels=ours("wf1", "second"))
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"first": target(first)})
    await sink.wait_health("wf1", "first", MISSING)
    await sink.wait_for(lambda: "resynced" in sink.kinds())  # the failure stopped nothing
    assert "the live sink failed on node_health_changed of wf1/first" in caplog.text
    assert [r.levelno for r in caplog.records if "live sink failed" in r.message] == [logging.ERROR]

    sink.fail = False
    kube_api.apply({**first, "data": {"a": "2"}}, manager="trellis-wf1")  # no change of health, but…
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"first": target(first), "second": target(second)})
    await sink.wait_health("wf1", "second", MISSING)
    await sink.wait_health("wf1", "first", HEALTHY)  # …what failed is told again


async def test_a_watch_that_cannot_list_holds_nothing_back_beyond_the_grace_period(
    kube_api: KubeApiServer,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kube_api.forbid("list", "services")
    tracker = KubeLiveTracker(sink, watch_settings=FAST, settings=TrackingSettings(resync_grace_seconds=0.3))
    try:
        settings = configmap("settings", labels=ours("wf1", "cfg"))
        api = service("api")
        api["metadata"]["labels"] = ours("wf1", "svc")
        kube_api.apply(settings, manager="trellis-wf1")
        kube_api.apply(api, manager="trellis-wf1")
        await tracker.track(CLUSTER, plain_credentials, "wf1", {"cfg": target(settings), "svc": target(api)})
        await sink.wait_for(lambda: "resynced" in sink.kinds())
        assert sink.statuses("wf1", "cfg") == [HEALTHY]
        unseen = sink.latest("wf1", "svc")
        assert unseen is not None and unseen.status is UNKNOWN
        assert unseen.message.startswith("Trellis cannot see Service objects on this cluster yet")
        assert "Service in all namespaces did not list within 0.3 s" in caplog.text

        kube_api.clear_forbidden()  # the watch lists at its next try: a batch of its own
        await sink.wait_health("wf1", "svc", HEALTHY)
        await sink.wait_for(lambda: sink.kinds().count("resynced") == 2)
        assert sink.statuses("wf1", "cfg") == [HEALTHY]
    finally:
        await tracker.close()
