"""Terminals into containers: a short-lived single-use ticket first, then the exec stream it opens."""

from __future__ import annotations

import secrets
import shlex
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain import labels
from app.domain.kinds import resolve_kind
from app.domain.live import ExecTicket
from app.domain.workspaces import Scope
from app.ports import (
    Clock,
    ClusterGateway,
    ClusterStore,
    ExecStream,
    LiveStateStore,
    SessionStore,
    UserStore,
    WorkflowStore,
)
from app.services.auditing import Auditor
from app.services.clusters import workflow_credentials
from app.services.principals import Principal

SHELLS = {
    "sh": ("sh",),
    "bash": ("sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh"),
}


class TerminalStore(WorkflowStore, ClusterStore, LiveStateStore, SessionStore, UserStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class TicketRequest:
    workflow_id: str
    node_id: str
    pod: str
    container: str | None
    shell: str


def command_for(shell: str) -> tuple[str, ...]:
    """``sh``, ``bash`` (falls back to sh when the image has no bash), or a command line."""
    shell = shell.strip() or "sh"
    if shell in SHELLS:
        return SHELLS[shell]
    try:
        parts = tuple(shlex.split(shell))
    except ValueError as exc:
        raise errors.Invalid.field("shell", f"is not a command line: {exc}") from exc
    if not parts:
        raise errors.Invalid.field("shell", "give sh, bash or a command")
    return parts


class TerminalService:
    def __init__(
        self,
        *,
        store: TerminalStore,
        gateway: ClusterGateway,
        keyring: Keyring,
        clock: Clock,
        auditor: Auditor,
        ticket_ttl: timedelta,
        timeout_seconds: float,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor
        self._ttl = ticket_ttl
        self._timeout = timeout_seconds

    async def create_ticket(self, principal: Principal, request: TicketRequest) -> ExecTicket:
        """Check that the pod belongs to the node and the container exists, then issue a ticket."""
        async with self._auditor.action(
            "exec.ticket", actor_id=principal.user_id, target_type="workflow", target_id=request.workflow_id
        ) as record:
            workflow = await self._store.get_workflow(principal.scope, request.workflow_id)
            if workflow is None:
                raise errors.NotFound("workflow", request.workflow_id)
            record.workspace_id = workflow.workspace_id
            principal.require_write(workflow.workspace_id)  # a shell in a container is a write
            principal.require_session()  # the ticket is redeemed against a signed-in session
            node = next((n for n in workflow.canvas.nodes if n.id == request.node_id), None)
            spec = resolve_kind(node.kind) if node else None
            if node is None or spec is None or spec.category != "workload":
                raise errors.Invalid.field("nodeId", "is not a workload node of this workflow")
            namespace = str(node.data.get("namespace") or workflow.namespace)
            credentials = await workflow_credentials(self._store, self._keyring, principal.scope, workflow)
            async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
                pod = await session.get("v1", "Pod", request.pod, namespace)
            if pod is None or labels.workflow_of(pod) != workflow.id or labels.node_of(pod) != node.id:
                raise errors.Invalid.field(
                    "pod", f"no pod {request.pod!r} of this node is running in {namespace}"
                )
            containers = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
            container = request.container or (containers[0] if containers else "")
            if container not in containers:
                raise errors.Invalid.field(
                    "container", f"the pod has the containers: {', '.join(containers)}"
                )
            ticket = ExecTicket(
                id=secrets.token_urlsafe(32),
                user_id=principal.user_id,
                session_id=principal.session_id,
                workflow_id=workflow.id,
                workspace_id=workflow.workspace_id,
                node_id=node.id,
                namespace=namespace,
                pod=request.pod,
                container=container,
                command=command_for(request.shell),
                expires_at=self._clock.now() + self._ttl,
            )
            record.detail = {"pod": request.pod, "container": container}
            await self._store.create_exec_ticket(ticket, now=self._clock.now())
            return ticket

    async def redeem(self, ticket_id: str) -> ExecTicket:
        """Take the ticket (once); its session and user must still be valid. A refusal is audited as a
        failed ``exec.session`` (never with the ticket, a bearer secret)."""
        ticket = await self._store.consume_exec_ticket(ticket_id, now=self._clock.now())
        if ticket is None:
            refusal = errors.Unauthenticated("the exec ticket is unknown, used or expired; ask for a new one")
            await self._auditor.refused("exec.session", refusal, actor_id=None, target_type="workflow")
            raise refusal
        session = await self._store.get_session(ticket.session_id)
        user = await self._store.get_user(ticket.user_id)
        if session is None or not session.active or user is None or user.disabled:
            refusal = errors.Unauthenticated("the session that asked for this ticket has ended")
            await self._auditor.refused(
                "exec.session",
                refusal,
                actor_id=ticket.user_id,
                target_type="workflow",
                target_id=ticket.workflow_id,
                workspace_id=ticket.workspace_id,
            )
            raise refusal
        return ticket

    @asynccontextmanager
    async def open(self, ticket: ExecTicket, *, tty: bool = True) -> AsyncIterator[ExecStream]:
        """The exec stream the ticket grants, audited with its duration."""
        async with self._auditor.action(
            "exec.session",
            actor_id=ticket.user_id,
            target_type="workflow",
            target_id=ticket.workflow_id,
            workspace_id=ticket.workspace_id,
        ) as record:
            started = self._clock.now()
            record.detail = {
                "pod": ticket.pod,
                "container": ticket.container,
                "command": shlex.join(ticket.command),
            }
            scope = Scope.of([ticket.workspace_id])
            workflow = await self._store.get_workflow(scope, ticket.workflow_id)
            if workflow is None:
                raise errors.NotFound("workflow", ticket.workflow_id)
            credentials = await workflow_credentials(self._store, self._keyring, scope, workflow)
            try:
                async with (
                    self._gateway.open(credentials, timeout_seconds=self._timeout) as session,
                    session.exec(
                        ticket.namespace,
                        ticket.pod,
                        container=ticket.container,
                        command=ticket.command,
                        tty=tty,
                    ) as stream,
                ):
                    yield stream
            finally:
                record.detail["durationMs"] = str(int((self._clock.now() - started).total_seconds() * 1000))
