"""batch/v1 CronJob: suspended, or judged by its last scheduled run against its last successful one."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View, stamp


def cronjob(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    schedule = spec.text("schedule")
    scheduled, succeeded = status.moment("lastScheduleTime"), status.moment("lastSuccessfulTime")
    active = status.count("active")
    facts: dict[str, Any] = {
        "schedule": schedule,
        "suspend": spec.flag("suspend"),
        "activeJobs": active,
        "lastScheduleTime": stamp(scheduled),
        "lastSuccessfulTime": stamp(succeeded),
    }
    on = f" (schedule {schedule!r})" if schedule else ""

    if spec.flag("suspend"):
        return Health(HealthStatus.SUSPENDED, f"suspended: no new runs start{on}", facts)
    if not obj.has("status"):
        return Health(HealthStatus.PROGRESSING, "waiting for the CronJob controller", facts)
    if scheduled is None:
        return Health(HealthStatus.HEALTHY, f"not run yet{on}", facts)
    if active:
        since_success = f"; last success at {stamp(succeeded)}" if succeeded else ""
        return Health(
            HealthStatus.HEALTHY, f"a run started at {stamp(scheduled)} is in progress{since_success}", facts
        )
    if succeeded is None:
        facts["reason"] = "LastRunFailed"
        return Health(
            HealthStatus.DEGRADED, f"its first run, scheduled at {stamp(scheduled)}, did not succeed", facts
        )
    if succeeded < scheduled:
        facts["reason"] = "LastRunFailed"
        return Health(
            HealthStatus.DEGRADED,
            f"the last run, scheduled at {stamp(scheduled)}, did not succeed; "
            f"the last success was at {stamp(succeeded)}",
            facts,
        )
    return Health(HealthStatus.HEALTHY, f"the last run succeeded at {stamp(succeeded)}", facts)
