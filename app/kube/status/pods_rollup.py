"""A node's health with its pods and Events folded in: why a rollout is stuck, said at the node level.

``assess`` judges one object by its own status, as Argo CD does; a Deployment whose pods crash-loop
only looks "progressing" there. :func:`combine` adds what the node's pods say (crash loops, image
pulls, OOM kills, bad config, scheduling) and the latest relevant Events: a failing pod makes a
healthy, progressing or paused workload DEGRADED, with the reason first in the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from app.domain.health import Health, HealthStatus
from app.kube.status.pods import Problem, problems, restarts, summary
from app.kube.status.view import Malformed, View, plural, stamp

RELEVANT_EVENTS = frozenset(
    {
        "FailedScheduling",
        "FailedMount",
        "FailedAttachVolume",
        "BackOff",
        "Unhealthy",
        "Failed",  # the kubelet's "Failed to pull image …"
        "FailedCreate",  # a controller could not create a pod (quota, admission)
        "FailedCreatePodSandBox",
        "Evicted",
        "ProvisioningFailed",
        "FailedBinding",
        "WaitForFirstConsumer",
    }
)
"""Event reasons worth showing on a node."""

MAX_PODS = 20
MAX_EVENTS = 5
_ESCALATES = frozenset({HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.SUSPENDED})


def combine(
    workload: Health, pods: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]] = ()
) -> Health:
    """``workload`` (from ``assess``) with what ``pods`` and ``events`` add; pure, never raises on
    malformed pods or events (they are skipped)."""
    facts: dict[str, Any] = dict(workload.facts)
    found: list[Problem] = []
    summaries: list[dict[str, Any]] = []
    total = 0
    for raw in pods:
        if not isinstance(raw, Mapping):
            continue
        view = View(raw)
        try:
            line, count, trouble = summary(view), restarts(view), problems(view)
        except Malformed:
            continue
        summaries.append(line)
        total += count
        found.extend(trouble)
    if summaries:
        facts["restarts"] = total
        facts["pods"] = summaries[:MAX_PODS]
        if len(summaries) > MAX_PODS:
            facts["podsOmitted"] = len(summaries) - MAX_PODS
    latest = relevant_events(events)
    if latest:
        facts["events"] = latest

    status, message = workload.status, workload.message
    found.sort(key=lambda problem: (not problem.failing, -problem.restarts))
    failing = [problem for problem in found if problem.failing]
    shown = failing or ([] if status is HealthStatus.HEALTHY else found)
    if shown:
        first = shown[0]
        text = first.message.rstrip(". ")
        said = f"{text} (pod {first.pod})" if first.container else f"pod {first.pod} {text}"
        others = len({problem.pod for problem in shown} - {first.pod})
        if others:
            said += f"; {plural(others, 'other pod')} in trouble too"
        if facts.get("reason") not in (None, first.reason):
            facts["workloadReason"] = facts["reason"]
        facts.update(first.facts())
        if first.failing and status in _ESCALATES:
            status = HealthStatus.DEGRADED
        message = f"{said}; {message}" if message else said
    elif latest and status is not HealthStatus.HEALTHY:
        event = latest[0]
        seen = f" on {event['object']}" if event["object"] else ""
        message += f"{'; ' if message else ''}latest event {event['reason']}{seen}: {event['message']}"
    return Health(status, message, facts)


def relevant_events(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The newest relevant Events (core/v1 or events.k8s.io/v1), one per reason, object and message."""
    found: dict[tuple[str, str, str], tuple[datetime | None, dict[str, Any]]] = {}
    for raw in events:
        if not isinstance(raw, Mapping):
            continue
        try:
            read = _event(View(raw))
        except Malformed:
            continue
        if read is None:
            continue
        when, line = read
        key = (line["reason"], line["object"], line["message"])
        if key not in found or _later(when, found[key][0]):
            found[key] = (when, line)
    ordered = sorted(found.values(), key=lambda item: item[0].timestamp() if item[0] else float("-inf"))
    return [line for _, line in reversed(ordered)][:MAX_EVENTS]


def _later(when: datetime | None, than: datetime | None) -> bool:
    return when is not None and (than is None or when > than)


def _event(event: View) -> tuple[datetime | None, dict[str, Any]] | None:
    reason = event.text("reason")
    if reason not in RELEVANT_EVENTS:
        return None
    about = event.view("involvedObject") if event.has("involvedObject") else event.view("regarding")
    kind, name = about.text("kind"), about.text("name")
    when = (
        event.moment("series.lastObservedTime")
        or event.moment("lastTimestamp")
        or event.moment("deprecatedLastTimestamp")
        or event.moment("eventTime")
        or event.moment("firstTimestamp")
        or event.moment("metadata.creationTimestamp")
    )
    count = (
        event.maybe_integer("series.count")
        or event.maybe_integer("count")
        or event.maybe_integer("deprecatedCount")
        or 1
    )
    line: dict[str, Any] = {
        "reason": reason,
        "type": event.text("type") or None,
        "message": (event.text("message") or event.text("note")).strip(),
        "object": f"{kind}/{name}" if kind and name else name,
        "count": count,
        "lastSeen": stamp(when),
    }
    return when, line
