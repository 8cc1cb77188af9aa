"""The Kubernetes objects of one Function attempt, and reading its Job back (pure: dicts in, dicts out).

Each attempt of a Function step is its own Job (``backoffLimit: 0``: retries are the engine's attempts),
named from the run, the node and the attempt so a restarted server finds it again. Its pod runs one
container, ``step``, in the runtime's stock image as a non-root user with a read-only root filesystem,
no service-account token and no service links; ``activeDeadlineSeconds`` is the step's ``timeoutSeconds``.

A short-lived, immutable Secret of the same name holds the step's files — ``input.json``, the user's
source and the runner (mounted read-only at ``/trellis/step``) — and the step token (given to the
container only through a ``secretKeyRef``, never as a value in the Job's spec or as a file), and the values
of the workspace secrets the step lists (``secret.<NAME>``, each given to the container as the variable
``NAME`` through a ``secretKeyRef``; never mounted). It is made a dependent of the Job, so deleting the Job
removes it too. ``/tmp`` is a small ``emptyDir``. The runner
writes its result envelope (see :mod:`app.flows.runtimes`) to ``/dev/termination-log``, which the pod's
status carries back.

The labels mark the objects as Trellis's (``app.kubernetes.io/managed-by``) flow steps
(``app.kubernetes.io/component: flow-step``) of one run, step and attempt; they deliberately carry no
``trellis.dev/workflow`` / ``trellis.dev/node`` labels, which mark the objects of topology nodes (the watch
pool's dispatch and prune). The real node id, workflow id and runtime are annotations.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.domain.build_jobs import COMPONENT_LABEL, MANAGED_BY, MANAGER, newest_pod
from app.domain.flows.steps import ERROR, OOM, TIMEOUT

FIELD_MANAGER = "trellis-flow-steps"
OWNER_FIELD_MANAGER = "trellis-flow-steps-owner"  # only the Secret's ownerReferences
COMPONENT = "flow-step"
RUN_LABEL = "trellis.dev/run"
STEP_LABEL = "trellis.dev/step"
ATTEMPT_LABEL = "trellis.dev/attempt"
NODE_ANNOTATION = "trellis.dev/node-id"
WORKFLOW_ANNOTATION = "trellis.dev/workflow-id"
RUNTIME_ANNOTATION = "trellis.dev/runtime"

NAME_PREFIX = "trellis-step-"
NAME_MAX = 52  # a Job's name must leave room for its pods' suffix
CONTAINER = "step"
STEP_DIR = "/trellis/step"
SCRATCH_DIR = "/tmp"  # noqa: S108 - the container's own emptyDir
RESULT_PATH = "/dev/termination-log"
TOKEN_KEY = "token"
SECRET_KEY_PREFIX = "secret."  # + a workspace secret's name: its key in the attempt's Secret
USER_ID = 65532  # "nonroot" in distroless images; any unprivileged id works with the stock images
DEFAULT_CPU = "500m"
DEFAULT_MEMORY = "256Mi"

DEFAULT_IMAGES: Mapping[str, str] = MappingProxyType(
    {"python": "python:3.12-slim", "node": "node:22-slim", "bash": "bash:5.2"}
)


@dataclass(frozen=True, slots=True)
class FunctionJobSettings:
    """How Function attempts run as Jobs.

    ``images``: the image of each runtime (stock images: nothing is installed in them). ``output_url``:
    where a runner POSTs an output too large for the termination message (empty: such outputs fail).
    ``poll_seconds``: how often the Job and its pod are read. ``ttl_seconds_after_finished``: a backstop
    only — the executor deletes the Job when the attempt ends. ``scratch_size``: the ``/tmp`` emptyDir's
    ``sizeLimit``; ``ephemeral_storage``: the container's ephemeral-storage request and limit.
    ``cluster_timeout_seconds``: the per-request timeout of the cluster sessions (their opener reads it).
    ``max_output_bytes``: the largest output (bytes of JSON) a runner accepts. ``drain_seconds``: how long
    the end of the log may still arrive after the container ended.
    """

    images: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    output_url: str = ""
    data_url: str = ""  # the base of /v1/data for the step (empty: not given to it)
    poll_seconds: float = 2.0
    ttl_seconds_after_finished: int = 600
    scratch_size: str = "256Mi"
    ephemeral_storage: str = "512Mi"  # the /tmp emptyDir counts against it: keep it above scratch_size
    cluster_timeout_seconds: float = 30.0
    max_output_bytes: int = 262_144
    drain_seconds: float = 5.0

    def image(self, runtime: str) -> str:
        return self.images.get(runtime) or DEFAULT_IMAGES[runtime]


@dataclass(frozen=True, slots=True)
class StepProgram:
    """What one attempt runs: the runtime's name, its interpreter and the runner's file name (the command
    is ``<interpreter> /trellis/step/<runner_file>``), the files of the step's directory (name → content:
    the input, the user's source, the runner) and the runner contract's environment (``env``; the step
    token reaches the container as ``token_env``, from the Secret). ``secret_env``: workspace secrets,
    name → value, given to the container as variables of those names from the Secret (never in the Job)."""

    runtime: str
    interpreter: str
    runner_file: str
    files: Mapping[str, bytes]
    env: Mapping[str, str]
    token_env: str
    secret_env: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Attempt:
    """Which attempt a Job runs: the run, the step's node id, the attempt number (from 1), the workflow
    (for the annotations; may be empty), the namespace and the step's timeout in seconds."""

    run_id: str
    node_id: str
    attempt: int
    namespace: str
    timeout_seconds: float
    workflow_id: str = ""

    @property
    def name(self) -> str:
        return attempt_name(self.run_id, self.node_id, self.attempt)

    @property
    def deadline_seconds(self) -> int:
        """``activeDeadlineSeconds``: the timeout in whole seconds (at least 1)."""
        return max(1, math.ceil(self.timeout_seconds))


