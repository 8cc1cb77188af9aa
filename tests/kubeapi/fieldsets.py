"""Field paths and sets as structured-merge-diff has them, and their FieldsV1 encoding.

A path is a tuple of elements: ``("f", name)`` a field, ``("k", ((key, value), ...))`` an associative list
item by its sorted key fields, ``("v", json)`` a set item by value, ``("i", n)`` an index. A set is a
Python ``set`` of paths; a path in the set is a *member* (owned). FieldsV1 is the tree form in
``metadata.managedFields[].fieldsV1`` with ``f:``/``k:``/``v:``/``i:`` keys and ``.`` marking a member
that also has children.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .schema import Node

PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = set[Path]

MISSING: Any = object()


class SchemaError(Exception):
    """An object that does not fit the schema (an associative list item without its key, duplicates)."""


# -- path elements -------------------------------------------------------------------------------------


def item_element(node: Node, item: Any, index: int, *, strict: bool = False) -> PathElement:
    """The path element of a list item: by key for list-maps, by value for sets, else by index."""
    if node.kind == "listmap" and isinstance(item, dict):
        pairs = []
        for key in node.keys:
            if key in item:
                pairs.append((key, item[key]))
            elif key in node.key_defaults:
                pairs.append((key, node.key_defaults[key]))
            elif strict:
                raise SchemaError(
                    f"element {index}: associative list with keys has an element that omits key field "
                    f'"{key}" (and doesn\'t have default value)'
                )
        if pairs and all(not isinstance(v, dict | list) for _, v in pairs):
            return ("k", tuple(sorted(pairs)))
    if node.kind == "set" and not isinstance(item, dict | list):
        return ("v", json.dumps(item, separators=(",", ":")))
    return ("i", index)


def element_to_fieldsv1(pe: PathElement) -> str:
    kind, value = pe
    if kind == "f":
        return f"f:{value}"
    if kind == "k":
        return "k:" + json.dumps(dict(value), separators=(",", ":"), sort_keys=True)
    if kind == "v":
        return f"v:{value}"
    return f"i:{value}"


def fieldsv1_to_element(text: str) -> PathElement:
    prefix, _, rest = text.partition(":")
    if prefix == "f":
        return ("f", rest)
    if prefix == "k":
        return ("k", tuple(sorted(json.loads(rest).items())))
    if prefix == "v":
        return ("v", json.dumps(json.loads(rest), separators=(",", ":")))
    if prefix == "i":
        return ("i", int(rest))
    raise ValueError(f"bad FieldsV1 key {text!r}")


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def path_to_string(path: Path) -> str:
    """As SMD's fieldpath.Path.String(): ``.spec.containers[name="web"].image``."""
    out = []
    for kind, value in path:
        if kind == "f":
            out.append(f".{value}")
        elif kind == "k":
            out.append("[" + ",".join(f"{k}={_go_value(v)}" for k, v in value) + "]")
        elif kind == "v":
            out.append(f"[={_go_value(json.loads(value))}]")
        else:
            out.append(f"[{value}]")
    return "".join(out)


# -- FieldsV1 ---------------------------------------------------------------------------------------


def encode(paths: Iterable[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths, key=len):
        node = tree
        for pe in path:
            node = node.setdefault(element_to_fieldsv1(pe), {})
        if node:
            node["."] = {}
        else:
            node["\0member"] = True
    return _finish(tree)


def _finish(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    member = tree.pop("\0member", False)
    children = {k: _finish(v) for k, v in tree.items() if k != "."}
    if "." in tree or (member and children):
        out["."] = {}
    out.update(dict(sorted(children.items())))
    return out


def decode(fields: dict[str, Any], prefix: Path = ()) -> FieldSet:
    result: FieldSet = set()
    for key, child in (fields or {}).items():
        if key == ".":
            if prefix:
                result.add(prefix)
            continue
        path = (*prefix, fieldsv1_to_element(key))
        if not child:
            result.add(path)
        else:
            result |= decode(child, path)
    return result


# -- walking objects ---------------------------------------------------------------------------------


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def to_field_set(obj: Any, node: Node, path: Path = (), *, strict: bool = False) -> FieldSet:
    """SMD's ToFieldSet: every leaf, every list item, atomic values and empty containers."""
    out: FieldSet = set()
    _to_set(obj, node, path, out, strict)
    return out


def _to_set(obj: Any, node: Node, path: Path, out: FieldSet, strict: bool) -> None:
    if isinstance(obj, dict) and node.kind in {"struct", "map"}:
        if not obj:
            if path:
                out.add(path)
            return
        for key, value in obj.items():
            child_path = (*path, ("f", key))
            child = node.child(key)
            if _is_container(value):
                _to_set(value, child, child_path, out, strict)
                if node.kind == "map":
                    out.add(child_path)
            else:
                out.add(child_path)
        return
    if isinstance(obj, list) and node.kind in {"listmap", "set"} and obj:
        seen: set[PathElement] = set()
        for index, item in enumerate(obj):
            pe = item_element(node, item, index, strict=strict)
            if strict and pe in seen:
                raise SchemaError(f"duplicate entries for key {path_to_string((pe,))}")
            seen.add(pe)
            item_path = (*path, pe)
            out.add(item_path)
            if isinstance(item, dict) and node.kind == "listmap":
                _to_set(item, node.element(), item_path, out, strict)
        return
    if path:
        out.add(path)


@dataclass
class Comparison:
    modified: FieldSet = field(default_factory=set)
    added: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def changed(self) -> FieldSet:
        return self.modified | self.added


def compare(old: Any, new: Any, node: Node) -> Comparison:
    """SMD's TypedValue.Compare: leaves modified/added/removed, plus added/removed non-leaf items."""
    result = Comparison()
    _compare(old, new, node, (), result)
    return result


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, dict | list) and not value)


