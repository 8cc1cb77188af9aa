"""`workflowStatus`, `runStatus` and `podLogs` subscriptions."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from schema.context import Info
from schema.live.types import PodLogLine, RunStatusEvent, WorkflowStatusEvent


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

    @strawberry.subscription(
        description="Log lines of a node's pods (one, or all, each line naming its pod); ends when they do."
    )
    async def pod_logs(
        self,
        info: Info,
        workflow_id: strawberry.ID,
        node_id: strawberry.ID,
        pod: Annotated[
            str | None, strawberry.argument(description="One pod; all of the node's by default.")
        ] = None,
        container: Annotated[
            str | None, strawberry.argument(description="The container, if the pod has several.")
        ] = None,
        tail_lines: Annotated[
            int | None, strawberry.argument(description="Start with the last lines (at most 10000).")
        ] = 100,
        follow: Annotated[bool, strawberry.argument(description="Keep streaming new lines.")] = True,
    ) -> AsyncGenerator[PodLogLine, None]:
        principal = await info.context.principal()
        lines = info.context.services.pod_logs.lines(
            principal,
            str(workflow_id),
            str(node_id),
            pod=pod,
            container=container,
            tail_lines=tail_lines,
            follow=follow,
        )
        async with aclosing(lines) as stream:
            async for line in stream:
                yield PodLogLine(pod=line.pod, container=line.container, line=line.line)
