"""`builds`, `build`, `startBuild`, `cancelBuild`, `buildLogs` and `buildProgress`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from app.domain.builds import BuildFilter as DomainBuildFilter
from app.services.builds import BuildRequest, build_cursor
from schema.builds.types import (
    Build,
    BuildFilter,
    BuildLogEvent,
    BuildProgressEvent,
    CancelBuildInput,
    CancelBuildPayload,
    StartBuildInput,
    StartBuildPayload,
)
from schema.connections import Connection, connection
from schema.context import Info


@strawberry.type
class BuildQuery:
    @strawberry.field(description="A workspace's builds, newest first.")
    async def builds(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
        filter: Annotated[
            BuildFilter | None, strawberry.argument(description="Only some builds (by status, workflow).")
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[Build]:
        principal = await info.context.principal()
        page = await info.context.services.builds.page(
            principal,
            str(workspace_id),
            filter.to_domain() if filter else DomainBuildFilter(),
            first=first,
            after=after,
        )
        return connection(page, Build.from_domain, build_cursor, after=after)

    @strawberry.field(description="One build, with its log.")
    async def build(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The build.")]
    ) -> Build:
        principal = await info.context.principal()
        return Build.from_domain(await info.context.services.builds.get(principal, str(id)))


@strawberry.type
class BuildMutation:
    @strawberry.mutation(
        description="Build an image in a cluster and push it: checked at once (a refused input is an error "
        "and nothing is recorded), then queued and run as a Kubernetes Job."
    )
    async def start_build(self, info: Info, input: StartBuildInput) -> StartBuildPayload:
        principal = await info.context.principal()
        build = await info.context.services.builds.start(
            principal,
            BuildRequest(
                repo_url=input.repo_url,
                registry_id=str(input.registry_id),
                image_name=input.image_name,
                image_tag=input.image_tag,
                ref=input.ref,
                context_path=input.context_path,
                dockerfile_path=input.dockerfile_path,
                use_nixpacks=input.use_nixpacks,
                target=input.target,
                build_args=(
                    [(arg.name, arg.value) for arg in input.build_args]
                    if input.build_args is not None
                    else None
                ),
                workflow_id=str(input.workflow_id) if input.workflow_id else None,
                node_id=str(input.node_id) if input.node_id else None,
                cluster_id=str(input.cluster_id) if input.cluster_id else None,
            ),
        )
        return StartBuildPayload(build=Build.from_domain(build))

    @strawberry.mutation(
        description="Stop a build: a queued one ends at once; a running one's Job and pods are deleted. It "
        "ends CANCELLED."
    )
    async def cancel_build(self, info: Info, input: CancelBuildInput) -> CancelBuildPayload:
        principal = await info.context.principal()
        build = await info.context.services.builds.cancel(principal, str(input.id))
        return CancelBuildPayload(build=Build.from_domain(build))


@strawberry.type
class BuildSubscription:
    @strawberry.subscription(
        description="A build's log: every stored line from the first, then new lines as they come, then "
        "COMPLETE with the final status (at once for a build that has ended)."
    )
    async def build_logs(
        self,
        info: Info,
        build_id: Annotated[strawberry.ID, strawberry.argument(description="The build.")],
    ) -> AsyncGenerator[BuildLogEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.builds.logs(principal, str(build_id), info.context.reauthorize)
        async with aclosing(updates) as stream:
            async for update in stream:
                yield BuildLogEvent.from_domain(update)

    @strawberry.subscription(
        description="A build as it happens: METADATA (the build now) first, PROGRESS at each change of "
        "status, percent, message or queue position, COMPLETE when it has ended."
    )
    async def build_progress(
        self,
        info: Info,
        build_id: Annotated[strawberry.ID, strawberry.argument(description="The build.")],
    ) -> AsyncGenerator[BuildProgressEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.builds.progress(principal, str(build_id), info.context.reauthorize)
        async with aclosing(updates) as stream:
            async for update in stream:
                yield BuildProgressEvent.from_domain(update)
