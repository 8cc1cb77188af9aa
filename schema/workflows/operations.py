"""Workflow queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain.workflows import WorkflowFilter as DomainFilter
from app.domain.workflows import WorkflowStatus as DomainStatus
from app.domain.workflows import WorkflowType as DomainType
from app.services.workflows import WorkflowChanges, workflow_cursor
from schema.connections import Connection, connection
from schema.context import Info
from schema.workflows.types import (
    CanvasEdge,
    CanvasEdgeInput,
    CanvasNode,
    CanvasNodeInput,
    CanvasProblem,
    CreateWorkflowInput,
    CreateWorkflowPayload,
    DeleteWorkflowInput,
    DeleteWorkflowPayload,
    SaveWorkflowInput,
    SaveWorkflowPayload,
    UpdateWorkflowInput,
    UpdateWorkflowPayload,
    Workflow,
    WorkflowFilter,
    WorkflowValidation,
    canvas_from_inputs,
)


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="Workflows of your workspaces, newest first.")
    async def workflows(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
        filter: Annotated[WorkflowFilter | None, strawberry.argument(description="Narrow the list.")] = None,
    ) -> Connection[Workflow]:
        principal = await info.context.principal()
        domain_filter = DomainFilter(
            status=DomainStatus(filter.status.value) if filter and filter.status else None,
            type=DomainType(filter.type.value) if filter and filter.type else None,
            name_contains=filter.name_contains if filter else None,
            workspace_id=str(filter.workspace_id) if filter and filter.workspace_id else None,
        )
        page = await info.context.services.workflows.page(
            principal, filter=domain_filter, first=first, after=after
        )
        return connection(page, Workflow.from_domain, workflow_cursor, after=after)

    @strawberry.field(description="One workflow.")
    async def workflow(self, info: Info, id: strawberry.ID) -> Workflow:
        principal = await info.context.principal()
        return Workflow.from_domain(await info.context.services.workflows.get(principal, id))

    @strawberry.field(description="Run the checks of `saveWorkflow` on a canvas without saving anything.")
    async def validate_workflow(
        self, info: Info, id: strawberry.ID, nodes: list[CanvasNodeInput], edges: list[CanvasEdgeInput]
    ) -> WorkflowValidation:
        principal = await info.context.principal()
        domain_nodes, domain_edges = canvas_from_inputs(nodes, edges)
        result = await info.context.services.workflows.check(principal, id, domain_nodes, domain_edges)
        return WorkflowValidation(
            valid=not result.errors,
            errors=CanvasProblem.many(result.errors),
            warnings=CanvasProblem.many(result.warnings),
            nodes=[CanvasNode.from_domain(n) for n in result.canvas.nodes],
            edges=[CanvasEdge.from_domain(e) for e in result.canvas.edges],
        )


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Create an empty workflow in DRAFT.")
    async def create_workflow(self, info: Info, input: CreateWorkflowInput) -> CreateWorkflowPayload:
        principal = await info.context.principal()
        workflow = await info.context.services.workflows.create(
            principal,
            name=input.name,
            description=input.description,
            workspace_id=input.workspace_id,
            namespace=input.namespace,
            cluster_id=input.cluster_id,
            type=DomainType(input.type.value),
        )
        return CreateWorkflowPayload(workflow=Workflow.from_domain(workflow))

    @strawberry.mutation(description="Rename, describe, move through statuses or re-target a workflow.")
    async def update_workflow(self, info: Info, input: UpdateWorkflowInput) -> UpdateWorkflowPayload:
        principal = await info.context.principal()
        changes = WorkflowChanges(
            name=input.name,
            description=input.description,
            status=DomainStatus(input.status.value) if input.status else None,
            namespace=input.namespace,
            cluster_id=input.cluster_id,
            clear_cluster=input.clear_cluster,
            expected_revision=input.expected_revision,
            delete_volumes=input.delete_volumes,
            type=DomainType(input.type.value) if input.type else None,
        )
        workflow = await info.context.services.workflows.update(principal, input.id, changes)
        return UpdateWorkflowPayload(workflow=Workflow.from_domain(workflow))

    @strawberry.mutation(description="Delete a workflow and its versions (and, if asked, what it deployed).")
    async def delete_workflow(self, info: Info, input: DeleteWorkflowInput) -> DeleteWorkflowPayload:
        principal = await info.context.principal()
        removed = await info.context.services.workflows.delete(
            principal, input.id, delete_resources=input.delete_resources, delete_volumes=input.delete_volumes
        )
        return DeleteWorkflowPayload(deleted_workflow_id=input.id, removed_objects=len(removed))

    @strawberry.mutation(
        description="Store the canvas (no version). Fields are sanitised and linked by edges."
    )
    async def save_workflow(self, info: Info, input: SaveWorkflowInput) -> SaveWorkflowPayload:
        principal = await info.context.principal()
        nodes, edges = canvas_from_inputs(input.nodes, input.edges)
        saved = await info.context.services.workflows.save(
            principal, input.id, nodes=nodes, edges=edges, expected_revision=input.expected_revision
        )
        return SaveWorkflowPayload(
            workflow=Workflow.from_domain(saved.workflow),
            warnings=CanvasProblem.many(saved.warnings),
            removed_node_ids=[strawberry.ID(i) for i in saved.removed_node_ids],
        )
