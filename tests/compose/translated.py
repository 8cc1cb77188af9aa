"""Helpers of the translation tests: a compose text translated (as ``analyze`` does after loading), the
canvas checked, and rendered with the real renderer into manifests validated against Kubernetes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from app.compose.problems import ComposeProblem, Problems
from app.compose.project import FilesInMemory
from app.compose.translating import translate
from app.domain.canvas_check import check_canvas
from app.domain.workflows import Canvas, Edge, Node
from app.rendering import ManifestRenderer, RenderedBundle, RenderRequest, default_templates_dir
from tests.compose.kube_validation import validate_strictly

WORKFLOW_ID = "wf-compose"
NAMESPACE = "imported"


@dataclass(frozen=True, slots=True)
class Translated:
    """A translated project: the checked canvas, Secret values, warnings and errors."""

    canvas: Canvas
    secret_values: dict[str, dict[str, str]]
    warnings: tuple[ComposeProblem, ...]
    errors: tuple[ComposeProblem, ...]

    def node(self, node_id: str) -> Node:
        """The node ``node_id``."""
        return next(n for n in self.canvas.nodes if n.id == node_id)

    def data(self, node_id: str) -> dict[str, Any]:
        """The data of node ``node_id``."""
        return self.node(node_id).data

    def codes(self) -> list[str]:
        """The warning codes, in order."""
        return [w.code for w in self.warnings]

    def warning(self, code: str) -> ComposeProblem:
        """The first warning with ``code``."""
        return next(w for w in self.warnings if w.code == code)

    def edges(self) -> set[tuple[str, str, str | None, str | None]]:
        """Every edge as (source, target, sourceHandle, targetHandle)."""
        return {_edge(e) for e in self.canvas.edges}


def _edge(edge: Edge) -> tuple[str, str, str | None, str | None]:
    return edge.source, edge.target, edge.source_handle, edge.target_handle


def translated(
    text: str,
    files: dict[str, str] | None = None,
    *,
    repository: bool = False,
    base_dir: str = "",
    variables: dict[str, str] | None = None,
) -> Translated:
    """``text`` (one compose file, no interpolation) translated; the canvas must check without errors."""
    model = yaml.safe_load(text)
    problems = Problems()
    out = translate(
        model["services"],
        model.get("volumes") or {},
        variables or {},
        problems,
        namespace=None,
        service_type="ClusterIP",
        project=FilesInMemory(files or {}, repository),
        base_dir=base_dir,
        configs=model.get("configs"),
        secrets=model.get("secrets"),
    )
    checked = check_canvas(out.canvas())
    assert checked.errors == (), checked.errors
    return Translated(checked.canvas, out.secret_values, tuple(problems.warnings), tuple(problems.errors))


@cache
def renderer() -> ManifestRenderer:
    """The renderer over ``templates/``."""
    return ManifestRenderer(default_templates_dir())


def rendered(
    canvas: Canvas, secret_values: Mapping[str, Mapping[str, str]], *, mask: bool = False
) -> RenderedBundle:
    """The bundle of ``canvas``, every manifest validated against each Kubernetes version tested."""
    bundle = renderer().render(RenderRequest(WORKFLOW_ID, NAMESPACE, canvas, secret_values, mask))
    for obj in bundle.objects:
        validate_strictly(obj.manifest)
    return bundle


def manifest(bundle: RenderedBundle, node_id: str) -> dict[str, Any]:
    """The manifest rendered from node ``node_id``."""
    found = bundle.by_node(node_id)
    assert found is not None, f"nothing was rendered from node {node_id!r}"
    return found.manifest


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a workload manifest."""
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec
