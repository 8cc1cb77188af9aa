"""Versions (append-only snapshots) and their differences."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.domain.diffs import EdgeDiff as DomainEdgeDiff
from app.domain.diffs import FieldChange as DomainFieldChange
from app.domain.diffs import NodeDiff as DomainNodeDiff
from app.domain.versions import Version as DomainVersion
from app.services.versions import Comparison
from schema.auth.types import User
from schema.context import Info
from schema.workflows.types import CanvasEdge, CanvasNode, Workflow


@strawberry.type(description="A full snapshot of a workflow's canvas. Versions are never changed or removed.")
class Version:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    number: int = strawberry.field(description="1, 2, 3… in the order they were taken.")
    tag: str | None = strawberry.field(description="Free label, e.g. `v1.2`.")
    description: str = strawberry.field(description="Free text.")
    restored_from: int | None = strawberry.field(description="Set when this version restored an older one.")
    created_at: datetime = strawberry.field(description="When it was taken.")
    nodes: list[CanvasNode] = strawberry.field(description="The nodes of the snapshot.")
    edges: list[CanvasEdge] = strawberry.field(description="The edges of the snapshot.")
    created_by_id: strawberry.Private[str]

    @strawberry.field(description="Who took it.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, version: DomainVersion) -> Version:
        return cls(
            id=strawberry.ID(version.id),
            workflow_id=strawberry.ID(version.workflow_id),
            number=version.number,
            tag=version.tag,
            description=version.description,
            restored_from=version.restored_from,
            created_at=version.created_at,
            nodes=[CanvasNode.from_domain(n) for n in version.canvas.nodes],
            edges=[CanvasEdge.from_domain(e) for e in version.canvas.edges],
            created_by_id=version.created_by,
        )


@strawberry.enum(description="How an item differs between two versions.")
class ChangeKind(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    MODIFIED = "MODIFIED"


@strawberry.type(description="One changed field.")
class FieldChange:
    path: str = strawberry.field(description="Dotted path, e.g. `data.replicas` or `data.paths[id=p1].path`.")
    old_value: JSON | None = strawberry.field(description="The value in the older version (null: absent).")
    new_value: JSON | None = strawberry.field(description="The value in the newer version (null: absent).")

    @classmethod
    def from_domain(cls, change: DomainFieldChange) -> FieldChange:
        return cls(path=change.path, old_value=change.old, new_value=change.new)


@strawberry.type(description="How one node differs.")
class NodeDiff:
    node_id: strawberry.ID = strawberry.field(description="The node.")
    kind: str = strawberry.field(description="Its kind.")
    change: ChangeKind = strawberry.field(description="Added, removed or modified.")
    changes: list[FieldChange] = strawberry.field(description="The changed fields (for MODIFIED).")

    @classmethod
    def from_domain(cls, diff: DomainNodeDiff) -> NodeDiff:
        return cls(
            node_id=strawberry.ID(diff.node_id),
            kind=diff.kind,
            change=ChangeKind(diff.change.value),
            changes=[FieldChange.from_domain(c) for c in diff.changes],
        )


@strawberry.type(description="How one edge differs (endpoints and handles are compared).")
class EdgeDiff:
    edge_id: strawberry.ID = strawberry.field(description="The edge.")
    source: strawberry.ID = strawberry.field(description="Its source node (in the newer version if present).")
    target: strawberry.ID = strawberry.field(description="Its target node (in the newer version if present).")
    change: ChangeKind = strawberry.field(description="Added, removed or modified.")
    changes: list[FieldChange] = strawberry.field(description="The changed fields (for MODIFIED).")

    @classmethod
    def from_domain(cls, diff: DomainEdgeDiff) -> EdgeDiff:
        return cls(
            edge_id=strawberry.ID(diff.edge_id),
            source=strawberry.ID(diff.source),
            target=strawberry.ID(diff.target),
            change=ChangeKind(diff.change.value),
            changes=[FieldChange.from_domain(c) for c in diff.changes],
        )


@strawberry.type(description="What changed from one version to another.")
class VersionDiff:
    from_version: int = strawberry.field(description="The older side (`v1`).")
    to_version: int = strawberry.field(description="The newer side (`v2`).")
    nodes: list[NodeDiff] = strawberry.field(description="Nodes added, removed or modified.")
    edges: list[EdgeDiff] = strawberry.field(description="Edges added, removed or modified.")

    @classmethod
    def from_domain(cls, comparison: Comparison) -> VersionDiff:
        return cls(
            from_version=comparison.from_version,
            to_version=comparison.to_version,
            nodes=[NodeDiff.from_domain(d) for d in comparison.diff.nodes],
            edges=[EdgeDiff.from_domain(d) for d in comparison.diff.edges],
        )


@strawberry.input(description="Snapshot the current canvas as the next version.")
class CreateVersionInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    tag: str | None = strawberry.field(default=None, description="Free label, e.g. `v1.2`.")
    description: str = strawberry.field(default="", description="Free text.")


@strawberry.type(description="The result of `createVersion`.")
class CreateVersionPayload:
    version: Version = strawberry.field(description="The new version.")


@strawberry.input(description="Make an old version the current canvas again, as a new version.")
class RestoreVersionInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    version: int = strawberry.field(description="Number of the version to restore.")
    expected_revision: int | None = strawberry.field(
        default=None, description="Refuse with CONFLICT unless the workflow is still at this revision."
    )


@strawberry.type(description="The result of `restoreVersion`.")
class RestoreVersionPayload:
    version: Version = strawberry.field(description="The new version holding the restored content.")
    workflow: Workflow = strawberry.field(description="The workflow with the restored canvas.")
