"""Drift types: each deployed object against what Trellis applied, and `syncWorkflow`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.domain import drift
from schema.runs.types import Run


@strawberry.enum(description="How a live object compares with what Trellis applied.")
class DriftState(Enum):
    IN_SYNC = "IN_SYNC"
    MODIFIED = "MODIFIED"
    MISSING = "MISSING"
    EXTRA = "EXTRA"


@strawberry.type(description="One field Trellis applied whose live value is different.")
class DriftChange:
    path: str = strawberry.field(
        description="The field, e.g. `spec.template.spec.containers[name=web].image`."
    )
    applied: JSON | None = strawberry.field(description="What Trellis applied (Secret values masked).")
    live: JSON | None = strawberry.field(description="What the cluster has now (null: the field is gone).")
    manager: str | None = strawberry.field(
        description="The field manager that holds the field now (`kubectl`, …), if any."
    )

    @classmethod
    def from_domain(cls, change: drift.DriftChange) -> DriftChange:
        return cls(
            path=change.path,
            applied=cast(JSON, change.applied),
            live=cast(JSON, change.live),
            manager=change.manager,
        )


@strawberry.type(description="One object of a workflow and its drift.")
class ObjectDrift:
    node_id: strawberry.ID | None = strawberry.field(
        description="Its node (for EXTRA: the node label it carries, a node no longer deployed)."
    )
    state: DriftState = strawberry.field(description="IN_SYNC, MODIFIED, MISSING or EXTRA.")
    api_version: str = strawberry.field(description="Its apiVersion.")
    kind: str = strawberry.field(description="Its kind.")
    name: str = strawberry.field(description="Its name.")
    namespace: str | None = strawberry.field(description="Its namespace (null for cluster-scoped kinds).")
    changes: list[DriftChange] = strawberry.field(description="The changed fields (MODIFIED), by path.")

    @classmethod
    def from_domain(cls, obj: drift.ObjectDrift) -> ObjectDrift:
        return cls(
            node_id=strawberry.ID(obj.node_id) if obj.node_id is not None else None,
            state=DriftState(obj.state.value),
            api_version=obj.api_version,
            kind=obj.kind,
            name=obj.name,
            namespace=obj.namespace,
            changes=[DriftChange.from_domain(c) for c in obj.changes],
        )


@strawberry.type(
    description="A workflow's live objects against its last completed deploy run: only fields Trellis "
    "set count (defaulted fields and other managers' fields are not drift)."
)
class WorkflowDrift:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    run_id: strawberry.ID | None = strawberry.field(
        description="The last completed deploy run compared with (null: nothing deployed yet)."
    )
    version: int | None = strawberry.field(description="The version that run applied.")
    checked_at: datetime = strawberry.field(description="When the cluster was read.")
    in_sync: bool = strawberry.field(description="Whether every object is IN_SYNC.")
    objects: list[ObjectDrift] = strawberry.field(
        description="Every object the run applied, then EXTRA objects labelled with the workflow."
    )

    @classmethod
    def from_domain(cls, found: drift.WorkflowDrift) -> WorkflowDrift:
        return cls(
            workflow_id=strawberry.ID(found.workflow_id),
            run_id=strawberry.ID(found.run_id) if found.run_id else None,
            version=found.version,
            checked_at=found.checked_at,
            in_sync=found.in_sync,
            objects=[ObjectDrift.from_domain(o) for o in found.objects],
        )


@strawberry.input(description="Apply the last deployed version again.")
class SyncWorkflowInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")


@strawberry.type(description="The run that applies the last deployed version again.")
class SyncWorkflowPayload:
    run: Run = strawberry.field(description="Follow it with `run(id)` or `runStatus`.")
