"""Version queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.services.versions import version_cursor
from schema.connections import Connection, connection
from schema.context import Info
from schema.versions.types import (
    CreateVersionInput,
    CreateVersionPayload,
    RestoreVersionInput,
    RestoreVersionPayload,
    Version,
    VersionDiff,
)
from schema.workflows.types import Workflow


@strawberry.type
class VersionQuery:
    @strawberry.field(description="Versions of a workflow, newest first.")
    async def versions(
        self,
        info: Info,
        workflow_id: strawberry.ID,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[Version]:
        principal = await info.context.principal()
        page = await info.context.services.versions.page(principal, workflow_id, first=first, after=after)
        return connection(page, Version.from_domain, version_cursor, after=after)

    @strawberry.field(description="One version of a workflow.")
    async def version(self, info: Info, workflow_id: strawberry.ID, number: int) -> Version:
        principal = await info.context.principal()
        return Version.from_domain(await info.context.services.versions.get(principal, workflow_id, number))

    @strawberry.field(description="What changed between two versions of a workflow.")
    async def compare_versions(
        self,
        info: Info,
        workflow_id: strawberry.ID,
        v1: int,
        v2: int,
        ignore_layout: Annotated[
            bool, strawberry.argument(description="Leave out nodes whose only change is their position.")
        ] = False,
    ) -> VersionDiff:
        principal = await info.context.principal()
        comparison = await info.context.services.versions.compare(
            principal, workflow_id, v1, v2, ignore_layout=ignore_layout
        )
        return VersionDiff.from_domain(comparison)


@strawberry.type
class VersionMutation:
    @strawberry.mutation(description="Snapshot the current canvas as the next version number.")
    async def create_version(self, info: Info, input: CreateVersionInput) -> CreateVersionPayload:
        principal = await info.context.principal()
        version = await info.context.services.versions.create(
            principal, input.workflow_id, tag=input.tag, description=input.description
        )
        return CreateVersionPayload(version=Version.from_domain(version))

    @strawberry.mutation(
        description="Restore an old version: it becomes a NEW version and the current canvas."
    )
    async def restore_version(self, info: Info, input: RestoreVersionInput) -> RestoreVersionPayload:
        principal = await info.context.principal()
        version, workflow = await info.context.services.versions.restore(
            principal, input.workflow_id, input.version, expected_revision=input.expected_revision
        )
        return RestoreVersionPayload(
            version=Version.from_domain(version), workflow=Workflow.from_domain(workflow)
        )
