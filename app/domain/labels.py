"""The labels that mark what Trellis owns, and reading them back from cluster objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.edges import NODE_LABEL

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "trellis"
WORKFLOW_LABEL = "trellis.dev/workflow"

__all__ = [
    "MANAGED_BY",
    "MANAGER",
    "NODE_LABEL",
    "WORKFLOW_LABEL",
    "node_of",
    "workflow_of",
    "workflow_selector",
]


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata") or {}
    found = metadata.get("labels") if isinstance(metadata, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def workflow_of(obj: Mapping[str, Any]) -> str | None:
    """The workflow an object is labelled with, if Trellis manages it."""
    found = _labels(obj)
    value = found.get(WORKFLOW_LABEL)
    return str(value) if found.get(MANAGED_BY) == MANAGER and value else None


def node_of(obj: Mapping[str, Any]) -> str | None:
    value = _labels(obj).get(NODE_LABEL)
    return str(value) if value else None


def workflow_selector(workflow_id: str) -> str:
    """A label selector for everything Trellis deployed for one workflow."""
    return f"{MANAGED_BY}={MANAGER},{WORKFLOW_LABEL}={workflow_id}"
