"""Just enough of kube-controller-manager, the scheduler and the kubelet for tests.

Deployments get ReplicaSets (pod-template-hash, ownerReferences, rolling updates honouring maxSurge and
maxUnavailable), ReplicaSets/StatefulSets/DaemonSets/Jobs get Pods, Pods get a kubelet status, and each
workload gets the status its controller would write. Off by default; ``reconcile()`` runs every controller
until nothing changes, ``enable()`` does so after every write.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .kubelet import NODE_NAME, is_ready, is_terminal, pod_status
from .objects import ObjectApi, random_suffix
from .resources import ResourceType
from .store import Event

MANAGER = "kube-controller-manager"
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
TIMESTAMP_KEYS = ("lastTransitionTime", "lastUpdateTime", "lastProbeTime", "lastHeartbeatTime")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(template: dict[str, Any], collisions: int = 0) -> str:
    """ComputeHash: fnv32a over the template, rendered with rand.SafeEncodeString."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode() + str(collisions).encode()
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in str(value).encode())


def _controller_ref(owner: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    uid = owner["metadata"]["uid"]
    return any(
        r.get("uid") == uid and r.get("controller") for r in obj["metadata"].get("ownerReferences") or []
    )


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        raw = int(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value or 0)


def _strip_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if k not in TIMESTAMP_KEYS}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def _keep_transitions(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Keep a condition's timestamps when its status (and reason/message for lastUpdateTime) is unchanged."""
    previous = {c.get("type"): c for c in old.get("conditions") or []}
    for cond in new.get("conditions") or []:
        before = previous.get(cond.get("type"))
        if before is None:
            continue
        if before.get("status") == cond.get("status"):
            for key in ("lastTransitionTime", "lastProbeTime"):
                if key in before and key in cond:
                    cond[key] = before[key]
            same_reason = (before.get("reason"), before.get("message")) == (
                cond.get("reason"),
                cond.get("message"),
            )
            if same_reason and "lastUpdateTime" in before and "lastUpdateTime" in cond:
                cond["lastUpdateTime"] = before["lastUpdateTime"]


def _drop_zeros(status: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: v for k, v in status.items() if v not in (0, None, [], {}) or k in keep}


class Controllers:
    def __init__(self, api: ObjectApi) -> None:
        self.api = api
        self.enabled = False
        self.pod_state = "running"  # the state the kubelet gives new pods
        self.job_pod_state = "succeeded"  # ... and pods of Jobs
        self.image_states: dict[str, str] = {}  # image -> state, overriding the two above
        self.bind_volumes = True
        self.assign_load_balancers = True
        self.deadline_exceeded: set[tuple[str, str]] = set()
        self._kubelet_done: dict[str, str] = {}
        self._running = False
        self._dirty = False
        self._scheduled: asyncio.Handle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's loop, set when it starts
        self._idle = asyncio.Event()
        self._idle.set()
        api.store.listeners.append(self._on_event)
        registry = api.registry
        self.rt: Callable[[str], ResourceType] = registry.lookup

    # -- scheduling ---------------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.rt.kind == "Pod" and event.type == "DELETED":
            self._kubelet_done.pop(event.obj["metadata"].get("uid", ""), None)
        if self._running:
            self._dirty = True
            return
        if self.enabled and self._scheduled is None and self.loop is not None:
            self._idle.clear()
            self._scheduled = self.loop.call_soon_threadsafe(self._auto)

    def _auto(self) -> None:
        self._scheduled = None
        try:
            self.run_to_fixpoint()
        finally:
            self._idle.set()

    async def settle(self) -> None:
        """Wait until the automatic reconciliation (``enable()``) has nothing left to do."""
        await asyncio.sleep(0)
        await self._idle.wait()

    def run_to_fixpoint(self, max_rounds: int = 50) -> None:
        if self._running:
            return
        self._running = True
        try:
            for _ in range(max_rounds):
                self._dirty = False
                self.reconcile_once()
                if not self._dirty:
                    return
            raise RuntimeError("controllers did not settle")
        finally:
            self._running = False

    def reconcile_once(self) -> None:
        for kind, fn in (
            ("Deployment", self._deployment),
            ("ReplicaSet", self._replicaset),
            ("StatefulSet", self._statefulset),
            ("DaemonSet", self._daemonset),
            ("Job", self._job),
            ("Pod", self._kubelet),
            ("PersistentVolumeClaim", self._pvc),
            ("Service", self._service),
            ("Ingress", self._ingress),
        ):
            rt = self.rt(kind)
            for obj in self.api.store.list(rt):
                current = self.api.store.get(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
                if current is not None:
                    fn(current)
        for rt_kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
            rt = self.rt(rt_kind)
            for obj in self.api.store.list(rt):
                self._status_of(rt_kind, obj)
        for obj in self.api.store.list(self.rt("CronJob")):
            self._cronjob_status(obj)

    # -- write helpers ------------------------------------------------------------------------------------

    def _set_status(
        self, rt: ResourceType, obj: dict[str, Any], status: dict[str, Any], manager: str = MANAGER
    ) -> None:
        current = obj.get("status") or {}
        _keep_transitions(current, status)
        if _strip_times(current) == _strip_times(status):
            return
        self.api.set_status(
            rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], status, manager=manager
        )

    def _update(self, rt: ResourceType, live: dict[str, Any], new: dict[str, Any]) -> None:
        self.api._update_from(rt, live, new, manager=MANAGER, subresource="", dry_run=False)

    def _pods(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        pods = self.api.store.list(self.rt("Pod"), owner["metadata"].get("namespace"))
        return [p for p in pods if _controlled_by(p, owner) and not p["metadata"].get("deletionTimestamp")]

    def _create_pod(
        self,
        owner: dict[str, Any],
        owner_rt: ResourceType,
        name: str,
        extra_labels: dict[str, str] | None = None,
        node: str | None = None,
    ) -> None:
        template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), **(extra_labels or {})}
        pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": labels,
                "ownerReferences": [_controller_ref(owner, owner_rt)],
            },
            "spec": template.get("spec") or {},
        }
        if meta.get("annotations"):
            pod["metadata"]["annotations"] = meta["annotations"]
        state = self._state_for(pod, owner_rt.kind)
        if state != "unschedulable":
            pod["spec"]["nodeName"] = node or NODE_NAME
        self.api.create(self.rt("Pod"), owner["metadata"]["namespace"], pod, manager=MANAGER)

    def _delete(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if self.api.store.get(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
            self.api.delete(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])

    # -- kubelet ------------------------------------------------------------------------------------------

    def _state_for(self, pod: dict[str, Any], owner_kind: str | None) -> str:
        for container in (pod.get("spec") or {}).get("containers") or []:
            state = self.image_states.get(container.get("image", ""))
            if state is not None:
                return state
        return self.job_pod_state if owner_kind == "Job" else self.pod_state

    def _kubelet(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        if uid in self._kubelet_done or pod["metadata"].get("deletionTimestamp"):
            return
        refs = pod["metadata"].get("ownerReferences") or []
        owner_kind = next((r.get("kind") for r in refs if r.get("controller")), None)
        if owner_kind is None:
            return  # bare pods are left to the test (kube.pods.*)
        state = self._state_for(pod, owner_kind)
        self._kubelet_done[uid] = state
        self.set_pod_state(pod, state)

    def set_pod_state(self, pod: dict[str, Any], state: str, **options: Any) -> dict[str, Any]:
        rt = self.rt("Pod")
        namespace, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        self._kubelet_done[pod["metadata"]["uid"]] = state
        if state != "unschedulable" and not (pod.get("spec") or {}).get("nodeName"):
            live = self.api.live(rt, namespace, name)
            bound = copy.deepcopy(live)
            bound["spec"]["nodeName"] = NODE_NAME
            self.api._update_from(
                rt, live, bound, manager="kube-scheduler", subresource="binding", dry_run=False
            )
            pod = self.api.live(rt, namespace, name)
        status = pod_status(pod, state, **options)
        return self.api.set_status(rt, namespace, name, status, manager="kubelet")

    # -- workloads ----------------------------------------------------------------------------------------

    def _replica_sets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        rss = self.api.store.list(self.rt("ReplicaSet"), deployment["metadata"]["namespace"])
        return [rs for rs in rss if _controlled_by(rs, deployment)]

    def _deployment(self, d: dict[str, Any]) -> None:
        if d["metadata"].get("deletionTimestamp"):
            return
        rs_rt, spec = self.rt("ReplicaSet"), d.get("spec") or {}
        template = spec.get("template") or {}
        digest = template_hash(template)
        rss = self._replica_sets(d)
        new = next(
            (rs for rs in rss if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == digest),
            None,
        )
        old = [rs for rs in rss if rs is not new]
        replicas = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        surge = _scaled(rolling.get("maxSurge", "25%"), replicas, True)
        unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        if spec.get("paused"):
            return
        if new is None:
            revisions = [
                int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0))
                for rs in rss
            ]
            labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": digest}
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {})["labels"] = labels
            total = sum(int((rs.get("spec") or {}).get("replicas", 0)) for rs in old)
            start = replicas if not old or (strategy.get("type") == "Recreate" and total == 0) else 0
            if strategy.get("type") != "Recreate" and old:
                start = max(0, min(replicas, replicas + surge - total))
            replica_set: dict[str, Any] = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{d['metadata']['name']}-{digest}",
                    "namespace": d["metadata"]["namespace"],
                    "labels": labels,
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + surge),
                        "deployment.kubernetes.io/revision": str(max(revisions, default=0) + 1),
                    },
                    "ownerReferences": [_controller_ref(d, self.rt("Deployment"))],
                },
                "spec": {"replicas": start, "selector": selector, "template": rs_template},
            }
            self.api.create(rs_rt, d["metadata"]["namespace"], replica_set, manager=MANAGER)
            return
        new_replicas = int(new["spec"].get("replicas", 0))
        if strategy.get("type") == "Recreate":
            for rs in old:
                if int(rs["spec"].get("replicas", 0)) > 0:
                    self._scale(rs, 0)
            if any(self._pods(rs) for rs in old):
                return
            if new_replicas != replicas:
                self._scale(new, replicas)
            return
        total = sum(int(rs["spec"].get("replicas", 0)) for rs in rss)
        if new_replicas < replicas:
            allowed = replicas + surge - total
            if allowed > 0:
                self._scale(new, min(replicas, new_replicas + allowed))
                return
        elif new_replicas > replicas:
            self._scale(new, replicas)
            return
        min_available = replicas - unavailable
        new_available = int((new.get("status") or {}).get("availableReplicas", 0))
        new_unavailable = max(new_replicas - new_available, 0)
        budget = total - min_available - new_unavailable
        for rs in sorted(old, key=lambda r: r["metadata"]["creationTimestamp"]):
            current = int(rs["spec"].get("replicas", 0))
            if budget <= 0 or current == 0:
                continue
            step = min(current, budget)
            self._scale(rs, current - step)
            budget -= step

    def _scale(self, rs: dict[str, Any], replicas: int) -> None:
        rt = self.rt("ReplicaSet")
        live = self.api.live(rt, rs["metadata"]["namespace"], rs["metadata"]["name"])
        new = copy.deepcopy(live)
        new["spec"]["replicas"] = replicas
        self._update(rt, live, new)

    def _replicaset(self, rs: dict[str, Any]) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            return
        pods = self._pods(rs)
        want = int((rs.get("spec") or {}).get("replicas", 1))
        for _ in range(want - len(pods)):
            self._create_pod(rs, self.rt("ReplicaSet"), f"{rs['metadata']['name']}-{random_suffix()}")
        if len(pods) > want:
            doomed = sorted(pods, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in doomed[: len(pods) - want]:
                self._delete(self.rt("Pod"), pod)

    def _statefulset(self, sts: dict[str, Any]) -> None:
        if sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts.get("spec") or {}
        name, namespace = sts["metadata"]["name"], sts["metadata"]["namespace"]
        revision = f"{name}-{template_hash(spec.get('template') or {})}"
        want = int(spec.get("replicas", 1))
        pods = {p["metadata"]["name"]: p for p in self._pods(sts)}
        parallel = spec.get("podManagementPolicy") == "Parallel"
        pvc_rt = self.rt("PersistentVolumeClaim")
        for i in range(want):
            pod_name = f"{name}-{i}"
            if pod_name in pods:
                if not parallel and not is_ready(pods[pod_name]):
                    return
                continue
            for claim in spec.get("volumeClaimTemplates") or []:
                claim_name = f"{claim['metadata']['name']}-{pod_name}"
                if self.api.store.get(pvc_rt, namespace, claim_name) is None:
                    pvc = {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {
                            "name": claim_name,
                            "namespace": namespace,
                            "labels": dict((spec.get("selector") or {}).get("matchLabels") or {}),
                        },
                        "spec": copy.deepcopy(claim.get("spec") or {}),
                    }
                    self.api.create(pvc_rt, namespace, pvc, manager=MANAGER)
            self._create_pod(
                sts,
                self.rt("StatefulSet"),
                pod_name,
                {
                    "controller-revision-hash": revision,
                    "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(i),
                },
            )
            if not parallel:
                return
        for pod_name, pod in sorted(pods.items(), reverse=True):
            if int(pod_name.rsplit("-", 1)[1]) >= want:
                self._delete(self.rt("Pod"), pod)
                return
        stale = [
            p
            for n, p in sorted(pods.items(), reverse=True)
            if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != revision
        ]
        if stale and all(is_ready(p) for p in pods.values()):
            self._delete(self.rt("Pod"), stale[0])

    def _daemonset(self, ds: dict[str, Any]) -> None:
        if ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds.get("spec") or {}
        revision = template_hash(spec.get("template") or {})
        nodes = [n["metadata"]["name"] for n in self.api.store.list(self.rt("Node"))]
        pods = self._pods(ds)
        by_node = {(p.get("spec") or {}).get("nodeName"): p for p in pods}
        for node in nodes:
            if node not in by_node:
                self._create_pod(
                    ds,
                    self.rt("DaemonSet"),
                    f"{ds['metadata']['name']}-{random_suffix()}",
                    {
                        "controller-revision-hash": revision,
                        "pod-template-generation": str(ds["metadata"].get("generation", 1)),
                    },
                    node,
                )
        stale = [
            p for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != revision
        ]
        if stale and all(is_ready(p) for p in pods):
            self._delete(self.rt("Pod"), stale[0])

    def _job(self, job: dict[str, Any]) -> None:
        spec, status = job.get("spec") or {}, job.get("status") or {}
        done = any(
            c.get("type") in {"Complete", "Failed"} and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if done or spec.get("suspend") or job["metadata"].get("deletionTimestamp"):
            return
        pods = self._pods(job)
        active = [p for p in pods if not is_terminal(p)]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        completions = spec.get("completions")
        target = completions if completions is not None else 1
        if succeeded >= target or failed > int(spec.get("backoffLimit", 6)):
            return
        want = min(int(spec.get("parallelism", 1)), target - succeeded) - len(active)
        for _ in range(max(want, 0)):
            self._create_pod(job, self.rt("Job"), f"{job['metadata']['name']}-{random_suffix()}")

    # -- statuses -----------------------------------------------------------------------------------------

    def _status_of(self, kind: str, obj: dict[str, Any]) -> None:
        rt = self.rt(kind)
        live = self.api.store.get(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if live is None:
            return
        builder = {
            "Deployment": self._deployment_status,
            "ReplicaSet": self._rs_status,
            "StatefulSet": self._sts_status,
            "DaemonSet": self._ds_status,
            "Job": self._job_status,
        }[kind]
        status = builder(live)
        if status is not None:
            self._set_status(rt, live, status)

    def _rs_status(self, rs: dict[str, Any]) -> dict[str, Any]:
        pods = self._pods(rs)
        ready = sum(1 for p in pods if is_ready(p))
        status = _drop_zeros(
            {
                "replicas": len(pods),
                "fullyLabeledReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
            },
            keep=("replicas",),
        )
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        return status

    def _deployment_status(self, d: dict[str, Any]) -> dict[str, Any] | None:
        rss = self._replica_sets(d)
        spec = d.get("spec") or {}
        digest = template_hash(spec.get("template") or {})
        new = next(
            (rs for rs in rss if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == digest),
            None,
        )
        if new is None and not spec.get("paused"):
            return None
        replicas = int(spec.get("replicas", 1))
        actual = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in rss)
        ready = sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in rss)
        available = sum(int((rs.get("status") or {}).get("availableReplicas", 0)) for rs in rss)
        updated = int((new.get("status") or {}).get("replicas", 0)) if new else 0
        desired_total = sum(int((rs.get("spec") or {}).get("replicas", 0)) for rs in rss)
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        max_unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
        if spec.get("strategy", {}).get("type") == "Recreate":
            max_unavailable = replicas
        now = _now()

        def condition(kind: str, state: str, reason: str, message: str) -> dict[str, Any]:
            return {
                "type": kind,
                "status": state,
                "lastUpdateTime": now,
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }

        if available >= replicas - max_unavailable:
            available_cond = condition(
                "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
            )
        else:
            available_cond = condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        key = (d["metadata"]["namespace"], d["metadata"]["name"])
        new_name = new["metadata"]["name"] if new else ""
        complete = updated == replicas and available == replicas and actual == replicas
        if spec.get("paused"):
            progressing = condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        elif key in self.deadline_exceeded and not complete:
            progressing = condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{new_name}" has timed out progressing.',
            )
        elif complete:
            progressing = condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{new_name}" has successfully progressed.',
            )
        else:
            progressing = condition(
                "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{new_name}" is progressing.'
            )
        status: dict[str, Any] = {"observedGeneration": d["metadata"].get("generation", 1)}
        status.update(
            _drop_zeros(
                {
                    "replicas": actual,
                    "updatedReplicas": updated,
                    "readyReplicas": ready,
                    "availableReplicas": available,
                    "unavailableReplicas": max(desired_total - available, 0),
                }
            )
        )
        status["conditions"] = [available_cond, progressing]
        return status

    def _sts_status(self, sts: dict[str, Any]) -> dict[str, Any]:
        spec = sts.get("spec") or {}
        revision = f"{sts['metadata']['name']}-{template_hash(spec.get('template') or {})}"
        pods = self._pods(sts)
        ready = sum(1 for p in pods if is_ready(p))
        updated = sum(
            1 for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision
        )
        current_revision = (sts.get("status") or {}).get("currentRevision", revision)
        if updated == len(pods) == int(spec.get("replicas", 1)):
            current_revision = revision
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods)}
        status.update(
            _drop_zeros({"readyReplicas": ready, "currentReplicas": updated, "updatedReplicas": updated})
        )
        status.update(
            {
                "currentRevision": current_revision,
                "updateRevision": revision,
                "collisionCount": 0,
                "availableReplicas": ready,
            }
        )
        return status

    def _ds_status(self, ds: dict[str, Any]) -> dict[str, Any]:
        revision = template_hash((ds.get("spec") or {}).get("template") or {})
        pods = self._pods(ds)
        nodes = len(self.api.store.list(self.rt("Node")))
        ready = sum(1 for p in pods if is_ready(p))
        updated = sum(
            1 for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision
        )
        status = {
            "currentNumberScheduled": len(pods),
            "numberMisscheduled": 0,
            "desiredNumberScheduled": nodes,
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        status.update(
            _drop_zeros(
                {
                    "updatedNumberScheduled": updated,
                    "numberAvailable": ready,
                    "numberUnavailable": max(nodes - ready, 0),
                }
            )
        )
        return status

    def _job_status(self, job: dict[str, Any]) -> dict[str, Any]:
        spec, previous = job.get("spec") or {}, job.get("status") or {}
        pods = self._pods(job)
        active = [p for p in pods if not is_terminal(p)]
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        now = _now()
        status: dict[str, Any] = {}
        conditions = [c for c in previous.get("conditions") or []]
        if spec.get("suspend"):
            if not any(c.get("type") == "Suspended" for c in conditions):
                conditions.append(
                    {
                        "type": "Suspended",
                        "status": "True",
                        "lastProbeTime": now,
                        "lastTransitionTime": now,
                        "reason": "JobSuspended",
                        "message": "Job suspended",
                    }
                )
        else:
            status["startTime"] = previous.get("startTime", now)
        target = int(spec["completions"]) if spec.get("completions") is not None else 1
        finished = any(c.get("type") in {"Complete", "Failed"} for c in conditions)
        if not finished and succeeded >= target:
            for kind in ("SuccessCriteriaMet", "Complete"):
                conditions.append(
                    {
                        "type": kind,
                        "status": "True",
                        "lastProbeTime": now,
                        "lastTransitionTime": now,
                        "reason": "CompletionsReached",
                        "message": "Reached expected number of succeeded pods",
                    }
                )
            status["completionTime"] = now
        elif not finished and failed > int(spec.get("backoffLimit", 6)):
            for kind in ("FailureTarget", "Failed"):
                conditions.append(
                    {
                        "type": kind,
                        "status": "True",
                        "lastProbeTime": now,
                        "lastTransitionTime": now,
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                    }
                )
        if previous.get("completionTime"):
            status["completionTime"] = previous["completionTime"]
        if conditions:
            status["conditions"] = conditions
        status.update(_drop_zeros({"active": len(active), "succeeded": succeeded, "failed": failed}))
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        return status

    def _cronjob_status(self, cj: dict[str, Any]) -> None:
        rt, job_rt = self.rt("CronJob"), self.rt("Job")
        jobs = [j for j in self.api.store.list(job_rt, cj["metadata"]["namespace"]) if _controlled_by(j, cj)]
        previous = cj.get("status") or {}
        active = []
        status = {k: v for k, v in previous.items() if k != "active"}
        for job in jobs:
            conds = {
                c.get("type")
                for c in (job.get("status") or {}).get("conditions") or []
                if c.get("status") == "True"
            }
            if "Complete" in conds:
                status["lastSuccessfulTime"] = (job.get("status") or {}).get("completionTime")
            elif "Failed" not in conds:
                active.append(
                    {
                        "kind": "Job",
                        "namespace": job["metadata"]["namespace"],
                        "name": job["metadata"]["name"],
                        "uid": job["metadata"]["uid"],
                        "apiVersion": "batch/v1",
                        "resourceVersion": job["metadata"]["resourceVersion"],
                    }
                )
        if active:
            status = {"active": active, **status}
        if status != previous:
            self.api.set_status(
                rt, cj["metadata"]["namespace"], cj["metadata"]["name"], status, manager=MANAGER
            )

    def trigger_cronjob(self, namespace: str, name: str) -> dict[str, Any]:
        """What the CronJob controller does when the schedule fires."""
        cj = self.api.live(self.rt("CronJob"), namespace, name)
        template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
        scheduled = datetime.now(UTC)
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{name}-{int(scheduled.timestamp() // 60)}",
                "namespace": namespace,
                "labels": (template.get("metadata") or {}).get("labels") or {},
                "annotations": {
                    "batch.kubernetes.io/cronjob-scheduled-timestamp": scheduled.strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    )
                },
                "ownerReferences": [_controller_ref(cj, self.rt("CronJob"))],
            },
            "spec": template.get("spec") or {},
        }
        created = self.api.create(self.rt("Job"), namespace, job, manager=MANAGER)
        status = dict(cj.get("status") or {})
        status["lastScheduleTime"] = scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.api.set_status(self.rt("CronJob"), namespace, name, status, manager=MANAGER)
        return created

    def _pvc(self, pvc: dict[str, Any]) -> None:
        if not self.bind_volumes or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        rt = self.rt("PersistentVolumeClaim")
        live = copy.deepcopy(pvc)
        live["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
        annotations = live["metadata"].setdefault("annotations", {})
        annotations.update(
            {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
        )
        self._update(rt, pvc, live)
        request = ((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}
        self.api.set_status(
            rt,
            pvc["metadata"]["namespace"],
            pvc["metadata"]["name"],
            {
                "phase": "Bound",
                "accessModes": (pvc.get("spec") or {}).get("accessModes") or [],
                "capacity": {"storage": request.get("storage", "1Gi")},
            },
            manager=MANAGER,
        )

    def _service(self, svc: dict[str, Any]) -> None:
        if not self.assign_load_balancers or (svc.get("spec") or {}).get("type") != "LoadBalancer":
            return
        if ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return
        self.api.set_status(
            self.rt("Service"),
            svc["metadata"]["namespace"],
            svc["metadata"]["name"],
            {"loadBalancer": {"ingress": [{"ip": "172.18.255.200", "ipMode": "VIP"}]}},
            manager="cloud-controller-manager",
        )

    def _ingress(self, ing: dict[str, Any]) -> None:
        if not self.assign_load_balancers or ((ing.get("status") or {}).get("loadBalancer") or {}).get(
            "ingress"
        ):
            return
        self.api.set_status(
            self.rt("Ingress"),
            ing["metadata"]["namespace"],
            ing["metadata"]["name"],
            {"loadBalancer": {"ingress": [{"ip": "172.18.255.201"}]}},
            manager="ingress-controller",
        )
