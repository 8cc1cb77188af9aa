"""Rendered manifests and run plans."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from app.domain.manifests import RenderedBundle, RenderedObject
from app.services.previews import Plan, PlannedObject


@strawberry.type(description="One rendered Kubernetes object.")
class ManifestObject:
    node_id: strawberry.ID = strawberry.field(description="The node it comes from.")
    api_version: str = strawberry.field(description="apiVersion.")
    kind: str = strawberry.field(description="Kind.")
    name: str = strawberry.field(description="metadata.name.")
    namespace: str | None = strawberry.field(description="metadata.namespace (null: cluster-scoped).")
    yaml: str = strawberry.field(description="The object as YAML (Secret values masked).")

    @classmethod
    def from_domain(cls, obj: RenderedObject) -> ManifestObject:
        return cls(
            node_id=strawberry.ID(obj.node_id),
            api_version=obj.api_version,
            kind=obj.kind,
            name=obj.name,
            namespace=obj.namespace,
            yaml=obj.yaml,
        )


@strawberry.type(description="A node that renders to nothing, and why (e.g. a Secret with no value).")
class SkippedNode:
    node_id: strawberry.ID = strawberry.field(description="The node.")
    reason: str = strawberry.field(description="Why it is not applied.")


@strawberry.type(description="The manifests a workflow renders to, in apply order.")
class ManifestPreview:
    objects: list[ManifestObject] = strawberry.field(description="Each object.")
    skipped: list[SkippedNode] = strawberry.field(description="Nodes that render to nothing.")
    yaml: str = strawberry.field(description="The whole bundle as one YAML stream.")

    @classmethod
    def from_domain(cls, bundle: RenderedBundle) -> ManifestPreview:
        return cls(
            objects=[ManifestObject.from_domain(o) for o in bundle.objects],
            skipped=[SkippedNode(node_id=strawberry.ID(n), reason=r) for n, r in bundle.skipped],
            yaml=bundle.yaml,
        )


@strawberry.type(description="A changed field of a live object.")
class ObjectFieldChange:
    path: str = strawberry.field(description="Dotted path, e.g. `spec.replicas`.")
    old_value: JSON | None = strawberry.field(description="The live value.")
    new_value: JSON | None = strawberry.field(description="The value after a run.")


@strawberry.type(name="PlannedObject", description="One object of a plan.")
class PlannedObjectType:
    node_id: strawberry.ID | None = strawberry.field(
        description="The node it comes from, if it still exists."
    )
    api_version: str = strawberry.field(description="apiVersion.")
    kind: str = strawberry.field(description="Kind.")
    name: str = strawberry.field(description="metadata.name.")
    namespace: str | None = strawberry.field(description="metadata.namespace.")
    changes: list[ObjectFieldChange] = strawberry.field(description="Fields a run would change.")
    problem: str | None = strawberry.field(description="Why a run would fail on it.")

    @classmethod
    def from_domain(cls, planned: PlannedObject) -> PlannedObjectType:
        return cls(
            node_id=strawberry.ID(planned.node_id) if planned.node_id else None,
            api_version=planned.api_version,
            kind=planned.kind,
            name=planned.name,
            namespace=planned.namespace,
            changes=[
                ObjectFieldChange(path=c.path, old_value=c.old, new_value=c.new) for c in planned.changes
            ],
            problem=planned.problem,
        )


@strawberry.type(description="What a run would do now, from a server-side dry run of every object.")
class RunPlan:
    creates: list[PlannedObjectType] = strawberry.field(description="Objects a run would create.")
    changes: list[PlannedObjectType] = strawberry.field(
        description="Objects a run would change, with the fields."
    )
    unchanged: list[PlannedObjectType] = strawberry.field(description="Objects already as the workflow says.")
    prunes: list[PlannedObjectType] = strawberry.field(
        description="Objects a run would delete (their node is gone)."
    )
    refused: list[PlannedObjectType] = strawberry.field(
        description="Objects a run would fail on, with the reason."
    )
    skipped: list[SkippedNode] = strawberry.field(description="Nodes a run would not apply.")

    @classmethod
    def from_domain(cls, plan: Plan) -> RunPlan:
        def many(items: tuple[PlannedObject, ...]) -> list[PlannedObjectType]:
            return [PlannedObjectType.from_domain(i) for i in items]

        return cls(
            creates=many(plan.creates),
            changes=many(plan.changes),
            unchanged=many(plan.unchanged),
            prunes=many(plan.prunes),
            refused=many(plan.refused),
            skipped=[SkippedNode(node_id=strawberry.ID(n), reason=r) for n, r in plan.skipped],
        )
