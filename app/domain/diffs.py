"""Differences between two canvases, node by node and edge by edge, down to the changed field.

Paths are dotted with list indexes (``data.env[0].value``, ``position.x``); lists whose items all carry an
``id`` (Ingress paths, policy rules, Secret keys) are matched by id (``data.paths[id=p1].servicePort``)
and their order is ignored. Run-time keys (``_status…``) are ignored. Output order is deterministic: items
in the order of the old canvas, then the ones only in the new canvas in its order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.domain.kinds import is_runtime_key
from app.domain.problems import key_path
from app.domain.workflows import Canvas, Edge, Node


class ChangeKind(StrEnum):
    """How an item differs."""

    ADDED = "ADDED"
    REMOVED = "REMOVED"
    MODIFIED = "MODIFIED"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed value; ``old`` or ``new`` is ``None`` when the field was added or removed."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class NodeDiff:
    """How one node differs; ``changes`` lists the changed fields of a MODIFIED node (else empty)."""

    node_id: str
    kind: str
    change: ChangeKind
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class EdgeDiff:
    """How one edge differs; ``source``/``target`` are the new ends (the old ones for a removed edge)."""

    edge_id: str
    source: str
    target: str
    change: ChangeKind
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class CanvasDiff:
    """Every node and edge that differs."""

    nodes: tuple[NodeDiff, ...] = ()
    edges: tuple[EdgeDiff, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the canvases are the same (as far as this diff looks)."""
        return not self.nodes and not self.edges


def diff_canvases(old: Canvas, new: Canvas, *, ignore_layout: bool = False) -> CanvasDiff:
    """What changed from ``old`` to ``new``; nodes and edges are matched by id.

    With ``ignore_layout`` position changes are left out, and a node that only moved is not listed.
    """
    return CanvasDiff(
        nodes=tuple(_node_diffs(old.nodes, new.nodes, ignore_layout)),
        edges=tuple(_edge_diffs(old.edges, new.edges)),
    )


def _node_diffs(old: Sequence[Node], new: Sequence[Node], ignore_layout: bool) -> Iterator[NodeDiff]:
    before = {node.id: node for node in old}
    after = {node.id: node for node in new}
    for node_id in _ids_in_order(before, after):
        was, now = before.get(node_id), after.get(node_id)
        if was is None and now is not None:
            yield NodeDiff(node_id, now.kind, ChangeKind.ADDED)
        elif now is None and was is not None:
            yield NodeDiff(node_id, was.kind, ChangeKind.REMOVED)
        elif was is not None and now is not None:
            changes = list(_node_changes(was, now, ignore_layout))
            if changes:
                yield NodeDiff(node_id, now.kind, ChangeKind.MODIFIED, tuple(changes))


def _node_changes(was: Node, now: Node, ignore_layout: bool) -> Iterator[FieldChange]:
    if was.kind != now.kind:
        yield FieldChange("kind", was.kind, now.kind)
    if not ignore_layout:
        for axis in ("x", "y"):
            a, b = getattr(was.position, axis), getattr(now.position, axis)
            if a != b:
                yield FieldChange(f"position.{axis}", a, b)
    yield from _value_changes("data", _drop_runtime(was.data), _drop_runtime(now.data))


def _edge_diffs(old: Sequence[Edge], new: Sequence[Edge]) -> Iterator[EdgeDiff]:
    before = {edge.id: edge for edge in old}
    after = {edge.id: edge for edge in new}
    for edge_id in _ids_in_order(before, after):
        was, now = before.get(edge_id), after.get(edge_id)
        if was is None and now is not None:
            yield EdgeDiff(edge_id, now.source, now.target, ChangeKind.ADDED)
        elif now is None and was is not None:
            yield EdgeDiff(edge_id, was.source, was.target, ChangeKind.REMOVED)
        elif was is not None and now is not None:
            changes = tuple(
                FieldChange(name, getattr(was, attr), getattr(now, attr))
                for name, attr in _EDGE_FIELDS
                if getattr(was, attr) != getattr(now, attr)
            )
            if changes:
                yield EdgeDiff(edge_id, now.source, now.target, ChangeKind.MODIFIED, changes)


_EDGE_FIELDS = (
    ("source", "source"),
    ("target", "target"),
    ("sourceHandle", "source_handle"),
    ("targetHandle", "target_handle"),
)


def _ids_in_order(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [*before, *(key for key in after if key not in before)]


def _drop_runtime(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if not is_runtime_key(key)}


def _value_changes(path: str, old: Any, new: Any) -> Iterator[FieldChange]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in _ids_in_order(old, new):
            if is_runtime_key(key):
                continue
            yield from _value_changes(key_path(path, key), old.get(key), new.get(key))
    elif isinstance(old, list) and isinstance(new, list):
        if _all_have_ids(old) and _all_have_ids(new):
            yield from _id_list_changes(path, old, new)
        else:
            for index in range(max(len(old), len(new))):
                yield from _value_changes(
                    f"{path}[{index}]",
                    old[index] if index < len(old) else None,
                    new[index] if index < len(new) else None,
                )
    elif not _same(old, new):
        yield FieldChange(path, old, new)


def _id_list_changes(path: str, old: list[Any], new: list[Any]) -> Iterator[FieldChange]:
    before = {str(item["id"]): item for item in old}
    after = {str(item["id"]): item for item in new}
    for item_id in _ids_in_order(before, after):
        yield from _value_changes(f"{path}[id={item_id}]", before.get(item_id), after.get(item_id))


def _all_have_ids(items: list[Any]) -> bool:
    """Whether every item is an object with a distinct, non-empty string ``id`` (true for no items)."""
    ids = [item.get("id") for item in items if isinstance(item, Mapping)]
    return len(ids) == len(items) and all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``1 == 1.0``, but ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)
