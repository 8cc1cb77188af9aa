"""The canvas colour of each health status: green, yellow, red or grey."""

from __future__ import annotations

from typing import Literal

from app.domain.health import HealthStatus

Colour = Literal["green", "yellow", "red", "grey"]


def colour_of(status: HealthStatus) -> Colour:
    """HEALTHY green, PROGRESSING yellow, DEGRADED red; SUSPENDED, MISSING and UNKNOWN grey."""
    match status:
        case HealthStatus.HEALTHY:
            return "green"
        case HealthStatus.PROGRESSING:
            return "yellow"
        case HealthStatus.DEGRADED:
            return "red"
        case HealthStatus.SUSPENDED | HealthStatus.MISSING | HealthStatus.UNKNOWN:
            return "grey"
