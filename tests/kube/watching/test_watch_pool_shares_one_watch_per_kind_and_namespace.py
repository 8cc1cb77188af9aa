"""One watch per (kind, namespace) however many workflows ask; it stops when the last one lets go."""

from __future__ import annotations

import asyncio

import pytest

from app.kube.watching import WatchKey, WatchPool
from tests.kube.watching.conftest import OURS, PoolFactory, RecordingSink, eventually, watch_requests
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, namespace


async def test_many_workflows_share_one_watch(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    for workflow in ("wf1", "wf2", "wf3"):
        for _ in range(2):
            await pool.ensure("v1", "ConfigMap", "default", holder=workflow)
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    assert kube_api.open_watches == 1 and len(watch_requests(kube_api)) == 1
    assert sink.kinds_of_calls() == ["resync"]
    key = WatchKey("v1", "ConfigMap", "default")
    assert pool.keys == {key} and pool.holders(key) == {"wf1", "wf2", "wf3"}

    kube_api.create(namespace("shop"))
    await pool.ensure("v1", "ConfigMap", "shop", holder="wf1")  # another namespace: another watch
    await pool.ensure("v1", "Pod", "default", holder="wf1")  # another kind: another watch
    await kube_api.wait_for_watches(3)
    assert kube_api.open_watches == 3 and len(pool.keys) == 3


async def test_cluster_scoped_kinds_have_one_watch_whatever_namespace_is_asked(
    kube_api: KubeApiServer, pool: WatchPool
) -> None:
    first = await pool.ensure("v1", "Namespace", "shop", holder="wf1")
    second = await pool.ensure("v1", "Namespace", None, holder="wf2")
    assert first == second == WatchKey("v1", "Namespace", None)
    await kube_api.wait_for_watches(1)
    assert kube_api.open_watches == 1


async def test_the_watch_stops_when_the_last_holder_releases_it(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")  # idempotent per holder
    await pool.ensure("v1", "ConfigMap", "default", holder="wf2")
    await kube_api.wait_for_watches(1)

    assert await pool.release("v1", "ConfigMap", "default", holder="wf1") is False
    assert pool.keys == {WatchKey("v1", "ConfigMap", "default")}
    assert await pool.release("v1", "ConfigMap", "default", holder="nobody") is False
    assert await pool.release("v1", "ConfigMap", "default", holder="wf2") is True
    assert pool.keys == frozenset()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("watch test:")]
    await eventually(lambda: kube_api.open_watches == 0)
    assert await pool.release("v1", "ConfigMap", "default", holder="wf2") is False

    calls = len(sink.calls)
    kube_api.create(configmap("unheard", labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf3")  # and starts afresh when asked again
    await sink.wait_calls(calls + 1)
    assert sink.resyncs[-1] == ("ConfigMap", "default", ["unheard"])


async def test_release_a_holder_everywhere(kube_api: KubeApiServer, pool: WatchPool) -> None:
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await pool.ensure("v1", "Service", "default", holder="wf1")
    await pool.ensure("v1", "Service", "default", holder="wf2")
    await kube_api.wait_for_watches(2)
    assert await pool.release_holder("wf1") == [WatchKey("v1", "ConfigMap", "default")]
    assert pool.keys == {WatchKey("v1", "Service", "default")}
    await eventually(lambda: kube_api.open_watches == 1)


async def test_close_leaves_no_tasks_and_no_streams(
    kube_api: KubeApiServer, make_pool: PoolFactory, sink: RecordingSink
) -> None:
    pool = await make_pool()
    for kind in ("ConfigMap", "Service", "Secret", "Pod"):
        await pool.ensure("v1", kind, "default", holder="wf1")
    await kube_api.wait_for_watches(4)
    before = len(sink.calls)
    await pool.close()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("watch test:")]
    assert pool.keys == frozenset()
    await eventually(lambda: kube_api.open_watches == 0)
    kube_api.create(configmap("after-close", labels=OURS))
    await asyncio.sleep(0)
    assert len(sink.calls) == before
    await pool.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        await pool.ensure("v1", "ConfigMap", "default", holder="wf1")


async def test_a_pool_as_a_context_manager(kube_api: KubeApiServer, make_pool: PoolFactory) -> None:
    async with await make_pool() as pool:
        await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
        await kube_api.wait_for_watches(1)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("watch test:")]
