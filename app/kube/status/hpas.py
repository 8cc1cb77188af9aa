"""autoscaling HorizontalPodAutoscaler: its AbleToScale, ScalingActive and ScalingLimited conditions.

autoscaling/v2 reports them in ``status.conditions``; autoscaling/v1 in the
``autoscaling.alpha.kubernetes.io/conditions`` annotation (a JSON list).
"""

from __future__ import annotations

import json
from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import Malformed, View, plural

_V1_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"


def _conditions(obj: View) -> list[View]:
    if obj.text("apiVersion") != "autoscaling/v1":
        return obj.views("status.conditions")
    raw = obj.view("metadata.annotations").literal(_V1_CONDITIONS)
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise Malformed(f"metadata.annotations[{_V1_CONDITIONS}]", "a JSON list", raw) from None
    return View({"conditions": parsed}, "metadata.annotations").views("conditions")


def _find(conditions: list[View], kind: str) -> View | None:
    return next((condition for condition in conditions if condition.text("type") == kind), None)


def _metric(spec: View, current: View) -> str:
    kind = current.text("type")
    if kind in ("Resource", "ContainerResource"):
        section = "resource" if kind == "Resource" else "containerResource"
        name = current.text(f"{section}.name")
        now = current.view(f"{section}.current")
        target = next(
            (
                metric.view(f"{section}.target")
                for metric in spec.views("metrics")
                if metric.text("type") == kind and metric.text(f"{section}.name") == name
            ),
            View({}),
        )
        if now.has("averageUtilization"):
            wanted = target.maybe_integer("averageUtilization")
            goal = f" (target {wanted}%)" if wanted is not None else ""
            return f"{name} {now.integer('averageUtilization')}%{goal}"
        return f"{name} {now.get('averageValue') or now.get('value')}"
    return kind


def _metrics(obj: View) -> list[str]:
    spec, status = obj.view("spec"), obj.view("status")
    if obj.text("apiVersion") == "autoscaling/v1":
        now = status.maybe_integer("currentCPUUtilizationPercentage")
        target = spec.maybe_integer("targetCPUUtilizationPercentage")
        if now is None:
            return []
        return [f"cpu {now}%" + (f" (target {target}%)" if target is not None else "")]
    return [_metric(spec, current) for current in status.views("currentMetrics") if current.text("type")]


def hpa(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    current, desired = status.integer("currentReplicas"), status.integer("desiredReplicas")
    low, high = spec.integer("minReplicas", 1), spec.integer("maxReplicas")
    target = f"{spec.text('scaleTargetRef.kind') or '?'}/{spec.text('scaleTargetRef.name') or '?'}"
    metrics = _metrics(obj)
    facts: dict[str, Any] = {
        "target": target,
        "currentReplicas": current,
        "desiredReplicas": desired,
        "minReplicas": low,
        "maxReplicas": high,
        "metrics": metrics,
    }
    conditions = _conditions(obj)
    able, active = _find(conditions, "AbleToScale"), _find(conditions, "ScalingActive")
    limited = _find(conditions, "ScalingLimited")
    for condition, doing in ((able, f"cannot scale {target}"), (active, "cannot compute a replica count")):
        if condition is None or condition.text("status") != "False":
            continue
        reason = condition.text("reason")
        if reason == "ScalingDisabled" or reason.startswith("Backoff"):
            continue  # the target was scaled to 0 on purpose; a pause between two scalings
        facts["reason"] = reason or condition.text("type")
        detail = condition.text("message")
        return Health(
            HealthStatus.DEGRADED, f"{doing} ({facts['reason']})" + (f": {detail}" if detail else ""), facts
        )

    if (able is not None and able.text("status") == "True") or (
        limited is not None and limited.text("status") == "True"
    ):
        shown = f"{plural(current, 'replica')} (min {low}, max {high})"
        if metrics:
            shown += f"; {', '.join(metrics)}"
        if active is not None and active.text("reason") == "ScalingDisabled":
            shown = f"scaling disabled: {target} has 0 replicas"
        if limited is not None and limited.text("status") == "True":
            facts["reason"] = limited.text("reason") or "ScalingLimited"
            shown += f"; held at its limit ({facts['reason']}): {limited.text('message')}"
        return Health(HealthStatus.HEALTHY, shown, facts)
    return Health(HealthStatus.PROGRESSING, "waiting to autoscale: no reading from the autoscaler yet", facts)
