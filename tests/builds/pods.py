"""Driving a build's pod on the Kubernetes API test server through its phases, as a kubelet reports them:
the ``clone`` init container running or failing, the ``dockerfile`` one, then ``buildkit`` running and
ending (with the digest as its termination message, or an error), and the containers' logs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from app.domain.build_jobs import build_selector, job_name

NAMESPACE = "trellis-builds"
DIGEST = "sha256:" + "ab12" * 16
INIT = ("clone", "dockerfile")


def _ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, ok: bool, reason: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": _ts(),
    }
    if reason:
        condition["reason"] = reason
    return condition


def _status(
    name: str, image: str, state: str, *, code: int = 0, message: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "image": image,
        "imageID": f"{image}@sha256:{'0' * 64}",
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "started": state == "running",
    }
    if state == "waiting":
        entry["state"] = {"waiting": {"reason": "PodInitializing"}}
        entry["imageID"] = ""
    elif state == "running":
        entry["state"] = {"running": {"startedAt": _ts()}}
        entry["containerID"] = f"containerd://{name}"
    else:
        terminated: dict[str, Any] = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": _ts(),
            "finishedAt": _ts(),
            "containerID": f"containerd://{name}",
        }
        if message is not None:
            terminated["message"] = message
        entry["state"] = {"terminated": terminated}
        entry["containerID"] = f"containerd://{name}"
    return entry


class BuildPod:
    """The pod of one build's Job; each method writes the whole status a kubelet would."""

    def __init__(self, kube_api: Any, pod: dict[str, Any]) -> None:
        self.kube_api = kube_api
        self.name: str = pod["metadata"]["name"]
        spec = pod["spec"]
        self.images = {c["name"]: c["image"] for c in [*spec["initContainers"], *spec["containers"]]}

    @classmethod
    async def of(cls, kube_api: Any, build_id: str, *, attempts: int = 500) -> BuildPod:
        """Wait for the Job's pod (the test server's Job controller makes it)."""
        for _ in range(attempts):
            if kube_api.get("Job", NAMESPACE, job_name(build_id)) is not None:
                await kube_api.controllers.reconcile()
                pods = kube_api.list("Pod", NAMESPACE, labels=build_selector(build_id))
                if pods:
                    return cls(kube_api, pods[0])
            await asyncio.sleep(0.02)
        raise AssertionError(f"build {build_id} got no pod")

    def _write(self, states: dict[str, tuple[str, int, str | None]], phase: str) -> None:
        initialized = all(states[name][0] == "terminated" and states[name][1] == 0 for name in INIT)
        status = {
            "phase": phase,
            "conditions": [
                _condition("PodReadyToStartContainers", True),
                _condition("Initialized", initialized, None if initialized else "ContainersNotInitialized"),
                _condition("Ready", False, "ContainersNotReady"),
                _condition("ContainersReady", False, "ContainersNotReady"),
                _condition("PodScheduled", True),
            ],
            "hostIP": "172.18.0.2",
            "podIP": "10.244.0.9",
            "startTime": _ts(),
            "qosClass": "Burstable",
            "initContainerStatuses": [
                _status(
                    name, self.images[name], states[name][0], code=states[name][1], message=states[name][2]
                )
                for name in INIT
            ],
            "containerStatuses": [
                _status(
                    "buildkit",
                    self.images["buildkit"],
                    states["buildkit"][0],
                    code=states["buildkit"][1],
                    message=states["buildkit"][2],
                )
            ],
        }
        self.kube_api.set_status("Pod", NAMESPACE, self.name, status, manager="kubelet")

    def log(self, container: str, *lines: str) -> None:
        for line in lines:
            self.kube_api.append_log(NAMESPACE, self.name, container, line)

    def end_log(self, container: str) -> None:
        self.kube_api.end_log(NAMESPACE, self.name, container)

    # --- the phases -----------------------------------------------------------------------------------

    def clone_running(self) -> None:
        waiting = ("waiting", 0, None)
        self._write({"clone": ("running", 0, None), "dockerfile": waiting, "buildkit": waiting}, "Pending")

    def clone_failed(self, code: int = 128) -> None:
        waiting = ("waiting", 0, None)
        self.end_log("clone")
        self._write(
            {"clone": ("terminated", code, None), "dockerfile": waiting, "buildkit": waiting}, "Failed"
        )

    def dockerfile_running(self) -> None:
        self.end_log("clone")
        self._write(
            {
                "clone": ("terminated", 0, None),
                "dockerfile": ("running", 0, None),
                "buildkit": ("waiting", 0, None),
            },
            "Pending",
        )

    def buildkit_running(self) -> None:
        self.end_log("clone")
        self.end_log("dockerfile")
        done = ("terminated", 0, None)
        self._write({"clone": done, "dockerfile": done, "buildkit": ("running", 0, None)}, "Running")

    def buildkit_ended(self, code: int = 0, message: str | None = DIGEST) -> None:
        self.end_log("buildkit")
        done = ("terminated", 0, None)
        self._write(
            {"clone": done, "dockerfile": done, "buildkit": ("terminated", code, message)},
            "Succeeded" if code == 0 else "Failed",
        )
