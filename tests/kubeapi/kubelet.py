"""Pod statuses as a real kubelet reports them: running, not ready, creating, CrashLoopBackOff,
ImagePullBackOff/ErrImagePull, OOMKilled, Unschedulable, Succeeded and Failed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

NODE_NAME = "node-1"
HOST_IP = "172.18.0.2"
STATES = (
    "running",
    "not-ready",
    "creating",
    "crash-loop",
    "image-pull-backoff",
    "err-image-pull",
    "oom-killed",
    "unschedulable",
    "succeeded",
    "failed",
)
UNSCHEDULABLE_MESSAGE = (
    "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No "
    "preemption victims found for incoming pod."
)


def _ts(delta: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def full_image(image: str) -> str:
    name = image.split("@", 1)[0]
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def _condition(
    kind: str, status: bool, reason: str | None = None, message: str | None = None
) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": kind,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": _ts(),
    }
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _pod_ip(pod: dict[str, Any]) -> str:
    digest = int(_hex(pod["metadata"].get("uid", pod["metadata"]["name"]))[:4], 16)
    return f"10.244.{digest // 250 % 250}.{digest % 250 + 2}"


def _container_status(
    pod: dict[str, Any],
    container: dict[str, Any],
    state: str,
    *,
    restarts: int = 0,
    exit_code: int = 1,
    target: bool = True,
    message: str | None = None,
    restarting: bool = True,
) -> dict[str, Any]:
    name = container.get("name", "")
    image = full_image(container.get("image", ""))
    uid = pod["metadata"].get("uid", "")
    container_id = f"containerd://{_hex(uid, name, str(restarts))}"
    image_id = f"{image.rsplit(':', 1)[0]}@sha256:{_hex(image)}"
    entry: dict[str, Any] = {
        "name": name,
        "state": {},
        "lastState": {},
        "ready": False,
        "restartCount": restarts,
        "image": image,
        "imageID": image_id,
        "containerID": container_id,
        "started": False,
    }
    if not target:
        state = "running"
    started = _ts(-60)
    if state == "running":
        entry["state"] = {"running": {"startedAt": started}}
        entry["ready"] = entry["started"] = True
    elif state == "not-ready":
        entry["state"] = {"running": {"startedAt": started}}
        entry["started"] = True
    elif state == "creating":
        entry["state"] = {"waiting": {"reason": "ContainerCreating"}}
        entry["imageID"] = ""
        del entry["containerID"]
    elif state == "crash-loop":
        pod_ref = f"{pod['metadata']['name']}_{pod['metadata'].get('namespace', '')}({uid})"
        entry["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 5m0s restarting failed container={name} pod={pod_ref}",
            }
        }
        entry["lastState"] = {
            "terminated": {
                "exitCode": exit_code,
                "reason": "Error",
                "startedAt": _ts(-30),
                "finishedAt": _ts(-29),
                "containerID": container_id,
            }
        }
        entry["restartCount"] = max(restarts, 1)
    elif state in {"image-pull-backoff", "err-image-pull"}:
        if state == "image-pull-backoff":
            waiting = {
                "reason": "ImagePullBackOff",
                "message": f'Back-off pulling image "{container.get("image")}"',
            }
        else:
            waiting = {
                "reason": "ErrImagePull",
                "message": message
                or (
                    f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": {image}: '
                    "not found"
                ),
            }
        entry["state"] = {"waiting": waiting}
        entry["imageID"] = ""
        del entry["containerID"]
    elif state == "oom-killed":
        terminated = {
            "exitCode": 137,
            "reason": "OOMKilled",
            "startedAt": _ts(-30),
            "finishedAt": _ts(-29),
            "containerID": container_id,
        }
        if restarting:
            pod_ref = f"{pod['metadata']['name']}_{pod['metadata'].get('namespace', '')}({uid})"
            entry["state"] = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 10s restarting failed container={name} pod={pod_ref}",
                }
            }
            entry["lastState"] = {"terminated": terminated}
            entry["restartCount"] = max(restarts, 1)
        else:
            entry["state"] = {"terminated": terminated}
    elif state in {"succeeded", "failed"}:
        code = 0 if state == "succeeded" else exit_code
        entry["state"] = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": _ts(-5),
                "finishedAt": _ts(),
                "containerID": container_id,
            }
        }
    return entry


def pod_status(
    pod: dict[str, Any],
    state: str,
    *,
    container: str | None = None,
    restarts: int = 0,
    exit_code: int = 1,
    message: str | None = None,
    restarting: bool = True,
) -> dict[str, Any]:
    """The status a kubelet (or the scheduler, for ``unschedulable``) would write for ``state``.

    ``container`` limits the failure to one container (the others run); default: all containers.
    """
    if state not in STATES:
        raise ValueError(f"unknown pod state {state!r}; one of {STATES}")
    spec = pod.get("spec") or {}
    previous = pod.get("status") or {}
    qos = previous.get("qosClass", "BestEffort")
    if state == "unschedulable":
        return {
            "phase": "Pending",
            "conditions": [
                _condition("PodScheduled", False, "Unschedulable", message or UNSCHEDULABLE_MESSAGE)
            ],
            "qosClass": qos,
        }
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    statuses = [
        _container_status(
            pod,
            c,
            state,
            restarts=restarts,
            exit_code=exit_code,
            message=message,
            target=container in (None, c.get("name")),
            restarting=restarting,
        )
        for c in containers
    ]
    unready = [s["name"] for s in statuses if not s["ready"]]
    terminal = state in {"succeeded", "failed"} or (state == "oom-killed" and not restarting)
    if state == "creating" or (
        state in {"image-pull-backoff", "err-image-pull"}
        and not any(s["state"].get("running") for s in statuses)
    ):
        phase = "Pending"
    elif terminal:
        phase = "Succeeded" if state == "succeeded" else "Failed"
    else:
        phase = "Running"
    ip = _pod_ip(pod)
    if terminal:
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        ready_conditions = [_condition("Ready", False, reason), _condition("ContainersReady", False, reason)]
    elif unready:
        message_text = f"containers with unready status: [{' '.join(unready)}]"
        ready_conditions = [
            _condition("Ready", False, "ContainersNotReady", message_text),
            _condition("ContainersReady", False, "ContainersNotReady", message_text),
        ]
    else:
        ready_conditions = [_condition("Ready", True), _condition("ContainersReady", True)]
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            _condition("PodReadyToStartContainers", not terminal),
            _condition("Initialized", True),
            *ready_conditions,
            _condition("PodScheduled", True),
        ],
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": pod["metadata"].get("creationTimestamp") or _ts(),
        "containerStatuses": statuses,
        "qosClass": qos,
    }
    if state == "creating":
        status.pop("podIP")
        status.pop("podIPs")
    return status


def is_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in {"Succeeded", "Failed"}
