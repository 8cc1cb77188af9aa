"""apps/v1 ReplicaSet: observed, a replica failure (quota, admission), then available replicas."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View


def replicaset(obj: View) -> Health:
    status = obj.view("status")
    desired = obj.maybe_integer("spec.replicas")
    available = status.integer("availableReplicas")
    ready = status.integer("readyReplicas")
    generation, observed = obj.integer("metadata.generation"), status.integer("observedGeneration")
    facts: dict[str, Any] = {
        "desiredReplicas": desired,
        "replicas": status.integer("replicas"),
        "readyReplicas": ready,
        "availableReplicas": available,
        "fullyLabeledReplicas": status.integer("fullyLabeledReplicas"),
        "generation": generation,
        "observedGeneration": observed,
    }
    wanted = status.integer("replicas") if desired is None else desired
    readiness = f"{ready} of {wanted} replicas ready" if wanted else "scaled to 0 replicas"

    if generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            f"waiting for the rollout to be observed (generation {generation}, observed {observed})",
            facts,
        )
    failure = obj.condition("ReplicaFailure")
    if failure is not None and failure.text("status") == "True":
        facts["reason"] = failure.text("reason") or "ReplicaFailure"
        detail = failure.text("message") or facts["reason"]
        return Health(HealthStatus.DEGRADED, f"cannot create pods: {detail}; {readiness}", facts)
    if desired is not None and available < desired:
        return Health(HealthStatus.PROGRESSING, f"{available} of {desired} replicas available", facts)
    return Health(HealthStatus.HEALTHY, readiness, facts)
