"""Every fixture, assessed: the status Argo CD's rules give, a message a person can act on, the facts behind it.

One row per file under tests/fixtures/kube/<kind>/<state>.yaml (events are the roll-up's); a fixture
without a row fails, so a new state cannot go untested.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.domain.health import HealthStatus
from app.kube.status import assess
from tests.kube.status.fixtures import every_fixture, load

H, P, D, S, U = (
    HealthStatus.HEALTHY,
    HealthStatus.PROGRESSING,
    HealthStatus.DEGRADED,
    HealthStatus.SUSPENDED,
    HealthStatus.UNKNOWN,
)


@dataclass(frozen=True)
class Case:
    fixture: str
    status: HealthStatus
    says: str
    facts: dict[str, Any] = field(default_factory=dict)


CASES = [
    # Deployment
    Case("deployment/available.yaml", H, "3 of 3 replicas ready", {"readyReplicas": 3, "desiredReplicas": 3}),
    Case(
        "deployment/rolling-out.yaml",
        P,
        "rolling out: 1 of 3 replicas updated, 3 of 3 replicas ready",
        {"updatedReplicas": 1, "replicas": 4},
    ),
    Case("deployment/old-replicas-terminating.yaml", P, "1 old replica pending termination", {"replicas": 4}),
    Case(
        "deployment/updated-not-available.yaml",
        P,
        "2 of 3 updated replicas available",
        {"availableReplicas": 2},
    ),
    Case(
        "deployment/generation-not-observed.yaml",
        P,
        "waiting for the rollout to be observed (generation 4, observed 3)",
        {"generation": 4, "observedGeneration": 3},
    ),
    Case(
        "deployment/just-created.yaml", P, "waiting for the rollout to be observed", {"observedGeneration": 0}
    ),
    Case(
        "deployment/progress-deadline-exceeded.yaml",
        D,
        'exceeded its progress deadline of 600s: ReplicaSet "web-6f7b8d9c4" has timed out progressing',
        {"reason": "ProgressDeadlineExceeded"},
    ),
    Case("deployment/paused.yaml", S, "rollout paused; 3 of 3 replicas ready"),
    Case(
        "deployment/scaled-to-zero.yaml",
        H,
        "scaled to 0 replicas",
        {"desiredReplicas": 0, "readyReplicas": 0},
    ),
    Case(
        "deployment/quota-exceeded.yaml",
        P,
        'cannot create pods: pods "web-7c9d8f6b5d-8kq2m" is forbidden: exceeded quota',
        {"reason": "FailedCreate"},
    ),
    # StatefulSet
    Case("statefulset/ready.yaml", H, "3 of 3 replicas ready", {"readyReplicas": 3}),
    Case("statefulset/pods-not-ready.yaml", P, "1 of 3 replicas ready"),
    Case(
        "statefulset/rolling-update.yaml",
        P,
        "rolling update: 1 of 3 pods at revision db-7f9c6d5b8",
        {"updateRevision": "db-7f9c6d5b8", "updatedReplicas": 1},
    ),
    Case(
        "statefulset/partitioned-rollout.yaml",
        P,
        "partitioned rollout: 1 of 2 pods from ordinal 1 up updated",
        {"partition": 1},
    ),
    Case(
        "statefulset/partitioned-done.yaml", H, "2 held at the old revision by partition 2", {"partition": 2}
    ),
    Case(
        "statefulset/ondelete.yaml",
        H,
        "OnDelete: 0 of 3 pods updated",
        {"updateStrategy": "OnDelete", "updatedReplicas": 0},
    ),
    Case("statefulset/not-observed.yaml", P, "waiting for the rollout to be observed"),
    # DaemonSet
    Case("daemonset/ready.yaml", H, "3 of 3 pods ready", {"desiredNumberScheduled": 3, "numberReady": 3}),
    Case("daemonset/rolling-out.yaml", P, "1 of 3 pods updated", {"updatedNumberScheduled": 1}),
    Case("daemonset/updated-not-available.yaml", P, "2 of 3 updated pods available", {"numberAvailable": 2}),
    Case("daemonset/ondelete.yaml", H, "OnDelete: 1 of 3 pods updated", {"updateStrategy": "OnDelete"}),
    Case("daemonset/not-observed.yaml", P, "waiting for the rollout to be observed"),
    Case("daemonset/no-matching-node.yaml", H, "no node matches", {"desiredNumberScheduled": 0}),
    # ReplicaSet
    Case("replicaset/ready.yaml", H, "3 of 3 replicas ready", {"availableReplicas": 3}),
    Case("replicaset/not-available.yaml", P, "1 of 3 replicas available"),
    Case("replicaset/replica-failure.yaml", D, "cannot create pods: pods", {"reason": "FailedCreate"}),
    Case("replicaset/not-observed.yaml", P, "waiting for the rollout to be observed"),
    # Pod
    Case("pod/pending.yaml", P, "scheduled; starting containers (ContainerCreating)", {"phase": "Pending"}),
    Case(
        "pod/unschedulable.yaml",
        P,
        "cannot be scheduled: 0/3 nodes are available: 1 node(s) had untolerated taint",
        {"reason": "Unschedulable", "node": None},
    ),
    Case(
        "pod/running-ready.yaml",
        H,
        "running, 1 of 1 containers ready",
        {"phase": "Running", "readyContainers": 1, "restarts": 0},
    ),
    Case(
        "pod/running-not-ready.yaml",
        P,
        "running, 0 of 1 containers ready (not ready: web)",
        {"readyContainers": 0},
    ),
    Case(
        "pod/running-recovered-from-oom.yaml",
        H,
        "killed for running out of memory (OOMKilled, limit 128Mi), restarted 2 times",
        {"lastTerminationReason": "OOMKilled", "restarts": 2},
    ),
    Case("pod/running-to-completion.yaml", P, "running until it completes"),
    Case("pod/succeeded.yaml", H, "completed in 12s", {"phase": "Succeeded"}),
    Case(
        "pod/failed.yaml",
        D,
        'container main failed with exit code 1: migration 0042_add_orders failed: relation "orders" already exists',
        {"reason": "Error", "container": "main"},
    ),
    Case(
        "pod/evicted.yaml",
        D,
        "failed (Evicted): The node was low on resource: memory.",
        {"reason": "Evicted"},
    ),
    Case(
        "pod/crashloopbackoff.yaml",
        D,
        "container web is crash-looping (restarted 5 times): back-off 2m40s restarting failed container; "
        "it last exited with code 1 (Error)",
        {
            "reason": "CrashLoopBackOff",
            "container": "web",
            "restarts": 5,
            "detail": "back-off 2m40s restarting failed container=web "
            "pod=web-6f7b8d9c4-q8w3e_shop(2c7d9e1f-0a3b-4c5d-8e6f-7a8b9c0d1e2f)",
        },
    ),
    Case(
        "pod/imagepullbackoff.yaml",
        D,
        'container web cannot pull image registry.example.com/shop/web:2.0.1: Back-off pulling image "',
        {"reason": "ImagePullBackOff", "image": "registry.example.com/shop/web:2.0.1"},
    ),
    Case(
        "pod/errimagepull.yaml",
        D,
        "cannot pull image registry.example.com/shop/web:2.0.1: rpc error: code = NotFound",
        {"reason": "ErrImagePull"},
    ),
    Case(
        "pod/oomkilled.yaml",
        D,
        "container web was killed for running out of memory (OOMKilled, limit 64Mi), restarted 1 time",
        {"reason": "OOMKilled", "container": "web", "restarts": 1, "memoryLimit": "64Mi"},
    ),
    Case(
        "pod/createcontainerconfigerror.yaml",
        D,
        'container web cannot be created, its configuration refers to something missing: configmap "web-config" not found',
        {"reason": "CreateContainerConfigError", "detail": 'configmap "web-config" not found'},
    ),
    Case(
        "pod/init-crashloop.yaml",
        D,
        "init container migrate is crash-looping (restarted 3 times)",
        {"reason": "CrashLoopBackOff", "container": "migrate"},
    ),
    Case(
        "pod/deleting.yaml",
        P,
        "being deleted (grace period 30s)",
        {"deleting": True, "deletionTimestamp": "2026-03-04T16:10:42Z", "phase": "Running"},
    ),
    # Job
    Case("job/running.yaml", P, "running: 1 active, 0 of 1 completions", {"active": 1, "completions": 1}),
    Case("job/retrying.yaml", P, "2 failed attempts (backoff limit 2)", {"failed": 2, "backoffLimit": 2}),
    Case(
        "job/complete.yaml",
        H,
        "completed: 1 of 1 completions in 14s",
        {"succeeded": 1, "completionTime": "2026-03-04T15:02:24Z"},
    ),
    Case(
        "job/backoff-limit-exceeded.yaml",
        D,
        "failed: its pods failed 3 times, exceeding its backoff limit of 2",
        {"reason": "BackoffLimitExceeded", "failed": 3},
    ),
    Case(
        "job/deadline-exceeded.yaml",
        D,
        "failed: it ran longer than its active deadline of 60s",
        {"reason": "DeadlineExceeded"},
    ),
    Case("job/suspended.yaml", S, "suspended; 0 of 1 completions"),
    Case("job/resumed.yaml", P, "running: 1 active"),  # Argo CD says Healthy here: see jobs.py
    # CronJob
    Case(
        "cronjob/suspended.yaml", S, "suspended: no new runs start (schedule '0 2 * * *')", {"suspend": True}
    ),
    Case(
        "cronjob/last-run-succeeded.yaml",
        H,
        "the last run succeeded at 2026-03-04T02:01:09Z",
        {"lastSuccessfulTime": "2026-03-04T02:01:09Z"},
    ),
    Case(
        "cronjob/last-run-failed.yaml",
        D,
        "the last run, scheduled at 2026-03-04T02:00:00Z, did not succeed; the last success was at 2026-03-03",
        {"reason": "LastRunFailed"},
    ),
    Case(
        "cronjob/first-run-failed.yaml",
        D,
        "its first run, scheduled at 2026-03-02T02:00:00Z, did not succeed",
    ),
    Case(
        "cronjob/running.yaml", H, "a run started at 2026-03-05T02:00:00Z is in progress", {"activeJobs": 1}
    ),
    Case("cronjob/not-run-yet.yaml", H, "not run yet (schedule '0 2 * * *')", {"lastScheduleTime": None}),
    # Service
    Case(
        "service/clusterip.yaml",
        H,
        "ClusterIP 10.96.41.7 on 80/TCP",
        {"type": "ClusterIP", "ports": ["80/TCP"]},
    ),
    Case(
        "service/loadbalancer-pending.yaml",
        P,
        "waiting for an external address",
        {"type": "LoadBalancer", "externalAddresses": []},
    ),
    Case(
        "service/loadbalancer-ip.yaml",
        H,
        "load balancer at 203.0.113.10",
        {"externalAddresses": ["203.0.113.10"]},
    ),
    Case("service/loadbalancer-hostname.yaml", H, "load balancer at a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6-"),
    Case("service/nodeport.yaml", H, "NodePort 10.96.12.140 on 80/TCP (node port 30080)"),
    Case("service/headless.yaml", H, "headless on 5432/TCP", {"clusterIP": "None"}),
    Case("service/externalname.yaml", H, "alias for api.payments.example.com", {"type": "ExternalName"}),
    # Ingress (Argo CD: healthy once the controller publishes an address, progressing until then)
    Case(
        "ingress/with-address.yaml",
        H,
        "served at 203.0.113.20 for shop.example.com",
        {"hosts": ["shop.example.com"], "addresses": ["203.0.113.20"]},
    ),
    Case("ingress/with-hostname.yaml", H, "served at k8s-shop-shop-0a1b2c3d4e-"),
    Case(
        "ingress/without-address.yaml",
        P,
        "waiting for the nginx ingress controller to publish an address",
        {"ingressClassName": "nginx", "addresses": []},
    ),
    # PersistentVolumeClaim
    Case(
        "persistentvolumeclaim/bound.yaml",
        H,
        "bound to volume pvc-4c3b2a19-0f8e-47d6-a5b4-c3d2e1f0a9b8 (5Gi)",
        {"phase": "Bound", "capacity": "5Gi", "storageClassName": "local-path"},
    ),
    Case(
        "persistentvolumeclaim/pending-no-storage-class.yaml",
        P,
        "no storage class is set",
        {"reason": "NoStorageClass", "storageClassName": None, "requested": "5Gi"},
    ),
    Case(
        "persistentvolumeclaim/pending-static.yaml",
        P,
        "storageClassName is empty: waiting for a PersistentVolume that matches the claim",
        {"reason": "StaticBinding"},
    ),
    Case(
        "persistentvolumeclaim/pending-provisioning.yaml",
        P,
        "waiting for ebs.csi.aws.com to provision a volume of class gp3 on node ip-10-0-1-12",
        {"provisioner": "ebs.csi.aws.com"},
    ),
    Case(
        "persistentvolumeclaim/pending-wait-for-first-consumer.yaml",
        P,
        "waiting for a volume of class local-path (bound when a pod first uses it",
    ),
    Case(
        "persistentvolumeclaim/lost.yaml",
        D,
        "lost: pvc-4c3b2a19-0f8e-47d6-a5b4-c3d2e1f0a9b8 no longer exists",
    ),
    Case(
        "persistentvolumeclaim/resize-pending.yaml",
        H,
        "the file system grows when a pod next mounts it",
        {"requested": "10Gi", "capacity": "5Gi"},
    ),
    # HorizontalPodAutoscaler
    Case(
        "horizontalpodautoscaler/healthy.yaml",
        H,
        "3 replicas (min 2, max 10); cpu 45% (target 70%)",
        {
            "currentReplicas": 3,
            "desiredReplicas": 3,
            "metrics": ["cpu 45% (target 70%)"],
            "target": "Deployment/web",
        },
    ),
    Case(
        "horizontalpodautoscaler/scaling-limited.yaml",
        H,
        "held at its limit (TooManyReplicas): the desired replica count is more than the maximum replica count",
        {"reason": "TooManyReplicas", "maxReplicas": 4},
    ),
    Case(
        "horizontalpodautoscaler/failed-get-scale.yaml",
        D,
        'cannot scale Deployment/web (FailedGetScale): the HPA controller was unable to get the target\'s current scale: deployments/scale.apps "web" not found',
        {"reason": "FailedGetScale"},
    ),
    Case(
        "horizontalpodautoscaler/failed-get-metrics.yaml",
        D,
        "cannot compute a replica count (FailedGetResourceMetric): the HPA was unable to compute the replica count",
        {"reason": "FailedGetResourceMetric", "metrics": []},
    ),
    Case(
        "horizontalpodautoscaler/scaling-disabled.yaml", H, "scaling disabled: Deployment/web has 0 replicas"
    ),
    Case("horizontalpodautoscaler/just-created.yaml", P, "waiting to autoscale"),
    Case("horizontalpodautoscaler/v1-healthy.yaml", H, "3 replicas (min 2, max 10); cpu 45% (target 70%)"),
    # Kinds with nothing to wait for
    Case("configmap/present.yaml", H, "holds 2 keys", {"keys": ["LOG_LEVEL", "nginx.conf"]}),
    Case("secret/present.yaml", H, "Opaque secret with 2 keys", {"keys": ["DATABASE_URL", "SESSION_KEY"]}),
    Case(
        "networkpolicy/present.yaml",
        H,
        "in force (Ingress) for pods with trellis.dev/node=n-db, trellis.dev/workflow=wf-shop",
        {"policyTypes": ["Ingress"]},
    ),
    Case("namespace/active.yaml", H, "active", {"phase": "Active"}),
    Case(
        "namespace/terminating.yaml",
        P,
        "being deleted: waiting for its content to go: Some resources are remaining: persistentvolumeclaims.",
        {"phase": "Terminating", "deleting": True},
    ),
    # Kinds without a check
    Case(
        "unknown/certificate.yaml",
        U,
        "Trellis has no health check for Certificate (cert-manager.io/v1)",
        {"kind": "Certificate", "apiVersion": "cert-manager.io/v1"},
    ),
    Case("unknown/serviceaccount.yaml", U, "no health check for ServiceAccount (v1)"),
]


def test_every_fixture_has_a_row() -> None:
    assert sorted(case.fixture for case in CASES) == every_fixture()


@pytest.mark.parametrize("case", CASES, ids=[case.fixture.removesuffix(".yaml") for case in CASES])
def test_assess(case: Case) -> None:
    obj = load(case.fixture)
    before = json.dumps(obj, sort_keys=True)

    health = assess(obj)

    assert health.status is case.status, health.message
    assert case.says in health.message
    assert {key: health.facts.get(key, "<absent>") for key in case.facts} == case.facts
    json.dumps(health.facts, allow_nan=False)  # JSON-safe, as the event bus and GraphQL need
    assert json.dumps(obj, sort_keys=True) == before  # pure: the object is left as it was


def test_a_secret_value_never_reaches_the_health() -> None:
    secret = load("secret/present.yaml")
    said = json.dumps([assess(secret).message, assess(secret).facts])
    for value in secret["data"].values():
        assert value not in said
    assert "hunter2" not in said
