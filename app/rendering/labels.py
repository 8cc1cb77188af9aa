"""The labels Trellis puts on everything it renders, and the selectors built on them (the label names
live in :mod:`app.domain.labels`, which the watchers and the pruner read back).

Every object and every pod template carries :data:`MANAGED_BY`, :data:`WORKFLOW_LABEL` and
:data:`NODE_LABEL` (so the watch pool sees the Pods and ReplicaSets controllers create). A user's own
labels are merged in but never override these three. Selectors use the workflow and node labels — stable,
since a Deployment's selector is immutable — never ``app: <name>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.domain.labels import MANAGED_BY, MANAGER, NODE_LABEL, WORKFLOW_LABEL

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label Kubernetes puts on every Namespace, holding its name (for namespaceSelectors)."""

__all__ = [
    "MANAGED_BY",
    "MANAGER",
    "NAMESPACE_NAME_LABEL",
    "NODE_LABEL",
    "WORKFLOW_LABEL",
    "object_labels",
    "select_node",
    "select_nodes",
]


def object_labels(workflow_id: str, node_id: str, user: Mapping[str, str] | None = None) -> dict[str, str]:
    """The labels of an object (and its pod template): ``user`` labels plus the three Trellis labels,
    which win over a user label of the same key."""
    return {
        **(user or {}),
        MANAGED_BY: MANAGER,
        WORKFLOW_LABEL: workflow_id,
        NODE_LABEL: node_id,
    }


def select_node(workflow_id: str, node_id: str) -> dict[str, str]:
    """``matchLabels`` selecting the pods of one node of one workflow."""
    return {WORKFLOW_LABEL: workflow_id, NODE_LABEL: node_id}


def select_nodes(workflow_id: str, node_ids: Iterable[str]) -> dict[str, Any]:
    """A label selector (``matchLabels`` and, for several nodes, ``matchExpressions``) selecting the pods
    of the given nodes of one workflow."""
    ids = list(dict.fromkeys(node_ids))
    if not ids:
        raise ValueError("select_nodes needs at least one node id")
    if len(ids) == 1:
        return {"matchLabels": select_node(workflow_id, ids[0])}
    return {
        "matchLabels": {WORKFLOW_LABEL: workflow_id},
        "matchExpressions": [{"key": NODE_LABEL, "operator": "In", "values": ids}],
    }