def _hex(text: str, length: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def attempt_name(run_id: str, node_id: str, attempt: int) -> str:
    """The name of one attempt's Job and Secret: a DNS-1123 label of 37 characters (at most 52, so the
    Job's pods may add their suffix), the same every time it is asked for."""
    return NAME_PREFIX + _hex(f"{run_id}/{node_id}/{attempt}")


def step_label(node_id: str) -> str:
    """The ``trellis.dev/step`` label value of a node (node ids need not be valid label values)."""
    return _hex(node_id)


def attempt_labels(attempt: Attempt) -> dict[str, str]:
    return {
        MANAGED_BY: MANAGER,
        COMPONENT_LABEL: COMPONENT,
        RUN_LABEL: attempt.run_id,
        STEP_LABEL: step_label(attempt.node_id),
        ATTEMPT_LABEL: str(attempt.attempt),
    }


def attempt_selector(run_id: str, node_id: str, attempt: int) -> str:
    """The label selector of one attempt's objects (its Job's pods among them)."""
    return (
        f"{MANAGED_BY}={MANAGER},{COMPONENT_LABEL}={COMPONENT},{RUN_LABEL}={run_id},"
        f"{STEP_LABEL}={step_label(node_id)},{ATTEMPT_LABEL}={attempt}"
    )


def attempt_annotations(attempt: Attempt, runtime: str) -> dict[str, str]:
    annotations = {NODE_ANNOTATION: attempt.node_id, RUNTIME_ANNOTATION: runtime}
    if attempt.workflow_id:
        annotations[WORKFLOW_ANNOTATION] = attempt.workflow_id
    return annotations


def _metadata(attempt: Attempt, runtime: str) -> dict[str, Any]:
    return {
        "name": attempt.name,
        "namespace": attempt.namespace,
        "labels": attempt_labels(attempt),
        "annotations": attempt_annotations(attempt, runtime),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def secret_manifest(attempt: Attempt, program: StepProgram, token: str) -> dict[str, Any]:
    """The attempt's Secret: the step's files, the step token (``token``) and the values of the workspace
    secrets the step reads, immutable."""
    data = {name: _b64(content) for name, content in program.files.items()}
    data[TOKEN_KEY] = _b64(token.encode())
    for name, value in program.secret_env.items():
        data[SECRET_KEY_PREFIX + name] = _b64(value.encode())
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(attempt, program.runtime),
        "type": "Opaque",
        "immutable": True,
        "data": data,
    }


def owned_secret_patch(attempt: Attempt, job: Mapping[str, Any]) -> dict[str, Any]:
    """What makes the Secret a dependent of the Job (applied by :data:`OWNER_FIELD_MANAGER`)."""
    metadata = job.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": attempt.name,
            "namespace": attempt.namespace,
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": str(metadata.get("name", attempt.name)),
                    "uid": str(metadata.get("uid", "")),
                }
            ],
        },
    }


