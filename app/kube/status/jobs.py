"""batch/v1 Job: its Failed, Complete and Suspended conditions decide; otherwise it is still running."""

from __future__ import annotations

from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.view import View, plural, since, stamp


def job(obj: View) -> Health:
    spec, status = obj.view("spec"), obj.view("status")
    active, succeeded, failed = (
        status.integer("active"),
        status.integer("succeeded"),
        status.integer("failed"),
    )
    completions = spec.maybe_integer("completions")
    backoff_limit = spec.maybe_integer("backoffLimit")
    started, finished = status.moment("startTime"), status.moment("completionTime")
    facts: dict[str, Any] = {
        "active": active,
        "ready": status.integer("ready"),
        "succeeded": succeeded,
        "failed": failed,
        "completions": completions,
        "parallelism": spec.maybe_integer("parallelism"),
        "backoffLimit": backoff_limit,
        "startTime": stamp(started),
        "completionTime": stamp(finished),
    }
    done = (
        f"{succeeded} of {completions} completions" if completions is not None else f"{succeeded} succeeded"
    )

    for kind in ("Failed", "FailureTarget"):
        failure = obj.condition(kind)
        if failure is not None and failure.text("status") == "True":
            reason = failure.text("reason") or kind
            facts["reason"] = reason
            return Health(
                HealthStatus.DEGRADED, _failed(spec, reason, failure.text("message"), failed), facts
            )
    if obj.condition_is("Complete"):
        took = since(started, finished)
        return Health(HealthStatus.HEALTHY, f"completed: {done}" + (f" in {took}" if took else ""), facts)
    if obj.condition_is("Suspended") or spec.flag("suspend"):
        return Health(HealthStatus.SUSPENDED, f"suspended; {done}", facts)
    attempts = ""
    if failed:
        limit = f" (backoff limit {backoff_limit})" if backoff_limit is not None else ""
        attempts = f"; {plural(failed, 'failed attempt')}{limit}"
    if not active and started is None:
        return Health(HealthStatus.PROGRESSING, "starting", facts)
    return Health(HealthStatus.PROGRESSING, f"running: {active} active, {done}{attempts}", facts)


def _failed(spec: View, reason: str, detail: str, failed: int) -> str:
    if reason == "BackoffLimitExceeded":
        limit = spec.maybe_integer("backoffLimit")
        reached = f" of {limit}" if limit is not None else ""
        return f"failed: its pods failed {plural(failed, 'time')}, exceeding its backoff limit{reached}"
    if reason == "DeadlineExceeded":
        deadline = spec.maybe_integer("activeDeadlineSeconds")
        within = f" of {deadline}s" if deadline is not None else ""
        return f"failed: it ran longer than its active deadline{within}"
    return f"failed ({reason})" + (f": {detail}" if detail else "")
