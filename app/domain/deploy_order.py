"""The order objects are applied and deleted in: waves of kinds that do not depend on each other.

A wave holds objects whose kinds only depend on kinds of earlier waves: a Namespace before what lives in
it, the ConfigMaps, Secrets and claims a pod mounts before the workload, the workload before the Service
that selects its pods (the reference applied a Service first), and so on. Objects within one wave are
independent and may be applied concurrently. Deletion walks the waves backwards.

Inside a wave, dependency edges (workload → workload, see :mod:`app.domain.edges`) split the objects into
layers (:func:`dependency_layers`): a layer is applied once what it depends on meets its condition,
judged from live health by :func:`judge_dependency`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from app.domain.edges import DependencyCondition
from app.domain.graphs import topological_order
from app.domain.health import Health, HealthStatus

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


# --- dependencies within a wave -------------------------------------------------------------------------


def dependency_layers(
    objects: Sequence[T], node_of: Callable[[T], str], edges: Iterable[tuple[str, str]]
) -> list[list[T]]:
    """``objects`` in layers, dependencies first: an edge ``(a, b)`` means node ``b`` starts after node
    ``a``, so ``b``'s objects go in a later layer than ``a``'s.

    An object's layer is one after the latest layer of the nodes it depends on (0 when it depends on
    none of ``objects``), so each layer waits only as long as it must. Edges with an end that is not the
    node of one of ``objects`` are ignored. Within a layer the objects keep their given order; empty
    input gives no layers. Raises :class:`~app.domain.graphs.CycleError` naming a cycle.
    """
    ids = list(dict.fromkeys(node_of(item) for item in objects))
    present = set(ids)
    pairs = [(a, b) for a, b in edges if a in present and b in present and a != b]
    before: dict[str, list[str]] = {}
    for a, b in pairs:
        before.setdefault(b, []).append(a)
    depth: dict[str, int] = {}
    for node_id in topological_order(ids, pairs):
        depth[node_id] = max((depth[a] + 1 for a in before.get(node_id, ())), default=0)
    layers: list[list[T]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for item in objects:
        layers[depth[node_of(item)]].append(item)
    return layers


class Verdict(StrEnum):
    """Where a dependency stands, judged from its live health."""

    WAIT = "WAIT"  # not yet; it may still get there
    MET = "MET"  # its condition holds: the dependents may start
    FAILED = "FAILED"  # it never will (a failed Job): the dependents fail at once


@dataclass(frozen=True, slots=True)
class ConditionWords:
    """How the run log says a condition: ``web waits for db {waiting}``, ``db {met} after 3 s``,
    ``db {missed} within 300 s``."""

    waiting: str
    met: str
    missed: str


CONDITION_WORDS: dict[DependencyCondition, ConditionWords] = {
    DependencyCondition.HEALTHY: ConditionWords("to be healthy", "is healthy", "did not become healthy"),
    DependencyCondition.STARTED: ConditionWords("to start", "has started", "did not start"),
    DependencyCondition.COMPLETED: ConditionWords("to complete", "has completed", "did not complete"),
}

_NOT_REPORTING = frozenset({HealthStatus.MISSING, HealthStatus.UNKNOWN})


def judge_dependency(
    condition: DependencyCondition, kind: str, health: Health, *, generation: int | None = None
) -> Verdict:
    """Whether a dependency of ``kind`` whose node reports ``health`` meets ``condition``.

    ``healthy``: HEALTHY. ``started``: any health but MISSING or UNKNOWN. ``completed``: HEALTHY (a Job
    is HEALTHY once complete). A Job that is DEGRADED has failed and never completes: FAILED under
    ``healthy`` and ``completed``; any other DEGRADED workload may still recover, so it is waited for.
    ``generation`` is the object's ``metadata.generation`` as the run applied it: a health whose facts
    describe an older generation was judged before the change reached the watch, and is waited past.
    """
    seen = health.facts.get("generation")
    if generation is not None and isinstance(seen, int) and not isinstance(seen, bool) and seen < generation:
        return Verdict.WAIT
    status = health.status
    if condition is DependencyCondition.STARTED:
        return Verdict.WAIT if status in _NOT_REPORTING else Verdict.MET
    if status is HealthStatus.HEALTHY:
        return Verdict.MET
    if kind == "Job" and status is HealthStatus.DEGRADED:
        return Verdict.FAILED
    return Verdict.WAIT
