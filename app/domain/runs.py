"""Deploy runs: one attempt to make a cluster match a workflow version, with per-node outcomes and logs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


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
    """What started a run: a person (MANUAL), a webhook call, a schedule, or another workflow's run
    ending (RUN_COMPLETED)."""

    MANUAL = "MANUAL"
    WEBHOOK = "WEBHOOK"
    SCHEDULE = "SCHEDULE"
    RUN_COMPLETED = "RUN_COMPLETED"


class RunKind(StrEnum):
    """What a run does: DEPLOY applies a TOPOLOGY workflow's version to its cluster; FLOW walks a FLOW
    workflow's steps. Fixed at creation (a workflow's type never changes)."""

    DEPLOY = "DEPLOY"
    FLOW = "FLOW"


class NodeRunStatus(StrEnum):
    """A node's state in a run. Deploy runs use PENDING, APPLYING, APPLIED, SKIPPED, FAILED, CANCELLED;
    flow runs (steps) use PENDING, QUEUED, RUNNING, COMPLETED, FAILED, SKIPPED, RETRYING, CANCELLED."""

    PENDING = "PENDING"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"  # the cluster accepted the object (changed or unchanged)
    SKIPPED = "SKIPPED"  # deliberately not applied (a Secret with no value) / a flow branch not taken
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"  # the run stopped before this node
    QUEUED = "QUEUED"  # a flow step whose inputs are complete, waiting for a free slot
    RUNNING = "RUNNING"  # a flow step executing (attempt ``attempt``)
    COMPLETED = "COMPLETED"  # a flow step that returned its output
    RETRYING = "RETRYING"  # a flow step whose attempt failed, waiting for its backoff before the next

    @property
    def settled(self) -> bool:
        """Whether the node will not change any more in this run."""
        return self in (
            NodeRunStatus.APPLIED,
            NodeRunStatus.SKIPPED,
            NodeRunStatus.FAILED,
            NodeRunStatus.CANCELLED,
            NodeRunStatus.COMPLETED,
        )


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
    step: StepOutcome | None = None  # flow runs only: attempt, times, output, error


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What a flow step did in its latest attempt (the node's ``status`` says where it stands).

    ``port`` is the out-port the run went on through (``output``, a Condition's ``true``/``false``, or
    ``error`` when a failed step's error port is connected); ``output`` the JSON the step returned (``None``
    when it was larger than the limit: ``output_size`` still says how large, in bytes of JSON).
    ``error_kind`` is ERROR, TIMEOUT, OOM, REFUSED or CANCELLED; ``error_stage`` where it failed.
    """

    attempt: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    port: str | None = None
    output: Any = None
    output_size: int = 0
    error_kind: str | None = None
    error_stage: str | None = None
    error: str | None = None

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


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
    kind: RunKind = RunKind.DEPLOY
    trigger_data: Any = None  # FLOW runs: the JSON object the Start step outputs (None: none given)
    trigger_id: str | None = None  # the trigger that started it (None: started by a person)

    @property
    def duration_ms(self) -> int | None:
        if self.completed_at is None:
            return None
        return int((self.completed_at - self.started_at).total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class StepLogLine:
    """One line of a flow step's log (stored apart from the run, bounded per step).

    ``seq`` numbers the lines of one step of one run from 1, in order, across attempts (the store assigns
    it); a gap in ``seq`` means lines were trimmed there. ``attempt`` is the attempt that printed it.
    """

    seq: int
    at: datetime
    attempt: int
    level: str  # INFO, WARNING, ERROR
    message: str


@dataclass(frozen=True, slots=True)
class StepOutputRecord:
    """The output an attempt posted back over HTTP (when too large for its termination message)."""

    run_id: str
    node_id: str
    attempt: int
    output: Any
    size: int  # bytes of JSON as received
    received_at: datetime
