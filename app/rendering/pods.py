"""The parts of a workload's pod template computed from several fields: volumes, mounts and envFrom.

Each ConfigMap, Secret or claim mounted gets one volume (mounted twice, it is still one volume), named
``cm-``, ``secret-`` or ``pvc-`` plus a DNS-1123 slug of the object's name (object names may be longer
subdomains; volume names must be labels), made unique within the pod. ConfigMaps and Secrets are always
mounted read-only. A StatefulSet's volume claim templates are mounted at ``/data/<claim name>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.names import LABEL_MAX, slugify_dns1123
from app.rendering.checks import CLAIM_MOUNT_ROOT

_PREFIX = {"configMap": "cm", "secret": "secret", "persistentVolumeClaim": "pvc"}
_READ_ONLY_TYPES = frozenset({"configMap", "secret"})


def pod_parts(data: Mapping[str, Any]) -> dict[str, Any]:
    """``mounts``, ``volumes``, ``env_from`` and ``resources`` of a workload's (completed) node data.

    ``mounts`` are container volumeMounts (``name``, ``mountPath``, ``readOnly``, ``subPath``, the last
    two ``None`` when unset); ``volumes`` are ``{name, type, source, readOnly}`` with ``type`` one of
    ``configMap``, ``secret``, ``persistentVolumeClaim``; ``env_from`` items are ``{type, name, prefix}``;
    ``resources`` is the container's resources with unset quantities left out (empty when none is set).
    """
    claims = [str(c["name"]) for c in _items(data.get("volumeClaimTemplates"))]
    taken = set(claims)
    volume_of: dict[tuple[str, str], str] = {}
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for mount in _items(data.get("volumeMounts")):
        kind, source = str(mount["type"]), str(mount["name"])
        volume = volume_of.get((kind, source))
        if volume is None:
            volume = volume_of[(kind, source)] = _free_name(f"{_PREFIX[kind]}-{source}", taken)
            claim_read_only = kind == "persistentVolumeClaim" and mount.get("readOnly") is True
            volumes.append({"name": volume, "type": kind, "source": source, "readOnly": claim_read_only})
        read_only = True if kind in _READ_ONLY_TYPES else mount.get("readOnly")
        mounts.append(
            {
                "name": volume,
                "mountPath": mount["mountPath"],
                "readOnly": read_only,
                "subPath": mount.get("subPath") or None,
            }
        )
    for claim in claims:
        mounts.append(
            {"name": claim, "mountPath": f"{CLAIM_MOUNT_ROOT}/{claim}", "readOnly": None, "subPath": None}
        )
    env_from = [
        {"type": item["type"], "name": item["name"], "prefix": item.get("prefix") or None}
        for item in _items(data.get("envFrom"))
    ]
    return {"mounts": mounts, "volumes": volumes, "env_from": env_from, "resources": _resources(data)}


def _resources(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    resources = data.get("resources") or {}
    out: dict[str, dict[str, str]] = {}
    for part in ("requests", "limits"):
        amounts = {name: str(v) for name, v in (resources.get(part) or {}).items() if v is not None}
        if amounts:
            out[part] = amounts
    return out


def _items(value: Any) -> Sequence[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _free_name(wanted: str, taken: set[str]) -> str:
    """A DNS-1123 label for ``wanted`` not in ``taken`` (which it is added to)."""
    name = slugify_dns1123(wanted)
    counter = 1
    while name in taken:
        counter += 1
        suffix = f"-{counter}"
        name = slugify_dns1123(wanted, LABEL_MAX - len(suffix)) + suffix
    taken.add(name)
    return name
