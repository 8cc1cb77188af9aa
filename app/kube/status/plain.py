"""Kinds with nothing to wait for: ConfigMap, Secret and NetworkPolicy are healthy once they exist; a
Namespace too, unless it is terminating."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View, plural


def configmap(obj: View) -> Health:
    keys = sorted({*obj.keys("data"), *obj.keys("binaryData")})
    return Health(HealthStatus.HEALTHY, f"holds {plural(len(keys), 'key')}", {"keys": keys})


def secret(obj: View) -> Health:
    """Key names only: a value never leaves the cluster through a health message."""
    keys = sorted({*obj.keys("data"), *obj.keys("stringData")})
    kind = obj.text("type", "Opaque")
    return Health(
        HealthStatus.HEALTHY, f"{kind} secret with {plural(len(keys), 'key')}", {"type": kind, "keys": keys}
    )


def networkpolicy(obj: View) -> Health:
    spec = obj.view("spec")
    labels = spec.view("podSelector.matchLabels")
    selector = sorted(f"{key}={labels.literal(str(key))}" for key in labels.data)
    expressions = spec.count("podSelector.matchExpressions")
    types = spec.texts("policyTypes") or ["Ingress"]
    parts = selector + ([plural(expressions, "match expression")] if expressions else [])
    pods = f"pods with {', '.join(parts)}" if parts else "every pod in the namespace"
    facts: dict[str, Any] = {"policyTypes": types, "podSelector": selector}
    return Health(HealthStatus.HEALTHY, f"in force ({' and '.join(types)}) for {pods}", facts)


_DELETION_CONDITIONS = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)


def namespace(obj: View) -> Health:
    phase = obj.text("status.phase")
    facts: dict[str, Any] = {"phase": phase or None}
    if phase == "Terminating":
        waits = []
        for kind in _DELETION_CONDITIONS:
            found = obj.condition(kind)
            if found is not None and found.text("status") == "True":
                waits.append(found.text("message") or kind)
        facts["waitingFor"] = waits
        waiting = f"waiting for its content to go: {'; '.join(waits)}" if waits else "terminating"
        return Health(HealthStatus.PROGRESSING, waiting, facts)
    return Health(HealthStatus.HEALTHY, "active", facts)
