"""Each health status has its canvas colour: green, yellow, red, and grey for the rest."""

from __future__ import annotations

from app.domain.health import HealthStatus
from app.domain.health_colours import colour_of


def test_every_status_has_its_colour() -> None:
    assert {status: colour_of(status) for status in HealthStatus} == {
        HealthStatus.HEALTHY: "green",
        HealthStatus.PROGRESSING: "yellow",
        HealthStatus.DEGRADED: "red",
        HealthStatus.SUSPENDED: "grey",
        HealthStatus.MISSING: "grey",
        HealthStatus.UNKNOWN: "grey",
    }
