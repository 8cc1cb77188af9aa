"""apps/v1 DaemonSet: observed, then OnDelete, updated and available pods against the nodes it targets."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View


def daemonset(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    desired = status.integer("desiredNumberScheduled")
    updated = status.integer("updatedNumberScheduled")
    available = status.integer("numberAvailable")
    ready = status.integer("numberReady")
    generation, observed = obj.integer("metadata.generation"), status.integer("observedGeneration")
    strategy = spec.text("updateStrategy.type", "RollingUpdate")
    facts: dict[str, Any] = {
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": status.integer("currentNumberScheduled"),
        "updatedNumberScheduled": updated,
        "numberReady": ready,
        "numberAvailable": available,
        "numberUnavailable": status.integer("numberUnavailable"),
        "numberMisscheduled": status.integer("numberMisscheduled"),
        "updateStrategy": strategy,
        "generation": generation,
        "observedGeneration": observed,
    }
    readiness = f"{ready} of {desired} pods ready" if desired else "no node matches: 0 pods scheduled"

    if generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            f"waiting for the rollout to be observed (generation {generation}, observed {observed})",
            facts,
        )
    if strategy == "OnDelete":
        note = f"; OnDelete: {updated} of {desired} pods updated" if updated < desired else ""
        return Health(HealthStatus.HEALTHY, readiness + note, facts)
    if updated < desired:
        return Health(
            HealthStatus.PROGRESSING, f"rolling out: {updated} of {desired} pods updated, {readiness}", facts
        )
    if available < desired:
        return Health(
            HealthStatus.PROGRESSING, f"rolling out: {available} of {desired} updated pods available", facts
        )
    return Health(HealthStatus.HEALTHY, readiness, facts)
