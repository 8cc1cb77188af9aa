"""apps/v1 Deployment: paused, the rollout observed, the progress deadline, then kubectl's rollout checks."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View, plural


def deployment(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    desired = spec.maybe_integer("replicas")
    replicas = status.integer("replicas")
    updated = status.integer("updatedReplicas")
    ready = status.integer("readyReplicas")
    available = status.integer("availableReplicas")
    generation, observed = obj.integer("metadata.generation"), status.integer("observedGeneration")
    facts: dict[str, Any] = {
        "desiredReplicas": desired,
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "unavailableReplicas": status.integer("unavailableReplicas"),
        "generation": generation,
        "observedGeneration": observed,
    }
    wanted = replicas if desired is None else desired
    readiness = _readiness(ready, wanted)

    if spec.flag("paused"):
        return Health(HealthStatus.SUSPENDED, f"rollout paused; {readiness}", facts)
    if generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            f"waiting for the rollout to be observed (generation {generation}, observed {observed})",
            facts,
        )
    progressing = obj.condition("Progressing")
    if progressing is not None and progressing.text("reason") == "ProgressDeadlineExceeded":
        deadline = spec.maybe_integer("progressDeadlineSeconds")
        within = f" of {deadline}s" if deadline is not None else ""
        detail = progressing.text("message")
        facts["reason"] = "ProgressDeadlineExceeded"
        said = f"rollout exceeded its progress deadline{within}" + (f": {detail}" if detail else "")
        updating = f"{updated} of {desired} replicas updated, " if desired is not None else ""
        return Health(HealthStatus.DEGRADED, f"{said.rstrip('.')}; {updating}{readiness}", facts)
    failure = obj.condition("ReplicaFailure")
    blocked = ""
    if failure is not None and failure.text("status") == "True":
        facts["reason"] = failure.text("reason") or "ReplicaFailure"
        blocked = f"; cannot create pods: {failure.text('message')}"
    if desired is not None and updated < desired:
        return Health(
            HealthStatus.PROGRESSING,
            f"rolling out: {updated} of {desired} replicas updated, {readiness}{blocked}",
            facts,
        )
    if replicas > updated:
        old = replicas - updated
        return Health(
            HealthStatus.PROGRESSING,
            f"rolling out: {plural(old, 'old replica')} pending termination, {readiness}{blocked}",
            facts,
        )
    if available < updated:
        return Health(
            HealthStatus.PROGRESSING,
            f"rolling out: {available} of {updated} updated replicas available, {readiness}{blocked}",
            facts,
        )
    return Health(HealthStatus.HEALTHY, readiness, facts)


def _readiness(ready: int, wanted: int) -> str:
    if not wanted:
        return "scaled to 0 replicas" if not ready else f"{plural(ready, 'replica')} ready, scaling to 0"
    if ready > wanted:
        return f"{ready} replicas ready ({wanted} wanted)"
    return f"{ready} of {wanted} replicas ready"
