"""`workflowStatus` and `runStatus` subscriptions."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from schema.context import Info
from schema.live.types import RunStatusEvent, WorkflowStatusEvent


@strawberry.type
class LiveSubscription:
    @strawberry.subscription(
        description="Live health of a workflow's nodes: METADATA (every node) first, then changes."
    )
    async def workflow_status(
        self, info: Info, workflow_id: strawberry.ID
    ) -> AsyncGenerator[WorkflowStatusEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.streams.workflow_updates(
            principal, workflow_id, info.context.reauthorize
        )
        async with aclosing(updates) as stream:
            async for update in stream:
                yield WorkflowStatusEvent.from_domain(update)

    @strawberry.subscription(
        description="One run as it happens: METADATA first, NODE_UPDATEs, then COMPLETE."
    )
    async def run_status(self, info: Info, run_id: strawberry.ID) -> AsyncGenerator[RunStatusEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.streams.run_updates(principal, run_id, info.context.reauthorize)
        async with aclosing(updates) as stream:
            async for update in stream:
                yield RunStatusEvent.from_domain(update)
