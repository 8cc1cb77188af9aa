"""``combine``: a node's health with its pods and Events folded in, so the canvas says why a rollout is stuck.

A table of (workload, its pods, Events) from the fixtures → the node's status, a message fragment, facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.domain.health import Health, HealthStatus
from app.kube.status import assess, combine
from app.kube.status.pods_rollup import MAX_EVENTS, MAX_PODS, relevant_events
from tests.kube.status.fixtures import load

H, P, D, S, U = (
    HealthStatus.HEALTHY,
    HealthStatus.PROGRESSING,
    HealthStatus.DEGRADED,
    HealthStatus.SUSPENDED,
    HealthStatus.UNKNOWN,
)


@dataclass(frozen=True)
class Rollup:
    name: str
    workload: str
    pods: tuple[str, ...]
    events: tuple[str, ...]
    status: HealthStatus
    says: str
    facts: dict[str, Any] = field(default_factory=dict)


CASES = [
    Rollup(
        "a crash-looping pod makes a rollout degraded, the reason first",
        "deployment/rolling-out.yaml",
        ("running-ready", "crashloopbackoff"),
        ("backoff", "scheduled"),
        D,
        "container web is crash-looping (restarted 5 times): back-off 2m40s restarting failed container; "
        "it last exited with code 1 (Error) (pod web-6f7b8d9c4-q8w3e); rolling out: 1 of 3 replicas updated",
        {"reason": "CrashLoopBackOff", "container": "web", "pod": "web-6f7b8d9c4-q8w3e", "restarts": 5},
    ),
    Rollup(
        "an image that cannot be pulled, on two pods",
        "deployment/rolling-out.yaml",
        ("running-ready", "imagepullbackoff", "errimagepull"),
        (),
        D,
        "container web cannot pull image registry.example.com/shop/web:2.0.1: Back-off pulling image "
        '"registry.example.com/shop/web:2.0.1" (pod web-6f7b8d9c4-p0o9i); 1 other pod in trouble too',
        {"reason": "ImagePullBackOff"},
    ),
    Rollup(
        "ErrImagePull alone",
        "deployment/rolling-out.yaml",
        ("errimagepull",),
        (),
        D,
        "rpc error: code = NotFound",
        {"reason": "ErrImagePull"},
    ),
    Rollup(
        "an OOM-killed container that is not ready again",
        "deployment/updated-not-available.yaml",
        ("running-ready", "oomkilled"),
        (),
        D,
        "container web was killed for running out of memory (OOMKilled, limit 64Mi), restarted 1 time "
        "(pod web-7c9d8f6b5d-r4t5y); rolling out: 2 of 3 updated replicas available",
        {"reason": "OOMKilled", "restarts": 1},
    ),
    Rollup(
        "a missing ConfigMap",
        "deployment/rolling-out.yaml",
        ("createcontainerconfigerror",),
        (),
        D,
        'its configuration refers to something missing: configmap "web-config" not found',
        {"reason": "CreateContainerConfigError"},
    ),
    Rollup(
        "an init container crash-looping",
        "statefulset/pods-not-ready.yaml",
        ("init-crashloop",),
        (),
        D,
        "init container migrate is crash-looping (restarted 3 times)",
        {"reason": "CrashLoopBackOff", "container": "migrate"},
    ),
    Rollup(
        "an unschedulable pod says why, and stays progressing",
        "deployment/rolling-out.yaml",
        ("running-ready", "unschedulable"),
        ("failed-scheduling",),
        P,
        "pod web-7c9d8f6b5d-z9x8c cannot be scheduled: 0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu",
        {"reason": "Unschedulable", "pod": "web-7c9d8f6b5d-z9x8c"},
    ),
    Rollup(
        "a failing readiness probe: the latest event says so",
        "deployment/updated-not-available.yaml",
        ("running-ready", "running-not-ready"),
        ("unhealthy", "scheduled"),
        P,
        "2 of 3 updated replicas available, 2 of 3 replicas ready; latest event Unhealthy on "
        "Pod/web-7c9d8f6b5d-m7n8p: Readiness probe failed: HTTP probe failed with statuscode: 503",
    ),
    Rollup(
        "a volume that will not mount: the latest event says so",
        "deployment/updated-not-available.yaml",
        ("pending",),
        ("failed-mount",),
        P,
        'latest event FailedMount on Pod/web-7c9d8f6b5d-c3v4b: MountVolume.SetUp failed for volume "config" : '
        'configmap "web-config" not found',
    ),
    Rollup(
        "past the progress deadline, the pod's reason leads and the workload's is kept",
        "deployment/progress-deadline-exceeded.yaml",
        ("crashloopbackoff",),
        (),
        D,
        "(pod web-6f7b8d9c4-q8w3e); rollout exceeded its progress deadline of 600s",
        {"reason": "CrashLoopBackOff", "workloadReason": "ProgressDeadlineExceeded"},
    ),
    Rollup(
        "a paused rollout whose pods crash is degraded, not merely suspended",
        "deployment/paused.yaml",
        ("crashloopbackoff",),
        (),
        D,
        "crash-looping",
    ),
    Rollup(
        "a healthy workload keeps its message; old warnings stay facts",
        "deployment/available.yaml",
        ("running-ready",),
        ("backoff",),
        H,
        "3 of 3 replicas ready",
        {"restarts": 0},
    ),
    Rollup(
        "an evicted leftover pod does not darken a healthy workload",
        "deployment/available.yaml",
        ("running-ready", "evicted"),
        (),
        H,
        "3 of 3 replicas ready",
    ),
    Rollup(
        "a Job retrying after a failed pod says why it failed, and keeps running",
        "job/retrying.yaml",
        ("failed", "running-to-completion"),
        (),
        P,
        'container main failed with exit code 1: migration 0042_add_orders failed: relation "orders" already '
        "exists (pod migrate-4hq9d); running: 1 active",
        {"reason": "Error"},
    ),
    Rollup(
        "a PVC without storage class: the binder's event says the rest",
        "persistentvolumeclaim/pending-no-storage-class.yaml",
        (),
        ("failed-binding",),
        P,
        "latest event FailedBinding on PersistentVolumeClaim/uploads: no persistent volumes available for this "
        "claim and no storage class is set",
        {"reason": "NoStorageClass"},
    ),
    Rollup(
        "a PVC waiting for its first consumer",
        "persistentvolumeclaim/pending-wait-for-first-consumer.yaml",
        (),
        ("wait-for-first-consumer",),
        P,
        "latest event WaitForFirstConsumer on PersistentVolumeClaim/uploads: waiting for first consumer",
    ),
    Rollup(
        "an unknown workload status is left alone",
        "unknown/certificate.yaml",
        ("crashloopbackoff",),
        (),
        U,
        "crash-looping",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_combine(case: Rollup) -> None:
    workload = assess(load(case.workload))
    pods = [load(f"pod/{name}.yaml") for name in case.pods]
    events = [load(f"event/{name}.yaml") for name in case.events]

    health = combine(workload, pods, events)

    assert health.status is case.status, health.message
    assert case.says in health.message
    assert {key: health.facts.get(key, "<absent>") for key in case.facts} == case.facts
    json.dumps(health.facts, allow_nan=False)
    if pods:
        assert [pod["name"] for pod in health.facts["pods"]] == [pod["metadata"]["name"] for pod in pods]


def test_facts_list_the_pods_and_the_relevant_events_newest_first() -> None:
    health = combine(
        assess(load("deployment/rolling-out.yaml")),
        [load("pod/running-ready.yaml"), load("pod/crashloopbackoff.yaml")],
        [load(f"event/{name}.yaml") for name in ("failed-mount", "scheduled", "backoff", "unhealthy")],
    )
    assert health.facts["pods"] == [
        {
            "name": "web-7c9d8f6b5d-x2k4p",
            "phase": "Running",
            "ready": "1/1",
            "restarts": 0,
            "node": "worker-1",
        },
        {
            "name": "web-6f7b8d9c4-q8w3e",
            "phase": "Running",
            "ready": "0/1",
            "restarts": 5,
            "node": "worker-1",
        },
    ]
    assert [(event["reason"], event["lastSeen"], event["count"]) for event in health.facts["events"]] == [
        ("BackOff", "2026-03-04T15:10:31Z", 27),
        ("FailedMount", "2026-03-04T15:04:20Z", 4),
        ("Unhealthy", "2026-03-04T15:04:10Z", 12),
    ]
    # the workload's own facts are kept
    assert health.facts["updatedReplicas"] == 1


def test_events_of_both_apis_read_alike() -> None:
    core, modern = relevant_events([load("event/failed-scheduling.yaml"), load("event/unhealthy.yaml")])
    assert core == {
        "reason": "FailedScheduling",
        "type": "Warning",
        "message": core["message"],
        "object": "Pod/web-7c9d8f6b5d-z9x8c",
        "count": 4,
        "lastSeen": "2026-03-04T15:07:12Z",  # series.lastObservedTime, as eventTime is the first
    }
    assert modern["object"] == "Pod/web-7c9d8f6b5d-m7n8p"
    assert modern["message"] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
    assert modern["count"] == 12


def test_the_same_event_seen_twice_is_listed_once_at_its_latest() -> None:
    older, newer = load("event/backoff.yaml"), load("event/backoff.yaml")
    older["lastTimestamp"], older["count"] = "2026-03-04T15:05:00Z", 9
    assert [(line["lastSeen"], line["count"]) for line in relevant_events([newer, older])] == [
        ("2026-03-04T15:10:31Z", 27)
    ]


def test_only_the_latest_events_and_the_first_pods_are_kept() -> None:
    events = []
    for minute in range(MAX_EVENTS + 3):
        event = load("event/backoff.yaml")
        event["message"] = f"Back-off restarting failed container web, attempt {minute}"
        event["lastTimestamp"] = f"2026-03-04T15:{minute:02d}:00Z"
        events.append(event)
    pods = []
    for index in range(MAX_PODS + 2):
        pod = load("pod/running-ready.yaml")
        pod["metadata"]["name"] = f"web-7c9d8f6b5d-{index:05d}"
        pods.append(pod)

    health = combine(assess(load("deployment/available.yaml")), pods, events)

    assert [event["lastSeen"][11:16] for event in health.facts["events"]] == [
        "15:07",
        "15:06",
        "15:05",
        "15:04",
        "15:03",
    ]
    assert len(health.facts["pods"]) == MAX_PODS
    assert health.facts["podsOmitted"] == 2


def test_malformed_pods_and_events_are_skipped() -> None:
    broken_pod = load("pod/crashloopbackoff.yaml")
    broken_pod["status"]["containerStatuses"] = "CrashLoopBackOff"
    broken_event = load("event/backoff.yaml")
    broken_event["lastTimestamp"] = 12
    workload = assess(load("deployment/rolling-out.yaml"))

    health = combine(workload, [broken_pod, "pod", None, {}], [broken_event, 7, {"reason": ["BackOff"]}])

    assert health.status is P
    assert health.message == workload.message
    assert "events" not in health.facts


def test_no_pods_and_no_events_change_nothing() -> None:
    workload = Health(HealthStatus.PROGRESSING, "rolling out", {"readyReplicas": 1})
    assert combine(workload, []) == workload
