"""`diagnoseNode` and `applyNodeFix`: checks from the node's data and live health; safe fixes saved as
changes to the node's data (the next run applies them)."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from app import errors
from app.domain.diagnosis import Diagnosis, apply_fix, diagnose
from app.domain.health import Health
from app.domain.workflows import Workflow
from app.ports import LiveStateStore, WorkflowStore
from app.services.auditing import Auditor
from app.services.principals import Principal
from app.services.workflows import SavedCanvas, WorkflowService


class DiagnosisStore(WorkflowStore, LiveStateStore, Protocol):
    pass


class DiagnosisService:
    def __init__(self, *, store: DiagnosisStore, workflows: WorkflowService, auditor: Auditor) -> None:
        self._store = store
        self._workflows = workflows
        self._auditor = auditor

    async def diagnose(self, principal: Principal, workflow_id: str, node_id: str) -> Diagnosis:
        workflow = await self._workflows.get(principal, workflow_id)
        return await self._diagnose(workflow, node_id)

    async def _diagnose(self, workflow: Workflow, node_id: str) -> Diagnosis:
        if not any(n.id == node_id for n in workflow.canvas.nodes):
            raise errors.Invalid.field("nodeId", "is not a node of this workflow")
        healths: dict[str, Health] = {
            h.node_id: h.health for h in await self._store.node_healths(workflow.id)
        }
        return diagnose(workflow.canvas, node_id, healths.get(node_id), healths)

    async def apply_fix(
        self, principal: Principal, workflow_id: str, node_id: str, fix_id: str, expected_revision: int
    ) -> SavedCanvas:
        """Recompute the diagnosis (a client's idea of the fix is never trusted) and save the fix.

        Audited as ``workflow.fix_node`` (the save itself also leaves its ``workflow.save`` entry)."""
        async with self._auditor.action(
            "workflow.fix_node", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            record.detail = {"node": node_id[:200], "fix": fix_id[:200]}
            workflow = await self._workflows.get(principal, workflow_id)
            record.workspace_id = workflow.workspace_id
            diagnosis = await self._diagnose(workflow, node_id)
            fix = next((c.fix for c in diagnosis.checks if c.fix and c.fix.id == fix_id), None)
            if fix is None:
                raise errors.Invalid.field(
                    "fixId", "no such fix is suggested for this node now; diagnose it again"
                )
            nodes = tuple(apply_fix(n, fix) if n.id == node_id else n for n in workflow.canvas.nodes)
            canvas = replace(workflow.canvas, nodes=nodes)
            return await self._workflows.save(
                principal,
                workflow_id,
                nodes=canvas.nodes,
                edges=canvas.edges,
                expected_revision=expected_revision,
            )
