"""v1 Pod: waiting errors, then the phase; and :func:`problems`, what is wrong with a pod, for roll-ups.

Container states as the kubelet reports them: ``state.waiting.reason`` (CrashLoopBackOff, ImagePullBackOff,
ErrImagePull, CreateContainerConfigError…), ``lastState.terminated.reason`` (OOMKilled, Error…),
``restartCount``; the scheduler's verdict is the ``PodScheduled`` condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View, plural, since

_IMAGE_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName"})
_KUBELET_SUFFIX = re.compile(r"=\S+ pod=\S+$")  # "…restarting failed container=web pod=web-1_ns(uid)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a pod, said for a person. ``failing``: it will not get better by waiting
    (crash loops, image pulls, bad config), so the rollout that owns the pod is DEGRADED."""

    pod: str
    reason: str
    message: str
    failing: bool
    container: str | None = None
    restarts: int = 0
    detail: str = ""  # Kubernetes' own words: the kubelet's or the scheduler's message
    image: str = ""
    memory_limit: str = ""

    def facts(self) -> dict[str, Any]:
        """What a diagnosis needs: the pod, the reason, the container, and Kubernetes' message."""
        found: dict[str, Any] = {"pod": self.pod, "reason": self.reason}
        extra = {
            "container": self.container,
            "detail": self.detail,
            "image": self.image,
            "memoryLimit": self.memory_limit,
        }
        found.update({key: value for key, value in extra.items() if value})
        return found


def is_waiting_error(reason: str) -> bool:
    """Argo CD's rule for a waiting container that will not start by itself (plus InvalidImageName)."""
    return (
        reason.startswith("Err")
        or reason.endswith("Error")
        or reason.endswith("BackOff")
        or reason in _IMAGE_REASONS
    )


def _statuses(pod: View) -> list[tuple[View, bool]]:
    """Every container status, init containers first, each with whether it is an init container."""
    found = [(status, True) for status in pod.views("status.initContainerStatuses")]
    return found + [(status, False) for status in pod.views("status.containerStatuses")]


def _label(status: View, init: bool) -> str:
    return f"{'init container' if init else 'container'} {status.text('name') or '?'}"


def _memory_limit(pod: View, name: str) -> str:
    for section in ("spec.initContainers", "spec.containers"):
        for container in pod.views(section):
            if container.text("name") == name:
                limit = container.get("resources.limits.memory")
                return str(limit) if isinstance(limit, str | int) else ""
    return ""


def _last_exit(status: View) -> str:
    """``; it last exited with code 1 (Error)`` from ``lastState.terminated``, or ""."""
    last = status.view("lastState.terminated")
    if not last.data:
        return ""
    reason, code = last.text("reason"), last.maybe_integer("exitCode")
    if reason == "OOMKilled":
        return "; it was last killed for running out of memory (OOMKilled)"
    shown = f"code {code}" if code is not None else "an unknown code"
    return f"; it last exited with {shown}" + (f" ({reason})" if reason else "")


def _waiting_problem(pod: View, status: View, init: bool) -> Problem | None:
    waiting = status.view("state.waiting")
    reason = waiting.text("reason")
    if not waiting.data or not is_waiting_error(reason):
        return None
    name, label = status.text("name"), _label(status, init)
    restarts = status.integer("restartCount")
    raw = waiting.text("message").strip()
    detail = _KUBELET_SUFFIX.sub("", raw).strip()
    said = f": {detail}" if detail else ""
    image = ""
    if reason == "CrashLoopBackOff":
        message = f"{label} is crash-looping (restarted {plural(restarts, 'time')}){said}{_last_exit(status)}"
    elif reason in _IMAGE_REASONS:
        image = status.text("image") or _spec_image(pod, name)
        message = f"{label} cannot pull image {image or '(none)'}{said}"
    elif reason == "CreateContainerConfigError":
        message = f"{label} cannot be created, its configuration refers to something missing{said}"
    elif reason in ("CreateContainerError", "RunContainerError"):
        message = f"{label} cannot be started{said}"
    else:
        message = f"{label} is stuck ({reason}){said}"
    return Problem(pod.name, reason, message, True, name, restarts, detail=raw, image=image)


