"""Live status events: one object type per stream with a `type` discriminator."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.domain.health_colours import colour_of
from app.domain.live import NodeHealth
from app.services.streams import RunUpdate, WorkflowUpdate
from schema.runs.types import NodeRunState, Run


@strawberry.enum(description="What an event on a status stream carries.")
class EventType(Enum):
    METADATA = "METADATA"
    NODE_UPDATE = "NODE_UPDATE"
    WORKFLOW_SYNC = "WORKFLOW_SYNC"
    ERROR = "ERROR"
    COMPLETE = "COMPLETE"
    DRIFT = "DRIFT"
    PRESENCE = "PRESENCE"


@strawberry.enum(
    description="Health of a deployed node (Argo CD's rules); the worst of a workflow's nodes is its own."
)
class HealthStatus(Enum):
    HEALTHY = "HEALTHY"
    PROGRESSING = "PROGRESSING"
    DEGRADED = "DEGRADED"
    SUSPENDED = "SUSPENDED"
    MISSING = "MISSING"
    UNKNOWN = "UNKNOWN"


@strawberry.type(description="The live status of one node.")
class NodeStatus:
    node_id: strawberry.ID = strawberry.field(description="The node.")
    health: HealthStatus = strawberry.field(description="Its health.")
    colour: str = strawberry.field(description="Canvas colour: green, yellow, red or grey.")
    message: str = strawberry.field(description="What a person should know or do.")
    facts: JSON = strawberry.field(description="The facts behind it (replicas, restarts, reasons, events).")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_domain(cls, entry: NodeHealth) -> NodeStatus:
        return cls(
            node_id=strawberry.ID(entry.node_id),
            health=HealthStatus(entry.health.status.value),
            colour=colour_of(entry.health.status),
            message=entry.health.message,
            facts=cast(JSON, dict(entry.health.facts)),
            updated_at=entry.updated_at,
        )


@strawberry.type(description="An event of `workflowStatus`.")
class WorkflowStatusEvent:
    type: EventType = strawberry.field(description="METADATA first, then NODE_UPDATE, WORKFLOW_SYNC, ERROR.")
    at: datetime = strawberry.field(description="When it happened.")
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    nodes: list[NodeStatus] = strawberry.field(
        description="Every node (METADATA, WORKFLOW_SYNC) or the changed one (NODE_UPDATE)."
    )
    message: str | None = strawberry.field(description="What went wrong (ERROR).")
    revision: int | None = strawberry.field(
        default=None, description="The workflow's revision now (WORKFLOW_SYNC)."
    )
    saved_by: strawberry.ID | None = strawberry.field(
        default=None, description="The user whose save made this revision (WORKFLOW_SYNC after a save)."
    )

    @classmethod
    def from_domain(cls, update: WorkflowUpdate) -> WorkflowStatusEvent:
        return cls(
            type=EventType(update.type.value),
            at=update.at,
            workflow_id=strawberry.ID(update.workflow_id),
            nodes=[NodeStatus.from_domain(n) for n in update.nodes],
            message=update.message,
            revision=update.revision,
            saved_by=strawberry.ID(update.saved_by) if update.saved_by else None,
        )


@strawberry.type(description="An event of `runStatus`.")
class RunStatusEvent:
    type: EventType = strawberry.field(description="METADATA first, then NODE_UPDATE…, COMPLETE last.")
    at: datetime = strawberry.field(description="When it happened.")
    run: Run | None = strawberry.field(description="The whole run as it is now.")
    node: NodeRunState | None = strawberry.field(description="The node that changed (NODE_UPDATE).")
    message: str | None = strawberry.field(description="What went wrong (ERROR).")

    @classmethod
    def from_domain(cls, update: RunUpdate) -> RunStatusEvent:
        run = Run.from_domain(update.run) if update.run else None
        node = None
        if update.run and update.node_id:
            state = next((s for s in update.run.node_states if s.node_id == update.node_id), None)
            node = NodeRunState.from_domain(state) if state else None
        return cls(
            type=EventType(update.type.value), at=update.at, run=run, node=node, message=update.message
        )


@strawberry.type(description="One line of a pod's log.")
class PodLogLine:
    pod: str = strawberry.field(description="The pod it comes from.")
    container: str | None = strawberry.field(description="The container, if one was asked for.")
    line: str = strawberry.field(description="The line, without its newline.")
