"""The stand-in controllers, scheduler and kubelet: ReplicaSets, Pods and workload statuses."""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client import ApiClient

from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import deployment, pod, service

NS = "default"


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in obj["status"].get("conditions", [])}


async def test_controllers_are_off_by_default(kube_api: KubeApiServer) -> None:
    kube_api.create(deployment())
    await asyncio.sleep(0.01)
    assert kube_api.list("ReplicaSet", NS) == [] and kube_api.list("Pod", NS) == []


async def test_deployment_gets_a_replicaset_pods_and_status(kube_api: KubeApiServer) -> None:
    labels = {
        "app.kubernetes.io/managed-by": "trellis",
        "trellis.dev/workflow": "w1",
        "trellis.dev/node": "n1",
    }
    created = kube_api.create(deployment(labels=labels))
    await kube_api.controllers.reconcile()
    (rs,) = kube_api.list("ReplicaSet", NS)
    digest = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{digest}"
    assert rs["metadata"]["labels"] == {**labels, "pod-template-hash": digest}
    assert rs["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": created["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert rs["spec"]["selector"]["matchLabels"] == {**labels, "pod-template-hash": digest}
    pods = kube_api.list("Pod", NS)
    assert len(pods) == 2
    for p in pods:
        assert p["metadata"]["name"].startswith(f"web-{digest}-")
        assert p["metadata"]["labels"] == {**labels, "pod-template-hash": digest}
        assert p["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
        assert p["status"]["phase"] == "Running" and p["spec"]["nodeName"] == "node-1"
    status = kube_api.get("Deployment", NS, "web")["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    assert conditions({"status": status}) == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    rs_status = kube_api.get("ReplicaSet", NS, rs["metadata"]["name"])["status"]
    assert rs_status == {
        "replicas": 2,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "observedGeneration": 1,
    }


async def test_a_rollout_can_be_held_in_progress(kube_api: KubeApiServer) -> None:
    kube_api.controllers.pod_state = "creating"
    kube_api.create(deployment(replicas=2))
    await kube_api.controllers.reconcile()
    dep = kube_api.get("Deployment", NS, "web")
    assert dep["status"].get("readyReplicas") is None and dep["status"]["updatedReplicas"] == 2
    assert conditions(dep) == {
        "Available": ("False", "MinimumReplicasUnavailable"),
        "Progressing": ("True", "ReplicaSetUpdated"),
    }
    pods = kube_api.list("Pod", NS)
    waiting = pods[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert (pods[0]["status"]["phase"], waiting["reason"]) == ("Pending", "ContainerCreating")
    for p in pods:
        kube_api.pods.running(NS, p["metadata"]["name"])
    await kube_api.controllers.reconcile()
    assert conditions(kube_api.get("Deployment", NS, "web"))["Progressing"] == (
        "True",
        "NewReplicaSetAvailable",
    )


async def test_rolling_update_respects_surge_and_unavailability(kube_api: KubeApiServer) -> None:
    kube_api.create(deployment(replicas=4))
    await kube_api.controllers.reconcile()
    (old,) = kube_api.list("ReplicaSet", NS)
    kube_api.controllers.pod_state = "creating"
    kube_api.apply(deployment(replicas=4, image="nginx:1.27"), manager="kube-test", force=True)
    await kube_api.controllers.reconcile()
    sets = {rs["metadata"]["name"]: rs for rs in kube_api.list("ReplicaSet", NS)}
    new = next(rs for name, rs in sets.items() if name != old["metadata"]["name"])
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    old_replicas = sets[old["metadata"]["name"]]["spec"]["replicas"]
    assert old_replicas == 3 and new["spec"]["replicas"] == 2  # maxSurge 1, maxUnavailable 1 of 4
    dep = kube_api.get("Deployment", NS, "web")
    assert dep["metadata"]["generation"] == 2 and dep["status"]["observedGeneration"] == 2
    assert dep["status"]["updatedReplicas"] == 2 and dep["status"]["availableReplicas"] == 3
    assert conditions(dep)["Progressing"] == ("True", "ReplicaSetUpdated")
    kube_api.controllers.exceed_progress_deadline(NS, "web")
    await kube_api.controllers.reconcile()
    assert conditions(kube_api.get("Deployment", NS, "web"))["Progressing"] == (
        "False",
        "ProgressDeadlineExceeded",
    )
    kube_api.controllers.pod_state = "running"
    for p in kube_api.list("Pod", NS):
        if p["status"]["phase"] == "Pending":
            kube_api.pods.running(NS, p["metadata"]["name"])
    await kube_api.controllers.reconcile()
    replicas = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in kube_api.list("ReplicaSet", NS)}
    assert replicas == {old["metadata"]["name"]: 0, new["metadata"]["name"]: 4}
    images = {p["spec"]["containers"][0]["image"] for p in kube_api.list("Pod", NS)}
    assert images == {"nginx:1.27"}
    assert conditions(kube_api.get("Deployment", NS, "web"))["Progressing"] == (
        "True",
        "NewReplicaSetAvailable",
    )


async def test_automatic_mode_reaches_watchers(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.controllers.enable()
    v1, apps = client.CoreV1Api(kube_client), client.AppsV1Api(kube_client)
    rv = (await v1.list_namespaced_pod(NS)).metadata.resource_version
    await apps.create_namespaced_deployment(NS, deployment(replicas=1))
    seen: list[tuple[str, str | None]] = []
    async with watch.Watch() as w:
        async for event in w.stream(
            v1.list_namespaced_pod, NS, resource_version=rv, label_selector="app=web", timeout_seconds=5
        ):
            seen.append((event["type"], event["object"].status.phase))
            if event["object"].status.phase == "Running":
                break
    assert seen[0] == ("ADDED", "Pending") and seen[-1] == ("MODIFIED", "Running")
    await kube_api.controllers.settle()
    assert kube_api.get("Deployment", NS, "web")["status"]["readyReplicas"] == 1


async def test_statefulset_pods_in_order_with_volumes(kube_api: KubeApiServer) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": NS},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }
    kube_api.create(sts)
    await kube_api.controllers.reconcile()
    pods = kube_api.list("Pod", NS)
    assert [p["metadata"]["name"] for p in pods] == ["db-0", "db-1"]
    assert pods[1]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    pvcs = kube_api.list("PersistentVolumeClaim", NS)
    assert [(p["metadata"]["name"], p["status"]["phase"]) for p in pvcs] == [
        ("data-db-0", "Bound"),
        ("data-db-1", "Bound"),
    ]
    status = kube_api.get("StatefulSet", NS, "db")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (2, 2, 2)
    assert status["currentRevision"] == status["updateRevision"]


async def test_daemonset_runs_a_pod_per_node(kube_api: KubeApiServer) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "agent:1"}]},
            },
        },
    }
    kube_api.create(ds)
    await kube_api.controllers.reconcile()
    (p,) = kube_api.list("Pod", NS)
    assert p["spec"]["nodeName"] == "node-1"
    status = kube_api.get("DaemonSet", NS, "agent")["status"]
    assert (status["desiredNumberScheduled"], status["numberReady"], status["updatedNumberScheduled"]) == (
        1,
        1,
        1,
    )


