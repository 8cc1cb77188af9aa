"""`updatePresence` and the `workflowPresence` subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from schema.context import Info
from schema.presence.types import PresenceEvent, UpdatePresenceInput, UpdatePresencePayload, Viewer


@strawberry.type
class PresenceMutation:
    @strawberry.mutation(
        description="Publish the node you selected on a workflow you have open; also tells the others you "
        "are still looking. Readers may call it."
    )
    async def update_presence(self, info: Info, input: UpdatePresenceInput) -> UpdatePresencePayload:
        principal = await info.context.principal()
        selected = str(input.selected_node_id) if input.selected_node_id is not None else None
        viewers = await info.context.services.presence.update(principal, str(input.workflow_id), selected)
        return UpdatePresencePayload(viewers=[Viewer.from_domain(v) for v in viewers])


@strawberry.type
class PresenceSubscription:
    @strawberry.subscription(
        description="Who has a workflow open: METADATA (everyone, with their selected node) first, then "
        "PRESENCE when someone joins, selects a node or leaves, and WORKFLOW_SYNC when someone saves."
    )
    async def workflow_presence(
        self, info: Info, workflow_id: strawberry.ID
    ) -> AsyncGenerator[PresenceEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.presence.updates(
            principal, str(workflow_id), info.context.reauthorize
        )
        async with aclosing(updates) as stream:
            async for update in stream:
                yield PresenceEvent.from_domain(update)
