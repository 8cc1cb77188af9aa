"""The canvas a compose translation builds: nodes, edges and Secret values, with node ids and object names
kept unique and nodes placed by role (see :mod:`app.compose.layout`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.compose.layout import Rows
from app.domain.names import slugify_dns1123
from app.domain.workflows import Canvas, Edge, Node, Position

_ID_MAX = 58
_NAME_MAX = 60


@dataclass(slots=True)
class Translation:
    """What :func:`app.compose.translating.translate` builds.

    ``secret_values`` maps a Secret node id to its values (never in node data); ``ids`` are the node ids
    taken, ``names`` the object names taken per kind (every object goes in one namespace)."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    secret_values: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    names: dict[str, set[str]] = field(default_factory=dict)
    rows: Rows = field(default_factory=Rows)

    def node_id(self, wanted: str) -> str:
        """A node id not taken yet: ``wanted``, else ``wanted-2``, ``wanted-3``…"""
        return _free(slugify_dns1123(wanted, _ID_MAX), self.ids)

    def object_name(self, kind: str, wanted: str) -> str:
        """A DNS-1123 name for an object of ``kind`` not taken yet: the slug of ``wanted``, else with
        ``-2``, ``-3``… (in the order objects are made, so the same project always gets the same names)."""
        return _free(slugify_dns1123(wanted, _NAME_MAX), self.names.setdefault(kind, set()))

    def reserve(self, kind: str, name: str) -> None:
        """Keep ``name`` from every object of ``kind`` made here (it names an existing object)."""
        self.names.setdefault(kind, set()).add(name)

    def add(self, node_id: str, kind: str, data: dict[str, object], row: int = 0) -> None:
        """Add a node of ``kind``, placed in its column no higher than ``row``."""
        x, y = self.rows.take(kind, row)
        self.nodes.append(Node(node_id, kind, Position(x, y), data))

    def link(
        self,
        source: str,
        target: str,
        target_handle: str | None = None,
        *,
        source_handle: str | None = None,
    ) -> None:
        """Connect ``source`` to ``target`` (once: a second link of the same two nodes is ignored)."""
        if any(edge.source == source and edge.target == target for edge in self.edges):
            return
        edge_id = _free(f"e-{source}-{target}", {edge.id for edge in self.edges})
        self.edges.append(Edge(edge_id, source, target, source_handle, target_handle))

    def canvas(self) -> Canvas:
        """The canvas built so far."""
        return Canvas(tuple(self.nodes), tuple(self.edges))


def _free(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def external_name(definition: Any, key: str) -> str | None:
    """The object name of an ``external`` volume, config or secret defined as ``definition`` under
    ``key`` (``external.name``, else ``name``, else the key, as a DNS-1123 slug); None when it is not
    external."""
    if not isinstance(definition, Mapping):
        return None
    external = definition.get("external")
    if not external:
        return None
    named = external.get("name") if isinstance(external, Mapping) else None
    return slugify_dns1123(str(named or definition.get("name") or key))
