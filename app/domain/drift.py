"""Drift: how a live object differs from what Trellis applied, judged only on the fields Trellis set.

What Trellis applied is its own server-side apply configuration (the manifest a run rendered): its leaf
fields are exactly what the workflow's field manager owned right after the apply. Fields the API server
defaulted and fields only other managers set are never in it, so they are never drift. A field another
manager took over (``kubectl apply --force-conflicts``, ``kubectl edit``) leaves Trellis's entry in
``metadata.managedFields``; that entry's FieldsV1 and the other managers' say who holds each changed field.

Paths are structured-merge-diff's: ``("f", name)`` a field, ``("k", ((key, value), …))`` a list item by its
key fields, ``("v", json)`` a set item by value, ``("i", n)`` an index. Shown as
``spec.template.spec.containers[name=web].image``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

PathElement = tuple[str, Any]
FieldPath = tuple[PathElement, ...]

ABSENT: Any = object()  # a path that leads nowhere in an object

# Top-level and metadata fields a manager never owns (structured-merge-diff's stripped fields).
_UNOWNED_TOP = frozenset({"apiVersion", "kind", "status"})
_UNOWNED_META = frozenset(
    {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"}
)


class DriftState(StrEnum):
    IN_SYNC = "IN_SYNC"  # every field Trellis applied has the value it applied
    MODIFIED = "MODIFIED"  # some changed (see the changes)
    MISSING = "MISSING"  # the object is gone
    EXTRA = "EXTRA"  # labelled with the workflow, but its node is not in the deployed version


@dataclass(frozen=True, slots=True)
class DriftChange:
    """One field Trellis applied whose live value differs: ``applied`` and ``live`` are JSON values
    (``None`` when absent; Secret values masked); ``manager`` holds the field now, if anyone does."""

    path: str
    applied: Any
    live: Any
    manager: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectDrift:
    """One object's drift: a node's object from the deployed run, or an EXTRA one (its ``node_id`` is
    the node label it carries)."""

    node_id: str | None
    api_version: str
    kind: str
    name: str
    namespace: str | None
    state: DriftState
    changes: tuple[DriftChange, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkflowDrift:
    """A workflow's drift against its last completed deploy run (``run_id``/``version`` None: nothing
    deployed yet, so nothing can drift)."""

    workflow_id: str
    run_id: str | None
    version: int | None
    checked_at: datetime
    objects: tuple[ObjectDrift, ...] = ()

    @property
    def in_sync(self) -> bool:
        return all(obj.state is DriftState.IN_SYNC for obj in self.objects)


# --- FieldsV1 ----------------------------------------------------------------------------------------


def element_of(key: str) -> PathElement:
    """One FieldsV1 key (``f:spec``, ``k:{"name":"web"}``, ``v:"x"``, ``i:0``) as a path element."""
    prefix, _, rest = key.partition(":")
    if prefix == "f":
        return ("f", rest)
    if prefix == "k":
        return ("k", tuple(sorted(json.loads(rest).items())))
    if prefix == "v":
        return ("v", json.dumps(json.loads(rest), separators=(",", ":")))
    if prefix == "i":
        return ("i", int(rest))
    raise ValueError(f"not a FieldsV1 key: {key!r}")


def fields_v1_paths(tree: Mapping[str, Any], prefix: FieldPath = ()) -> set[FieldPath]:
    """Every member of a FieldsV1 tree: the leaves, and the nodes marked ``.`` (owned with children)."""
    members: set[FieldPath] = set()
    for key, child in tree.items():
        if key == ".":
            members.add(prefix)
            continue
        path = (*prefix, element_of(key))
        if isinstance(child, Mapping) and child:
            members |= fields_v1_paths(child, path)
        else:
            members.add(path)
    return members


def owners(managed_fields: Sequence[Mapping[str, Any]]) -> dict[str, set[FieldPath]]:
    """Manager name → the fields it owns, over all its entries (Apply and Update) of the main resource."""
    owned: dict[str, set[FieldPath]] = {}
    for entry in managed_fields:
        if not isinstance(entry, Mapping) or entry.get("subresource"):
            continue
        tree = entry.get("fieldsV1")
        if isinstance(tree, Mapping):
            owned.setdefault(str(entry.get("manager", "")), set()).update(fields_v1_paths(tree))
    return owned


def holder(path: FieldPath, owned: Mapping[str, set[FieldPath]], ours: str) -> str | None:
    """Who holds ``path`` (or an atomic parent of it): another manager first, else ours, else None."""
    prefixes = {path[:n] for n in range(1, len(path) + 1)}
    found = [manager for manager, fields in owned.items() if fields & prefixes]
    others = sorted(m for m in found if m != ours)
    if others:
        return others[0]
    return ours if ours in found else None


# --- the fields of an applied configuration ------------------------------------------------------------


def _list_keys(field: str, items: Sequence[Any]) -> tuple[str, ...] | None:
    """The key fields of an associative list (as the API's list-map types), or None when atomic."""
    if not items or not all(isinstance(item, Mapping) for item in items):
        return None
    if field == "ports" and all("containerPort" in item for item in items):
        return ("containerPort", "protocol")
    if field == "ports" and all("port" in item for item in items):
        return ("port", "protocol")
    if field == "volumeMounts" and all("mountPath" in item for item in items):
        return ("mountPath",)
    if all("name" in item for item in items) and field not in {"args", "command"}:
        return ("name",)
    return None


def _item_element(keys: tuple[str, ...], item: Mapping[str, Any]) -> PathElement:
    pairs = [(key, item.get(key, "TCP" if key == "protocol" else None)) for key in keys]
    return ("k", tuple(sorted(pairs)))


def applied_fields(manifest: Mapping[str, Any]) -> Iterator[tuple[FieldPath, Any]]:
    """Every leaf field an apply of ``manifest`` sets, with its value (an atomic list is one leaf)."""
    for key, value in manifest.items():
        if key in _UNOWNED_TOP:
            continue
        if key == "metadata" and isinstance(value, Mapping):
            for meta_key, meta_value in value.items():
                if meta_key not in _UNOWNED_META:
                    yield from _leaves((("f", "metadata"), ("f", meta_key)), meta_key, meta_value)
            continue
        yield from _leaves((("f", key),), key, value)


def _leaves(path: FieldPath, field: str, value: Any) -> Iterator[tuple[FieldPath, Any]]:
    if isinstance(value, Mapping) and value:
        for key, child in value.items():
            yield from _leaves((*path, ("f", str(key))), str(key), child)
        return
    if isinstance(value, list):
        keys = _list_keys(field, value)
        if keys is not None:
            for item in value:
                element = _item_element(keys, item)
                item_path = (*path, element)
                rest = {k: v for k, v in item.items() if k not in keys}
                if not rest:
                    yield item_path, dict(item)
                for key, child in rest.items():
                    yield from _leaves((*item_path, ("f", str(key))), str(key), child)
            return
    yield path, value


def resolve(obj: Any, path: FieldPath) -> Any:
    """The value at ``path`` in ``obj``, or :data:`ABSENT`."""
    current = obj
    for kind, value in path:
        if kind == "f":
            if not isinstance(current, Mapping) or value not in current:
                return ABSENT
            current = current[value]
        elif kind == "k":
            if not isinstance(current, list):
                return ABSENT
            current = next((item for item in current if _matches(item, value)), ABSENT)
            if current is ABSENT:
                return ABSENT
        elif kind == "v":
            wanted = json.loads(value)
            if not isinstance(current, list) or wanted not in current:
                return ABSENT
            current = wanted
        else:
            if not isinstance(current, list) or not 0 <= value < len(current):
                return ABSENT
            current = current[value]
    return current


def _matches(item: Any, pairs: tuple[tuple[str, Any], ...]) -> bool:
    if not isinstance(item, Mapping):
        return False
    return all(item.get(key, "TCP" if key == "protocol" else None) == value for key, value in pairs)


def contains(applied: Any, live: Any) -> bool:
    """Whether ``live`` holds everything ``applied`` sets: equal scalars, maps with at least the applied
    keys, lists of the same length item by item (the server may default fields inside atomic lists)."""
    if isinstance(applied, Mapping):
        return isinstance(live, Mapping) and all(
            k in live and contains(v, live[k]) for k, v in applied.items()
        )
    if isinstance(applied, list):
        return (
            isinstance(live, list)
            and len(applied) == len(live)
            and all(contains(a, b) for a, b in zip(applied, live, strict=True))
        )
    if isinstance(applied, bool) or isinstance(live, bool):
        return applied is live
    return bool(applied == live)


def show(path: FieldPath) -> str:
    """``spec.template.spec.containers[name=web].image``; ``ports[containerPort=80,protocol=TCP]``."""
    out = ""
    for kind, value in path:
        if kind == "f":
            out += ("." if out else "") + str(value)
        elif kind == "k":
            out += "[" + ",".join(f"{k}={v}" for k, v in value) + "]"
        elif kind == "v":
            out += f"[={value}]"
        else:
            out += f"[{value}]"
    return out


def _masked(path: FieldPath, secret: bool) -> bool:
    return secret and len(path) >= 1 and path[0] in (("f", "data"), ("f", "stringData"))


def compare(
    applied: Mapping[str, Any], live: Mapping[str, Any], *, manager: str, mask: str | None = None
) -> tuple[DriftChange, ...]:
    """The fields of ``applied`` whose value ``live`` no longer holds, sorted by path. ``manager`` is
    Trellis's field manager for the workflow; with ``mask``, Secret values are replaced by it."""
    owned = owners((live.get("metadata") or {}).get("managedFields") or [])
    secret = mask is not None and applied.get("kind") == "Secret"
    changes: list[DriftChange] = []
    for path, value in applied_fields(applied):
        current = resolve(live, path)
        if current is not ABSENT and contains(value, current):
            continue
        shown_live = None if current is ABSENT else current
        shown_applied = value
        if _masked(path, secret):
            shown_applied = mask
            shown_live = None if current is ABSENT else mask
        changes.append(DriftChange(show(path), shown_applied, shown_live, holder(path, owned, manager)))
    return tuple(sorted(changes, key=lambda change: change.path))
