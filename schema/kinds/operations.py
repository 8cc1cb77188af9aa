"""The `nodeKinds` query."""

from __future__ import annotations

import strawberry

from app.domain.kinds import KINDS
from schema.context import Info
from schema.kinds.types import NodeKind


@strawberry.type
class KindQuery:
    @strawberry.field(description="Every node kind with its fields and allowed edges.")
    async def node_kinds(self, info: Info) -> list[NodeKind]:
        await info.context.principal()
        return [NodeKind.from_domain(spec) for spec in KINDS.values()]
