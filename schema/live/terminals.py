"""`createExecTicket`: a single-use pass for the exec terminal route."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.services.terminals import TicketRequest
from schema.context import Info

EXEC_PATH = "/v1/api/exec"


@strawberry.input(description="Which container to open a terminal in.")
class CreateExecTicketInput:
    workflow_id: strawberry.ID = strawberry.field(description="The workflow.")
    node_id: strawberry.ID = strawberry.field(description="A workload node of it.")
    pod: str = strawberry.field(description="A pod of that node (from its live status).")
    container: str | None = strawberry.field(
        default=None, description="The container; the pod's first by default."
    )
    shell: str = strawberry.field(
        default="sh", description="`sh`, `bash` (falls back to sh) or a command line to run instead."
    )


@strawberry.type(description="The result of `createExecTicket`.")
class CreateExecTicketPayload:
    ticket: str = strawberry.field(
        description="Valid once, for a few seconds, for you and this container only."
    )
    url: str = strawberry.field(description="Open a WebSocket here (the ticket is in the query string).")
    expires_at: datetime = strawberry.field(description="When the ticket stops working.")


@strawberry.type
class TerminalMutation:
    @strawberry.mutation(
        description="A single-use ticket to open a terminal in a container (editors and owners)."
    )
    async def create_exec_ticket(self, info: Info, input: CreateExecTicketInput) -> CreateExecTicketPayload:
        principal = await info.context.principal()
        ticket = await info.context.services.terminals.create_ticket(
            principal,
            TicketRequest(
                workflow_id=str(input.workflow_id),
                node_id=str(input.node_id),
                pod=input.pod,
                container=input.container,
                shell=input.shell,
            ),
        )
        return CreateExecTicketPayload(
            ticket=ticket.id, url=f"{EXEC_PATH}?ticket={ticket.id}", expires_at=ticket.expires_at
        )
