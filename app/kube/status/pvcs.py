"""v1 PersistentVolumeClaim: Bound is healthy, Pending is progressing (saying what it waits for), Lost is
degraded."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View

_PROVISIONER = ("volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")
_SELECTED_NODE = "volume.kubernetes.io/selected-node"


def pvc(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    phase = status.text("phase")
    storage_class = spec.get("storageClassName")
    annotations = obj.view("metadata.annotations")
    facts: dict[str, Any] = {
        "phase": phase or None,
        "storageClassName": spec.text("storageClassName") if storage_class is not None else None,
        "requested": _quantity(spec.get("resources.requests.storage")),
        "capacity": _quantity(status.get("capacity.storage")),
        "accessModes": spec.texts("accessModes"),
        "volumeName": spec.text("volumeName") or None,
    }
    size = facts["capacity"] or facts["requested"]
    if phase == "Bound":
        of = f" ({size})" if size else ""
        note = ""
        if obj.condition_is("FileSystemResizePending"):
            note = "; the file system grows when a pod next mounts it"
        elif obj.condition_is("Resizing"):
            note = "; resizing"
        return Health(
            HealthStatus.HEALTHY, f"bound to volume {spec.text('volumeName') or '?'}{of}{note}", facts
        )
    if phase == "Pending":
        provisioner = next((annotations.literal(key) for key in _PROVISIONER if annotations.literal(key)), "")
        facts["provisioner"] = provisioner or None
        if storage_class is None:
            facts["reason"] = "NoStorageClass"
            message = "no storage class is set (and the cluster has no default), so only a matching "
            message += "PersistentVolume can bind it"
        elif storage_class == "":
            facts["reason"] = "StaticBinding"
            message = "storageClassName is empty: waiting for a PersistentVolume that matches the claim"
        elif provisioner:
            on = annotations.literal(_SELECTED_NODE)
            where = f" on node {on}" if on else ""
            message = f"waiting for {provisioner} to provision a volume of class {storage_class}{where}"
        else:
            message = (
                f"waiting for a volume of class {storage_class} (bound when a pod first uses it, or by hand)"
            )
        return Health(HealthStatus.PROGRESSING, message, facts)
    if phase == "Lost":
        facts["reason"] = "ClaimLost"
        lost = spec.text("volumeName") or "its volume"
        return Health(
            HealthStatus.DEGRADED, f"lost: {lost} no longer exists, so no pod can use this claim", facts
        )
    return Health(
        HealthStatus.UNKNOWN, f"unknown phase {phase!r}" if phase else "no phase reported yet", facts
    )


def _quantity(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
