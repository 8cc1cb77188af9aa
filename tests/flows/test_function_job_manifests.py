"""The Job and Secret of one Function attempt (hardening, deadline, resources, labels, the token only by
reference), accepted by the Kubernetes API test server; reading an attempt back from its Job and pod."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from app.domain.flows.function_jobs import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    WAITING,
    Attempt,
    FunctionJobSettings,
    StepProgram,
    attempt_name,
    attempt_selector,
    job_manifest,
    owned_secret_patch,
    read_attempt,
    secret_manifest,
    step_resources,
)
from app.domain.flows.steps import ERROR, OOM, TIMEOUT
from app.flows.runtimes import RUNTIMES, STEP_TOKEN_ENV
from tests.kubeapi import KubeApiServer
from tests.kubeapi.errors import ApiError
from tests.kubeapi.kubelet import pod_status

RUN = "0123456789abcdef0123456789abcdef"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SETTINGS = FunctionJobSettings(
    output_url="https://trellis.example.com/v1/steps/output",
    ttl_seconds_after_finished=600,
    scratch_size="32Mi",
    ephemeral_storage="128Mi",
    max_output_bytes=1000,
)


def attempt(node: str = "fetch invoices", number: int = 2, **overrides: Any) -> Attempt:
    fields: dict[str, Any] = {
        "run_id": RUN,
        "node_id": node,
        "attempt": number,
        "namespace": "flows",
        "timeout_seconds": 29.5,
        "workflow_id": "wf-1",
    }
    fields.update(overrides)
    return Attempt(**fields)


def program(runtime: str = "python") -> StepProgram:
    spec = RUNTIMES[runtime]
    return StepProgram(
        runtime=runtime,
        interpreter=spec.interpreter,
        runner_file=spec.runner_file,
        files={
            "input.json": b'{"n":1}',
            spec.source_file: b"def main(x):\n    return x\n",
            spec.runner_file: b"#",
        },
        env={"TRELLIS_STEP_DIR": "/trellis/step", "TRELLIS_ENTRYPOINT": "main"},
        token_env=STEP_TOKEN_ENV,
    )


def job(**overrides: Any) -> dict[str, Any]:
    resources = step_resources({"resources": {"cpu": "250m", "memory": "128Mi"}})
    return job_manifest(attempt(**overrides), program(), SETTINGS, resources=resources)


def test_the_attempt_name_is_a_short_dns_label_the_same_every_time() -> None:
    name = attempt_name(RUN, "fetch invoices", 2)
    assert name == attempt_name(RUN, "fetch invoices", 2)
    assert name.startswith("trellis-step-") and len(name) <= 52 and DNS_LABEL.match(name)
    others = {
        attempt_name(RUN, "fetch invoices", 3),
        attempt_name(RUN, "other", 2),
        attempt_name("r2", "x", 2),
    }
    assert name not in others and len(others) == 3


def test_the_job_is_hardened_and_runs_the_runner_in_the_runtime_image() -> None:
    manifest = job()
    spec = manifest["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 30  # timeoutSeconds, rounded up
    assert spec["ttlSecondsAfterFinished"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    [container] = pod["containers"]
    assert container["name"] == "step"
    assert container["image"] == "python:3.12-slim"
    assert container["command"] == ["python3", "/trellis/step/runner.py"]
    assert container["workingDir"] == "/tmp"
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    limits = {"cpu": "250m", "memory": "128Mi", "ephemeral-storage": "128Mi"}
    assert container["resources"] == {"requests": limits, "limits": limits}
    assert container["volumeMounts"] == [
        {"name": "step", "mountPath": "/trellis/step", "readOnly": True},
        {"name": "scratch", "mountPath": "/tmp"},
    ]
    step, scratch = pod["volumes"]
    assert step["secret"]["secretName"] == manifest["metadata"]["name"]
    assert step["secret"]["defaultMode"] == 0o440
    assert [item["key"] for item in step["secret"]["items"]] == ["input.json", "main.py", "runner.py"]
    assert scratch == {"name": "scratch", "emptyDir": {"sizeLimit": "32Mi"}}


def test_the_token_reaches_the_container_only_by_reference_to_the_secret() -> None:
    manifest = job()
    env = manifest["spec"]["template"]["spec"]["containers"][0]["env"]
    values = {e["name"]: e.get("value") for e in env}
    assert values["TRELLIS_STEP_DIR"] == "/trellis/step" and values["TRELLIS_ENTRYPOINT"] == "main"
    assert {k: values[k] for k in ("HOME", "TMPDIR", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")} == {
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    [token] = [e for e in env if e["name"] == STEP_TOKEN_ENV]
    assert token == {
        "name": STEP_TOKEN_ENV,
        "valueFrom": {"secretKeyRef": {"name": manifest["metadata"]["name"], "key": "token"}},
    }
    assert "secret-token" not in str(manifest)


def test_labels_mark_a_flow_step_not_a_topology_node() -> None:
    manifest = job()
    labels = manifest["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/managed-by": "trellis",
        "app.kubernetes.io/component": "flow-step",
        "trellis.dev/run": RUN,
        "trellis.dev/step": labels["trellis.dev/step"],
        "trellis.dev/attempt": "2",
    }
    assert re.fullmatch(r"[0-9a-f]{24}", labels["trellis.dev/step"])
    assert manifest["metadata"]["annotations"] == {
        "trellis.dev/node-id": "fetch invoices",
        "trellis.dev/workflow-id": "wf-1",
        "trellis.dev/runtime": "python",
    }
    template = manifest["spec"]["template"]["metadata"]
    assert template["labels"] == labels and template["annotations"] == manifest["metadata"]["annotations"]


def test_the_secret_holds_the_files_and_the_token_and_is_immutable() -> None:
    secret = secret_manifest(attempt(), program(), "secret-token")
    assert secret["type"] == "Opaque" and secret["immutable"] is True
    decoded = {key: base64.b64decode(value) for key, value in secret["data"].items()}
    assert decoded == {
        "input.json": b'{"n":1}',
        "main.py": b"def main(x):\n    return x\n",
        "runner.py": b"#",
        "token": b"secret-token",
    }
    assert secret["metadata"]["labels"] == job()["metadata"]["labels"]


def test_steps_without_resources_get_the_kinds_defaults() -> None:
    assert step_resources({}) == {"cpu": "500m", "memory": "256Mi"}
    assert step_resources({"resources": {"memory": "1Gi"}}) == {"cpu": "500m", "memory": "1Gi"}


@pytest.mark.parametrize("runtime", ["python", "node", "bash"])
async def test_the_test_server_accepts_the_objects_and_its_job_controller_runs_the_pod(
    kube_api: KubeApiServer, runtime: str
) -> None:
    kube_api.controllers.job_pod_state = "creating"
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flows"}})
    one = attempt(node=f"step-{runtime}")
    secret = kube_api.apply(
        secret_manifest(one, program(runtime), "secret-token"), manager="trellis-flow-steps"
    )
    resources = step_resources({})
    created = kube_api.apply(
        job_manifest(one, program(runtime), SETTINGS, resources=resources), manager="trellis-flow-steps"
    )
    owned = kube_api.apply(owned_secret_patch(one, created), manager="trellis-flow-steps-owner")
    assert owned["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert owned["data"] == secret["data"] and owned["immutable"] is True
    await kube_api.controllers.reconcile()
    [pod] = kube_api.list("Pod", "flows", labels=attempt_selector(RUN, one.node_id, one.attempt))
    assert pod["spec"]["containers"][0]["image"] == SETTINGS.image(runtime)
    assert pod["spec"]["automountServiceAccountToken"] is False


async def test_an_immutable_secret_refuses_new_data(kube_api: KubeApiServer) -> None:
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flows"}})
    kube_api.apply(secret_manifest(attempt(), program(), "one"), manager="trellis-flow-steps")
    with pytest.raises(
        ApiError, match="data: Forbidden: field is immutable when `immutable` is set"
    ) as raised:
        kube_api.apply(secret_manifest(attempt(), program(), "two"), manager="trellis-flow-steps")
    assert (raised.value.code, raised.value.reason) == (422, "Invalid")


# --- reading an attempt back -----------------------------------------------------------------------------


def _pod(state: str, *, name: str = "trellis-step-x-abcde", **options: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": "flows",
            "uid": "u-1",
            "creationTimestamp": "2026-01-15T09:00:00Z",
        },
        "spec": job()["spec"]["template"]["spec"],
    }
    pod["status"] = pod_status(pod, state, **options)
    return pod


def _job(*conditions: tuple[str, str, str]) -> dict[str, Any]:
    manifest = job()
    manifest["status"] = {
        "conditions": [
            {"type": kind, "status": "True", "reason": reason, "message": message}
            for kind, reason, message in conditions
        ]
    }
    return manifest


def _terminated(pod: dict[str, Any], message: str) -> dict[str, Any]:
    pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] = message
    return pod


def test_no_pod_yet_is_waiting() -> None:
    assert read_attempt(job(), []).state == WAITING


def test_a_creating_pod_waits_and_a_running_one_has_started() -> None:
    creating = read_attempt(job(), [_pod("creating")])
    assert (creating.state, creating.reason, creating.started) == (WAITING, "ContainerCreating", False)
    running = read_attempt(job(), [_pod("running")])
    assert (running.state, running.started, running.pod) == (RUNNING, True, "trellis-step-x-abcde")


def test_exit_zero_carries_the_termination_message() -> None:
    reading = read_attempt(job(), [_terminated(_pod("succeeded"), '{"output": 1}')])
    assert (reading.state, reading.message) == (SUCCEEDED, '{"output": 1}')


def test_the_job_deadline_is_a_timeout_even_when_the_pod_was_killed() -> None:
    deadline = _job(("Failed", "DeadlineExceeded", "Job was active longer than specified deadline"))
    for pods in ([], [_pod("failed", exit_code=143)]):
        reading = read_attempt(deadline, pods)
        assert (reading.state, reading.kind, reading.stage) == (FAILED, TIMEOUT, "run")
        assert reading.message == "ran longer than its timeoutSeconds (30 s)"


def test_oom_names_the_memory_limit() -> None:
    reading = read_attempt(job(), [_pod("oom-killed", restarting=False)])
    assert (reading.state, reading.kind, reading.stage) == (FAILED, OOM, "run")
    assert reading.message == "ran out of memory (its limit is 128Mi) and was killed"


def test_another_exit_code_keeps_the_termination_message_for_the_envelope() -> None:
    reading = read_attempt(job(), [_terminated(_pod("failed", exit_code=1), '{"error": {"type": "E"}}')])
    assert (reading.kind, reading.stage, reading.message) == (ERROR, "code", "exited with code 1")
    assert reading.termination_message == '{"error": {"type": "E"}}'
    killed = read_attempt(job(), [_pod("failed", exit_code=137)])
    assert (killed.stage, killed.message) == ("run", "was killed by signal 9 (exit code 137)")


@pytest.mark.parametrize("state", ["image-pull-backoff", "err-image-pull"])
def test_an_image_that_cannot_be_pulled_fails_at_start_with_the_kubelets_message(state: str) -> None:
    reading = read_attempt(job(), [_pod(state)])
    assert (reading.state, reading.kind, reading.stage) == (FAILED, ERROR, "start")
    assert "python:3.12-slim" in str(reading.message)


def test_a_container_that_cannot_be_configured_fails_at_start() -> None:
    pod = _pod("creating")
    pod["status"]["containerStatuses"][0]["state"] = {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'secret "x" not found'}
    }
    reading = read_attempt(job(), [pod])
    assert (reading.kind, reading.stage) == (ERROR, "start")
    assert reading.message == (
        "the step cannot start: its container cannot be configured (CreateContainerConfigError): "
        'secret "x" not found'
    )


def test_unschedulable_waits_with_the_schedulers_message() -> None:
    reading = read_attempt(job(), [_pod("unschedulable")])
    assert (reading.state, reading.reason) == (WAITING, "Unschedulable")
    assert str(reading.message).startswith("0/1 nodes are available: 1 Insufficient cpu.")


def test_a_job_that_failed_for_another_reason_says_why() -> None:
    failed = _job(("Failed", "PodFailurePolicy", "Container step was terminated"))
    reading = read_attempt(failed, [])
    assert (reading.kind, reading.stage) == (ERROR, "run")
    assert reading.message == "its Job failed (PodFailurePolicy): Container step was terminated"


def test_an_evicted_pod_fails_the_attempt() -> None:
    pod = _pod("creating")
    pod["status"] = {
        "phase": "Failed",
        "reason": "Evicted",
        "message": "The node was low on resource: memory.",
    }
    reading = read_attempt(job(), [pod])
    assert (reading.kind, reading.message) == (
        ERROR,
        "its pod failed (Evicted): The node was low on resource: memory.",
    )


def test_the_newest_pod_is_read() -> None:
    old = _terminated(_pod("succeeded", name="a"), '{"output": "old"}')
    old["metadata"]["creationTimestamp"] = "2026-01-15T08:00:00Z"
    reading = read_attempt(job(), [_pod("running", name="b"), old])
    assert (reading.state, reading.pod) == (RUNNING, "b")
