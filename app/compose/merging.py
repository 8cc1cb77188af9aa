"""Compose documents merged as overrides (later files, and ``extends``), and ``x-`` keys dropped, by the
rules of Docker Compose v2 (compose-go ``override``)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

_APPENDED = frozenset(
    {"ports", "expose", "external_links", "dns", "dns_search", "tmpfs", "cap_add", "cap_drop"}
)
_BY_TARGET = frozenset({"volumes", "devices"})
_AS_MAP = frozenset({"environment", "labels", "extra_hosts", "sysctls"})
_REPLACED = frozenset({"command", "entrypoint"})
_BY_PATH = frozenset({"env_file", "label_file"})
_NAMED = frozenset({"services", "volumes", "networks", "secrets", "configs"})
_DEPENDENCY = {"condition": "service_started", "required": True}


def strip_extensions(value: Any, parts: tuple[str, ...] = ()) -> Any:
    """``value`` without ``x-`` keys, except where keys are names the user chose (services, volumes,
    networks, secrets, configs, and the services a ``depends_on`` names), as Compose strips them."""
    if isinstance(value, dict):
        named = (len(parts) == 1 and parts[0] in _NAMED) or (
            len(parts) == 3 and parts[0] == "services" and parts[2] == "depends_on"
        )
        return {
            k: strip_extensions(v, (*parts, str(k)))
            for k, v in value.items()
            if named or not (isinstance(k, str) and k.startswith("x-"))
        }
    if isinstance(value, list):
        return [strip_extensions(v, (*parts, "[]")) for v in value]
    return value


def as_map(value: Any) -> dict[str, Any]:
    """A compose list-or-map (``KEY=VALUE`` items, or a mapping) as a mapping; a key alone maps to None."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    out: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            key, sep, rest = str(item).partition("=")
            out[key] = rest if sep else None
    return out


def _target(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target", ""))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _file_path(item: Any) -> Any:
    return item.get("path") if isinstance(item, dict) else item


def _build(value: str | dict[str, Any]) -> dict[str, Any]:
    return {"context": value} if isinstance(value, str) else value


def _dependencies(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {
            str(k): {**_DEPENDENCY, **v} if isinstance(v, dict) else dict(_DEPENDENCY)
            for k, v in value.items()
        }
    return {str(name): dict(_DEPENDENCY) for name in _listed(value)}


def merge_service(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` applied on ``base`` by the Compose merge rules."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        old = out.get(key)
        if key in _REPLACED or old is None:
            out[key] = copy.deepcopy(value)
        elif key in _BY_PATH:
            files = {str(_file_path(item)): item for item in _listed(old)}
            files.update({str(_file_path(item)): item for item in _listed(value)})
            out[key] = copy.deepcopy(list(files.values()))
        elif key == "build" and isinstance(old, (str, dict)) and isinstance(value, (str, dict)):
            out[key] = _merge_maps(_build(old), _build(value))
        elif key == "profiles" and isinstance(old, list) and isinstance(value, list):
            out[key] = old + [v for v in value if v not in old]
        elif key == "depends_on":
            if isinstance(old, list) and isinstance(value, list):
                out[key] = old + [v for v in value if v not in old]
            else:
                out[key] = _merge_maps(_dependencies(old), _dependencies(value))
        elif key in _AS_MAP:
            out[key] = {**as_map(old), **as_map(value)}
        elif key in _APPENDED and isinstance(old, list) and isinstance(value, list):
            out[key] = old + [v for v in value if v not in old]
        elif key in _BY_TARGET and isinstance(old, list) and isinstance(value, list):
            merged = {_target(v): v for v in old}
            merged.update({_target(v): v for v in value})
            out[key] = list(merged.values())
        elif isinstance(old, dict) and isinstance(value, dict):
            out[key] = _merge_maps(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_maps(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge_maps(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_documents(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The documents merged in order, later ones overriding (services by the service rules)."""
    out: dict[str, Any] = {}
    for document in documents:
        for key, value in strip_extensions(document).items():
            if key == "services" and isinstance(value, dict):
                services = out.setdefault("services", {})
                for name, service in value.items():
                    service = service if isinstance(service, dict) else {}
                    services[name] = merge_service(services.get(name, {}), service)
            elif isinstance(out.get(key), dict) and isinstance(value, dict):
                out[key] = _merge_maps(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out
