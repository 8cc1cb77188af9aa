"""Kubernetes Events are watched unfiltered; Secret values never leave; a failing sink or an unknown
kind is logged and the watch carries on."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from app.kube.watching import WatchEvent, WatchPool
from tests.kube.watching.conftest import OURS, ManualSleep, PoolFactory, RecordingSink, watch_requests
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap


def event_for(pod: str, reason: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "default", "uid": f"uid-{pod}"},
        "reason": reason,
        "message": "0/1 nodes are available",
        "type": "Warning",
    }


async def test_events_are_watched_without_a_label_selector(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(event_for("web-1", "FailedScheduling", "web-1.a"))
    await pool.ensure("v1", "Event", "default", holder="wf1")
    await sink.wait_calls(1)
    assert sink.resyncs == [("Event", "default", ["web-1.a"])]
    await kube_api.wait_for_watches(1)
    assert "labelSelector" not in watch_requests(kube_api)[0].query
    kube_api.create(event_for("web-1", "BackOff", "web-1.b"))
    await sink.wait_calls(2)
    event = sink.calls[1][1]
    assert event.obj["involvedObject"]["name"] == "web-1" and event.obj["reason"] == "BackOff"


async def test_secret_values_are_blanked_keys_kept(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default", "labels": OURS},
        "data": {"password": "aHVudGVyMg=="},
    }
    kube_api.apply(secret)
    await pool.ensure("v1", "Secret", "default", holder="wf1")
    await sink.wait_calls(1)
    assert sink.calls[0][3][0]["data"] == {"password": ""}
    await kube_api.wait_for_watches(1)
    kube_api.apply({**secret, "data": {"password": "c2VjcmV0", "user": "YWRtaW4="}})
    await sink.wait_calls(2)
    assert sink.calls[1][1].obj["data"] == {"password": "", "user": ""}
    assert "aHVudGVyMg==" not in repr(sink.calls) and "c2VjcmV0" not in repr(sink.calls)


class FailingSink(RecordingSink):
    async def on_event(self, event: WatchEvent) -> None:
        await super().on_event(event)
        if event.name == "boom":
            raise RuntimeError("the consumer has a bug")


async def test_a_failing_sink_is_logged_and_the_watch_carries_on(
    kube_api: KubeApiServer, make_pool: PoolFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FailingSink()
    pool = await make_pool(sink=sink)
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    with caplog.at_level(logging.ERROR, logger="app.kube.watching"):
        kube_api.create(configmap("boom", labels=OURS))
        kube_api.create(configmap("fine", labels=OURS))
        await sink.wait_calls(3)
    assert [e[:2] for e in sink.events] == [("ADDED", "boom"), ("ADDED", "fine")]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "the watch sink failed" in record.getMessage() and record.exc_info is not None


async def test_an_unknown_kind_is_logged_and_retried(
    kube_api: KubeApiServer,
    pool: WatchPool,
    sink: RecordingSink,
    sleep: ManualSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.kube.watching"):
        await pool.ensure("example.com/v1", "Widget", "default", holder="wf1")
        await sleep.wait_for(lambda: len(sleep.naps) >= 3)
    assert sink.calls == []  # not an outage
    assert sleep.delays("Widget")[:3] == [5.0, 10.0, 20.0]
    assert any("serves no kind 'Widget'" in r.getMessage() for r in caplog.records)


async def test_a_refusal_repeated_at_each_retry_is_warned_about_once(
    kube_api: KubeApiServer, pool: WatchPool, sleep: ManualSleep, caplog: pytest.LogCaptureFixture
) -> None:
    kube_api.forbid("list", "configmaps")
    with caplog.at_level(logging.DEBUG, logger="app.kube.watching"):
        await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
        await sleep.wait_for(lambda: len(sleep.naps) >= 4)
    refusals = [r for r in caplog.records if "forbidden" in r.getMessage()]
    assert len(refusals) >= 4
    assert [r.levelno for r in refusals[:2]] == [logging.WARNING, logging.DEBUG]
