"""Workflows and their canvas: nodes, edges and the problems found in them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from app import errors
from app.domain.problems import Problem
from app.domain.workflows import Edge as DomainEdge
from app.domain.workflows import Node as DomainNode
from app.domain.workflows import Position as DomainPosition
from app.domain.workflows import Workflow as DomainWorkflow
from schema.auth.types import User
from schema.context import Info
from schema.workspaces.types import Workspace


@strawberry.enum(description="DRAFT ⇄ PUBLISHED; DRAFT or PUBLISHED → ARCHIVED; ARCHIVED → DRAFT.")
class WorkflowStatus(Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


@strawberry.enum(
    description="What a workflow's canvas holds, fixed when it is created: Kubernetes resources deployed "
    "together (TOPOLOGY), or steps that run code and call APIs in order (FLOW)."
)
class WorkflowType(Enum):
    TOPOLOGY = "TOPOLOGY"
    FLOW = "FLOW"


@strawberry.type(description="Where a node sits on the canvas.")
class Position:
    x: float = strawberry.field(description="Horizontal position.")
    y: float = strawberry.field(description="Vertical position.")


@strawberry.type(description="A Kubernetes resource on the canvas.")
class CanvasNode:
    id: strawberry.ID = strawberry.field(description="Node id, unique in its workflow.")
    kind: str = strawberry.field(description="Node kind, one of `nodeKinds` (e.g. `Deployment`).")
    position: Position = strawberry.field(description="Where it sits on the canvas.")
    data: JSON = strawberry.field(
        description="The node's fields as `nodeKinds` describes them, including fields written by edges."
    )

    @classmethod
    def from_domain(cls, node: DomainNode) -> CanvasNode:
        return cls(
            id=strawberry.ID(node.id),
            kind=node.kind,
            position=Position(x=node.position.x, y=node.position.y),
            data=cast(JSON, node.data),
        )


@strawberry.type(description="A relation between two nodes (source → target), e.g. Service → Deployment.")
class CanvasEdge:
    id: strawberry.ID = strawberry.field(description="Edge id, unique in its workflow.")
    source: strawberry.ID = strawberry.field(description="Id of the source node.")
    target: strawberry.ID = strawberry.field(description="Id of the target node.")
    source_handle: str | None = strawberry.field(
        description="On an Ingress: the path id; on a NetworkPolicy: `output` or a rule id."
    )
    target_handle: str | None = strawberry.field(description="Handle on the target node, if any.")

    @classmethod
    def from_domain(cls, edge: DomainEdge) -> CanvasEdge:
        return cls(
            id=strawberry.ID(edge.id),
            source=strawberry.ID(edge.source),
            target=strawberry.ID(edge.target),
            source_handle=edge.source_handle,
            target_handle=edge.target_handle,
        )


@strawberry.type(description="A problem (or a warning) found in the canvas, pointing into the input.")
class CanvasProblem:
    path: str = strawberry.field(description="Where, e.g. `nodes[3].data.replicas` or `edges[2]`.")
    message: str = strawberry.field(description="What is wrong, for a person.")

    @classmethod
    def many(cls, problems: Sequence[Problem]) -> list[CanvasProblem]:
        return [cls(path=p.path, message=p.message) for p in problems]


@strawberry.type(description="A workflow: a canvas of Kubernetes resources that Trellis stores and versions.")
class Workflow:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(description="Display name.")
    description: str = strawberry.field(description="Free text.")
    status: WorkflowStatus = strawberry.field(description="Life-cycle status.")
    type: WorkflowType = strawberry.field(
        description="TOPOLOGY (Kubernetes resources) or FLOW (steps); fixed at creation."
    )
    namespace: str = strawberry.field(description="Kubernetes namespace its resources go to by default.")
    cluster_id: strawberry.ID | None = strawberry.field(description="The cluster it deploys to, if chosen.")
    nodes: list[CanvasNode] = strawberry.field(description="The resources on the canvas.")
    edges: list[CanvasEdge] = strawberry.field(description="The relations between them.")
    revision: int = strawberry.field(
        description="Grows with every change; send it as `expectedRevision` so concurrent edits are not lost."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    created_by_id: strawberry.Private[str]

    @strawberry.field(description="Who created it.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @strawberry.field(description="The workspace it belongs to.")
    async def workspace(self, info: Info) -> Workspace:
        principal = await info.context.principal()
        return Workspace.from_domain(await info.context.services.workspaces.get(principal, self.workspace_id))

    @classmethod
    def from_domain(cls, workflow: DomainWorkflow) -> Workflow:
        return cls(
            id=strawberry.ID(workflow.id),
            workspace_id=strawberry.ID(workflow.workspace_id),
            name=workflow.name,
            description=workflow.description,
            status=WorkflowStatus(workflow.status.value),
            type=WorkflowType(workflow.type.value),
            namespace=workflow.namespace,
            cluster_id=strawberry.ID(workflow.cluster_id) if workflow.cluster_id else None,
            nodes=[CanvasNode.from_domain(n) for n in workflow.canvas.nodes],
            edges=[CanvasEdge.from_domain(e) for e in workflow.canvas.edges],
            revision=workflow.revision,
            created_at=workflow.created_at,
            updated_at=workflow.updated_at,
            created_by_id=workflow.created_by,
        )


@strawberry.input(description="Where a node sits on the canvas.")
class PositionInput:
    x: float = strawberry.field(description="Horizontal position.")
    y: float = strawberry.field(description="Vertical position.")


@strawberry.input(description="A node as the canvas sends it.")
class CanvasNodeInput:
    id: strawberry.ID = strawberry.field(description="Node id, unique in the workflow.")
    kind: str = strawberry.field(description="Node kind, one of `nodeKinds` (reference type names accepted).")
    position: PositionInput = strawberry.field(description="Where it sits.")
    data: JSON | None = strawberry.field(default=None, description="The node's fields (an object).")

    def to_domain(self, index: int) -> DomainNode:
        data: object = {} if self.data is None else self.data
        if not isinstance(data, dict):
            raise errors.Invalid.field(f"nodes[{index}].data", "must be an object")
        return DomainNode(
            id=str(self.id),
            kind=self.kind,
            position=DomainPosition(self.position.x, self.position.y),
            data=data,
        )


@strawberry.input(description="An edge as the canvas sends it.")
class CanvasEdgeInput:
    id: strawberry.ID = strawberry.field(description="Edge id, unique in the workflow.")
    source: strawberry.ID = strawberry.field(description="Source node id.")
    target: strawberry.ID = strawberry.field(description="Target node id.")
    source_handle: str | None = strawberry.field(
        default=None, description="Ingress path id or policy rule id."
    )
    target_handle: str | None = strawberry.field(default=None, description="Handle on the target, if any.")

    def to_domain(self) -> DomainEdge:
        return DomainEdge(
            id=str(self.id),
            source=str(self.source),
            target=str(self.target),
            source_handle=self.source_handle,
            target_handle=self.target_handle,
        )


def canvas_from_inputs(
    nodes: Sequence[CanvasNodeInput], edges: Sequence[CanvasEdgeInput]
) -> tuple[list[DomainNode], list[DomainEdge]]:
    return [n.to_domain(i) for i, n in enumerate(nodes)], [e.to_domain() for e in edges]


@strawberry.input(description="Narrow the workflow list.")
class WorkflowFilter:
    status: WorkflowStatus | None = strawberry.field(default=None, description="Only this status.")
    type: WorkflowType | None = strawberry.field(default=None, description="Only this type.")
    name_contains: str | None = strawberry.field(default=None, description="Name contains this (any case).")
    workspace_id: strawberry.ID | None = strawberry.field(default=None, description="Only this workspace.")


@strawberry.input(description="A new, empty workflow (status DRAFT, revision 1).")
class CreateWorkflowInput:
    name: str = strawberry.field(description="Display name, 1 to 100 characters.")
    description: str = strawberry.field(default="", description="Free text.")
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Workspace to create it in; your personal workspace by default."
    )
    namespace: str | None = strawberry.field(
        default=None,
        description="Kubernetes namespace; default: a DNS-1123 slug of workspace and workflow names.",
    )
    cluster_id: strawberry.ID | None = strawberry.field(default=None, description="Cluster to deploy to.")
    type: WorkflowType = strawberry.field(
        default=WorkflowType.TOPOLOGY,
        description="TOPOLOGY (Kubernetes resources, the default) or FLOW (steps); it cannot change later.",
    )


@strawberry.type(description="The result of `createWorkflow`.")
class CreateWorkflowPayload:
    workflow: Workflow = strawberry.field(description="The new workflow.")


@strawberry.input(description="Change a workflow's details or status; omitted fields stay as they are.")
class UpdateWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    status: WorkflowStatus | None = strawberry.field(default=None, description="New status.")
    namespace: str | None = strawberry.field(default=None, description="New namespace (DNS-1123 label).")
    cluster_id: strawberry.ID | None = strawberry.field(default=None, description="New cluster.")
    clear_cluster: bool = strawberry.field(default=False, description="Unset the cluster.")
    expected_revision: int | None = strawberry.field(
        default=None, description="Refuse with CONFLICT unless the workflow is still at this revision."
    )
    delete_volumes: bool = strawberry.field(
        default=False,
        description="When archiving (which removes what it deployed): also its PersistentVolumeClaims.",
    )
    type: WorkflowType | None = strawberry.field(
        default=None,
        description="The type is fixed at creation: only the current one is accepted (another is BAD_INPUT).",
    )


@strawberry.type(description="The result of `updateWorkflow`.")
class UpdateWorkflowPayload:
    workflow: Workflow = strawberry.field(description="The workflow as it is now.")


@strawberry.input(description="Delete a workflow and its versions.")
class DeleteWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow.")
    delete_resources: bool = strawberry.field(
        default=False, description="First remove everything it deployed (only objects labelled with it)."
    )
    delete_volumes: bool = strawberry.field(
        default=False, description="With `deleteResources`: also its PersistentVolumeClaims."
    )


@strawberry.type(description="The result of `deleteWorkflow`.")
class DeleteWorkflowPayload:
    deleted_workflow_id: strawberry.ID = strawberry.field(description="The id of the deleted workflow.")
    removed_objects: int = strawberry.field(description="How many deployed objects were removed with it.")


@strawberry.input(description="The whole canvas to store (no version is created).")
class SaveWorkflowInput:
    id: strawberry.ID = strawberry.field(description="The workflow.")
    nodes: list[CanvasNodeInput] = strawberry.field(description="Every node of the canvas.")
    edges: list[CanvasEdgeInput] = strawberry.field(description="Every edge of the canvas.")
    expected_revision: int = strawberry.field(
        description="The revision this canvas is based on; a stale one is a CONFLICT with the current one."
    )


@strawberry.type(description="The result of `saveWorkflow`.")
class SaveWorkflowPayload:
    workflow: Workflow = strawberry.field(
        description="The workflow as stored (sanitised, with linked fields)."
    )
    warnings: list[CanvasProblem] = strawberry.field(
        description="What was dropped or is still missing (unknown fields, required fields left empty)."
    )
    removed_node_ids: list[strawberry.ID] = strawberry.field(
        description="Nodes that were in the previous save and are gone now."
    )


@strawberry.type(description="The result of `validateWorkflow`: the checks of `saveWorkflow`, nothing saved.")
class WorkflowValidation:
    valid: bool = strawberry.field(description="True when `saveWorkflow` would accept this canvas.")
    errors: list[CanvasProblem] = strawberry.field(description="What `saveWorkflow` would refuse.")
    warnings: list[CanvasProblem] = strawberry.field(description="What it would drop or warn about.")
    nodes: list[CanvasNode] = strawberry.field(description="The nodes as they would be stored.")
    edges: list[CanvasEdge] = strawberry.field(description="The edges as they would be stored.")