def _spec_image(pod: View, name: str) -> str:
    for section in ("spec.initContainers", "spec.containers"):
        for container in pod.views(section):
            if container.text("name") == name:
                return container.text("image")
    return ""


def _oom_problem(pod: View, status: View, init: bool) -> Problem | None:
    """A container killed for memory, now or last time; failing when it is not ready again."""
    now, last = status.view("state.terminated"), status.view("lastState.terminated")
    if "OOMKilled" not in (now.text("reason"), last.text("reason")):
        return None
    name, restarts = status.text("name"), status.integer("restartCount")
    limit = _memory_limit(pod, name)
    within = f", limit {limit}" if limit else ""
    again = f", restarted {plural(restarts, 'time')}" if restarts else ""
    message = f"{_label(status, init)} was killed for running out of memory (OOMKilled{within}){again}"
    failing = pod.text("status.phase") == "Running" and not status.flag("ready")
    return Problem(pod.name, "OOMKilled", message, failing, name, restarts, memory_limit=limit)


def unschedulable(pod: View) -> Problem | None:
    scheduled = pod.condition("PodScheduled")
    if scheduled is None or scheduled.text("status") != "False":
        return None
    if scheduled.text("reason") != "Unschedulable":
        return None
    detail = scheduled.text("message").strip()
    message = "cannot be scheduled" + (f": {detail}" if detail else "")
    return Problem(pod.name, "Unschedulable", message, False, detail=detail)


def _failure(pod: View) -> Problem:
    """Why a pod ended in phase Failed: the pod's own reason (Evicted…), then its containers'."""
    reason, detail = pod.text("status.reason"), pod.text("status.message").strip()
    if detail:
        said = f"failed ({reason}): {detail}" if reason else f"failed: {detail}"
        return Problem(pod.name, reason or "Failed", said, False, detail=detail)
    for status, init in _statuses(pod):
        oom = _oom_problem(pod, status, init)
        if oom is not None:
            return oom
        ended = status.view("state.terminated")
        code = ended.integer("exitCode")
        if ended.data and (code != 0 or ended.text("message")):
            said = ended.text("message").strip()
            why = ended.text("reason") or "Error"
            message = f"{_label(status, init)} failed with exit code {code}" + (f": {said}" if said else "")
            restarts = status.integer("restartCount")
            return Problem(pod.name, why, message, False, status.text("name"), restarts, detail=said)
    return Problem(pod.name, reason or "Failed", "failed", False)


def problems(pod: View) -> list[Problem]:
    """Everything wrong with ``pod`` that a person should hear about, the failing ones first."""
    found: list[Problem] = []
    for status, init in _statuses(pod):
        problem = _waiting_problem(pod, status, init) or _oom_problem(pod, status, init)
        if problem is not None:
            found.append(problem)
    phase = pod.text("status.phase")
    if phase == "Failed" and not any(problem.failing for problem in found):
        found = [_failure(pod)]
    elif phase == "Running" and pod.text("spec.restartPolicy", "Always") == "Always" and not found:
        for status, init in _statuses(pod):
            if not init and not status.flag("ready") and status.view("lastState.terminated").data:
                restarts = status.integer("restartCount")
                why = status.text("lastState.terminated.reason") or "Restarting"
                message = (
                    f"{_label(status, init)} restarted {plural(restarts, 'time')} and is not ready"
                    f"{_last_exit(status)}"
                )
                found.append(Problem(pod.name, why, message, True, status.text("name"), restarts))
    scheduling = unschedulable(pod)
    if scheduling is not None:
        found.append(scheduling)
    return sorted(found, key=lambda problem: (not problem.failing, -problem.restarts))


