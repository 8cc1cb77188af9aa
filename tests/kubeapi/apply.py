"""Managed fields and the server-side apply / update ownership rules (structured-merge-diff's Updater).

``apply`` merges a configuration into the live object, prunes what the manager stopped sending (unless
another manager owns it), detects conflicts with other managers and hands ownership over on ``force``.
``record_update`` gives an Update-operation manager (POST, PUT, non-apply PATCH) the fields it changed and
takes them from everyone else, as kube-apiserver does.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .fieldsets import (
    MISSING,
    FieldSet,
    Path,
    SchemaError,
    compare,
    decode,
    encode,
    merge,
    path_to_string,
    remove_paths,
    to_field_set,
    with_ancestors,
)
from .schema import Node

# stripMetaManager: fields never attributed to a manager
STRIPPED: frozenset[Path] = frozenset(
    {
        (("f", "apiVersion"),),
        (("f", "kind"),),
        (("f", "metadata"),),
        *(
            (("f", "metadata"), ("f", name))
            for name in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)

Identity = tuple[str, str, str, str]  # manager, operation, subresource, apiVersion (Update only)


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    subresource: str = ""
    time: str | None = None
    fields: FieldSet = field(default_factory=set)

    @property
    def identity(self) -> Identity:
        return identity(self.manager, self.operation, self.subresource, self.api_version)

    def describe(self) -> str:
        """printManager from k8s.io/apiserver fieldmanager: how conflicts name a manager."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time is not None:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = encode(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def identity(manager: str, operation: str, subresource: str, api_version: str) -> Identity:
    return (manager, operation, subresource, api_version if operation == "Update" else "")


class ManagedFields:
    def __init__(self, entries: list[Entry] | None = None) -> None:
        self.entries: dict[Identity, Entry] = {e.identity: e for e in entries or []}

    @classmethod
    def from_object(cls, obj: dict[str, Any] | None) -> ManagedFields:
        raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
        entries = []
        for item in raw:
            if not isinstance(item, dict) or (not item.get("manager") and not item.get("fieldsV1")):
                continue
            entries.append(
                Entry(
                    manager=item.get("manager", ""),
                    operation=item.get("operation", "Update"),
                    api_version=item.get("apiVersion", ""),
                    subresource=item.get("subresource", ""),
                    time=item.get("time"),
                    fields=decode(item.get("fieldsV1") or {}),
                )
            )
        return cls(entries)

    def copy(self) -> ManagedFields:
        return ManagedFields([copy.deepcopy(e) for e in self.entries.values()])

    def to_list(self) -> list[dict[str, Any]]:
        def order(e: Entry) -> tuple[str, str, str, str, str]:
            return (e.operation, e.time or "", e.manager, e.api_version, e.subresource)

        return [e.to_dict() for e in sorted(self.entries.values(), key=order)]

    def cleanup(self) -> None:
        for key in list(self.entries):
            entry = self.entries[key]
            entry.fields = {p for p in entry.fields if p not in STRIPPED}
            if not entry.fields:
                del self.entries[key]


def _only(paths: FieldSet, subresource: str) -> FieldSet:
    """Drop the fields a subresource resets: status for the main resource, all else for /status."""
    status = ("f", "status")
    if subresource == "status":
        return {p for p in paths if p[:1] == (status,)}
    return {p for p in paths if p[:1] != (status,)}


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> ApiError:
    conflicts = sorted(conflicts, key=lambda c: (c[0].describe(), path_to_string(c[1])))
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {e.describe()}",
            "field": path_to_string(p),
        }
        for e, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {path_to_string(path)}"
    else:
        lines: list[str] = []
        current = None
        for entry, path in conflicts:
            if entry.describe() != current:
                current = entry.describe()
                lines.append(f"conflicts with {current}:")
            lines.append(f"- {path_to_string(path)}")
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


@dataclass
class ApplyResult:
    obj: dict[str, Any]
    managed: ManagedFields


def apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    managed: ManagedFields,
    *,
    manager: str,
    subresource: str,
    api_version: str,
    force: bool,
    node: Node,
    now: str,
) -> ApplyResult:
    live_obj: dict[str, Any] = live if live is not None else {}
    try:
        config_set = to_field_set(config, node, strict=True)
    except SchemaError as exc:
        raise ApiError(500, "InternalError", f"failed to create typed patch object: {exc}") from exc
    config_set = _only(config_set, subresource)
    if subresource == "status":
        config = {k: v for k, v in config.items() if k in {"apiVersion", "kind", "metadata", "status"}}
        config["metadata"] = {
            k: v for k, v in (config.get("metadata") or {}).items() if k in {"name", "namespace"}
        }
    else:
        config = {k: v for k, v in config.items() if k != "status"}
    merged = merge(live_obj, config, node)

    managed = managed.copy()
    me = identity(manager, "Apply", subresource, api_version)
    previous = managed.entries.get(me)
    sets: dict[Identity, FieldSet] = {k: set(e.fields) for k, e in managed.entries.items()}
    sets[me] = set(config_set)

    if previous is not None and previous.fields:
        last = with_ancestors(previous.fields)
        owned = with_ancestors(set().union(*sets.values()))
        merged = remove_paths(merged, {p for p in last if p not in owned}, node)

    comparison = compare(live_obj, merged, node)
    changed = _only(comparison.changed(), subresource)
    removed = _only(comparison.removed, subresource)
    conflicts: list[tuple[Entry, Path]] = []
    for key, paths in sets.items():
        if key == me:
            continue
        for path in paths & changed:
            conflicts.append((managed.entries[key], path))
    if conflicts and not force:
        raise conflict_error(conflicts)
    for key in sets:
        if key != me:
            sets[key] -= changed
            sets[key] -= removed
    for key, paths in sets.items():
        if key in managed.entries:
            managed.entries[key].fields = paths
    if previous is None:
        managed.entries[me] = Entry(manager, "Apply", api_version, subresource, now, sets[me])
    else:
        previous.fields = sets[me]
        if merged != live_obj:
            previous.time = now
    managed.cleanup()
    return ApplyResult(merged, managed)


def record_update(
    live: dict[str, Any] | None,
    new: dict[str, Any],
    managed: ManagedFields,
    *,
    manager: str,
    subresource: str,
    api_version: str,
    node: Node,
    now: str,
) -> ManagedFields:
    comparison = compare(live if live is not None else MISSING, new, node)
    changed = _only(comparison.changed(), subresource) - STRIPPED
    removed = _only(comparison.removed, subresource)
    managed = managed.copy()
    me = identity(manager, "Update", subresource, api_version)
    for key, entry in managed.entries.items():
        if key != me:
            entry.fields -= changed
            entry.fields -= removed
    mine = managed.entries.get(me)
    if mine is None:
        if changed:
            managed.entries[me] = Entry(manager, "Update", api_version, subresource, now, set(changed))
    else:
        mine.fields = (mine.fields - removed) | changed
        if changed:
            mine.time = now
    managed.cleanup()
    return managed
