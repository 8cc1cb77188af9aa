"""The node kinds catalogue the front end builds its forms and edge rules from."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.domain import edges as domain_edges
from app.domain.flows import FlowKindSpec, PortSpec
from app.domain.kinds import FieldSpec, NodeKindSpec
from schema.workflows.types import WorkflowType


@strawberry.enum(description="The type of a node field, for building its form control.")
class FieldType(Enum):
    STRING = "STRING"
    TEXT = "TEXT"
    INTEGER = "INTEGER"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    ENUM = "ENUM"
    QUANTITY = "QUANTITY"
    STRING_MAP = "STRING_MAP"
    STRING_LIST = "STRING_LIST"
    OBJECT = "OBJECT"
    OBJECT_LIST = "OBJECT_LIST"


@strawberry.type(description="One field of a node kind's `data`.")
class NodeField:
    name: str = strawberry.field(description="Key in the node's `data`.")
    type: FieldType = strawberry.field(description="Its type.")
    description: str = strawberry.field(description="What it means.")
    required: bool = strawberry.field(description="Needed before the node can be deployed.")
    default: JSON | None = strawberry.field(description="Value used when it is absent.")
    options: list[str] = strawberry.field(description="Allowed values of an ENUM.")
    minimum: float | None = strawberry.field(description="Smallest allowed number.")
    maximum: float | None = strawberry.field(description="Largest allowed number.")
    linked: bool = strawberry.field(description="Written by edges; read-only in forms.")
    fields: list[NodeField] = strawberry.field(
        description="Sub-fields of an OBJECT or of each OBJECT_LIST item."
    )

    @classmethod
    def from_domain(cls, spec: FieldSpec) -> NodeField:
        return cls(
            name=spec.name,
            type=FieldType(spec.type.value),
            description=spec.description,
            required=spec.required,
            default=spec.default,
            options=list(spec.options),
            minimum=spec.minimum,
            maximum=spec.maximum,
            linked=spec.linked,
            fields=[cls.from_domain(f) for f in spec.fields],
        )


@strawberry.type(description="An allowed edge between two node kinds and what it does.")
class EdgeRule:
    source_kind: str = strawberry.field(description="Kind of the source node.")
    target_kind: str = strawberry.field(description="Kind of the target node.")
    description: str = strawberry.field(description="What connecting them does.")
    handle: str | None = strawberry.field(description="What the source handle means, if it is used.")

    @classmethod
    def from_domain(cls, rule: domain_edges.EdgeRule) -> EdgeRule:
        return cls(
            source_kind=rule.source_kind,
            target_kind=rule.target_kind,
            description=rule.description,
            handle=rule.handle,
        )


@strawberry.type(description="A port of a flow node kind: where edges leave (out) or arrive (in).")
class NodePort:
    name: str = strawberry.field(
        description="The handle: an edge's `sourceHandle` (out) or `targetHandle` (in)."
    )
    description: str = strawberry.field(description="What flows through it.")
    many: bool = strawberry.field(description="In-ports only: more than one edge may end here.")

    @classmethod
    def from_domain(cls, port: PortSpec) -> NodePort:
        return cls(name=port.name, description=port.description, many=port.many)


@strawberry.type(
    description="A kind of node: a Kubernetes resource a TOPOLOGY canvas holds, or a step of a FLOW."
)
class NodeKind:
    kind: str = strawberry.field(
        description="Kubernetes kind, e.g. `Deployment`, or flow step kind (`Function`)."
    )
    api_version: str = strawberry.field(
        description="Kubernetes apiVersion, e.g. `apps/v1`; empty for flow steps."
    )
    namespaced: bool = strawberry.field(description="Lives in a namespace (false for flow steps).")
    category: str = strawberry.field(description="Palette group: workload, networking, config, storage…")
    description: str = strawberry.field(description="What it is for.")
    aliases: list[str] = strawberry.field(description="Other type names accepted as `kind` on input.")
    fields: list[NodeField] = strawberry.field(description="The fields of its `data`.")
    outgoing_edges: list[EdgeRule] = strawberry.field(description="Edges that may start at this kind.")
    incoming_edges: list[EdgeRule] = strawberry.field(description="Edges that may end at this kind.")
    workflow_type: WorkflowType = strawberry.field(
        description="The workflows whose canvas may hold it: offer TOPOLOGY kinds or FLOW kinds, never both."
    )
    in_ports: list[NodePort] = strawberry.field(
        description="Flow steps: where edges arrive (`targetHandle`); empty for Kubernetes kinds."
    )
    out_ports: list[NodePort] = strawberry.field(
        description="Flow steps: where edges leave (`sourceHandle`; the first is the default when the kind "
        "has one obvious port); empty for Kubernetes kinds."
    )

    @classmethod
    def from_domain(cls, spec: NodeKindSpec) -> NodeKind:
        rules = domain_edges.EDGE_RULES
        return cls(
            kind=spec.kind,
            api_version=spec.api_version,
            namespaced=spec.namespaced,
            category=spec.category,
            description=spec.description,
            aliases=list(spec.aliases),
            fields=[NodeField.from_domain(f) for f in spec.fields],
            outgoing_edges=[EdgeRule.from_domain(r) for r in rules if r.source_kind == spec.kind],
            incoming_edges=[EdgeRule.from_domain(r) for r in rules if r.target_kind == spec.kind],
            workflow_type=WorkflowType.TOPOLOGY,
            in_ports=[],
            out_ports=[],
        )

    @classmethod
    def from_flow(cls, spec: FlowKindSpec) -> NodeKind:
        """A flow step kind: its ports stand in for edge rules (any out-port may meet any in-port)."""
        return cls(
            kind=spec.kind,
            api_version="",
            namespaced=False,
            category=spec.category,
            description=spec.description,
            aliases=[],
            fields=[NodeField.from_domain(f) for f in spec.fields],
            outgoing_edges=[],
            incoming_edges=[],
            workflow_type=WorkflowType.FLOW,
            in_ports=[NodePort.from_domain(p) for p in spec.in_ports],
            out_ports=[NodePort.from_domain(p) for p in spec.out_ports],
        )