def job(name: str, backoff: int = 6) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "backoffLimit": backoff,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox"}]}
            },
        },
    }


async def test_jobs_complete_or_fail(kube_api: KubeApiServer) -> None:
    kube_api.create(job("ok"))
    await kube_api.controllers.reconcile()
    status = kube_api.get("Job", NS, "ok")["status"]
    assert status["succeeded"] == 1 and status.get("active") is None
    assert conditions({"status": status}) == {
        "SuccessCriteriaMet": ("True", "CompletionsReached"),
        "Complete": ("True", "CompletionsReached"),
    }
    (p,) = kube_api.list("Pod", NS)
    assert p["metadata"]["labels"]["job-name"] == "ok" and p["status"]["phase"] == "Succeeded"
    kube_api.controllers.job_pod_state = "failed"
    kube_api.create(job("bad", backoff=1))
    await kube_api.controllers.reconcile()
    status = kube_api.get("Job", NS, "bad")["status"]
    assert status["failed"] == 2
    assert conditions({"status": status})["Failed"] == ("True", "BackoffLimitExceeded")


async def test_cronjob_trigger(kube_api: KubeApiServer) -> None:
    cj = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": NS},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": job("x")["spec"]}},
    }
    kube_api.create(cj)
    created = kube_api.controllers.trigger_cronjob(NS, "nightly")
    assert created["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    await kube_api.controllers.reconcile()
    status = kube_api.get("CronJob", NS, "nightly")["status"]
    assert status["lastScheduleTime"] and status["lastSuccessfulTime"]


async def test_pod_state_helpers_report_like_a_kubelet(kube_api: KubeApiServer) -> None:
    for name in ("crash", "pull", "errpull", "oom", "pending"):
        kube_api.create(pod(name, image="ghcr.io/acme/app:1"))
    crash = kube_api.pods.crash_loop(NS, "crash", restarts=4)
    state = crash["status"]["containerStatuses"][0]
    assert crash["status"]["phase"] == "Running" and state["restartCount"] == 4 and not state["ready"]
    assert state["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert state["state"]["waiting"]["message"].startswith(
        "back-off 5m0s restarting failed container=app pod=crash"
    )
    assert state["lastState"]["terminated"]["reason"] == "Error"
    assert conditions(crash)["Ready"] == ("False", "ContainersNotReady")
    pull = kube_api.pods.image_pull_backoff(NS, "pull")
    waiting = pull["status"]["containerStatuses"][0]["state"]["waiting"]
    assert pull["status"]["phase"] == "Pending"
    assert waiting == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "ghcr.io/acme/app:1"'}
    err = kube_api.pods.err_image_pull(NS, "errpull")
    assert err["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
    oom = kube_api.pods.oom_killed(NS, "oom")
    last = oom["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    final = kube_api.pods.oom_killed(NS, "oom", restarting=False)
    assert final["status"]["phase"] == "Failed"
    assert final["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == "OOMKilled"
    stuck = kube_api.pods.unschedulable(NS, "pending")
    assert "nodeName" not in stuck["spec"] and "containerStatuses" not in stuck["status"]
    assert stuck["status"]["conditions"][0]["type"] == "PodScheduled"
    assert stuck["status"]["conditions"][0]["reason"] == "Unschedulable"
    assert stuck["status"]["conditions"][0]["message"].startswith("0/1 nodes are available")


async def test_image_rules_shape_new_pods(kube_api: KubeApiServer) -> None:
    kube_api.controllers.set_image_state("nginx:broken", "image-pull-backoff")
    kube_api.create(deployment(image="nginx:broken", replicas=1))
    await kube_api.controllers.reconcile()
    (p,) = kube_api.list("Pod", NS)
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    assert conditions(kube_api.get("Deployment", NS, "web"))["Available"][0] == "False"


async def test_load_balancers_get_addresses(kube_api: KubeApiServer) -> None:
    kube_api.create(service("lb", type="LoadBalancer"))
    kube_api.create(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"rules": [{"host": "example.com"}]},
        }
    )
    await kube_api.controllers.reconcile()
    lb = kube_api.get("Service", NS, "lb")
    assert lb["status"]["loadBalancer"]["ingress"][0]["ip"] and lb["spec"]["ports"][0]["nodePort"] >= 30000
    assert kube_api.get("Ingress", NS, "web")["status"]["loadBalancer"]["ingress"]
