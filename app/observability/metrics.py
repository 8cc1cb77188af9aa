"""The Prometheus metrics of one server. Each app has its own registry (no module-level state), which
``/metrics`` serves; the parts of Trellis that count hold this object, never ``prometheus_client``."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.domain.builds import BuildStatus
from app.domain.runs import RunStatus

__all__ = ["CONTENT_TYPE", "Metrics", "OperationNames"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ANONYMOUS = "anonymous"
OTHER = "other"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class OperationNames:
    """Operation names as metric labels: clients choose them, so the set is bounded — the first
    ``limit`` distinct names are kept, later ones (and names that are not GraphQL names) count as
    ``other``; an operation without a name is ``anonymous``."""

    def __init__(self, limit: int = 200) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if not _NAME.match(name):
            return OTHER
        with self._lock:
            if name in self._seen:
                return name
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(name)
            return name


class Metrics:
    """Every series Trellis exposes (names below, each with ``trellis_`` first).

    - ``graphql_operations_total{operation,type,outcome}``: finished operations (``outcome`` is
      ``success`` or ``error``: any error in the result, a refused document included);
    - ``graphql_operation_duration_seconds{operation,type}``: latency of queries and mutations;
    - ``graphql_subscriptions_active{operation}``: subscriptions open now;
    - ``watches``: watches the watch pools of this process run now;
    - ``watch_events_total{kind,type}``: changes the watches delivered (``rate()`` is events per second);
    - ``run_status_changes_total{status}`` and ``build_status_changes_total{status}``: status changes
      this process wrote (summed over replicas, every change is counted once).
    """

    def __init__(self, *, operation_name_limit: int = 200) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operation_names = OperationNames(operation_name_limit)
        self._operations = Counter(
            "trellis_graphql_operations",
            "GraphQL operations finished, by name, type and outcome",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "trellis_graphql_operation_duration_seconds",
            "Time taken by GraphQL queries and mutations, by name and type",
            ["operation", "type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._subscriptions = Gauge(
            "trellis_graphql_subscriptions_active",
            "GraphQL subscriptions open now, by name",
            ["operation"],
            registry=self.registry,
        )
        self._watches = Gauge(
            "trellis_watches", "Watches the watch pools of this process run now", registry=self.registry
        )
        self._watch_events = Counter(
            "trellis_watch_events",
            "Object changes delivered by the watch pools, by kind and event type",
            ["kind", "type"],
            registry=self.registry,
        )
        self._runs = Counter(
            "trellis_run_status_changes",
            "Deploy runs that entered each status (written by this process)",
            ["status"],
            registry=self.registry,
        )
        self._builds = Counter(
            "trellis_build_status_changes",
            "Image builds that entered each status (written by this process)",
            ["status"],
            registry=self.registry,
        )
        for run_status in RunStatus:  # every series exists from the start, at zero
            self._runs.labels(run_status.value)
        for build_status in BuildStatus:
            self._builds.labels(build_status.value)

    # --- GraphQL ----------------------------------------------------------------------------------

    def operation_finished(self, name: str | None, kind: str, *, ok: bool, seconds: float | None) -> None:
        """Count one operation; ``seconds`` (None for subscriptions, which last as long as they are
        open) goes to the latency histogram."""
        label = self.operation_names.label(name)
        self._operations.labels(label, kind, "success" if ok else "error").inc()
        if seconds is not None:
            self._latency.labels(label, kind).observe(seconds)

    def subscription_opened(self, name: str | None) -> Callable[[], None]:
        """Count an open subscription; call what is returned once when it closes."""
        gauge = self._subscriptions.labels(self.operation_names.label(name))
        gauge.inc()
        return gauge.dec

    # --- watches ----------------------------------------------------------------------------------

    def watch_event(self, kind: str, event_type: str) -> None:
        self._watch_events.labels(kind or "unknown", event_type).inc()

    def count_watches_with(self, count: Callable[[], float]) -> None:
        """Read the number of running watches from ``count`` at every scrape."""
        self._watches.set_function(count)

    # --- runs and builds --------------------------------------------------------------------------

    def run_entered(self, status: RunStatus) -> None:
        self._runs.labels(status.value).inc()

    def build_entered(self, status: BuildStatus) -> None:
        self._builds.labels(status.value).inc()

    # --- exposition -------------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
