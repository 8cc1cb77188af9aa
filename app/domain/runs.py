"""Deploy runs: one attempt to make a cluster match a workflow version, with per-node outcomes and logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    INTERRUPTED = "INTERRUPTED"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


class TriggerKind(StrEnum):
    MANUAL = "MANUAL"


class NodeRunStatus(StrEnum):
    PENDING = "PENDING"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"  # the cluster accepted the object (changed or unchanged)
    SKIPPED = "SKIPPED"  # deliberately not applied (a Secret with no value), with a warning
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"  # the run stopped before this node


class ObjectAction(StrEnum):
    CREATED = "CREATED"
    CONFIGURED = "CONFIGURED"  # changed by the apply
    UNCHANGED = "UNCHANGED"
    PRUNED = "PRUNED"


@dataclass(frozen=True, slots=True)
class AppliedObject:
    api_version: str
    kind: str
    name: str
    namespace: str | None
    action: ObjectAction
    uid: str | None = None
    resource_version: str | None = None


@dataclass(frozen=True, slots=True)
class NodeRunState:
    node_id: str
    status: NodeRunStatus
    message: str | None = None
    objects: tuple[AppliedObject, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RunLogLine:
    at: datetime
    level: str  # INFO, WARNING, ERROR
    message: str
    node_id: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    workflow_id: str
    workspace_id: str
    cluster_id: str
    version: int
    status: RunStatus
    triggered_by: TriggerKind
    started_by: str
    started_at: datetime
    owner: str  # the server process that executes it
    heartbeat_at: datetime  # renewed while the owner works; a stale one means the owner died
    completed_at: datetime | None = None
    node_states: tuple[NodeRunState, ...] = ()
    logs: tuple[RunLogLine, ...] = ()
    pruned: tuple[AppliedObject, ...] = ()
    error: str | None = None
    cancel_requested: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def duration_ms(self) -> int | None:
        if self.completed_at is None:
            return None
        return int((self.completed_at - self.started_at).total_seconds() * 1000)
