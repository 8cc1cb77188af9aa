"""Every state-changing operation goes through here on its way to the audit port."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from app import errors
from app.domain.audit import AuditEntry, AuditOutcome
from app.domain.ids import new_ordered_id
from app.ports import AuditLog, Clock

log = logging.getLogger(__name__)


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
            await self._write(action, target_type, record, AuditOutcome.FAILURE, exc.code)
            raise
        except Exception:
            await self._write(action, target_type, record, AuditOutcome.FAILURE, "INTERNAL")
            raise
        await self._write(action, target_type, record, AuditOutcome.SUCCESS, None)

    async def _write(
        self, action: str, target_type: str, record: AuditRecord, outcome: AuditOutcome, code: str | None
    ) -> None:
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
            detail=dict(record.detail),
        )
        try:
            await self._log.append_audit(entry)
        except Exception:
            # The operation itself already happened; losing its audit entry must be loud, not fatal.
            log.exception("audit entry could not be written: %s %s %s", action, target_type, record.target_id)
