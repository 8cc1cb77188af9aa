"""Driving a Function attempt's pod on the Kubernetes API test server, as the kubelet and the Job
controller report it: running, logging, ending with the runner's envelope as the termination message (an
output, a posted output, an error), exiting without one, killed for memory, stopped by the Job's deadline,
or never starting because its image cannot be pulled.

The test server's Job controller makes the pod; tests set ``kube_api.controllers.job_pod_state`` to
``"creating"`` (or ``"running"``) first so it does not succeed by itself.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from app.domain.flows.function_jobs import CONTAINER, attempt_name, attempt_selector
from tests.kubeapi.kubelet import pod_status


def _ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StepPod:
    """The pod of one attempt's Job; each state method writes the whole status the kubelet would."""

    def __init__(self, kube_api: Any, pod: dict[str, Any]) -> None:
        self.kube_api = kube_api
        self.name: str = pod["metadata"]["name"]
        self.namespace: str = pod["metadata"]["namespace"]
        self.job: str = next(
            ref["name"] for ref in pod["metadata"]["ownerReferences"] if ref.get("kind") == "Job"
        )

    @classmethod
    async def of(cls, kube_api: Any, run_id: str, node_id: str, attempt: int, *, tries: int = 500) -> StepPod:
        """Wait for the attempt's pod (its Job made by the executor, its pod by the Job controller)."""
        selector = attempt_selector(run_id, node_id, attempt)
        name = attempt_name(run_id, node_id, attempt)
        for _ in range(tries):
            if any(job["metadata"]["name"] == name for job in kube_api.list("Job", None, labels=selector)):
                await kube_api.controllers.reconcile()
                pods = kube_api.list("Pod", None, labels=selector)
                if pods:
                    return cls(kube_api, pods[0])
            await asyncio.sleep(0.02)
        raise AssertionError(f"attempt {attempt} of step {node_id} in run {run_id} got no pod")

    @property
    def pod(self) -> dict[str, Any]:
        pod = self.kube_api.get("Pod", self.namespace, self.name)
        assert pod is not None, f"pod {self.name} is gone"
        return pod  # type: ignore[no-any-return]

    def _terminated(self, state: str, *, message: str | None = None, **options: Any) -> dict[str, Any]:
        status = pod_status(self.pod, state, **options)
        if message is not None:
            status["containerStatuses"][0]["state"]["terminated"]["message"] = message
        return status

    async def _end(self, status: dict[str, Any]) -> None:
        """The container stopped: its log ends, the kubelet reports it, the Job controller counts it."""
        self.kube_api.end_log(self.namespace, self.name, CONTAINER)
        self.kube_api.set_status("Pod", self.namespace, self.name, status, manager="kubelet")
        await self.kube_api.controllers.reconcile()

    # --- states ---------------------------------------------------------------------------------------

    def running(self) -> None:
        self.kube_api.pods.running(self.namespace, self.name)

    def log(self, *lines: str) -> None:
        for line in lines:
            self.kube_api.append_log(self.namespace, self.name, CONTAINER, line)

    async def succeed(self, output: Any) -> None:
        """The runner wrote ``{"output": …}`` and exited 0."""
        await self._end(self._terminated("succeeded", message=json.dumps({"output": output})))

    async def succeed_posted(self, size: int) -> None:
        """The runner posted the output back to Trellis and wrote ``{"posted": size}``."""
        await self._end(self._terminated("succeeded", message=json.dumps({"posted": size})))

    async def fail(self, type_: str, message: str) -> None:
        """The user's code failed: an ``error`` envelope, exit code 1."""
        envelope = json.dumps({"error": {"type": type_, "message": message}})
        await self._end(self._terminated("failed", exit_code=1, message=envelope))

    async def exit(self, code: int) -> None:
        """The process ended with ``code`` without writing an envelope."""
        await self._end(self._terminated("failed", exit_code=code))

    async def oom(self) -> None:
        """The kernel killed the container for its memory limit (no restart: ``restartPolicy: Never``)."""
        await self._end(self._terminated("oom-killed", restarting=False))

    async def deadline_exceeded(self) -> None:
        """What the Job controller does at ``activeDeadlineSeconds``: the Job fails with DeadlineExceeded
        and its running pod is killed and deleted."""
        job = self.kube_api.get("Job", self.namespace, self.job)
        assert job is not None
        now = _ts()
        conditions = [
            {
                "type": kind,
                "status": "True",
                "lastProbeTime": now,
                "lastTransitionTime": now,
                "reason": "DeadlineExceeded",
                "message": "Job was active longer than specified deadline",
            }
            for kind in ("FailureTarget", "Failed")
        ]
        status = {
            **(job.get("status") or {}),
            "conditions": conditions,
            "active": 0,
            "failed": 1,
            "ready": 0,
        }
        self.kube_api.set_status("Job", self.namespace, self.job, status, manager="kube-controller-manager")
        self.kube_api.end_log(self.namespace, self.name, CONTAINER)
        self.kube_api.set_status(
            "Pod", self.namespace, self.name, self._terminated("failed", exit_code=143), manager="kubelet"
        )
        self.kube_api.delete("Pod", self.namespace, self.name)
        await self.kube_api.controllers.reconcile()

    def image_pull_backoff(self) -> None:
        self.kube_api.pods.image_pull_backoff(self.namespace, self.name)

    def unschedulable(self) -> None:
        self.kube_api.pods.unschedulable(self.namespace, self.name)
