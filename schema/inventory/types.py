"""Inventory types: what a cluster runs, and its nodes and namespaces."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.services import inventory
from schema.connections import Edge, PageInfo
from schema.live.types import HealthStatus


@strawberry.enum(description="The kinds `clusterResources` lists.")
class ClusterResourceKind(Enum):
    POD = "POD"
    DEPLOYMENT = "DEPLOYMENT"
    STATEFUL_SET = "STATEFUL_SET"
    DAEMON_SET = "DAEMON_SET"
    JOB = "JOB"
    CRON_JOB = "CRON_JOB"
    SERVICE = "SERVICE"
    INGRESS = "INGRESS"
    CONFIG_MAP = "CONFIG_MAP"
    SECRET = "SECRET"
    PERSISTENT_VOLUME_CLAIM = "PERSISTENT_VOLUME_CLAIM"
    NODE = "NODE"
    NAMESPACE = "NAMESPACE"
    HORIZONTAL_POD_AUTOSCALER = "HORIZONTAL_POD_AUTOSCALER"


@strawberry.type(description="CPU and memory amounts (usage, capacity or allocatable).")
class ResourceAmounts:
    cpu_millicores: int | None = strawberry.field(description="CPU in millicores (1000 = one core).")
    memory_bytes: float | None = strawberry.field(description="Memory in bytes.")

    @classmethod
    def from_domain(cls, amounts: inventory.Amounts | None) -> ResourceAmounts | None:
        if amounts is None:
            return None
        memory = amounts.memory_bytes
        return cls(
            cpu_millicores=amounts.cpu_millicores, memory_bytes=None if memory is None else float(memory)
        )


@strawberry.type(description="The health of a cluster object (Argo CD's rules).")
class ResourceHealth:
    status: HealthStatus = strawberry.field(description="Its health.")
    message: str = strawberry.field(description="What a person should know.")


@strawberry.type(description="One object in a cluster, managed by Trellis or not. Secrets show names only.")
class ClusterResource:
    kind: ClusterResourceKind = strawberry.field(description="Its kind.")
    api_version: str = strawberry.field(description="Its apiVersion, e.g. `apps/v1`.")
    name: str = strawberry.field(description="Its name.")
    namespace: str | None = strawberry.field(description="Its namespace; null for cluster-scoped kinds.")
    labels: JSON = strawberry.field(description="Its labels (an object of strings).")
    created_at: datetime | None = strawberry.field(description="Its creationTimestamp.")
    managed: bool = strawberry.field(description="Labelled `app.kubernetes.io/managed-by=trellis`.")
    workflow_id: strawberry.ID | None = strawberry.field(
        description="The workflow that deployed it (managed)."
    )
    node_id: strawberry.ID | None = strawberry.field(description="Its node in that workflow (managed).")
    health: ResourceHealth = strawberry.field(description="Its health as read now.")
    usage: ResourceAmounts | None = strawberry.field(
        description="Pods and nodes: resource usage from metrics-server; null when it does not answer."
    )

    @classmethod
    def from_domain(cls, item: inventory.InventoryItem) -> ClusterResource:
        return cls(
            kind=ClusterResourceKind(item.kind),
            api_version=item.api_version,
            name=item.name,
            namespace=item.namespace,
            labels=cast(JSON, dict(item.labels)),
            created_at=item.created_at,
            managed=item.managed,
            workflow_id=strawberry.ID(item.workflow_id) if item.workflow_id else None,
            node_id=strawberry.ID(item.node_id) if item.node_id else None,
            health=ResourceHealth(status=HealthStatus(item.health.status.value), message=item.health.message),
            usage=ResourceAmounts.from_domain(item.usage),
        )


@strawberry.type(
    description="A page of a cluster's objects, with when the list was read from the API server. A list is "
    "cached for a few seconds (TRELLIS_INVENTORY_CACHE_SECONDS), never longer."
)
class ClusterResourceConnection:
    edges: list[Edge[ClusterResource]] = strawberry.field(description="The items of this page with cursors.")
    nodes: list[ClusterResource] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    total_count: int = strawberry.field(description="How many objects match, over all pages.")
    fetched_at: datetime = strawberry.field(description="When the list was read from the API server.")
    cached: bool = strawberry.field(description="The list came from the short-lived cache, not a new read.")

    @classmethod
    def from_domain(cls, found: inventory.ResourcePage, *, after: str | None) -> ClusterResourceConnection:
        edges = [
            Edge(cursor=inventory.item_cursor(item), node=ClusterResource.from_domain(item))
            for item in found.page.items
        ]
        return cls(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo(
                has_next_page=found.page.has_next,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=found.page.total,
            fetched_at=found.fetched_at,
            cached=found.cached,
        )


@strawberry.type(description="One node of a cluster.")
class ClusterNode:
    name: str = strawberry.field(description="Its name.")
    ready: bool = strawberry.field(description="Its Ready condition is True.")
    capacity: ResourceAmounts | None = strawberry.field(description="What it has.")
    allocatable: ResourceAmounts | None = strawberry.field(description="What pods may use of it.")
    usage: ResourceAmounts | None = strawberry.field(
        description="What it uses now (metrics-server); null when metrics are not served."
    )

    @classmethod
    def from_domain(cls, node: inventory.NodeInfo) -> ClusterNode:
        return cls(
            name=node.name,
            ready=node.ready,
            capacity=ResourceAmounts.from_domain(node.capacity),
            allocatable=ResourceAmounts.from_domain(node.allocatable),
            usage=ResourceAmounts.from_domain(node.usage),
        )


@strawberry.type(description="One namespace of a cluster.")
class ClusterNamespace:
    name: str = strawberry.field(description="Its name.")
    status: str = strawberry.field(description="Its phase: `Active` or `Terminating`.")
    pod_count: int = strawberry.field(description="How many pods it holds.")


@strawberry.type(description="A cluster's nodes and namespaces, read from its API server.")
class ClusterSummary:
    cluster_id: strawberry.ID = strawberry.field(description="The cluster.")
    nodes: list[ClusterNode] = strawberry.field(description="Its nodes, by name.")
    namespaces: list[ClusterNamespace] = strawberry.field(description="Its namespaces, by name.")
    fetched_at: datetime = strawberry.field(description="When the oldest list it is made of was read.")
    cached: bool = strawberry.field(description="Some of it came from the short-lived cache.")

    @classmethod
    def from_domain(cls, summary: inventory.ClusterSummary) -> ClusterSummary:
        return cls(
            cluster_id=strawberry.ID(summary.cluster_id),
            nodes=[ClusterNode.from_domain(n) for n in summary.nodes],
            namespaces=[
                ClusterNamespace(name=n.name, status=n.status, pod_count=n.pod_count)
                for n in summary.namespaces
            ],
            fetched_at=summary.fetched_at,
            cached=summary.cached,
        )