def step_resources(data: Mapping[str, Any]) -> dict[str, str]:
    """The step's ``resources`` field (cpu, memory) with the kind's defaults for what is not set."""
    given = data.get("resources")
    given = given if isinstance(given, Mapping) else {}
    cpu, memory = given.get("cpu"), given.get("memory")
    return {
        "cpu": str(cpu) if cpu not in (None, "") else DEFAULT_CPU,
        "memory": str(memory) if memory not in (None, "") else DEFAULT_MEMORY,
    }


def _plain_env(program: StepProgram) -> dict[str, str]:
    return {
        **program.env,
        "HOME": SCRATCH_DIR,
        "TMPDIR": SCRATCH_DIR,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def reserved_env(program: StepProgram) -> frozenset[str]:
    """The variables the runner contract sets, which a workspace secret may not replace."""
    return frozenset({*_plain_env(program), program.token_env})


def _env(program: StepProgram, secret: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": name, "value": value} for name, value in _plain_env(program).items()
    ]
    env.append({"name": program.token_env, "valueFrom": {"secretKeyRef": {"name": secret, "key": TOKEN_KEY}}})
    env += [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": SECRET_KEY_PREFIX + name}}}
        for name in sorted(program.secret_env)
    ]
    return env


def job_manifest(
    attempt: Attempt, program: StepProgram, settings: FunctionJobSettings, *, resources: Mapping[str, str]
) -> dict[str, Any]:
    """The Job of one attempt (see the module's description); ``resources`` is :func:`step_resources`."""
    metadata = _metadata(attempt, program.runtime)
    limits = {
        "cpu": resources["cpu"],
        "memory": resources["memory"],
        "ephemeral-storage": settings.ephemeral_storage,
    }
    container = {
        "name": CONTAINER,
        "image": settings.image(program.runtime),
        "imagePullPolicy": "IfNotPresent",
        "command": [program.interpreter, f"{STEP_DIR}/{program.runner_file}"],
        "workingDir": SCRATCH_DIR,
        "env": _env(program, attempt.name),
        "resources": {"requests": dict(limits), "limits": limits},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "terminationMessagePath": RESULT_PATH,
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {"name": "step", "mountPath": STEP_DIR, "readOnly": True},
            {"name": "scratch", "mountPath": SCRATCH_DIR},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": attempt.deadline_seconds,
            "ttlSecondsAfterFinished": settings.ttl_seconds_after_finished,
            "template": {
                "metadata": {"labels": metadata["labels"], "annotations": metadata["annotations"]},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": USER_ID,
                        "runAsGroup": USER_ID,
                        "fsGroup": USER_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "step",
                            "secret": {
                                "secretName": attempt.name,
                                # the step's files only: the token is an environment value
                                "items": [{"key": key, "path": key} for key in program.files],
                                "defaultMode": 0o440,
                            },
                        },
                        {"name": "scratch", "emptyDir": {"sizeLimit": settings.scratch_size}},
                    ],
                },
            },
        },
    }


# --- Reading the attempt back ----------------------------------------------------------------------------

RUNNING = "RUNNING"
WAITING = "WAITING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"

# Waiting reasons that will not resolve by themselves: the attempt could not start.
_CANNOT_START = {
    "ImagePullBackOff": "its image cannot be pulled",
    "ErrImagePull": "its image cannot be pulled",
    "InvalidImageName": "its image name is invalid",
    "CreateContainerConfigError": "its container cannot be configured",
}


@dataclass(frozen=True, slots=True)
class AttemptReading:
    """What the Job and its newest pod say about the attempt.

    ``state``: RUNNING, WAITING (``reason``, ``message``: not started yet — no pod, scheduling, pulling),
    SUCCEEDED (``message``: the termination message, the runner's envelope) or FAILED (``kind``: ERROR,
    TIMEOUT or OOM, ``stage`` and ``message``; ``termination_message`` when the container wrote one before
    it exited with another code — an ``error`` envelope that says better what failed). ``pod`` is the newest
    pod's name and ``started`` whether its container started (its log can be read).
    """

    state: str
    reason: str | None = None
    message: str | None = None
    kind: str | None = None
    stage: str | None = None
    termination_message: str | None = None
    exit_code: int | None = None
    pod: str | None = None
    started: bool = False

    @property
    def ended(self) -> bool:
        return self.state in (SUCCEEDED, FAILED)


