"""`previewManifests` and `planRun` (queries: they change nothing)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.context import Info
from schema.manifests.types import ManifestPreview, RunPlan


@strawberry.type
class ManifestQuery:
    @strawberry.field(
        description="The manifests the workflow renders to, without a cluster (Secret values masked)."
    )
    async def preview_manifests(
        self,
        info: Info,
        workflow_id: strawberry.ID,
        version: Annotated[
            int | None, strawberry.argument(description="A version number; the current canvas by default.")
        ] = None,
    ) -> ManifestPreview:
        principal = await info.context.principal()
        bundle = await info.context.services.previews.manifests(principal, workflow_id, version)
        return ManifestPreview.from_domain(bundle)

    @strawberry.field(description="What a run would create, change and prune now (a server-side dry run).")
    async def plan_run(self, info: Info, workflow_id: strawberry.ID) -> RunPlan:
        principal = await info.context.principal()
        return RunPlan.from_domain(await info.context.services.previews.plan(principal, workflow_id))
