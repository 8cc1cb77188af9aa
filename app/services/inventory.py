"""`clusterResources` and `clusterSummary`: what runs in a registered cluster, whether Trellis manages it or
not, read from its API server.

Each list is cached per (cluster, kind, namespace) for ``cache_seconds``; a cached answer says so
(``cached``) and when it was read (``fetched_at``). Nothing older than the TTL is ever served: when the
cluster cannot be reached the answer is ``UNAVAILABLE``, never the previous list. Secret values are
dropped as soon as a list arrives (names and labels only). Resource usage comes from metrics-server
(``metrics.k8s.io/v1beta1``) when it answers, and is None otherwise.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app import errors
from app.auth.keyring import Keyring
from app.domain.clusters import Cluster
from app.domain.health import Health
from app.domain.labels import MANAGED_BY, MANAGER, NODE_LABEL, WORKFLOW_LABEL
from app.domain.paging import Page
from app.domain.quantities import byte_count, millicores
from app.ports import Clock, ClusterGateway, ClusterStore, LiveClusterSession, ObjectAssessor
from app.services.clusters import unseal
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal

log = logging.getLogger(__name__)

METRICS_API = "metrics.k8s.io/v1beta1"
CURSOR_LIST = "clusterResources"
MAX_SEARCH = 253
MAX_CACHE_ENTRIES = 256
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One kind the inventory lists: its API version, kind and whether it lives in a namespace."""

    api_version: str
    kind: str
    namespaced: bool


KINDS: Mapping[str, KindSpec] = {
    "POD": KindSpec("v1", "Pod", True),
    "DEPLOYMENT": KindSpec("apps/v1", "Deployment", True),
    "STATEFUL_SET": KindSpec("apps/v1", "StatefulSet", True),
    "DAEMON_SET": KindSpec("apps/v1", "DaemonSet", True),
    "JOB": KindSpec("batch/v1", "Job", True),
    "CRON_JOB": KindSpec("batch/v1", "CronJob", True),
    "SERVICE": KindSpec("v1", "Service", True),
    "INGRESS": KindSpec("networking.k8s.io/v1", "Ingress", True),
    "CONFIG_MAP": KindSpec("v1", "ConfigMap", True),
    "SECRET": KindSpec("v1", "Secret", True),
    "PERSISTENT_VOLUME_CLAIM": KindSpec("v1", "PersistentVolumeClaim", True),
    "NODE": KindSpec("v1", "Node", False),
    "NAMESPACE": KindSpec("v1", "Namespace", False),
    "HORIZONTAL_POD_AUTOSCALER": KindSpec("autoscaling/v2", "HorizontalPodAutoscaler", True),
}
_METRICS_KIND = {"Pod": "PodMetrics", "Node": "NodeMetrics"}


@dataclass(frozen=True, slots=True)
class Amounts:
    """CPU in millicores and memory in bytes; None where the source gave no (readable) value."""

    cpu_millicores: int | None
    memory_bytes: int | None

    @classmethod
    def of(cls, values: object) -> Amounts | None:
        if not isinstance(values, Mapping):
            return None
        return cls(millicores(values.get("cpu")), byte_count(values.get("memory")))


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """One object of the cluster as the inventory shows it (never a Secret's values)."""

    kind: str  # a key of KINDS
    api_version: str
    name: str
    namespace: str | None
    labels: Mapping[str, str]
    created_at: datetime | None
    managed: bool  # labelled app.kubernetes.io/managed-by=trellis
    workflow_id: str | None
    node_id: str | None
    health: Health
    usage: Amounts | None  # pods and nodes, when metrics-server answered for it


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    ready: bool
    capacity: Amounts | None
    allocatable: Amounts | None
    usage: Amounts | None


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    status: str  # Active, Terminating
    pod_count: int


@dataclass(frozen=True, slots=True)
class _Listing:
    """One cached list: the items by (namespace, name), when they were read, and per-kind extras."""

    items: tuple[InventoryItem, ...]
    fetched_at: datetime
    cluster_updated_at: datetime
    nodes: tuple[NodeInfo, ...] = ()
    phases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourcePage:
    page: Page[InventoryItem]
    fetched_at: datetime
    cached: bool


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    cluster_id: str
    nodes: list[NodeInfo]
    namespaces: list[NamespaceInfo]
    fetched_at: datetime  # the oldest of the lists it is made of
    cached: bool  # any of them came from the cache


def item_cursor(item: InventoryItem) -> str:
    return encode_cursor(CURSOR_LIST, [item.namespace or "", item.name])


