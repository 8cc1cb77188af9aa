"""``depends_on`` (short and long form) → dependency edges from the dependency's workload to the
dependent's, whose ``sourceHandle`` says what the run waits for: ``started``, ``healthy`` or
``completed`` (the Compose conditions ``service_started``, ``service_healthy`` and
``service_completed_successfully``; the short form means ``started``, as in Compose). Cycles are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.compose.output import Translation
from app.compose.problems import Problems
from app.domain.edges import DependencyCondition

STARTED = DependencyCondition.STARTED.value
HEALTHY = DependencyCondition.HEALTHY.value
COMPLETED = DependencyCondition.COMPLETED.value
CONDITIONS: Mapping[str, str] = {
    "service_started": STARTED,
    "service_healthy": HEALTHY,
    "service_completed_successfully": COMPLETED,
}
"""Compose condition → the dependency edge's sourceHandle."""


@dataclass(frozen=True, slots=True)
class Dependency:
    """One ``depends_on`` entry: the service depended on, the handle, ``required`` and ``restart``."""

    service: str
    handle: str
    required: bool
    restart: bool


@dataclass(frozen=True, slots=True)
class Workload:
    """What the edges need of a translated service: its node, kind, and whether it has a health check."""

    node_id: str
    kind: str
    checked: bool


def dependencies_of(service: Any) -> list[Dependency]:
    """The service's ``depends_on`` entries (an unknown condition reads as ``service_started``)."""
    value = service.get("depends_on") if isinstance(service, dict) else None
    if isinstance(value, list):
        return [Dependency(str(v), STARTED, True, False) for v in value]
    if not isinstance(value, dict):
        return []
    found = []
    for key, spec in value.items():
        options: Mapping[str, Any] = spec if isinstance(spec, dict) else {}
        handle = CONDITIONS.get(str(options.get("condition", "service_started")), STARTED)
        required = options.get("required", True) is not False
        found.append(Dependency(str(key), handle, required, options.get("restart") is True))
    return found


def awaited_to_complete(services: Mapping[str, Any]) -> frozenset[str]:
    """The services another one waits for to complete (``service_completed_successfully``)."""
    return frozenset(
        dep.service
        for service in services.values()
        for dep in dependencies_of(service)
        if dep.handle == COMPLETED
    )


def check_conditions(services: Mapping[str, Any], problems: Problems) -> None:
    """Warn about conditions Compose does not know."""
    for name, service in services.items():
        value = service.get("depends_on") if isinstance(service, dict) else None
        for key, spec in value.items() if isinstance(value, dict) else ():
            condition = spec.get("condition") if isinstance(spec, dict) else None
            if condition is not None and condition not in CONDITIONS:
                problems.warn(
                    "DEPENDS_ON_CONDITION_UNKNOWN",
                    f"the condition {condition!r} is not one of {', '.join(CONDITIONS)}; "
                    "service_started is used",
                    name,
                    f"services.{name}.depends_on.{key}.condition",
                )


def link_dependencies(
    services: Mapping[str, Any], workloads: Mapping[str, Workload], problems: Problems, out: Translation
) -> None:
    """Connect each translated service's workload to the workloads it depends on."""
    for name, service in services.items():
        own = workloads.get(name)
        if own is None:
            continue
        at = f"services.{name}.depends_on"
        for dep in dependencies_of(service):
            other = workloads.get(dep.service)
            if other is None:
                if dep.required:
                    problems.warn(
                        "DEPENDS_ON_UNKNOWN",
                        f"depends on {dep.service!r}, which is not a service here",
                        name,
                        at,
                    )
                continue
            handle = _handle(name, dep, other, problems, at)
            if dep.restart:
                problems.warn(
                    "DEPENDS_ON_RESTART_NOT_TRANSLATED",
                    f"restart: true is not translated: {name} is not restarted when {dep.service} is updated",
                    name,
                    f"{at}.{dep.service}.restart",
                )
            out.link(other.node_id, own.node_id, source_handle=handle)


def _handle(name: str, dep: Dependency, other: Workload, problems: Problems, at: str) -> str:
    if dep.handle == COMPLETED and other.kind != "Job":
        instead = HEALTHY if other.checked else STARTED
        problems.warn(
            "DEPENDENCY_NEVER_COMPLETES",
            f"waits for {dep.service} to complete, but {dep.service} keeps running (a {other.kind}); "
            f"the run waits for it to be {instead} instead",
            name,
            f"{at}.{dep.service}",
        )
        return instead
    if dep.handle == HEALTHY and not other.checked:
        problems.warn(
            "DEPENDENCY_HAS_NO_HEALTHCHECK",
            f"waits for {dep.service} to be healthy, but {dep.service} has no healthcheck: the run waits "
            "for its pods to be ready instead",
            name,
            f"{at}.{dep.service}",
        )
    return dep.handle


def check_cycles(services: Mapping[str, Any], problems: Problems) -> None:
    """An error for the first ``depends_on`` cycle, if there is one."""
    graph = {name: [d.service for d in dependencies_of(service)] for name, service in services.items()}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in graph.get(name, []):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return [*trail, name, dep]
            if state.get(dep) is None:
                cycle = visit(dep, [*trail, name])
                if cycle:
                    return cycle
        state[name] = 2
        return None

    for name in graph:
        if state.get(name) is None:
            cycle = visit(name, [])
            if cycle:
                start = cycle.index(cycle[-1])
                problems.error(
                    "CIRCULAR_DEPENDENCY",
                    f"depends_on forms a cycle: {' -> '.join(cycle[start:])}",
                    cycle[-1],
                    f"services.{cycle[-1]}.depends_on",
                )
                return
