"""Every state-changing operation goes through here on its way to the audit port; the trail is read here.

Where a request came from travels in a context variable, not in parameters: the HTTP edge (the ASGI
middleware ``app.http.origin.RequestOrigins``) binds a :class:`RequestOrigin` with :func:`bound_origin`
for the whole request or WebSocket connection, and :class:`Auditor` reads it when it writes an entry.
So services stay free of Starlette and of per-call plumbing, every audited operation gets the address
without each of the dozens of service signatures carrying it, and tasks started while serving a request
(``asyncio`` copies the context) record the address of the request that started them. Work started by
the server itself (sweepers, queues) has no origin: its entries carry no address.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from app import errors
from app.domain.audit import AuditEntry, AuditFilter, AuditOutcome, RequestOrigin, scrubbed
from app.domain.ids import new_ordered_id
from app.domain.paging import Page
from app.domain.workspaces import Scope
from app.ports import AuditKey, AuditLog, Clock, WorkspaceStore
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal

log = logging.getLogger(__name__)

CURSOR_LIST = "audit"
_NO_ORIGIN = RequestOrigin()
_origin: ContextVar[RequestOrigin] = ContextVar("trellis_request_origin", default=_NO_ORIGIN)


@contextmanager
def bound_origin(origin: RequestOrigin) -> Iterator[None]:
    """Within the block (and the tasks it starts), audit entries carry ``origin``."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def current_origin() -> RequestOrigin:
    """The origin bound by the request being served, or an empty one outside any request."""
    return _origin.get()


@dataclass(slots=True)
class AuditRecord:
    """What the audited block learns while it runs (the id of what it created, the actor after login)."""

    actor_id: str | None
    target_id: str | None
    workspace_id: str | None
    detail: dict[str, str] = field(default_factory=dict)


class Auditor:
    def __init__(self, *, log: AuditLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    @asynccontextmanager
    async def action(
        self,
        action: str,
        *,
        actor_id: str | None,
        target_type: str,
        target_id: str | None = None,
        workspace_id: str | None = None,
    ) -> AsyncIterator[AuditRecord]:
        """Record the block's outcome: ``SUCCESS``, or ``FAILURE`` with the error code it raised."""
        record = AuditRecord(actor_id=actor_id, target_id=target_id, workspace_id=workspace_id)
        try:
            yield record
        except errors.TrellisError as exc:
            if isinstance(exc, errors.Forbidden) and record.workspace_id is None:
                record.workspace_id = exc.workspace_id  # a refusal shows in the refused workspace's trail
            await self._write(action, target_type, record, AuditOutcome.FAILURE, exc.code)
            raise
        except Exception:
            await self._write(action, target_type, record, AuditOutcome.FAILURE, "INTERNAL")
            raise
        await self._write(action, target_type, record, AuditOutcome.SUCCESS, None)

    async def refused(
        self,
        action: str,
        error: errors.TrellisError,
        *,
        actor_id: str | None,
        target_type: str,
        target_id: str | None = None,
        workspace_id: str | None = None,
    ) -> None:
        """Record a ``FAILURE`` of an attempt refused before its audited block could begin (an exec
        ticket that was unknown or used), whose success is recorded elsewhere."""
        record = AuditRecord(actor_id=actor_id, target_id=target_id, workspace_id=workspace_id)
        await self._write(action, target_type, record, AuditOutcome.FAILURE, error.code)

    async def _write(
        self, action: str, target_type: str, record: AuditRecord, outcome: AuditOutcome, code: str | None
    ) -> None:
        origin = current_origin()
        entry = AuditEntry(
            id=new_ordered_id(),
            at=self._clock.now(),
            actor_id=record.actor_id,
            action=action,
            target_type=target_type,
            target_id=record.target_id,
            workspace_id=record.workspace_id,
            outcome=outcome,
            error_code=code,
            detail=scrubbed(record.detail),
            address=origin.address,
            user_agent=origin.user_agent,
        )
        try:
            await self._log.append_audit(entry)
        except Exception:
            # The operation itself already happened; losing its audit entry must be loud, not fatal.
            log.exception("audit entry could not be written: %s %s %s", action, target_type, record.target_id)


def audit_cursor(entry: AuditEntry) -> str:
    return encode_cursor(CURSOR_LIST, [entry.at.isoformat(), entry.id])


class AuditTrailStore(AuditLog, WorkspaceStore, Protocol):
    pass


class AuditTrail:
    """``auditEvents``: a workspace's entries for its owners; every entry (sign-ins too) for admins."""

    def __init__(self, *, store: AuditTrailStore, paging: PageRules) -> None:
        self._store = store
        self._paging = paging

    async def page(
        self,
        principal: Principal,
        workspace_id: str | None,
        filter: AuditFilter,
        *,
        first: int | None,
        after: str | None,
    ) -> Page[AuditEntry]:
        """``FORBIDDEN`` for the whole trail unless an admin, and for a workspace's unless its owner or an
        admin; ``NOT_FOUND`` for a workspace the caller cannot see (or, for an admin, that does not exist)."""
        size = self._paging.size(first)
        key = _key(after)
        for path, value in (("filter.from", filter.since), ("filter.to", filter.until)):
            if value is not None and value.utcoffset() is None:
                raise errors.Invalid.field(path, "must carry a time zone offset (e.g. Z or +02:00)")
        if filter.since is not None and filter.until is not None and filter.until <= filter.since:
            raise errors.Invalid.field("filter.to", "must be later than filter.from")
        if workspace_id is None:
            if not principal.is_admin:
                raise errors.Forbidden(
                    "only administrators can read the whole audit trail; give a workspaceId"
                )
        else:
            await self._check_workspace(principal, workspace_id)
        return await self._store.page_audit(replace(filter, workspace_id=workspace_id), size, key)

    async def _check_workspace(self, principal: Principal, workspace_id: str) -> None:
        role = principal.role_in(workspace_id)
        if principal.is_admin:
            if (
                role is None
                and await self._store.get_workspace(Scope.of([workspace_id]), workspace_id) is None
            ):
                raise errors.NotFound("workspace", workspace_id)
            return
        if role is None:
            raise errors.NotFound("workspace", workspace_id)
        if not role.can_manage:
            raise errors.Forbidden("only owners of this workspace can read its audit trail")


def _key(after: str | None) -> AuditKey | None:
    if after is None:
        return None
    key = decode_cursor(CURSOR_LIST, after)
    try:
        at, ident = key
        moment = datetime.fromisoformat(str(at))
    except ValueError as exc:
        raise errors.Invalid.field("after", "is not a cursor of this list") from exc
    if moment.utcoffset() is None:
        raise errors.Invalid.field("after", "is not a cursor of this list")
    return moment, str(ident)