class InventoryService:
    def __init__(
        self,
        *,
        store: ClusterStore,
        gateway: ClusterGateway,
        keyring: Keyring,
        clock: Clock,
        assess: ObjectAssessor,
        paging: PageRules,
        timeout_seconds: float,
        cache_seconds: float,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._keyring = keyring
        self._clock = clock
        self._assess = assess
        self._paging = paging
        self._timeout = timeout_seconds
        self._ttl = timedelta(seconds=cache_seconds)
        self._cache: OrderedDict[tuple[str, str, str], _Listing] = OrderedDict()

    async def resources(
        self,
        principal: Principal,
        cluster_id: str,
        kind: str,
        *,
        namespace: str | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> ResourcePage:
        """A page of one kind's objects (of one namespace, or all), by namespace and name."""
        spec = _spec(kind)
        namespace = _namespace(spec, namespace)
        needle = (search or "").strip().lower()
        if len(needle) > MAX_SEARCH:
            raise errors.Invalid.field("search", f"must be at most {MAX_SEARCH} characters")
        size = self._paging.size(first)
        start = _after(after)
        cluster = await self._cluster(principal, cluster_id)
        listing, cached = await self._listing(cluster, kind, namespace)
        matching = [i for i in listing.items if needle in i.name.lower()]
        rest = [i for i in matching if start is None or (i.namespace or "", i.name) > start]
        page = Page(items=rest[:size], has_next=len(rest) > size, total=len(matching))
        return ResourcePage(page=page, fetched_at=listing.fetched_at, cached=cached)

    async def summary(self, principal: Principal, cluster_id: str) -> ClusterSummary:
        """Nodes (readiness, capacity, usage) and namespaces (status, pod count)."""
        cluster = await self._cluster(principal, cluster_id)
        nodes, nodes_cached = await self._listing(cluster, "NODE", None)
        namespaces, ns_cached = await self._listing(cluster, "NAMESPACE", None)
        pods, pods_cached = await self._listing(cluster, "POD", None)
        counts: dict[str, int] = {}
        for pod in pods.items:
            counts[pod.namespace or ""] = counts.get(pod.namespace or "", 0) + 1
        return ClusterSummary(
            cluster_id=cluster.id,
            nodes=list(nodes.nodes),
            namespaces=[
                NamespaceInfo(i.name, namespaces.phases.get(i.name, "Unknown"), counts.get(i.name, 0))
                for i in namespaces.items
            ],
            fetched_at=min(nodes.fetched_at, namespaces.fetched_at, pods.fetched_at),
            cached=nodes_cached or ns_cached or pods_cached,
        )

    # --- reading and caching ----------------------------------------------------------------------

    async def _cluster(self, principal: Principal, cluster_id: str) -> Cluster:
        cluster = await self._store.get_cluster(principal.scope, cluster_id)
        if cluster is None:
            raise errors.NotFound("cluster", cluster_id)
        return cluster

    async def _listing(self, cluster: Cluster, kind: str, namespace: str | None) -> tuple[_Listing, bool]:
        """The list from the cache while it is younger than the TTL (and the cluster unchanged), else
        read now; a failed read raises and leaves no entry behind."""
        key = (cluster.id, kind, namespace or "")
        now = self._clock.now()
        entry = self._cache.pop(key, None)
        if (
            entry is not None
            and entry.cluster_updated_at == cluster.updated_at
            and timedelta(0) <= now - entry.fetched_at < self._ttl
        ):
            self._cache[key] = entry
            return entry, True
        listing = await self._fetch(cluster, KINDS[kind], kind, namespace)
        if self._ttl > timedelta(0):
            self._cache[key] = listing
            while len(self._cache) > MAX_CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return listing, False

    async def _fetch(self, cluster: Cluster, spec: KindSpec, kind: str, namespace: str | None) -> _Listing:
        credentials = unseal(self._keyring, cluster.credentials_ciphertext)
        async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
            objects = await session.list(spec.api_version, spec.kind, label_selector="", namespace=namespace)
            usage = await _usage(session, spec, namespace)
        fetched_at = self._clock.now()
        items: list[InventoryItem] = []
        nodes: list[NodeInfo] = []
        phases: dict[str, str] = {}
        for obj in objects:
            if spec.kind == "Secret":
                obj = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
            item = self._item(kind, spec, obj, usage)
            items.append(item)
            if spec.kind == "Node":
                nodes.append(_node(obj, item.usage))
            if spec.kind == "Namespace":
                phases[item.name] = str(_mapping(obj.get("status")).get("phase") or "Active")
        items.sort(key=lambda i: (i.namespace or "", i.name))
        nodes.sort(key=lambda n: n.name)
        return _Listing(tuple(items), fetched_at, cluster.updated_at, tuple(nodes), phases)

    def _item(
        self,
        kind: str,
        spec: KindSpec,
        obj: Mapping[str, Any],
        usage: Mapping[tuple[str, str], Amounts] | None,
    ) -> InventoryItem:
        metadata = _mapping(obj.get("metadata"))
        labels = {str(k): str(v) for k, v in _mapping(metadata.get("labels")).items()}
        name = str(metadata.get("name") or "")
        namespace = metadata.get("namespace") if spec.namespaced else None
        namespace = namespace if isinstance(namespace, str) and namespace else None
        managed = labels.get(MANAGED_BY) == MANAGER
        return InventoryItem(
            kind=kind,
            api_version=str(obj.get("apiVersion") or spec.api_version),
            name=name,
            namespace=namespace,
            labels=labels,
            created_at=_moment(metadata.get("creationTimestamp")),
            managed=managed,
            workflow_id=labels.get(WORKFLOW_LABEL) if managed else None,
            node_id=labels.get(NODE_LABEL) if managed else None,
            health=self._assess(obj),
            usage=None if usage is None else usage.get((namespace or "", name)),
        )


async def _usage(
    session: LiveClusterSession, spec: KindSpec, namespace: str | None
) -> dict[tuple[str, str], Amounts] | None:
    """Usage by (namespace, name) from metrics-server; None when the kind has none or it does not answer."""
    metrics_kind = _METRICS_KIND.get(spec.kind)
    if metrics_kind is None:
        return None
    try:
        found = await session.list(METRICS_API, metrics_kind, label_selector="", namespace=namespace)
    except errors.TrellisError as exc:  # metrics-server down or forbidden: usage unknown, not a failure
        log.info("no resource usage from %s: %s", METRICS_API, exc)
        return None
    usage: dict[tuple[str, str], Amounts] = {}
    for entry in found:
        metadata = _mapping(entry.get("metadata"))
        key = (
            str(metadata.get("namespace") or "") if spec.namespaced else "",
            str(metadata.get("name") or ""),
        )
        if spec.kind == "Node":
            amounts = Amounts.of(entry.get("usage"))
        else:
            amounts = _sum(_mapping(c).get("usage") for c in entry.get("containers") or [])
        if amounts is not None:
            usage[key] = amounts
    return usage


def _sum(values: Sequence[object] | Any) -> Amounts | None:
    """The total of containers' usage; a part nobody reported stays None."""
    cpu: int | None = None
    memory: int | None = None
    for value in values:
        amounts = Amounts.of(value)
        if amounts is None:
            continue
        if amounts.cpu_millicores is not None:
            cpu = (cpu or 0) + amounts.cpu_millicores
        if amounts.memory_bytes is not None:
            memory = (memory or 0) + amounts.memory_bytes
    return None if cpu is None and memory is None else Amounts(cpu, memory)


def _node(obj: Mapping[str, Any], usage: Amounts | None) -> NodeInfo:
    status = _mapping(obj.get("status"))
    conditions = [_mapping(c) for c in status.get("conditions") or []]
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return NodeInfo(
        name=str(_mapping(obj.get("metadata")).get("name") or ""),
        ready=ready,
        capacity=Amounts.of(status.get("capacity")),
        allocatable=Amounts.of(status.get("allocatable")),
        usage=usage,
    )


def _spec(kind: str) -> KindSpec:
    spec = KINDS.get(kind)
    if spec is None:
        raise errors.Invalid.field("kind", f"must be one of {', '.join(KINDS)}")
    return spec


def _namespace(spec: KindSpec, namespace: str | None) -> str | None:
    if namespace is None or namespace == "":
        return None
    if not spec.namespaced:
        raise errors.Invalid.field("namespace", "this kind is cluster-scoped: leave namespace out")
    if not _DNS_LABEL.match(namespace):
        raise errors.Invalid.field("namespace", "must be a DNS-1123 label (lower-case letters, digits, '-')")
    return namespace


def _after(after: str | None) -> tuple[str, str] | None:
    if after is None:
        return None
    key = decode_cursor(CURSOR_LIST, after)
    if len(key) != 2 or not all(isinstance(part, str) for part in key):
        raise errors.Invalid.field("after", "is not a cursor of this list")
    return (key[0], key[1])


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
