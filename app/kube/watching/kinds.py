"""Which kinds the pool watches, how each is selected, and how its objects are shaped for the sink."""

from __future__ import annotations

from typing import Any

from app.domain.labels import MANAGED_BY, MANAGER
from app.kube.watching.sinks import WatchKey

# Everything a node can be, and what controllers make from it (Pods and ReplicaSets carry the Trellis
# labels through their pod templates).
NODE_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "Namespace"),
)
WORKLOAD_CHILD_KINDS: tuple[tuple[str, str], ...] = (("v1", "Pod"), ("apps/v1", "ReplicaSet"))
EVENT_KIND: tuple[str, str] = ("v1", "Event")
WATCHED_KINDS: tuple[tuple[str, str], ...] = (*NODE_KINDS, *WORKLOAD_CHILD_KINDS, EVENT_KIND)

# Kinds without a namespace: their watch key never has one. (Discovery has the final word; this
# only keeps ``ensure("v1", "Namespace", "shop")`` and ``ensure("v1", "Namespace", None)`` one watch.)
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "IngressClass",
        "PriorityClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
    }
)

MANAGED_SELECTOR = f"{MANAGED_BY}={MANAGER}"
SECRET_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def watch_key(api_version: str, kind: str, namespace: str | None) -> WatchKey:
    if not api_version or not kind:
        raise ValueError("a watch needs an apiVersion and a kind")
    return WatchKey(api_version, kind, None if kind in CLUSTER_SCOPED_KINDS else (namespace or None))


def is_event_kind(key: WatchKey) -> bool:
    return key.kind == "Event" and key.api_version in ("v1", "events.k8s.io/v1")


def label_selector(key: WatchKey) -> str | None:
    """Everything Trellis deployed carries ``app.kubernetes.io/managed-by=trellis``; Kubernetes Events
    carry no labels, so they are watched unfiltered (per namespace in use) and matched by the consumer
    on ``involvedObject``."""
    return None if is_event_kind(key) else MANAGED_SELECTOR


def shaped(key: WatchKey, obj: dict[str, Any]) -> dict[str, Any]:
    """The object with ``apiVersion``/``kind`` set (a list's items lack them) and, for a Secret, its
    values blanked: the data keys stay, what they hold never leaves the adapter through a watch."""
    shaped_obj = {"apiVersion": key.api_version, "kind": key.kind, **obj}
    if key.kind == "Secret" and key.api_version == "v1":
        shaped_obj = _without_secret_values(shaped_obj)
    return shaped_obj


def _without_secret_values(secret: dict[str, Any]) -> dict[str, Any]:
    blanked = dict(secret)
    for field in ("data", "stringData"):
        values = blanked.get(field)
        if isinstance(values, dict):
            blanked[field] = dict.fromkeys(values, "")
    metadata = blanked.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if isinstance(metadata, dict) and isinstance(annotations, dict) and SECRET_LAST_APPLIED in annotations:
        blanked["metadata"] = {
            **metadata,
            "annotations": {k: v for k, v in annotations.items() if k != SECRET_LAST_APPLIED},
        }
    return blanked
