"""Canvas payloads for API tests."""

from __future__ import annotations

from typing import Any


def node(node_id: str, kind: str, x: float = 0, y: float = 0, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": x, "y": y}, "data": data}


def edge(edge_id: str, source: str, target: str, source_handle: str | None = None) -> dict[str, Any]:
    return {"id": edge_id, "source": source, "target": target, "sourceHandle": source_handle}


def web_shop() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A Deployment behind a Service and an Ingress, with a ConfigMap mounted."""
    nodes = [
        node("web", "Deployment", 100, 100, name="web", image="nginx:1.27", replicas=2, port=8080),
        node("svc", "Service", 300, 100, name="web-svc", port=80),
        node(
            "ing",
            "Ingress",
            500,
            100,
            name="web-ing",
            host="shop.example.com",
            paths=[{"id": "p1", "path": "/", "pathType": "Prefix"}],
        ),
        node("cfg", "ConfigMap", 100, 300, name="web-config", data={"MODE": "production"}),
    ]
    edges = [
        edge("e1", "svc", "web"),
        edge("e2", "ing", "svc", "p1"),
        edge("e3", "cfg", "web"),
    ]
    return nodes, edges
