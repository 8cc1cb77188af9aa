"""Diagnosing a deployed node from its data and its live health: checks with a verdict, a suggestion and,
where it is safe, a fix expressed as a change to the node's data (never raw YAML)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.health import Health, HealthStatus
from app.domain.workflows import Canvas, Node


class Verdict(StrEnum):
    PASS = "PASS"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class NodeFix:
    """Set these data fields (dotted paths) on the node; the next run applies them."""

    id: str
    description: str
    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    verdict: Verdict
    message: str
    suggestion: str | None = None
    fix: NodeFix | None = None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    node_id: str
    health: Health | None
    checks: tuple[Check, ...] = field(default_factory=tuple)


_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti)?$")
_UNITS = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}


def _bytes(quantity: str) -> int | None:
    match = _QUANTITY.match(quantity.strip())
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


def doubled_memory(current: str | None) -> str:
    """Twice ``current`` in Mi (at least 256Mi); 512Mi when there is no (readable) limit."""
    size = _bytes(current) if current else None
    if size is None:
        return "512Mi"
    return f"{max(256, (2 * size) // 1024**2)}Mi"


def diagnose(canvas: Canvas, node_id: str, health: Health | None, healths: Mapping[str, Health]) -> Diagnosis:
    """Every check that applies to the node (an empty list means nothing to say)."""
    node = next((n for n in canvas.nodes if n.id == node_id), None)
    if node is None:
        return Diagnosis(node_id, health)
    checks: list[Check] = []
    facts = dict(health.facts) if health else {}
    reason = str(facts.get("reason") or "")
    if node.kind == "Service":
        checks += _service_checks(canvas, node, healths)
    if node.kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}:
        checks += _workload_checks(node, reason, facts)
    if node.kind == "PersistentVolumeClaim":
        checks += _claim_checks(node, health)
    if health is not None and not checks:
        verdict = Verdict.PASS if health.status is HealthStatus.HEALTHY else Verdict.WARNING
        checks.append(Check("health", verdict, health.message or health.status.value.lower()))
    return Diagnosis(node_id, health, tuple(checks))


def _service_checks(canvas: Canvas, service: Node, healths: Mapping[str, Health]) -> list[Check]:
    target_id = service.data.get("_linkedDeployment")
    target = next((n for n in canvas.nodes if n.id == target_id), None)
    if target is None:
        if service.data.get("selector"):
            return [
                Check(
                    "selector",
                    Verdict.WARNING,
                    "the Service selects pods by its own selector map",
                    "connect it to a workload on the canvas so Trellis keeps the selector right",
                )
            ]
        return [
            Check(
                "selector",
                Verdict.ERROR,
                "the Service selects no workload: it has no endpoints",
                "connect the Service to a Deployment, StatefulSet or DaemonSet",
            )
        ]
    checks = [Check("selector", Verdict.PASS, f"selects the pods of {target.data.get('name') or target.id}")]
    port = target.data.get("port")
    target_port = service.data.get("targetPort")
    if port is not None and target_port not in (None, port, str(port)):
        checks.append(
            Check(
                "targetPort",
                Verdict.ERROR,
                f"the Service sends traffic to port {target_port} but the workload listens on {port}",
                f"set targetPort to {port}",
                NodeFix("service-target-port", f"set targetPort to {port}", {"targetPort": port}),
            )
        )
    workload_health = healths.get(target.id)
    if workload_health is not None and workload_health.status is not HealthStatus.HEALTHY:
        checks.append(
            Check(
                "endpoints",
                Verdict.WARNING,
                f"the workload behind it is {workload_health.status.value.lower()}: "
                f"{workload_health.message}; the Service may have no ready endpoints",
                "diagnose the workload node",
            )
        )
    return checks


def _workload_checks(node: Node, reason: str, facts: Mapping[str, Any]) -> list[Check]:
    if reason in {"ImagePullBackOff", "ErrImagePull", "InvalidImageName"}:
        image = facts.get("image") or node.data.get("image")
        return [
            Check(
                "image",
                Verdict.ERROR,
                f"the image {image} cannot be pulled ({reason})",
                "check the image name and tag, and that the registry is reachable and its credentials set",
            )
        ]
    if reason == "OOMKilled":
        limits = (node.data.get("resources") or {}).get("limits") or {}
        current = limits.get("memory") or facts.get("memoryLimit")
        raised = doubled_memory(str(current) if current else None)
        return [
            Check(
                "memory",
                Verdict.ERROR,
                f"the container was killed for running out of memory (limit {current or 'none'})",
                f"raise the memory limit to {raised}",
                NodeFix(
                    "raise-memory-limit",
                    f"raise the memory limit to {raised}",
                    {"resources.limits.memory": raised},
                ),
            )
        ]
    if reason == "CrashLoopBackOff":
        return [
            Check(
                "crash-loop",
                Verdict.ERROR,
                "the container keeps crashing",
                "read its logs (podLogs) for the error; check command, args and env",
            )
        ]
    if reason == "CreateContainerConfigError":
        return [
            Check(
                "config",
                Verdict.ERROR,
                "the container cannot be configured (a missing ConfigMap, Secret or key)",
                "check that every linked ConfigMap and Secret was applied with its keys",
            )
        ]
    if reason == "Unschedulable":
        return [
            Check(
                "scheduling",
                Verdict.ERROR,
                str(facts.get("detail") or "no node can run the pod"),
                "lower the resource requests, or check nodeSelector and tolerations",
            )
        ]
    return []


def _claim_checks(claim: Node, health: Health | None) -> list[Check]:
    if claim.data.get("storageClassName"):
        return []
    if health is not None and health.status is not HealthStatus.HEALTHY:
        return [
            Check(
                "storage-class",
                Verdict.WARNING,
                "the claim names no storage class and is not bound: the cluster may have no default class",
                "set storageClassName to one of the cluster's storage classes",
            )
        ]
    return [Check("storage-class", Verdict.PASS, "bound using the cluster's default storage class")]


def apply_fix(node: Node, fix: NodeFix) -> Node:
    """The node with the fix's data changes set (dotted paths create nested objects)."""
    data: dict[str, Any] = _copy(node.data)
    for path, value in fix.changes.items():
        target = data
        parts = path.split(".")
        for part in parts[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = {}
                target[part] = child
            target = child
        target[parts[-1]] = value
    return Node(node.id, node.kind, node.position, data)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
