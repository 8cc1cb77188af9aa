"""A workload node's health is its object's, with what its pods and their Events say folded in."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from app.domain.clusters import ClusterCredentials
from app.domain.health import HealthStatus
from app.kube.tracking import KubeLiveTracker
from tests.kube.tracking.conftest import CLUSTER, RecordingSink, ours, pod_names, target
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import deployment

HEALTHY, PROGRESSING, DEGRADED = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED


def event(
    name: str, about: dict[str, Any], reason: str, message: str, *, uid: str | None = None
) -> dict[str, Any]:
    """A core/v1 Event as the scheduler or a controller writes it."""
    meta = about["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": about["apiVersion"],
            "kind": about["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": uid or meta["uid"],
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "default-scheduler"},
    }


async def test_a_deployment_progresses_then_turns_healthy_as_its_pods_get_ready(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    kube_api.controllers.pod_state = "creating"  # the kubelet holds the new pods in ContainerCreating
    kube_api.controllers.enable()
    web = deployment("web", replicas=2, labels=ours("wf1", "web"))
    kube_api.apply(web, manager="trellis-wf1")
    await kube_api.controllers.settle()

    await tracker.track(CLUSTER, plain_credentials, "wf1", {"web": target(web)})
    progressing = await sink.wait_health("wf1", "web", PROGRESSING)
    assert progressing.facts["readyReplicas"] == 0 and len(progressing.facts["pods"]) == 2
    await sink.wait_for(lambda: ("resynced", CLUSTER, ("wf1",)) in sink.calls)
    assert sink.kinds()[:2] == ["health", "resynced"]  # the node first, whole, then the batch is done

    for name in pod_names(kube_api):
        kube_api.pods.running("default", name)
    await kube_api.controllers.settle()
    healthy = await sink.wait_health("wf1", "web", HEALTHY)
    assert healthy.facts["readyReplicas"] == 2 and healthy.facts["restarts"] == 0
    told = sink.healths("wf1", "web")
    assert told[0].status is PROGRESSING
    assert all(a != b for a, b in pairwise(told))  # only real changes


async def test_a_crash_looping_pod_degrades_its_deployment_with_the_reason(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    kube_api.controllers.enable()
    web = deployment("web", replicas=1, labels=ours("wf1", "web"))
    kube_api.apply(web, manager="trellis-wf1")
    await kube_api.controllers.settle()
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"web": target(web)})
    await sink.wait_health("wf1", "web", HEALTHY)

    [pod] = pod_names(kube_api)
    kube_api.pods.crash_loop("default", pod, restarts=5)
    degraded = await sink.wait_health("wf1", "web", DEGRADED)
    assert degraded.message.startswith("container web is crash-looping (restarted 5 times)")
    assert f"(pod {pod})" in degraded.message
    assert degraded.facts["reason"] == "CrashLoopBackOff" and degraded.facts["pod"] == pod
    assert degraded.facts["restarts"] == 5

    kube_api.pods.running("default", pod)  # it recovers
    await sink.wait_health("wf1", "web", HEALTHY)


async def test_an_image_that_cannot_be_pulled_degrades_its_deployment(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    image = "registry.example.com/shop/web:no-such-tag"
    kube_api.controllers.set_image_state(image, "image-pull-backoff")
    kube_api.controllers.enable()
    web = deployment("web", replicas=1, image=image, labels=ours("wf1", "web"))
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"web": target(web)})
    missing = await sink.wait_health("wf1", "web", HealthStatus.MISSING)
    assert missing.message == "Deployment default/web is not in the cluster"

    kube_api.apply(web, manager="trellis-wf1")
    degraded = await sink.wait_health("wf1", "web", DEGRADED)
    assert f"container web cannot pull image {image}" in degraded.message
    assert degraded.facts["reason"] == "ImagePullBackOff" and degraded.facts["image"] == image


async def test_events_about_its_pods_and_replicasets_reach_the_node(
    kube_api: KubeApiServer,
    tracker: KubeLiveTracker,
    sink: RecordingSink,
    plain_credentials: ClusterCredentials,
) -> None:
    kube_api.controllers.pod_state = "unschedulable"
    kube_api.controllers.enable()
    web = deployment("web", replicas=1, labels=ours("wf1", "web"))
    kube_api.apply(web, manager="trellis-wf1")
    await kube_api.controllers.settle()
    await tracker.track(CLUSTER, plain_credentials, "wf1", {"web": target(web)})
    waiting = await sink.wait_health("wf1", "web", PROGRESSING)
    [name] = pod_names(kube_api)
    assert f"pod {name} cannot be scheduled: 0/1 nodes are available" in waiting.message
    assert "events" not in waiting.facts

    pod = kube_api.get("Pod", "default", name)
    [replicaset] = kube_api.list("ReplicaSet", "default")
    assert pod is not None
    kube_api.create(event("web-old.1", pod, "FailedScheduling", "about an earlier pod", uid="an-older-uid"))
    kube_api.create(
        event("web-pod.1", pod, "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")
    )
    kube_api.create(event("web-pod.2", pod, "Scheduled", "not a reason shown on a node"))
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", **replicaset}
    kube_api.create(event("web-rs.1", rs, "FailedCreate", 'pods "web-x" is forbidden: exceeded quota'))
    await sink.wait_for(lambda: len((sink.latest("wf1", "web") or waiting).facts.get("events", ())) == 2)
    latest = sink.latest("wf1", "web")
    assert latest is not None and latest.status is PROGRESSING
    shown = sorted((e["reason"], e["object"], e["message"]) for e in latest.facts["events"])
    assert shown == [
        (
            "FailedCreate",
            f"ReplicaSet/{replicaset['metadata']['name']}",
            'pods "web-x" is forbidden: exceeded quota',
        ),
        ("FailedScheduling", f"Pod/{name}", "0/1 nodes are available: 1 Insufficient cpu."),
    ]
