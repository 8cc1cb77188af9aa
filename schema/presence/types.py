"""Live collaboration types: who has a workflow open, what they selected, and the saves others make."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.services import presence
from schema.live.types import EventType


@strawberry.enum(description="What happened to one viewer (PRESENCE events).")
class PresenceChange(Enum):
    JOINED = "JOINED"
    UPDATED = "UPDATED"
    LEFT = "LEFT"


@strawberry.type(description="Someone with the workflow open.")
class Viewer:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    name: str = strawberry.field(description="Their name.")
    selected_node_id: strawberry.ID | None = strawberry.field(
        description="The node they selected (null: none)."
    )
    since: datetime = strawberry.field(description="Since when they have the workflow open.")

    @classmethod
    def from_domain(cls, viewer: presence.Viewer) -> Viewer:
        selected = viewer.selected_node_id
        return cls(
            user_id=strawberry.ID(viewer.user_id),
            name=viewer.name,
            selected_node_id=strawberry.ID(selected) if selected is not None else None,
            since=viewer.since,
        )


@strawberry.type(description="An event of `workflowPresence`.")
class PresenceEvent:
    type: EventType = strawberry.field(
        description="METADATA first (everyone looking now), then PRESENCE (someone joined, selected a node "
        "or left) and WORKFLOW_SYNC (someone saved: a new revision)."
    )
    at: datetime = strawberry.field(description="When it happened.")
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    viewers: list[Viewer] = strawberry.field(description="Everyone looking now, the subscriber included.")
    change: PresenceChange | None = strawberry.field(description="What happened (PRESENCE).")
    viewer: Viewer | None = strawberry.field(description="Who it happened to (PRESENCE).")
    revision: int | None = strawberry.field(
        description="The workflow's revision (METADATA; WORKFLOW_SYNC: the new one)."
    )
    saved_by: strawberry.ID | None = strawberry.field(
        description="The user whose save made the revision (WORKFLOW_SYNC after a save; null after a resync)."
    )

    @classmethod
    def from_domain(cls, update: presence.PresenceUpdate) -> PresenceEvent:
        return cls(
            type=EventType(update.type.value),
            at=update.at,
            workflow_id=strawberry.ID(update.workflow_id),
            viewers=[Viewer.from_domain(v) for v in update.viewers],
            change=PresenceChange(update.change.value) if update.change else None,
            viewer=Viewer.from_domain(update.viewer) if update.viewer else None,
            revision=update.revision,
            saved_by=strawberry.ID(update.saved_by) if update.saved_by else None,
        )


@strawberry.input(description="Tell the others which node you selected (and that you are still here).")
class UpdatePresenceInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow you have open.")
    selected_node_id: strawberry.ID | None = strawberry.field(
        default=None, description="The node you selected; null: none."
    )


@strawberry.type(description="Everyone looking at the workflow now.")
class UpdatePresencePayload:
    viewers: list[Viewer] = strawberry.field(description="Everyone looking now, you included.")
