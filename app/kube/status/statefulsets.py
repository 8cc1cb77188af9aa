"""apps/v1 StatefulSet: observed, ready, then the update strategy (partitioned rolling update, OnDelete)."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View, plural


def statefulset(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    desired = spec.maybe_integer("replicas")
    ready = status.integer("readyReplicas")
    updated = status.integer("updatedReplicas")
    generation, observed = obj.integer("metadata.generation"), status.integer("observedGeneration")
    strategy = spec.text("updateStrategy.type", "RollingUpdate")
    partition = spec.maybe_integer("updateStrategy.rollingUpdate.partition")
    current_revision, update_revision = status.text("currentRevision"), status.text("updateRevision")
    facts: dict[str, Any] = {
        "desiredReplicas": desired,
        "replicas": status.integer("replicas"),
        "readyReplicas": ready,
        "currentReplicas": status.integer("currentReplicas"),
        "updatedReplicas": updated,
        "availableReplicas": status.integer("availableReplicas"),
        "updateStrategy": strategy,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "generation": generation,
        "observedGeneration": observed,
    }
    if partition is not None:
        facts["partition"] = partition
    wanted = status.integer("replicas") if desired is None else desired
    readiness = f"{ready} of {wanted} replicas ready" if wanted else "scaled to 0 replicas"

    if observed == 0 or generation > observed:
        return Health(
            HealthStatus.PROGRESSING,
            f"waiting for the rollout to be observed (generation {generation}, observed {observed})",
            facts,
        )
    if desired is not None and ready < desired:
        return Health(HealthStatus.PROGRESSING, readiness, facts)
    if strategy == "RollingUpdate" and spec.has("updateStrategy.rollingUpdate"):
        if desired is not None and partition:
            above = max(desired - partition, 0)
            if updated < above:
                return Health(
                    HealthStatus.PROGRESSING,
                    f"partitioned rollout: {updated} of {above} pods from ordinal {partition} up "
                    f"updated; {readiness}",
                    facts,
                )
            held = desired - above
            return Health(
                HealthStatus.HEALTHY,
                f"{readiness}; partitioned rollout done: {plural(above, 'pod')} updated, "
                f"{held} held at the old revision by partition {partition}",
                facts,
            )
        if desired is not None and updated < desired:
            return Health(
                HealthStatus.PROGRESSING,
                f"rolling update: {updated} of {desired} pods at revision {update_revision}; {readiness}",
                facts,
            )
        return Health(HealthStatus.HEALTHY, readiness, facts)
    if strategy == "OnDelete":
        note = ""
        if desired is not None and updated < desired:
            note = f"; OnDelete: {updated} of {desired} pods updated, delete the others to update them"
        return Health(HealthStatus.HEALTHY, readiness + note, facts)
    if update_revision != current_revision:
        return Health(
            HealthStatus.PROGRESSING,
            f"rolling update: {plural(updated, 'pod')} at revision {update_revision}; {readiness}",
            facts,
        )
    return Health(HealthStatus.HEALTHY, readiness, facts)
