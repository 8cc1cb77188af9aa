"""Small builders for canvases in domain tests."""

from __future__ import annotations

from typing import Any

from app.domain.canvas_check import CanvasCheck, check_canvas
from app.domain.workflows import Canvas, Edge, Node, Position


def node(node_id: str, kind: str, x: float = 0, y: float = 0, **data: Any) -> Node:
    """A node with ``data`` given as keyword arguments."""
    return Node(node_id, kind, Position(x, y), dict(data))


def edge(edge_id: str, source: str, target: str, handle: str | None = None) -> Edge:
    """An edge, optionally with a sourceHandle."""
    return Edge(edge_id, source, target, source_handle=handle)


def canvas(nodes: list[Node], edges: list[Edge] | None = None) -> Canvas:
    """A canvas of ``nodes`` and ``edges``."""
    return Canvas(tuple(nodes), tuple(edges or ()))


def check(nodes: list[Node], edges: list[Edge] | None = None, *, strict: bool = False) -> CanvasCheck:
    """``check_canvas`` of the given nodes and edges."""
    return check_canvas(canvas(nodes, edges), strict=strict)


def data_of(result: CanvasCheck, node_id: str) -> dict[str, Any]:
    """The checked data of one node."""
    for item in result.canvas.nodes:
        if item.id == node_id:
            return item.data
    raise KeyError(node_id)


def paths(problems: tuple[Any, ...]) -> list[str]:
    """The paths of some problems."""
    return [p.path for p in problems]


def messages(problems: tuple[Any, ...]) -> str:
    """Every problem as one text, for ``in`` assertions."""
    return "\n".join(str(p) for p in problems)
