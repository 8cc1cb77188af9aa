"""`auditEvents`: the audit trail for workspace owners, and all of it for administrators."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain.audit import AuditFilter
from app.services.auditing import audit_cursor
from schema.audit.types import AuditEvent, AuditEventFilter
from schema.connections import Connection, connection
from schema.context import Info


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="What was done, newest first: a workspace's events for its owners; without "
        "`workspaceId`, every event (sign-ins included) for administrators. Others get `FORBIDDEN`; a "
        "workspace that is not yours is `NOT_FOUND`."
    )
    async def audit_events(
        self,
        info: Info,
        workspace_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The workspace; omit it (administrators only) for every event."),
        ] = None,
        filter: Annotated[
            AuditEventFilter | None,
            strawberry.argument(
                description="Only some events (actor, action prefix, target, outcome, time)."
            ),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[AuditEvent]:
        principal = await info.context.principal()
        page = await info.context.services.audit.page(
            principal,
            None if workspace_id is None else str(workspace_id),
            filter.to_domain() if filter else AuditFilter(),
            first=first,
            after=after,
        )
        return connection(page, AuditEvent.from_domain, audit_cursor, after=after)
