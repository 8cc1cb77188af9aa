"""`clusterResources` and `clusterSummary` (read-only)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.inventory.types import ClusterResourceConnection, ClusterResourceKind, ClusterSummary


@strawberry.type
class InventoryQuery:
    @strawberry.field(
        description="What runs in a cluster, managed by Trellis or not, by namespace and name; read from its "
        "API server (a list is cached a few seconds: see `cached` and `fetchedAt`). UNAVAILABLE when the "
        "cluster cannot be reached."
    )
    async def cluster_resources(
        self,
        info: Info,
        cluster_id: Annotated[strawberry.ID, strawberry.argument(description="The cluster.")],
        kind: Annotated[ClusterResourceKind, strawberry.argument(description="Which kind to list.")],
        namespace: Annotated[
            str | None, strawberry.argument(description="Only this namespace (namespaced kinds).")
        ] = None,
        search: Annotated[
            str | None, strawberry.argument(description="Only names containing this (any case).")
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> ClusterResourceConnection:
        principal = await info.context.principal()
        found = await info.context.services.inventory.resources(
            principal,
            str(cluster_id),
            kind.value,
            namespace=namespace,
            search=search,
            first=first,
            after=after,
        )
        return ClusterResourceConnection.from_domain(found, after=after)

    @strawberry.field(
        description="A cluster's nodes (readiness, capacity, usage) and namespaces (status, pod count)."
    )
    async def cluster_summary(
        self,
        info: Info,
        cluster_id: Annotated[strawberry.ID, strawberry.argument(description="The cluster.")],
    ) -> ClusterSummary:
        principal = await info.context.principal()
        summary = await info.context.services.inventory.summary(principal, str(cluster_id))
        return ClusterSummary.from_domain(summary)
