"""Cluster queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.services.clusters import ClusterRegistration
from schema.clusters.types import (
    Cluster,
    ClusterStatus,
    RegisterClusterInput,
    RegisterClusterPayload,
    RemoveClusterInput,
    RemoveClusterPayload,
    TestClusterInput,
    TestClusterPayload,
)
from schema.context import Info


@strawberry.type
class ClusterQuery:
    @strawberry.field(description="Clusters of your workspaces (or of one), by name.")
    async def clusters(
        self,
        info: Info,
        workspace_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this workspace's clusters.")
        ] = None,
    ) -> list[Cluster]:
        principal = await info.context.principal()
        clusters = await info.context.services.clusters.visible(principal, workspace_id)
        return [Cluster.from_domain(c) for c in clusters]

    @strawberry.field(description="One cluster.")
    async def cluster(self, info: Info, id: strawberry.ID) -> Cluster:
        principal = await info.context.principal()
        return Cluster.from_domain(await info.context.services.clusters.get(principal, id))


@strawberry.type
class ClusterMutation:
    @strawberry.mutation(description="Register a cluster; its credentials are checked, encrypted and tested.")
    async def register_cluster(self, info: Info, input: RegisterClusterInput) -> RegisterClusterPayload:
        principal = await info.context.principal()
        service = info.context.services.clusters
        cluster = await service.register(
            principal,
            ClusterRegistration(
                name=input.name,
                description=input.description,
                workspace_id=input.workspace_id,
                credentials=input.credentials(),
            ),
        )
        tested, _ = await service.test(principal, cluster.id)
        return RegisterClusterPayload(cluster=Cluster.from_domain(tested))

    @strawberry.mutation(description="Check now that the cluster answers, and which version it runs.")
    async def test_cluster(self, info: Info, input: TestClusterInput) -> TestClusterPayload:
        principal = await info.context.principal()
        cluster, probe = await info.context.services.clusters.test(principal, input.id)
        return TestClusterPayload(
            cluster=Cluster.from_domain(cluster), status=ClusterStatus.from_domain(probe)
        )

    @strawberry.mutation(description="Forget a cluster. Objects already deployed to it stay.")
    async def remove_cluster(self, info: Info, input: RemoveClusterInput) -> RemoveClusterPayload:
        principal = await info.context.principal()
        await info.context.services.clusters.remove(principal, input.id)
        return RemoveClusterPayload(removed_cluster_id=input.id)