def _condition(job: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return condition  # type: ignore[no-any-return]
    return None


def _container_status(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for entry in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(entry, Mapping) and entry.get("name") == CONTAINER:
            return entry
    return None


def _memory_limit(pod: Mapping[str, Any]) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        if isinstance(container, Mapping) and container.get("name") == CONTAINER:
            limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
            return str(limit) if limit else None
    return None


def _scheduling(pod: Mapping[str, Any]) -> str | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "unschedulable")
    return None


def read_attempt(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> AttemptReading:
    """How the attempt stands, from its Job and the Job's pods (see :class:`AttemptReading`)."""
    pod = newest_pod(pods)
    name = str((pod.get("metadata") or {}).get("name")) if pod is not None else None
    status = _container_status(pod) if pod is not None else None
    state = (status or {}).get("state") or {}
    terminated = state.get("terminated")
    started = bool(terminated is not None or state.get("running") is not None)
    if terminated is not None and int(terminated.get("exitCode", -1)) == 0:
        return AttemptReading(SUCCEEDED, message=str(terminated.get("message") or ""), pod=name, started=True)
    failed = _condition(job, "Failed")
    if failed is not None and failed.get("reason") == "DeadlineExceeded":
        seconds = (job.get("spec") or {}).get("activeDeadlineSeconds")
        return AttemptReading(
            FAILED,
            kind=TIMEOUT,
            stage="run",
            message=f"ran longer than its timeoutSeconds ({seconds} s)",
            pod=name,
            started=started,
        )
    if terminated is not None:
        code = int(terminated.get("exitCode", -1))
        if terminated.get("reason") == "OOMKilled":
            limit = _memory_limit(pod) if pod is not None else None
            return AttemptReading(
                FAILED,
                kind=OOM,
                stage="run",
                message="ran out of memory"
                + (f" (its limit is {limit})" if limit else "")
                + " and was killed",
                exit_code=code,
                pod=name,
                started=True,
            )
        if code > 128:
            message = f"was killed by signal {code - 128} (exit code {code})"
            stage = "run"
        else:
            message, stage = f"exited with code {code}", "code"
        return AttemptReading(
            FAILED,
            kind=ERROR,
            stage=stage,
            message=message,
            termination_message=str(terminated.get("message") or "") or None,
            exit_code=code,
            pod=name,
            started=True,
        )
    if failed is not None:
        reason = str(failed.get("reason") or "Failed")
        text = str(failed.get("message") or "")
        return AttemptReading(
            FAILED,
            kind=ERROR,
            stage="run",
            message=f"its Job failed ({reason})" + (f": {text}" if text else ""),
            pod=name,
            started=started,
        )
    if pod is None:
        if _condition(job, "Complete") is not None:
            return AttemptReading(
                FAILED, kind=ERROR, stage="output", message="its pod is gone: the result cannot be read"
            )
        return AttemptReading(WAITING, reason="NoPod", message="waiting for the Job's pod")
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Failed":  # evicted, or lost with its node, before the container reported an end
        reason = str((pod.get("status") or {}).get("reason") or "Failed")
        text = str((pod.get("status") or {}).get("message") or "")
        return AttemptReading(
            FAILED,
            kind=ERROR,
            stage="run",
            message=f"its pod failed ({reason})" + (f": {text}" if text else ""),
            pod=name,
            started=started,
        )
    waiting = state.get("waiting")
    if waiting is not None:
        reason = str(waiting.get("reason") or "")
        text = str(waiting.get("message") or "")
        if reason in _CANNOT_START:
            return AttemptReading(
                FAILED,
                kind=ERROR,
                stage="start",
                message=f"the step cannot start: {_CANNOT_START[reason]} ({reason})"
                + (f": {text}" if text else ""),
                pod=name,
            )
        return AttemptReading(WAITING, reason=reason or "Waiting", message=text or None, pod=name)
    if started:
        return AttemptReading(RUNNING, pod=name, started=True)
    unschedulable = _scheduling(pod)
    if unschedulable is not None:
        return AttemptReading(WAITING, reason="Unschedulable", message=unschedulable, pod=name)
    return AttemptReading(WAITING, reason=str(phase or "Pending"), pod=name)
