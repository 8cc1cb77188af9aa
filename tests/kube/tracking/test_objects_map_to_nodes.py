"""The mapping rules, on ``ClusterObjects`` alone: a node's own object by kind/namespace/name, Pods
and ReplicaSets by the Trellis labels, Events by what they are about."""

from __future__ import annotations

from typing import Any

from app.domain.health import HealthStatus
from app.kube.tracking import NodeRef
from app.kube.tracking.state import ClusterObjects
from app.kube.watching import WatchEventType
from app.ports import NodeTarget
from tests.kube.tracking.conftest import ours

WEB = NodeRef("wf1", "web")
DEPLOYMENT = NodeTarget("apps/v1", "Deployment", "web", "shop")


def obj(
    kind: str, name: str, *, uid: str, labels: dict[str, str] | None = None, **rest: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": "1"}
    if labels:
        meta["labels"] = labels
    api_version = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1"}.get(kind, "v1")
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **rest}


def crash_looping_pod(name: str, uid: str) -> dict[str, Any]:
    waiting = {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}
    return obj(
        "Pod",
        name,
        uid=uid,
        labels=ours("wf1", "web"),
        spec={"containers": [{"name": "web", "image": "web:1"}]},
        status={
            "phase": "Running",
            "containerStatuses": [
                {"name": "web", "ready": False, "restartCount": 3, "state": {"waiting": waiting}}
            ],
        },
    )


def event(name: str, about: dict[str, Any], reason: str, *, uid: str | None = None) -> dict[str, Any]:
    meta = about["metadata"]
    involved = {"kind": about["kind"], "name": meta["name"], "namespace": "shop", "uid": uid or meta["uid"]}
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "shop", "uid": f"e-{name}"},
        "involvedObject": involved,
        "reason": reason,
        "message": f"{reason} on {meta['name']}",
        "lastTimestamp": "2026-01-15T09:00:00Z",
    }


def deployment_obj() -> dict[str, Any]:
    return obj(
        "Deployment",
        "web",
        uid="d1",
        labels=ours("wf1", "web"),
        spec={"replicas": 1},
        status={"observedGeneration": 0, "replicas": 1, "updatedReplicas": 1},
    )


def tracked() -> ClusterObjects:
    objects = ClusterObjects()
    objects.set_targets("wf1", {"web": DEPLOYMENT})
    return objects


def test_the_own_object_is_found_by_name_not_labels() -> None:
    objects = tracked()
    assert objects.health(WEB).status is HealthStatus.MISSING
    unlabelled = obj("Deployment", "web", uid="d1", spec={"replicas": 1})
    assert objects.put(unlabelled) == {WEB}
    assert objects.health(WEB).status is not HealthStatus.MISSING
    assert objects.put(obj("Deployment", "other", uid="d2", labels=ours("wf1", "web"))) == {WEB}
    assert objects.health(WEB).facts.get("pods") is None  # a labelled Deployment is no pod


def test_pods_are_found_by_their_labels_in_any_namespace() -> None:
    objects = tracked()
    objects.put(deployment_obj())
    pod = crash_looping_pod("web-1", "p1")
    pod["metadata"]["namespace"] = "elsewhere"
    assert objects.put(pod) == {WEB}
    assert objects.put(crash_looping_pod("stranger", "p2") | {"metadata": {"name": "stranger"}}) == set()
    health = objects.health(WEB)
    assert health.status is HealthStatus.DEGRADED and health.facts["pod"] == "web-1"
    assert objects.apply(WatchEventType.DELETED, pod) == {WEB}
    assert "pods" not in objects.health(WEB).facts


def test_an_event_before_its_pod_is_attached_when_the_pod_comes() -> None:
    objects = tracked()
    objects.put(deployment_obj())
    pod = crash_looping_pod("web-1", "p1")
    assert objects.put(event("web-1.1", pod, "BackOff")) == set()  # nothing known of web-1 yet
    assert objects.put(pod) == {WEB}
    assert [e["reason"] for e in objects.health(WEB).facts["events"]] == ["BackOff"]


def test_events_about_an_earlier_object_or_of_no_interest_are_left_out() -> None:
    objects = tracked()
    objects.put(deployment_obj())
    pod = crash_looping_pod("web-1", "p1")
    objects.put(pod)
    assert objects.put(event("old.1", pod, "BackOff", uid="an-earlier-web-1")) == {WEB}
    assert objects.put(event("web-1.2", pod, "Pulled")) == set()  # not a reason shown on a node
    assert len(objects) == 3  # the Deployment, the pod, the old Event (Pulled is not kept)
    assert "events" not in objects.health(WEB).facts
    replicaset = obj("ReplicaSet", "web-5d8", uid="r1", labels=ours("wf1", "web"))
    objects.put(replicaset)
    assert objects.put(event("rs.1", replicaset, "FailedCreate")) == {WEB}
    assert [e["object"] for e in objects.health(WEB).facts["events"]] == ["ReplicaSet/web-5d8"]


def test_a_resync_replaces_one_watch_and_purge_keeps_what_another_covers() -> None:
    objects = tracked()
    objects.put(deployment_obj())
    pod = crash_looping_pod("web-1", "p1")
    objects.put(pod)
    objects.put(event("web-1.1", pod, "BackOff"))
    assert objects.replace("Pod", None, []) == {WEB}
    assert objects.health(WEB).status is not HealthStatus.DEGRADED
    assert objects.replace("Pod", "shop", [pod]) == {WEB}

    objects.purge("Event", "shop", keep=[None])  # an all-namespaces Event watch still runs
    assert "events" in objects.health(WEB).facts
    objects.purge("Event", "shop", keep=["other"])
    assert "events" not in objects.health(WEB).facts


def test_nodes_of_an_untracked_workflow_are_touched_no_more() -> None:
    objects = tracked()
    objects.put(deployment_obj())
    assert objects.set_targets("wf1", {"cfg": NodeTarget("v1", "ConfigMap", "cfg", "shop")}) == {WEB}
    assert objects.put(crash_looping_pod("web-1", "p1")) == set()
    assert objects.drop("wf1") == {NodeRef("wf1", "cfg")}
    assert objects.workflows == frozenset() and objects.namespaces() == frozenset()
