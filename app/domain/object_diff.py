"""What a server-side apply would change in a live object: field paths with old and new values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Fields the server owns or that change on every write; never part of a plan.
IGNORED = {
    ("metadata", "managedFields"),
    ("metadata", "resourceVersion"),
    ("metadata", "generation"),
    ("metadata", "uid"),
    ("metadata", "creationTimestamp"),
    ("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"),
    ("status",),
}


@dataclass(frozen=True, slots=True)
class ObjectChange:
    path: str
    old: Any
    new: Any


def _ignored(path: tuple[str, ...]) -> bool:
    return any(path[: len(prefix)] == prefix for prefix in IGNORED)


def _show(path: tuple[str, ...]) -> str:
    return ".".join(path)


def diff_objects(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ObjectChange]:
    """Changes from ``old`` (live) to ``new`` (the dry-run result), sorted by path."""
    changes: list[ObjectChange] = []
    _walk((), old, new, changes)
    return sorted(changes, key=lambda change: change.path)


def _walk(path: tuple[str, ...], old: Any, new: Any, out: list[ObjectChange]) -> None:
    if _ignored(path):
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            _walk((*path, str(key)), old.get(key), new.get(key), out)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk((*path[:-1], f"{path[-1]}[{index}]") if path else (f"[{index}]",), a, b, out)
        return
    if old != new:
        out.append(ObjectChange(_show(path), old, new))