def _compare(old: Any, new: Any, node: Node, path: Path, out: Comparison) -> None:
    both_dicts = all(v is MISSING or isinstance(v, dict) for v in (old, new))
    both_lists = all(v is MISSING or isinstance(v, list) for v in (old, new))
    granular_dict = both_dicts and node.kind in {"struct", "map"}
    granular_list = both_lists and node.kind in {"listmap", "set"}
    if not (granular_dict or granular_list) or (_empty(old) and _empty(new)):
        if not path:
            return
        if old is MISSING:
            out.added.add(path)
        elif new is MISSING:
            out.removed.add(path)
        elif old != new:
            out.modified.add(path)
        return
    if path and not node.always:
        if old is MISSING:
            out.added.add(path)
        elif new is MISSING:
            out.removed.add(path)
    if granular_dict:
        old_map = old if old is not MISSING else {}
        new_map = new if new is not MISSING else {}
        for key in list(old_map) + [k for k in new_map if k not in old_map]:
            _compare(
                old_map.get(key, MISSING),
                new_map.get(key, MISSING),
                node.child(key),
                (*path, ("f", key)),
                out,
            )
        return
    old_items = _index_items(old if old is not MISSING else [], node)
    new_items = _index_items(new if new is not MISSING else [], node)
    element = node.element()
    for pe in list(old_items) + [p for p in new_items if p not in old_items]:
        o, n = old_items.get(pe, MISSING), new_items.get(pe, MISSING)
        item_path = (*path, pe)
        if node.kind == "set":
            if o is MISSING:
                out.added.add(item_path)
            elif n is MISSING:
                out.removed.add(item_path)
            continue
        if o is MISSING:
            out.added.add(item_path)
        elif n is MISSING:
            out.removed.add(item_path)
        _compare(o, n, element, item_path, out)


def _index_items(items: list[Any], node: Node) -> dict[PathElement, Any]:
    result: dict[PathElement, Any] = {}
    for index, item in enumerate(items):
        result.setdefault(item_element(node, item, index), item)
    return result


# -- merging (server-side apply) ------------------------------------------------------------------------


def merge(live: Any, config: Any, node: Node) -> Any:
    """SMD's Merge: the applied configuration over the live object, granular where the schema says so."""
    if config is MISSING:
        return copy.deepcopy(live)
    if live is MISSING:
        return copy.deepcopy(config)
    if isinstance(live, dict) and isinstance(config, dict) and node.kind in {"struct", "map"}:
        out = dict(live)
        for key, value in config.items():
            out[key] = merge(live.get(key, MISSING), value, node.child(key))
        return out
    if isinstance(live, list) and isinstance(config, list) and node.kind in {"listmap", "set"}:
        return _merge_list(live, config, node)
    return copy.deepcopy(config)


def _merge_list(live: list[Any], config: list[Any], node: Node) -> list[Any]:
    live_keys = [item_element(node, item, i) for i, item in enumerate(live)]
    config_keys = [item_element(node, item, i) for i, item in enumerate(config)]
    live_by_key = dict(zip(live_keys, live, strict=True))
    config_set = set(config_keys)
    out: list[Any] = []
    emitted: set[PathElement] = set()
    li = 0
    for ci, key in enumerate(config_keys):
        # live-only items keep their place before the next configured item
        while li < len(live_keys) and live_keys[li] not in config_set:
            if live_keys[li] not in emitted:
                out.append(copy.deepcopy(live[li]))
                emitted.add(live_keys[li])
            li += 1
        if li < len(live_keys) and live_keys[li] == key:
            li += 1
        value = config[ci]
        if key in live_by_key and node.kind == "listmap":
            value = merge(live_by_key[key], value, node.element())
        else:
            value = copy.deepcopy(value)
        out.append(value)
        emitted.add(key)
    for key, item in zip(live_keys[li:], live[li:], strict=True):
        if key not in emitted:
            out.append(copy.deepcopy(item))
            emitted.add(key)
    return out


# -- removing ----------------------------------------------------------------------------------------


def with_ancestors(paths: Iterable[Path]) -> FieldSet:
    """Every path plus all its prefixes (SMD's EnsureNamedFieldsAreMembers, approximated)."""
    out: FieldSet = set()
    for path in paths:
        for i in range(1, len(path) + 1):
            out.add(path[:i])
    return out


def topmost(paths: Iterable[Path]) -> FieldSet:
    items = set(paths)
    return {p for p in items if not any(p[:i] in items for i in range(1, len(p)))}


def remove_paths(obj: Any, paths: Iterable[Path], node: Node) -> Any:
    """Remove each path (and everything under it) from a deep copy of ``obj``."""
    result = copy.deepcopy(obj)
    for path in sorted(topmost(paths), key=len, reverse=True):
        _remove(result, path, node)
    return result


def _remove(obj: Any, path: Path, node: Node) -> None:
    kind, value = path[0]
    rest = path[1:]
    if isinstance(obj, dict) and kind == "f":
        if value not in obj:
            return
        if not rest:
            del obj[value]
        else:
            _remove(obj[value], rest, node.child(value))
        return
    if isinstance(obj, list):
        for index, item in enumerate(obj):
            if item_element(node, item, index) == (kind, value):
                if not rest:
                    del obj[index]
                else:
                    _remove(item, rest, node.element())
                return


def strip_nulls(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: strip_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [strip_nulls(v) for v in obj]
    return obj
