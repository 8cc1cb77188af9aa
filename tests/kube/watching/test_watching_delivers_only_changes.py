"""Only real changes reach the sink: a no-op apply delivers nothing, a status change does."""

from __future__ import annotations

from app.kube.watching import WatchPool
from tests.kube.watching.conftest import OURS, RecordingSink
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import configmap, deployment


async def test_a_no_op_apply_delivers_nothing(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    manifest = configmap("a", data={"k": "v"}, labels=OURS)
    kube_api.apply(manifest, manager="trellis-wf1")
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)

    before = kube_api.resource_version
    kube_api.apply(manifest, manager="trellis-wf1")  # the same again: nothing changes
    assert kube_api.resource_version == before
    kube_api.create(configmap("marker", labels=OURS))  # something that does change, to know we are past it
    await sink.wait_calls(2)
    assert sink.events == [("ADDED", "marker", str(before + 1))]


async def test_status_changes_are_delivered(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(deployment("web", labels=OURS))
    await pool.ensure("apps/v1", "Deployment", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    kube_api.set_status("Deployment", "default", "web", {"replicas": 2, "readyReplicas": 1})
    await sink.wait_calls(2)
    event = sink.calls[1][1]
    assert (event.type.value, event.kind, event.obj["status"]["readyReplicas"]) == (
        "MODIFIED",
        "Deployment",
        1,
    )


async def test_a_label_change_out_of_the_selection_is_a_deletion(
    kube_api: KubeApiServer, pool: WatchPool, sink: RecordingSink
) -> None:
    kube_api.create(configmap("a", labels=OURS))
    await pool.ensure("v1", "ConfigMap", "default", holder="wf1")
    await sink.wait_calls(1)
    await kube_api.wait_for_watches(1)
    current = kube_api.get("ConfigMap", "default", "a")
    assert current is not None
    current["metadata"]["labels"] = {"app": "someone-else"}
    kube_api.update(current)
    await sink.wait_calls(2)
    assert [e[:2] for e in sink.events] == [("DELETED", "a")]
