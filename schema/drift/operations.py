"""`workflowDrift` and `syncWorkflow`."""

from __future__ import annotations

import strawberry

from schema.context import Info
from schema.drift.types import SyncWorkflowInput, SyncWorkflowPayload, WorkflowDrift
from schema.runs.types import Run


@strawberry.type
class DriftQuery:
    @strawberry.field(
        description="How the live objects differ from what the last completed deploy applied (reads the "
        "cluster now)."
    )
    async def workflow_drift(self, info: Info, workflow_id: strawberry.ID) -> WorkflowDrift:
        principal = await info.context.principal()
        found = await info.context.services.drift.drift(principal, workflow_id)
        return WorkflowDrift.from_domain(found)


@strawberry.type
class DriftMutation:
    @strawberry.mutation(
        description="Apply the last deployed version again (a new deploy run), undoing drift. CONFLICT when "
        "the workflow changed since that version."
    )
    async def sync_workflow(self, info: Info, input: SyncWorkflowInput) -> SyncWorkflowPayload:
        principal = await info.context.principal()
        run = await info.context.services.drift.sync(principal, input.workflow_id)
        return SyncWorkflowPayload(run=Run.from_domain(run))
