"""The `nodeKinds` query."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain.flows import FLOW_KINDS
from app.domain.kinds import KINDS
from schema.context import Info
from schema.kinds.types import NodeKind
from schema.workflows.types import WorkflowType


@strawberry.type
class KindQuery:
    @strawberry.field(
        description="Every node kind with its fields, allowed edges (topologies) and ports (flows): "
        "Kubernetes kinds first, then flow steps."
    )
    async def node_kinds(
        self,
        info: Info,
        workflow_type: Annotated[
            WorkflowType | None,
            strawberry.argument(description="Only the kinds a workflow of this type may hold."),
        ] = None,
    ) -> list[NodeKind]:
        await info.context.principal()
        kinds: list[NodeKind] = []
        if workflow_type in (None, WorkflowType.TOPOLOGY):
            kinds += [NodeKind.from_domain(spec) for spec in KINDS.values()]
        if workflow_type in (None, WorkflowType.FLOW):
            kinds += [NodeKind.from_flow(spec) for spec in FLOW_KINDS.values()]
        return kinds
