"""Several compose files merged as overrides, ``x-`` keys dropped, and ``extends`` within the file set."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from app.compose.problems import Problems

_APPENDED = frozenset(
    {"ports", "expose", "external_links", "dns", "dns_search", "tmpfs", "cap_add", "cap_drop"}
)
_BY_TARGET = frozenset({"volumes", "devices"})
_AS_MAP = frozenset({"environment", "labels", "extra_hosts", "sysctls"})
_REPLACED = frozenset({"command", "entrypoint"})


def strip_extensions(value: Any) -> Any:
    """``value`` without ``x-`` keys at any mapping level."""
    if isinstance(value, dict):
        return {
            k: strip_extensions(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("x-"))
        }
    if isinstance(value, list):
        return [strip_extensions(v) for v in value]
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


def merge_service(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` applied on ``base`` by the Compose merge rules."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        old = out.get(key)
        if key in _REPLACED or old is None:
            out[key] = copy.deepcopy(value)
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


def resolve_extends(services: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """``services`` with each ``extends`` of a service in the same file set applied (recursively)."""
    done: dict[str, dict[str, Any]] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> dict[str, Any]:
        if name in done:
            return done[name]
        service = services[name] if isinstance(services[name], dict) else {}
        extends = service.get("extends")
        if extends is None:
            done[name] = service
            return service
        own = {k: v for k, v in service.items() if k != "extends"}
        base_name = (
            extends
            if isinstance(extends, str)
            else extends.get("service")
            if isinstance(extends, dict)
            else None
        )
        if isinstance(extends, dict) and extends.get("file"):
            problems.warn(
                "EXTENDS_FILE_UNSUPPORTED",
                f"extends from the file {extends['file']!r} cannot be resolved here: only services of the "
                "given files can be extended",
                name,
                f"services.{name}.extends",
            )
            done[name] = own
            return own
        if not isinstance(base_name, str) or base_name not in services:
            problems.error(
                "EXTENDS_UNKNOWN_SERVICE",
                f"extends names the unknown service {base_name!r}",
                name,
                f"services.{name}.extends",
            )
            done[name] = own
            return own
        if base_name in chain:
            problems.error(
                "EXTENDS_CYCLE",
                f"extends forms a cycle: {' -> '.join((*chain, base_name))}",
                name,
                f"services.{name}.extends",
            )
            done[name] = own
            return own
        base = {
            k: v for k, v in resolve(base_name, (*chain, name)).items() if k not in ("depends_on", "links")
        }
        done[name] = merge_service(base, own)
        return done[name]

    return {name: resolve(name, (name,)) for name in services}
