"""`diagnoseNode` (a query: it changes nothing) and `applyNodeFix`."""

from __future__ import annotations

from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app.domain.diagnosis import Check as DomainCheck
from app.domain.diagnosis import Diagnosis as DomainDiagnosis
from schema.context import Info
from schema.live.types import HealthStatus
from schema.workflows.types import CanvasProblem, SaveWorkflowPayload, Workflow


@strawberry.enum(description="The verdict of one check.")
class CheckVerdict(Enum):
    PASS = "PASS"
    WARNING = "WARNING"
    ERROR = "ERROR"


@strawberry.type(description="A safe fix: changes to the node's data that `applyNodeFix` saves.")
class NodeFix:
    id: str = strawberry.field(description="Pass it to `applyNodeFix`.")
    description: str = strawberry.field(description="What it changes.")
    changes: JSON = strawberry.field(description="Dotted data paths and their new values.")


@strawberry.type(description="One check of a diagnosis.")
class DiagnosisCheck:
    name: str = strawberry.field(description="What was checked.")
    verdict: CheckVerdict = strawberry.field(description="Pass, warning or error.")
    message: str = strawberry.field(description="What was found.")
    suggestion: str | None = strawberry.field(description="What to do about it.")
    fix: NodeFix | None = strawberry.field(description="A fix Trellis can make, where it is safe.")

    @classmethod
    def from_domain(cls, check: DomainCheck) -> DiagnosisCheck:
        fix = check.fix
        return cls(
            name=check.name,
            verdict=CheckVerdict(check.verdict.value),
            message=check.message,
            suggestion=check.suggestion,
            fix=NodeFix(id=fix.id, description=fix.description, changes=cast(JSON, dict(fix.changes)))
            if fix
            else None,
        )


@strawberry.type(description="Why a node is in the state it is, and what to do.")
class NodeDiagnosis:
    node_id: strawberry.ID = strawberry.field(description="The node.")
    health: HealthStatus | None = strawberry.field(description="Its live health, if it was deployed.")
    message: str | None = strawberry.field(description="Its live status message.")
    checks: list[DiagnosisCheck] = strawberry.field(description="The checks that apply to it.")

    @classmethod
    def from_domain(cls, diagnosis: DomainDiagnosis) -> NodeDiagnosis:
        health = diagnosis.health
        return cls(
            node_id=strawberry.ID(diagnosis.node_id),
            health=HealthStatus(health.status.value) if health else None,
            message=health.message if health else None,
            checks=[DiagnosisCheck.from_domain(c) for c in diagnosis.checks],
        )


@strawberry.input(description="Save a suggested fix to the node's data (the next run applies it).")
class ApplyNodeFixInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    node_id: strawberry.ID = strawberry.field(description="The node.")
    fix_id: str = strawberry.field(description="`fix.id` from `diagnoseNode`.")
    expected_revision: int = strawberry.field(description="The workflow revision the fix was based on.")


@strawberry.type
class DiagnosisQuery:
    @strawberry.field(description="Checks on a node, with suggestions and safe fixes.")
    async def diagnose_node(
        self, info: Info, workflow_id: strawberry.ID, node_id: strawberry.ID
    ) -> NodeDiagnosis:
        principal = await info.context.principal()
        diagnosis = await info.context.services.diagnosis.diagnose(principal, str(workflow_id), str(node_id))
        return NodeDiagnosis.from_domain(diagnosis)


@strawberry.type
class DiagnosisMutation:
    @strawberry.mutation(description="Save a fix suggested by `diagnoseNode` into the node's data.")
    async def apply_node_fix(self, info: Info, input: ApplyNodeFixInput) -> SaveWorkflowPayload:
        principal = await info.context.principal()
        saved = await info.context.services.diagnosis.apply_fix(
            principal, str(input.workflow_id), str(input.node_id), input.fix_id, input.expected_revision
        )
        return SaveWorkflowPayload(
            workflow=Workflow.from_domain(saved.workflow),
            warnings=CanvasProblem.many(saved.warnings),
            removed_node_ids=[strawberry.ID(i) for i in saved.removed_node_ids],
        )
