"""A service's ``volumes`` read in every syntax, and named volumes → PersistentVolumeClaim nodes.

A named volume becomes one claim, shared by every service that mounts it; an ``external`` volume becomes
no node, only a mount of the claim that must already exist. Size, access modes and storage class come
from the volume's labels, else from the (kompose-style) labels of the first service mounting it, else
the defaults:

=============================  ==============================================  =====================
volume label                   meaning                                         default
=============================  ==============================================  =====================
``trellis.dev/storage``        the claim's size, a quantity (``5Gi``)          ``10Gi``
``trellis.dev/access-mode``    access modes, comma-separated (``ReadWriteMany``)  ``ReadWriteOnce``
``trellis.dev/storage-class``  the storage class                               the cluster's default
=============================  ==============================================  =====================

The service labels ``kompose.volume.size`` and ``kompose.volume.storage-class-name`` are read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.compose.merging import as_map
from app.compose.output import Translation, external_name
from app.compose.problems import Problems
from app.domain.kinds.common import ACCESS_MODES
from app.domain.kinds.quantities import quantity_problem
from app.domain.names import is_dns1123_subdomain

STORAGE_LABEL = "trellis.dev/storage"
ACCESS_MODE_LABEL = "trellis.dev/access-mode"
STORAGE_CLASS_LABEL = "trellis.dev/storage-class"
KOMPOSE_SIZE_LABEL = "kompose.volume.size"
KOMPOSE_CLASS_LABEL = "kompose.volume.storage-class-name"
SERVICE_VOLUME_LABELS = frozenset({KOMPOSE_SIZE_LABEL, KOMPOSE_CLASS_LABEL})
"""Service labels read as volume settings (not copied onto the workload)."""

DEFAULT_STORAGE = "10Gi"
DEFAULT_ACCESS_MODE = "ReadWriteOnce"
_WINDOWS_DRIVE = 1


@dataclass(frozen=True, slots=True)
class VolumeItem:
    """One item of a service's ``volumes``: its type (``volume``, ``bind``, ``tmpfs``…), source (None for
    an anonymous volume), target, read-only flag, sub-path inside the volume, and compose path."""

    type: str
    source: str | None
    target: str
    read_only: bool
    sub_path: str | None
    path: str


def volume_items(name: str, service: Mapping[str, Any]) -> list[VolumeItem]:
    """The service's ``volumes``, short (``src:dst:ro``) and long syntax."""
    found: list[VolumeItem] = []
    items = service.get("volumes") or []
    for index, item in enumerate(items if isinstance(items, list) else []):
        path = f"services.{name}.volumes[{index}]"
        if isinstance(item, dict):
            source = item.get("source")
            options = item.get("volume") if isinstance(item.get("volume"), dict) else {}
            assert isinstance(options, dict)
            sub_path = options.get("subpath")
            found.append(
                VolumeItem(
                    str(item.get("type", "volume")),
                    str(source) if source not in (None, "") else None,
                    str(item.get("target", "")),
                    bool(item.get("read_only", False)),
                    str(sub_path) if sub_path else None,
                    path,
                )
            )
            continue
        found.append(_short(str(item), path))
    return found


def _short(text: str, path: str) -> VolumeItem:
    parts = text.split(":")
    if len(parts) > 2 and len(parts[0]) == _WINDOWS_DRIVE and parts[0].isalpha() and parts[2].startswith("/"):
        parts = [f"{parts[0]}:{parts[1]}", *parts[2:]]  # C:\data:/data
    if len(parts) == 1:
        return VolumeItem("volume", None, parts[0], False, None, path)
    source, target = parts[0], parts[1]
    read_only = len(parts) > 2 and "ro" in parts[2].split(",")
    bind = source == "" or source.startswith(("/", ".", "~", "$")) or ":" in source or "\\" in source
    return VolumeItem("bind" if bind else "volume", source, target, read_only, None, path)


@dataclass(slots=True)
class _Claim:
    """A named volume's claim: its node (None when external), name, and who mounts it."""

    node_id: str | None
    name: str
    labelled_access: bool
    services: list[str] = field(default_factory=list)


