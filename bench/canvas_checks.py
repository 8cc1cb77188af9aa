"""How long does checking and linking a canvas take as it grows? Prints milliseconds per check."""

from __future__ import annotations

import statistics
import time

from app.domain.canvas_check import check_canvas
from app.domain.workflows import Canvas, Edge, Node, Position


def web_tier(count: int) -> Canvas:
    """``count`` groups of Deployment + Service + ConfigMap + Ingress, each wired together."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for i in range(count):
        nodes += [
            Node(
                f"d{i}",
                "Deployment",
                Position(0, i),
                {"name": f"web-{i}", "image": "nginx:1.27", "port": 8080},
            ),
            Node(f"s{i}", "Service", Position(1, i), {"name": f"web-{i}", "port": 80}),
            Node(f"c{i}", "ConfigMap", Position(2, i), {"name": f"cfg-{i}", "data": {"A": "1"}}),
            Node(
                f"i{i}",
                "Ingress",
                Position(3, i),
                {"name": f"ing-{i}", "paths": [{"id": "p", "path": "/", "pathType": "Prefix"}]},
            ),
        ]
        edges += [
            Edge(f"e{i}a", f"s{i}", f"d{i}"),
            Edge(f"e{i}b", f"c{i}", f"d{i}"),
            Edge(f"e{i}c", f"i{i}", f"s{i}", "p"),
        ]
    return Canvas(tuple(nodes), tuple(edges))


def main() -> None:
    print("canvas check (sanitise + edge rules + linked fields), median of 20 runs")
    for groups in (10, 50, 125):
        canvas = web_tier(groups)
        samples = []
        for _ in range(20):
            start = time.perf_counter()
            result = check_canvas(canvas)
            samples.append((time.perf_counter() - start) * 1000)
            assert result.ok, result.errors[:3]
        print(
            f"  {len(canvas.nodes):4d} nodes {len(canvas.edges):4d} edges: "
            f"{statistics.median(samples):7.2f} ms"
        )


if __name__ == "__main__":
    main()
