"""Which watches a workflow holds: the kinds of its nodes, Pods and ReplicaSets in all namespaces
(label-selected, so only what Trellis deployed), and Kubernetes Events in the namespaces it uses.

Why all namespaces for the labelled kinds: one watch per (kind, namespace) would need
(kinds times namespaces) connections, and a cluster's client has about 100 (kubernetes-asyncio's
``connection_pool_maxsize``); with every workflow in its own namespace that runs out after a dozen
workflows. Watched over all namespaces, a cluster needs at most one connection per kind (15 for
every node kind plus Pods and ReplicaSets), however many workflows and namespaces there are; the label
selector keeps the streams to Trellis' own objects. Events have no labels, so they are watched per
namespace in use (a cluster-wide Event stream is the noisiest there is), until more namespaces than
``TrackingSettings.event_namespaces_max`` are in use on the cluster: then one Event watch over all
namespaces keeps the connection count bounded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from app.kube.watching import EVENT_KIND, WORKLOAD_CHILD_KINDS, WatchKey
from app.kube.watching.kinds import CLUSTER_SCOPED_KINDS, watch_key
from app.ports import NodeTarget

CHILD_KEYS = frozenset(watch_key(api_version, kind, None) for api_version, kind in WORKLOAD_CHILD_KINDS)


def namespaces_of(targets: Iterable[NodeTarget]) -> frozenset[str]:
    """The namespaces the namespaced targets live in."""
    return frozenset(
        target.namespace for target in targets if target.namespace and target.kind not in CLUSTER_SCOPED_KINDS
    )


def event_keys(namespaces: Iterable[str], *, everywhere: bool) -> frozenset[WatchKey]:
    api_version, kind = EVENT_KIND
    if everywhere:
        return frozenset({watch_key(api_version, kind, None)})
    return frozenset(watch_key(api_version, kind, namespace) for namespace in namespaces)


def wanted_keys(targets: Collection[NodeTarget], *, events_everywhere: bool) -> frozenset[WatchKey]:
    """The watches that the nodes ``targets`` need; none for no targets."""
    if not targets:
        return frozenset()
    kinds = {watch_key(target.api_version, target.kind, None) for target in targets}
    return frozenset(kinds | CHILD_KEYS | event_keys(namespaces_of(targets), everywhere=events_everywhere))
