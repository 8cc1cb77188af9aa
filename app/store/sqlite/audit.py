"""The audit log in SQLite: append-only, listed newest first."""

from __future__ import annotations

from app.domain.audit import AuditEntry
from app.store.codec import audit_from_doc, audit_to_doc, dumps, loads
from app.store.common import check_page_size
from app.store.sqlite.connection import Database, duplicate_is_conflict


class SqliteAudit:
    """The ``AuditLog`` part of the SQLite store."""

    _db: Database

    async def append_audit(self, entry: AuditEntry) -> None:
        row = audit_to_doc(entry)
        row["detail"] = dumps(row["detail"])
        async with self._db.transaction() as tx:
            with duplicate_is_conflict("an audit entry with this id already exists"):
                await tx.insert("audit_events", row)

    async def list_audit(self, first: int, actor_id: str | None = None) -> list[AuditEntry]:
        """Newest first by ``(at, id)``, optionally only one actor's entries."""
        check_page_size(first)
        async with self._db.transaction(write=False) as tx:
            if actor_id is None:
                rows = await tx.rows("SELECT * FROM audit_events ORDER BY at DESC, id DESC LIMIT ?", (first,))
            else:
                rows = await tx.rows(
                    "SELECT * FROM audit_events WHERE actor_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                    (actor_id, first),
                )
        entries = []
        for row in rows:
            doc = dict(row)
            doc["detail"] = loads(doc["detail"])
            entries.append(audit_from_doc(doc))
        return entries
