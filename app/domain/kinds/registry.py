"""Every node kind by name, and the look-up that also accepts the reference system's type names."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from app.domain.kinds.config import OTHERS
from app.domain.kinds.networking import NETWORKING
from app.domain.kinds.spec import NodeKindSpec
from app.domain.kinds.workloads import WORKLOADS

KINDS: Mapping[str, NodeKindSpec] = MappingProxyType(
    {spec.kind: spec for spec in (*WORKLOADS, *NETWORKING, *OTHERS)}
)
"""Every node kind, keyed by its Kubernetes kind (``Deployment``)."""

WORKLOAD_KINDS: tuple[str, ...] = tuple(spec.kind for spec in WORKLOADS)
"""The kinds that run pods."""

_ALIASES: Mapping[str, NodeKindSpec] = MappingProxyType(
    {alias: spec for spec in KINDS.values() for alias in spec.aliases}
)

# Keys of node data written by the watchers at run time; never part of what a user draws.
_RUNTIME_KEYS = frozenset({"_secretCreated"})


def resolve_kind(name: str) -> NodeKindSpec | None:
    """The kind called ``name`` (``Deployment``, case-sensitive) or with that lower-case alias (``hpa``)."""
    return KINDS.get(name) or _ALIASES.get(name)


def is_runtime_key(key: str) -> bool:
    """Whether a data key holds run-time state (``_status``, ``_statusUpdatedAt``, ``_secretCreated``)."""
    return key.startswith("_status") or key in _RUNTIME_KEYS
