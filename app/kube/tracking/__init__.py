"""Live node health: the ``LiveTracker`` port over the watch pool and the health checks.

:class:`KubeLiveTracker` keeps one :class:`~app.kube.watching.WatchPool` per cluster, holds the
watches each tracked workflow needs (:mod:`~app.kube.tracking.watches`), keeps the latest objects
and maps them to nodes (:mod:`~app.kube.tracking.state`), and tells the ``LiveSink`` when a node's
health — ``combine(assess(its object), its pods, its Events)``, MISSING without its object — really
changed, when the cluster stops or starts answering, and when a relist is complete
(:mod:`~app.kube.tracking.cluster`).
"""

from app.kube.tracking.cluster import PoolFactory
from app.kube.tracking.settings import TrackingSettings
from app.kube.tracking.state import NodeRef
from app.kube.tracking.tracker import KubeLiveTracker

__all__ = ["KubeLiveTracker", "NodeRef", "PoolFactory", "TrackingSettings"]
