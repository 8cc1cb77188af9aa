"""Health of what Trellis deployed, after Argo CD's rules: a closed enum with a severity order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    PROGRESSING = "PROGRESSING"
    DEGRADED = "DEGRADED"
    SUSPENDED = "SUSPENDED"
    MISSING = "MISSING"
    UNKNOWN = "UNKNOWN"

    @property
    def severity(self) -> int:
        """Higher is worse: HEALTHY < SUSPENDED < PROGRESSING < UNKNOWN < MISSING < DEGRADED.

        Argo CD ranks UNKNOWN worst; Trellis ranks a known failure (DEGRADED, MISSING) above it, so a
        workflow with a crashing node says so even while another node cannot be assessed."""
        return _SEVERITY[self]


_SEVERITY = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.SUSPENDED: 1,
    HealthStatus.PROGRESSING: 2,
    HealthStatus.UNKNOWN: 3,
    HealthStatus.MISSING: 4,
    HealthStatus.DEGRADED: 5,
}


@dataclass(frozen=True, slots=True)
class Health:
    """One object's (or one node's) health: the status, a message for a person, and the facts behind it
    (replica counts, the reason of a failing pod…), JSON-safe."""

    status: HealthStatus
    message: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)


def worst(healths: Iterable[Health]) -> Health:
    """The most severe of ``healths`` (the first of equals); HEALTHY when there are none."""
    result: Health | None = None
    for health in healths:
        if result is None or health.status.severity > result.status.severity:
            result = health
    return result or Health(HealthStatus.HEALTHY, "nothing to assess")
