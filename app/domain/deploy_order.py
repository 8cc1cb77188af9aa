"""The order objects are applied and deleted in: waves of kinds that do not depend on each other.

A wave holds objects whose kinds only depend on kinds of earlier waves: a Namespace before what lives in
it, the ConfigMaps, Secrets and claims a pod mounts before the workload, the workload before the Service
that selects its pods (the reference applied a Service first), and so on. Objects within one wave are
independent and may be applied concurrently. Deletion walks the waves backwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

APPLY_ORDER: tuple[tuple[str, ...], ...] = (
    ("Namespace",),
    ("ConfigMap", "Secret"),
    ("PersistentVolumeClaim",),
    ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"),
    ("Service",),
    ("Ingress",),
    ("HorizontalPodAutoscaler",),
    ("NetworkPolicy",),
)
"""Kinds by wave, first applied first. A kind not listed goes in a last wave of its own."""

_WAVE_OF: dict[str, int] = {kind: index for index, kinds in enumerate(APPLY_ORDER) for kind in kinds}
UNKNOWN_WAVE = len(APPLY_ORDER)
"""The wave of every kind :data:`APPLY_ORDER` does not list."""


def wave_of(kind: str) -> int:
    """The index of the apply wave of ``kind`` (:data:`UNKNOWN_WAVE` for kinds not listed)."""
    return _WAVE_OF.get(kind, UNKNOWN_WAVE)


def apply_waves(objects: Sequence[T], kind_of: Callable[[T], str]) -> list[list[T]]:
    """``objects`` grouped into apply waves, first wave first; empty waves are left out.

    Within a wave the objects keep their given order, so the result is deterministic.
    """
    waves: dict[int, list[T]] = {}
    for item in objects:
        waves.setdefault(wave_of(kind_of(item)), []).append(item)
    return [waves[index] for index in sorted(waves)]


def delete_waves(objects: Sequence[T], kind_of: Callable[[T], str]) -> list[list[T]]:
    """``objects`` grouped into deletion waves: the apply waves in reverse order (what depends on others
    goes first, Namespaces last). Within a wave the objects keep their given order."""
    return list(reversed(apply_waves(objects, kind_of)))


def in_apply_order(objects: Sequence[T], kind_of: Callable[[T], str]) -> list[T]:
    """``objects`` flattened in apply order (stable within each wave)."""
    return [item for wave in apply_waves(objects, kind_of) for item in wave]
