"""The watch pool: one watch per (cluster, kind, namespace), shared by every workflow.

A :class:`WatchPool` per cluster keeps one list-then-watch loop per :class:`WatchKey` — selected by
``app.kubernetes.io/managed-by=trellis`` (Kubernetes Events, which carry no labels, unfiltered) —
and tells a :class:`WatchSink`:

- ``on_resync(kind, namespace, objects)``: the whole current set, when a watch starts and again after
  the cluster was down (right after ``on_cluster_up``). The sink replaces what it knew of that watch.
- ``on_event(WatchEvent(type, obj))``: one real change: never a repeat after a reconnect, nothing for
  a no-op apply. After 410 Gone the pool relists and sends only the differences from what it had
  delivered (ADDED / MODIFIED / DELETED with the last known state for what vanished), not a resync.
- ``on_cluster_down(reason)`` once per outage; ``on_cluster_up()`` once when the cluster answers again.

Every object delivered has ``apiVersion`` and ``kind``; Secrets have their values blanked (keys kept).
Reconnects back off exponentially (``WatchSettings``: 5 s doubling to 60 s, with jitter); a stream
that ends is resumed from the last resourceVersion (bookmarks included) without a relist.
"""

from app.kube.watching.kinds import EVENT_KIND, NODE_KINDS, WATCHED_KINDS, WORKLOAD_CHILD_KINDS
from app.kube.watching.pool import WatchPool
from app.kube.watching.settings import WatchSettings
from app.kube.watching.sinks import WatchEvent, WatchEventType, WatchKey, WatchSink

__all__ = [
    "EVENT_KIND",
    "NODE_KINDS",
    "WATCHED_KINDS",
    "WORKLOAD_CHILD_KINDS",
    "WatchEvent",
    "WatchEventType",
    "WatchKey",
    "WatchPool",
    "WatchSettings",
    "WatchSink",
]
