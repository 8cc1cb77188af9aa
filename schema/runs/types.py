"""Deploy runs: status, per-node outcomes, what was applied and pruned, and the log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.domain.runs import AppliedObject as DomainAppliedObject
from app.domain.runs import NodeRunState as DomainNodeRunState
from app.domain.runs import Run as DomainRun
from app.domain.runs import RunKind as DomainRunKind
from app.domain.runs import RunLogLine as DomainLogLine
from app.domain.runs import StepLogLine as DomainStepLogLine
from app.domain.runs import StepOutcome as DomainStepOutcome
from app.domain.triggers import mask_secrets
from app.services.flow_runs import StepLogUpdate
from schema.auth.types import User
from schema.context import Info


@strawberry.enum(description="Where a run stands. INTERRUPTED: the server stopped while it ran.")
class RunStatus(Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    INTERRUPTED = "INTERRUPTED"


@strawberry.enum(
    description="Where one node stands in a run. Deploy runs: PENDING, APPLYING, APPLIED, SKIPPED, FAILED, "
    "CANCELLED. Flow runs (steps): PENDING, QUEUED, RUNNING, COMPLETED, FAILED, SKIPPED (a branch not "
    "taken), RETRYING (waiting before its next attempt), CANCELLED."
)
class NodeRunStatus(Enum):
    PENDING = "PENDING"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    RETRYING = "RETRYING"


@strawberry.enum(description="What a run did to one object.")
class ObjectAction(Enum):
    CREATED = "CREATED"
    CONFIGURED = "CONFIGURED"
    UNCHANGED = "UNCHANGED"
    PRUNED = "PRUNED"


@strawberry.enum(
    description="What started a run: a person (MANUAL), a webhook call, a schedule, or another workflow's "
    "run ending (RUN_COMPLETED)."
)
class TriggerKind(Enum):
    MANUAL = "MANUAL"
    WEBHOOK = "WEBHOOK"
    SCHEDULE = "SCHEDULE"
    RUN_COMPLETED = "RUN_COMPLETED"


@strawberry.enum(
    description="What a run does: DEPLOY applies a TOPOLOGY workflow; FLOW walks a flow's steps."
)
class RunKind(Enum):
    DEPLOY = "DEPLOY"
    FLOW = "FLOW"


@strawberry.type(description="A Kubernetes object a run applied or pruned.")
class AppliedObject:
    api_version: str = strawberry.field(description="apiVersion, e.g. `apps/v1`.")
    kind: str = strawberry.field(description="Kind, e.g. `Deployment`.")
    name: str = strawberry.field(description="metadata.name.")
    namespace: str | None = strawberry.field(description="metadata.namespace (null: cluster-scoped).")
    action: ObjectAction = strawberry.field(description="What the run did to it.")
    uid: str | None = strawberry.field(description="metadata.uid as the cluster answered.")
    resource_version: str | None = strawberry.field(description="metadata.resourceVersion after the apply.")

    @classmethod
    def from_domain(cls, obj: DomainAppliedObject) -> AppliedObject:
        return cls(
            api_version=obj.api_version,
            kind=obj.kind,
            name=obj.name,
            namespace=obj.namespace,
            action=ObjectAction(obj.action.value),
            uid=obj.uid,
            resource_version=obj.resource_version,
        )


@strawberry.type(description="What a flow step did in its latest attempt.")
class StepOutcome:
    attempt: int = strawberry.field(description="The attempt, from 1.")
    started_at: datetime | None = strawberry.field(description="When the attempt started.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: int | None = strawberry.field(description="How long it took, in milliseconds.")
    port: str | None = strawberry.field(
        description="The out-port the run went on through: `output`, a Condition's `true` or `false`, "
        "or `error`; null for an End step (it has none)."
    )
    output: JSON | None = strawberry.field(description="The JSON the step returned (the input downstream).")
    output_size: int = strawberry.field(description="The size of the output, in bytes of JSON.")
    error_kind: str | None = strawberry.field(description="ERROR, TIMEOUT, OOM, REFUSED or CANCELLED.")
    error_stage: str | None = strawberry.field(description="Where it failed (e.g. `egress`, `status`).")
    error: str | None = strawberry.field(description="Why it failed.")

    @classmethod
    def from_domain(cls, outcome: DomainStepOutcome) -> StepOutcome:
        return cls(
            attempt=outcome.attempt,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            duration_ms=outcome.duration_ms,
            port=outcome.port,
            output=outcome.output,
            output_size=outcome.output_size,
            error_kind=outcome.error_kind,
            error_stage=outcome.error_stage,
            error=outcome.error,
        )


@strawberry.type(description="One node's outcome in a run.")
class NodeRunState:
    node_id: strawberry.ID = strawberry.field(description="The node.")
    status: NodeRunStatus = strawberry.field(description="Where it stands.")
    message: str | None = strawberry.field(description="The API server's message on failure, or a note.")
    objects: list[AppliedObject] = strawberry.field(description="What was applied for it.")
    updated_at: datetime | None = strawberry.field(description="When it last changed.")
    step: StepOutcome | None = strawberry.field(description="Flow runs: the step's attempt, output, error.")

    @classmethod
    def from_domain(cls, state: DomainNodeRunState) -> NodeRunState:
        return cls(
            node_id=strawberry.ID(state.node_id),
            status=NodeRunStatus(state.status.value),
            message=state.message,
            objects=[AppliedObject.from_domain(o) for o in state.objects],
            updated_at=state.updated_at,
            step=StepOutcome.from_domain(state.step) if state.step else None,
        )


@strawberry.type(description="One line of a run's log.")
class RunLogLine:
    at: datetime = strawberry.field(description="When.")
    level: str = strawberry.field(description="INFO, WARNING or ERROR.")
    message: str = strawberry.field(description="What happened.")
    node_id: strawberry.ID | None = strawberry.field(description="The node it is about, if any.")

    @classmethod
    def from_domain(cls, line: DomainLogLine) -> RunLogLine:
        return cls(
            at=line.at,
            level=line.level,
            message=line.message,
            node_id=strawberry.ID(line.node_id) if line.node_id else None,
        )


@strawberry.type(
    description="One run of a workflow version: a deploy to its cluster (DEPLOY) or a walk of its steps "
    "(FLOW)."
)
class Run:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    cluster_id: strawberry.ID = strawberry.field(
        description="The cluster it deployed to (a flow run: the flow's cluster, empty when it has none)."
    )
    version: int = strawberry.field(description="The version it deployed (snapshotted when it started).")
    status: RunStatus = strawberry.field(description="Where it stands.")
    triggered_by: TriggerKind = strawberry.field(description="What started it.")
    started_at: datetime = strawberry.field(description="When it started.")
    completed_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: int | None = strawberry.field(description="How long it took, in milliseconds.")
    node_states: list[NodeRunState] = strawberry.field(description="Each node's outcome.")
    logs: list[RunLogLine] = strawberry.field(description="What happened, in order.")
    pruned: list[AppliedObject] = strawberry.field(description="Objects deleted because their node is gone.")
    error: str | None = strawberry.field(description="Why it failed or stopped.")
    warnings: list[str] = strawberry.field(
        description="Things that need attention (e.g. a Secret not applied)."
    )
    cancel_requested: bool = strawberry.field(
        description="`cancelRun` was called; it stops before the next wave."
    )
    kind: RunKind = strawberry.field(description="DEPLOY or FLOW.")
    result: JSON | None = strawberry.field(
        description="Flow runs: what reached the End step (the outputs of several End steps reached, by "
        "node id); null until one is reached."
    )
    trigger_id: strawberry.ID | None = strawberry.field(
        description="The trigger that started it (null: a person did)."
    )
    trigger_data: JSON | None = strawberry.field(
        description="Flow runs: what it started with (the Start step's output; a webhook's "
        "`{body, query, headers}`), with the values of secret-looking keys (password, secret, token, key, "
        "authorization, signature…) shown as `***`."
    )
    started_by_id: strawberry.Private[str]

    @strawberry.field(description="Who started it (null when a trigger did: see `triggerId`).")
    async def started_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.started_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, run: DomainRun) -> Run:
        return cls(
            id=strawberry.ID(run.id),
            workflow_id=strawberry.ID(run.workflow_id),
            cluster_id=strawberry.ID(run.cluster_id),
            version=run.version,
            status=RunStatus(run.status.value),
            triggered_by=TriggerKind(run.triggered_by.value),
            started_at=run.started_at,
            completed_at=run.completed_at,
            duration_ms=run.duration_ms,
            node_states=[NodeRunState.from_domain(s) for s in run.node_states],
            logs=[RunLogLine.from_domain(line) for line in run.logs],
            pruned=[AppliedObject.from_domain(o) for o in run.pruned],
            error=run.error,
            warnings=list(run.warnings),
            cancel_requested=run.cancel_requested,
            kind=RunKind(run.kind.value),
            result=_result(run),
            trigger_id=strawberry.ID(run.trigger_id) if run.trigger_id else None,
            trigger_data=mask_secrets(run.trigger_data) if run.kind is DomainRunKind.FLOW else None,
            started_by_id=run.started_by,
        )


def _result(run: DomainRun) -> Any:
    """The output of the End steps that completed — the completed steps with no out-port (one: itself;
    several: by node id)."""
    ends = [
        state
        for state in run.node_states
        if state.step is not None and state.status.value == "COMPLETED" and state.step.port is None
    ]
    if not ends:
        return None
    if len(ends) == 1:
        return ends[0].step.output if ends[0].step else None
    return {state.node_id: state.step.output if state.step else None for state in ends}


@strawberry.input(
    description="Deploy the current canvas: a version is snapshotted and applied in the background."
)
class RunWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow (DRAFT or PUBLISHED, with a cluster).")
    trigger_data: JSON | None = strawberry.field(
        default=None,
        description='For this run only: `{"secrets": {"<secret node id>": {"KEY": "value"}}}` '
        "overrides stored values.",
    )


@strawberry.type(description="The result of `runWorkflow`: the run, already RUNNING.")
class RunWorkflowPayload:
    run: Run = strawberry.field(description="Follow it with `run(id)`.")


@strawberry.input(description="Stop a run before its next wave of objects.")
class CancelRunInput:
    id: strawberry.ID = strawberry.field(description="The run.")


@strawberry.type(description="The result of `cancelRun`.")
class CancelRunPayload:
    run: Run = strawberry.field(description="The run; it ends CANCELLED between waves.")


@strawberry.input(description="Run a failed or cancelled step of a finished flow run again.")
class RetryStepInput:
    run_id: strawberry.ID = strawberry.field(
        description="The flow run (ended FAILED, CANCELLED or INTERRUPTED)."
    )
    node_id: strawberry.ID = strawberry.field(description="A FAILED or CANCELLED step of it.")


@strawberry.type(description="The result of `retryStep`: the run, RUNNING again.")
class RetryStepPayload:
    run: Run = strawberry.field(
        description="The step and everything after it run again as new attempts; the outputs of the steps "
        "before it are reused."
    )


@strawberry.input(description="One key of a Secret node and its value.")
class SecretValueInput:
    key: str = strawberry.field(description="Key name.")
    value: str = strawberry.field(description="The value; stored encrypted and never returned.")


@strawberry.input(description="Replace the stored values of one Secret node (an empty list removes them).")
class SetSecretValuesInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    node_id: strawberry.ID = strawberry.field(description="A Secret node of its saved canvas.")
    values: list[SecretValueInput] = strawberry.field(description="Every key with its value.")


@strawberry.type(
    description="The key names of a Secret node that have a stored value (values are never shown)."
)
class SecretKeys:
    node_id: strawberry.ID = strawberry.field(description="The Secret node.")
    keys: list[str] = strawberry.field(description="Key names with a stored value.")


@strawberry.type(description="The result of `setSecretValues`.")
class SetSecretValuesPayload:
    secret: SecretKeys = strawberry.field(description="The key names now stored.")


@strawberry.enum(description="What an event of `stepLogs` carries.")
class StepLogEventType(Enum):
    LINE = "LINE"
    COMPLETE = "COMPLETE"


@strawberry.type(description="One line of a flow step's log.")
class StepLogLine:
    seq: int = strawberry.field(
        description="Its number in the step's log, from 1 (0: a marker where older lines were trimmed)."
    )
    at: datetime = strawberry.field(description="When it was printed (as Trellis received it).")
    attempt: int = strawberry.field(description="The attempt that printed it (0 for a marker).")
    level: str = strawberry.field(description="INFO, WARNING or ERROR.")
    message: str = strawberry.field(description="The line.")

    @classmethod
    def from_domain(cls, line: DomainStepLogLine) -> StepLogLine:
        return cls(seq=line.seq, at=line.at, attempt=line.attempt, level=line.level, message=line.message)


@strawberry.type(description="An event of `stepLogs`: a line, or the end with the step's status.")
class StepLogEvent:
    type: StepLogEventType = strawberry.field(description="LINE… (every stored line first), COMPLETE last.")
    status: NodeRunStatus = strawberry.field(description="The step's status (final with COMPLETE).")
    line: StepLogLine | None = strawberry.field(description="The line (LINE).")

    @classmethod
    def from_domain(cls, update: StepLogUpdate) -> StepLogEvent:
        return cls(
            type=StepLogEventType(update.type.value),
            status=NodeRunStatus(update.status.value),
            line=StepLogLine.from_domain(update.line) if update.line else None,
        )
