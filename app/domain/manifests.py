"""What a renderer takes and gives: a request, the rendered objects, and the bundle of them (pure data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.workflows import Canvas

SECRET_MASK = "********"
"""What a previewed Secret shows instead of each value."""

NO_SECRET_VALUE = "no value stored or supplied"
"""The reason a Secret node with no value for any of its keys is skipped (not applied)."""


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """One workflow's canvas to render.

    ``namespace`` is the workflow's namespace (a node's own ``namespace`` overrides it);
    ``secret_values`` maps a Secret node id to its values by key name (stored values with a run's
    ``triggerData`` already merged on top); with ``mask_secrets`` (previews) every value is replaced by
    :data:`SECRET_MASK`, so the real value is never in the output.
    """

    workflow_id: str
    namespace: str
    canvas: Canvas
    secret_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    mask_secrets: bool = True
    pull_secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Workload node id → the image pull Secrets its pods name (``imagePullSecrets``)."""


@dataclass(frozen=True, slots=True)
class RenderedObject:
    """One Kubernetes object rendered from one node: its identity, the manifest, and the manifest as YAML.

    ``namespace`` is ``None`` for cluster-scoped kinds (Namespace). ``yaml`` is one document, without
    a ``---`` marker, ending with a newline.
    """

    node_id: str
    api_version: str
    kind: str
    name: str
    namespace: str | None
    manifest: dict[str, Any]
    yaml: str


@dataclass(frozen=True, slots=True)
class RenderedBundle:
    """Every object of a workflow, in apply order (see :mod:`app.domain.deploy_order`).

    ``skipped`` lists the nodes rendered to nothing, as ``(node id, reason)``: a Secret with no value
    stored or supplied is not applied (the cluster object is left alone) and the run records a warning.
    """

    objects: tuple[RenderedObject, ...]
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def yaml(self) -> str:
        """All documents in one YAML stream, separated by ``---`` lines."""
        return "---\n".join(obj.yaml for obj in self.objects)

    def by_node(self, node_id: str) -> RenderedObject | None:
        """The object rendered from node ``node_id``, if any."""
        return next((obj for obj in self.objects if obj.node_id == node_id), None)