class Claims:
    """The claims of a project's named volumes, made when first mounted."""

    def __init__(
        self, top_volumes: Mapping[str, Any], namespace: str | None, problems: Problems, out: Translation
    ) -> None:
        self._top = top_volumes
        self._namespace = namespace
        self._problems = problems
        self._out = out
        self._claims: dict[str, _Claim] = {}
        for volume, definition in top_volumes.items():
            name = external_name(definition, str(volume))
            if name is not None:
                out.reserve("PersistentVolumeClaim", name)

    def mount(
        self, service: str, labels: Mapping[str, Any], item: VolumeItem
    ) -> tuple[dict[str, Any], str | None]:
        """The workload's volumeMount of the named volume ``item.source``, and the claim node to connect
        (None for an external volume)."""
        volume = str(item.source)
        claim = self._claims.get(volume) or self._make(volume, labels)
        if service not in claim.services:
            claim.services.append(service)
        mount: dict[str, Any] = {
            "type": "persistentVolumeClaim",
            "name": claim.name,
            "mountPath": item.target,
            "readOnly": item.read_only,
        }
        if item.sub_path:
            mount["subPath"] = item.sub_path
        return mount, claim.node_id

    def finish(self) -> None:
        """Warn about ReadWriteOnce claims that several services mount."""
        for volume, claim in self._claims.items():
            if claim.node_id is None or claim.labelled_access or len(claim.services) < 2:
                continue
            self._problems.warn(
                "VOLUME_SHARED",
                f"the volume {volume!r} is mounted by {', '.join(claim.services)}: as ReadWriteOnce their "
                "pods must run on one node; if the storage class allows it, label the volume "
                f"{ACCESS_MODE_LABEL}: ReadWriteMany",
                None,
                f"volumes.{volume}",
            )

    def _make(self, volume: str, service_labels: Mapping[str, Any]) -> _Claim:
        raw = self._top.get(volume)
        definition: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        at = f"volumes.{volume}"
        claim_name = external_name(definition, volume)
        if claim_name is not None:
            self._problems.warn(
                "VOLUME_EXTERNAL",
                f"the volume {volume!r} is external: a PersistentVolumeClaim named {claim_name!r} must "
                "already exist in the namespace",
                None,
                at,
            )
            claim = self._claims[volume] = _Claim(None, claim_name, True)
            return claim
        driver = definition.get("driver")
        if driver not in (None, "local"):
            self._problems.warn(
                "VOLUME_DRIVER_IGNORED",
                f"the volume driver {driver!r} is ignored: the claim uses the storage class",
                None,
                f"{at}.driver",
            )
        labels = as_map(definition.get("labels"))
        node_id = self._out.node_id(f"pvc-{volume}")
        name = self._out.object_name("PersistentVolumeClaim", str(definition.get("name") or volume))
        modes = self._access_modes(labels.get(ACCESS_MODE_LABEL), at)
        data: dict[str, Any] = {
            "name": name,
            "storage": self._storage(labels, service_labels, at),
            "accessModes": modes or [DEFAULT_ACCESS_MODE],
            "volumeMode": "Filesystem",
        }
        storage_class = self._storage_class(labels, service_labels, at)
        if storage_class:
            data["storageClassName"] = storage_class
        if self._namespace:
            data["namespace"] = self._namespace
        self._out.add(node_id, "PersistentVolumeClaim", data)
        claim = self._claims[volume] = _Claim(node_id, name, bool(modes))
        return claim

    def _storage(self, labels: Mapping[str, Any], service_labels: Mapping[str, Any], at: str) -> str:
        for source, key in ((labels, STORAGE_LABEL), (service_labels, KOMPOSE_SIZE_LABEL)):
            value = source.get(key)
            if value in (None, ""):
                continue
            text = str(value).strip()
            if quantity_problem(text) is None:
                return text
            self._invalid(at, key, value, "a size such as 5Gi")
        return DEFAULT_STORAGE

    def _storage_class(
        self, labels: Mapping[str, Any], service_labels: Mapping[str, Any], at: str
    ) -> str | None:
        for source, key in ((labels, STORAGE_CLASS_LABEL), (service_labels, KOMPOSE_CLASS_LABEL)):
            value = source.get(key)
            if value in (None, ""):
                continue
            text = str(value).strip()
            if is_dns1123_subdomain(text):
                return text
            self._invalid(at, key, value, "a storage class name")
        return None

    def _access_modes(self, value: Any, at: str) -> list[str]:
        if value in (None, ""):
            return []
        modes: list[str] = []
        for part in str(value).split(","):
            match = next((m for m in ACCESS_MODES if m.lower() == part.strip().lower()), None)
            if match is None:
                self._invalid(at, ACCESS_MODE_LABEL, value, f"one or more of {', '.join(ACCESS_MODES)}")
                return []
            if match not in modes:
                modes.append(match)
        return modes

    def _invalid(self, at: str, key: str, value: Any, wanted: str) -> None:
        self._problems.warn(
            "VOLUME_LABEL_INVALID",
            f"the label {key}={value!r} is not {wanted}; the default is used",
            None,
            f"{at}.labels",
        )