def restarts(pod: View) -> int:
    return sum(status.integer("restartCount") for status, _ in _statuses(pod))


def summary(pod: View) -> dict[str, Any]:
    """A JSON-safe line about one pod: name, phase, containers ready, restarts."""
    statuses = pod.views("status.containerStatuses")
    return {
        "name": pod.name,
        "phase": pod.text("status.phase") or None,
        "ready": f"{sum(1 for status in statuses if status.flag('ready'))}/{pod.count('spec.containers')}",
        "restarts": restarts(pod),
        "node": pod.text("spec.nodeName") or None,
    }


def pod(obj: View) -> Health:
    phase = obj.text("status.phase")
    statuses = obj.views("status.containerStatuses")
    ready = sum(1 for status in statuses if status.flag("ready"))
    total = obj.count("spec.containers") or len(statuses)
    facts: dict[str, Any] = {
        "phase": phase or None,
        "readyContainers": ready,
        "containers": total,
        "restarts": restarts(obj),
        "node": obj.text("spec.nodeName") or None,
    }
    found = problems(obj)
    failing = [problem for problem in found if problem.failing]
    if failing:
        first = failing[0]
        facts.update(first.facts())
        more = f" (and {plural(len(failing) - 1, 'other container')})" if len(failing) > 1 else ""
        return Health(HealthStatus.DEGRADED, first.message + more, facts)

    if phase == "Pending":
        return _pending(obj, found, facts)
    if phase == "Succeeded":
        took = since(obj.moment("status.startTime"), _finished(obj))
        return Health(HealthStatus.HEALTHY, "completed" + (f" in {took}" if took else ""), facts)
    if phase == "Failed":
        facts.update(found[0].facts())
        return Health(HealthStatus.DEGRADED, found[0].message, facts)
    if phase == "Running":
        if obj.text("spec.restartPolicy", "Always") != "Always":
            return Health(HealthStatus.PROGRESSING, "running until it completes", facts)
        readiness = f"running, {ready} of {total} containers ready"
        if obj.condition_is("Ready"):
            note = ""
            recovered = [problem for problem in found if problem.reason == "OOMKilled"]
            if recovered:
                facts["lastTerminationReason"] = "OOMKilled"
                note = f"; {recovered[0].message}"
            return Health(HealthStatus.HEALTHY, readiness + note, facts)
        waiting_for = [status.text("name") for status in statuses if not status.flag("ready")]
        names = f" (not ready: {', '.join(waiting_for)})" if waiting_for else ""
        return Health(HealthStatus.PROGRESSING, readiness + names, facts)
    if phase == "Unknown":
        return Health(
            HealthStatus.UNKNOWN, "the pod's node stopped reporting its state (phase Unknown)", facts
        )
    return Health(HealthStatus.UNKNOWN, "the pod reports no phase yet", facts)


def _pending(obj: View, found: list[Problem], facts: dict[str, Any]) -> Health:
    for problem in found:
        if problem.reason == "Unschedulable":
            facts.update(problem.facts())
            return Health(HealthStatus.PROGRESSING, problem.message, facts)
    if not obj.condition_is("PodScheduled"):
        return Health(HealthStatus.PROGRESSING, "waiting to be scheduled", facts)
    if obj.condition("Initialized") is not None and not obj.condition_is("Initialized"):
        return Health(HealthStatus.PROGRESSING, "scheduled; running init containers", facts)
    reasons = sorted(
        {
            status.text("state.waiting.reason")
            for status in obj.views("status.containerStatuses")
            if status.text("state.waiting.reason")
        }
    )
    doing = f" ({', '.join(reasons)})" if reasons else ""
    return Health(HealthStatus.PROGRESSING, f"scheduled; starting containers{doing}", facts)


def _finished(obj: View) -> datetime | None:
    ends = [status.moment("state.terminated.finishedAt") for status, _ in _statuses(obj)]
    known = [end for end in ends if end is not None]
    return max(known) if known else None
