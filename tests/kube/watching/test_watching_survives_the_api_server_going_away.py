"""The API server stops: ``on_cluster_down`` once, retries back off (5 s doubling to 60 s, jitter);
it comes back: ``on_cluster_up`` once, then every watch relists and delivers its whole set."""

from __future__ import annotations

import pytest

from app.kube.watching import WatchPool, WatchSettings
from app.kube.watching.settings import Backoff
from tests.kube.watching.conftest import OURS, ManualSleep, PoolFactory, RecordingSink
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment


async def test_down_once_then_up_and_a_relist(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink, sleep: ManualSleep
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    kube_api.create(deployment("web", labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await pool.ensure("apps/v1", "Deployment", "default", holder="wf1")
    await sink.wait_calls(2)
    await kube_api.wait_for_watches(2)

    await kube_api.stop()
    await sleep.wait_for(lambda: len(sleep.delays("ConfigMap")) >= 8 and len(sleep.delays("Deployment")) >= 8)
    assert [c[0] for c in sink.calls[2:]] == ["down"]  # once, however many retries failed
    assert "connection refused" in sink.calls[2][1] and pool.cluster_down == sink.calls[2][1]
    for kind in ("ConfigMap", "Deployment"):
        assert sleep.delays(kind)[:7] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0]

    kube_api.create(configmap("made-while-down", labels=OURS))  # the state moves on meanwhile
    kube_api.delete("Deployment", "default", "web")
    await kube_api.start()
    await sink.wait_calls(6)
    assert [c[0] for c in sink.calls] == ["resync", "resync", "down", "up", "resync", "resync"]
    assert sorted(sink.resyncs[2:]) == [
        ("ConfigMap", "default", ["a", "made-while-down"]),
        ("Deployment", "default", []),
    ]
    assert pool.cluster_down is None
    await kube_api.wait_for_watches(2)
    kube_api.create(configmap("after", labels=OURS))
    await sink.wait_calls(7)
    assert sink.events == [("ADDED", "after", str(kube_api.resource_version))]


async def test_when_the_cluster_is_back_waiting_watches_retry_at_once(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink, sleep: ManualSleep
) -> None:
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await pool.ensure("v1", "Service", "default", holder="wf1")
    await sink.wait_calls(2)
    await kube_api.wait_for_watches(2)
    sleep.auto = False  # from now on each backoff waits until released
    await kube_api.stop()
    await sleep.wait_for(lambda: len(sleep.pending()) == 2)
    await kube_api.start()

    sleep.release("ConfigMap")  # only the ConfigMap watch's wait ends: it reaches the cluster again,
    await sink.wait_calls(6)  # and that wakes the Service watch, whose 5 s are not over
    assert [c[0] for c in sink.calls] == ["resync", "resync", "down", "up", "resync", "resync"]
    assert sorted(r[0] for r in sink.resyncs[2:]) == ["ConfigMap", "Service"]
    assert [n.delay for n in sleep.naps] == [5.0, 5.0]


async def test_an_unreachable_cluster_from_the_start(
    kube_api: KubeApiServer, make_pool: PoolFactory, sink: RecordingSink, sleep: ManualSleep
) -> None:
    await kube_api.stop()
    pool = await make_pool()
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sleep.wait_for(lambda: len(sleep.naps) >= 3)
    assert [c[0] for c in sink.calls] == ["down"]
    await kube_api.start()
    await sink.wait_calls(3)
    assert [c[0] for c in sink.calls] == ["down", "up", "resync"]


async def test_a_server_error_is_an_outage_but_a_refusal_is_not(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink, sleep: ManualSleep
) -> None:
    kube_api.forbid("list", "configmaps")
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sleep.wait_for(lambda: len(sleep.naps) >= 2)
    assert sink.calls == []  # 403 is about this kind, not the cluster: logged and retried
    kube_api.clear_forbidden()
    await sink.wait_calls(1)
    assert sink.kinds_of_calls() == ["resync"]

    kube_api.fail_requests(503, times=1, path="/api/v1/namespaces/default/services")
    await pool.ensure("v1", "Service", "default", holder="wf1")
    await sink.wait_calls(5)  # after an outage every watch starts whole again, the ConfigMaps' too
    assert sink.kinds_of_calls() == ["resync", "down", "up", "resync", "resync"]
    assert "503" in sink.calls[1][1]
    assert sorted(r[0] for r in sink.resyncs[1:]) == ["ConfigMap", "Service"]


@pytest.mark.parametrize(
    ("random", "expected"),
    [(0.0, [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]), (1.0, [4.0, 8.0, 16.0, 32.0, 48.0, 48.0])],
)
def test_backoff_doubles_to_the_cap_and_jitter_only_shortens(random: float, expected: list[float]) -> None:
    backoff = Backoff(WatchSettings(), lambda: random)
    assert [backoff.next_delay() for _ in range(6)] == expected
    backoff.reset()
    assert backoff.next_delay() == expected[0]


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="backoff_max_seconds"):
        WatchSettings(backoff_initial_seconds=10, backoff_max_seconds=5)
    with pytest.raises(ValueError, match="backoff_jitter"):
        WatchSettings(backoff_jitter=1.5)
    with pytest.raises(ValueError, match="inactivity_timeout_seconds"):
        WatchSettings(inactivity_timeout_seconds=0)
