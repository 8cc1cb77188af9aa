"""A small Kustomize renderer for the subset deploy/ uses (no kustomize binary is sure to be there).

Supported in a ``kustomization.yaml`` (``SUPPORTED``; ``check_subset`` refuses anything else):

- ``resources``: YAML files (several documents each) and folders holding a kustomization, in order;
- ``patches`` with ``path`` only: strategic-merge patches matched by kind and name — maps merge, a
  ``null`` removes a key, lists of maps that all have a ``name`` merge by name (containers, env,
  volumes…), any other list is replaced; no ``$patch`` directives, no JSON 6902, no ``target``;
- ``namespace``: set on every namespaced object (cluster-scoped kinds are left alone; binding subjects
  are not rewritten: the tests check them instead);
- ``labels`` with ``pairs`` only: added to every object's ``metadata.labels`` (not to selectors nor
  templates, as Kustomize does without ``includeSelectors``/``includeTemplates``);
- ``images``: ``name`` with ``newName``, ``newTag`` or ``digest``, in containers and init containers.

Transformers run in Kustomize's order: the resources (each folder rendered with its own kustomization
first), then patches, namespace, labels, images.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED: dict[str, frozenset[str]] = {
    "": frozenset({"apiVersion", "kind", "resources", "patches", "namespace", "labels", "images"}),
    "patches": frozenset({"path"}),
    "labels": frozenset({"pairs"}),
    "images": frozenset({"name", "newName", "newTag", "digest"}),
}
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "PriorityClass"}
)
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


class UnsupportedKustomization(ValueError):
    """The kustomization uses something this renderer does not do."""


def kustomization(folder: Path) -> Obj:
    data = yaml.safe_load((folder / "kustomization.yaml").read_text())
    if not isinstance(data, dict):
        raise UnsupportedKustomization(f"{folder}/kustomization.yaml is not a map")
    return data


def check_subset(folder: Path) -> None:
    """Raise :class:`UnsupportedKustomization` when ``folder``'s kustomization (or a patch it names)
    uses anything outside ``SUPPORTED``."""
    data = kustomization(folder)
    _only(folder, "", data)
    if data.get("kind", "Kustomization") != "Kustomization":
        raise UnsupportedKustomization(f"{folder}: kind {data['kind']}")
    for section in ("patches", "labels", "images"):
        for entry in data.get(section, []):
            _only(folder, section, entry)
    for entry in data.get("patches", []):
        text = (folder / entry["path"]).read_text()
        if "$patch" in text or "$setElementOrder" in text or "$retainKeys" in text:
            raise UnsupportedKustomization(f"{folder / entry['path']}: strategic-merge directives")


def _only(folder: Path, section: str, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise UnsupportedKustomization(f"{folder}: {section or 'kustomization'} entry {entry!r} is not a map")
    extra = set(entry) - SUPPORTED[section]
    if extra:
        raise UnsupportedKustomization(f"{folder}: {section or 'kustomization'} uses {sorted(extra)}")


def render(folder: Path) -> list[Obj]:
    """The objects ``folder``'s kustomization produces."""
    check_subset(folder)
    data = kustomization(folder)
    objects: list[Obj] = []
    for entry in data.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for entry in data.get("patches", []):
        for patch in yaml.safe_load_all((folder / entry["path"]).read_text()):
            if patch:
                _apply_patch(objects, patch, folder / entry["path"])
    if "namespace" in data:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = data["namespace"]
    for entry in data.get("labels", []):
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(entry["pairs"])
    for image in data.get("images", []):
        for obj in objects:
            for container in _containers(obj):
                container["image"] = _new_image(container.get("image", ""), image)
    return objects


def _apply_patch(objects: list[Obj], patch: Obj, source: Path) -> None:
    matches = [
        obj
        for obj in objects
        if obj["kind"] == patch["kind"]
        and obj["metadata"]["name"] == patch["metadata"]["name"]
        and patch["metadata"].get("namespace") in (None, obj["metadata"].get("namespace"))
    ]
    if len(matches) != 1:
        raise UnsupportedKustomization(
            f"{source}: the patch of {patch['kind']} {patch['metadata']['name']} matches {len(matches)} objects"
        )
    merged = strategic_merge(matches[0], patch)
    matches[0].clear()
    matches[0].update(merged)


def strategic_merge(original: Any, patch: Any) -> Any:
    """``patch`` merged into ``original`` (neither is changed) by the rules in the module's docstring."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(original, list) and isinstance(patch, list) and _named(original) and _named(patch):
        merged_list = copy.deepcopy(original)
        index = {item["name"]: position for position, item in enumerate(merged_list)}
        for item in patch:
            if item["name"] in index:
                position = index[item["name"]]
                merged_list[position] = strategic_merge(merged_list[position], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _containers(obj: Obj) -> list[Obj]:
    path = POD_SPEC_PATHS.get(obj["kind"])
    if path is None:
        return []
    spec: Any = obj
    for key in path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return []
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _new_image(current: str, image: Obj) -> str:
    name, tag, digest = _split_image(current)
    if name != image["name"]:
        return current
    name = image.get("newName", name)
    if "digest" in image:
        return f"{name}@{image['digest']}"
    if "newTag" in image:
        return f"{name}:{image['newTag']}"
    return name + (f"@{digest}" if digest else f":{tag}" if tag else "")


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; a registry's port is part of the name."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None
