"""The audit log in SQLite: append-only, listed newest first."""

from __future__ import annotations

import sqlite3
from typing import Any

from app.domain.audit import AuditEntry, AuditFilter
from app.domain.paging import Page
from app.ports import AuditKey
from app.store.codec import audit_from_doc, audit_to_doc, dumps, encode_datetime, loads
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
        return [_entry(row) for row in rows]

    async def page_audit(self, filter: AuditFilter, first: int, after: AuditKey | None) -> Page[AuditEntry]:
        """Newest first by ``(at, id)``; page and total read in one snapshot."""
        check_page_size(first)
        conditions, params = _matching(filter)
        page_conditions, page_params = list(conditions), list(params)
        if after is not None:
            page_conditions.append("(at, id) < (?, ?)")
            page_params += [encode_datetime(after[0]), after[1]]
        where = " AND ".join(conditions) or "1"
        page_where = " AND ".join(page_conditions) or "1"
        async with self._db.transaction(write=False) as tx:
            total = await tx.value(f"SELECT count(*) FROM audit_events WHERE {where}", params)  # noqa: S608
            rows = await tx.rows(
                f"SELECT * FROM audit_events WHERE {page_where} ORDER BY at DESC, id DESC LIMIT ?",  # noqa: S608
                [*page_params, first + 1],
            )
        items = [_entry(row) for row in rows[:first]]
        return Page(items=items, has_next=len(rows) > first, total=int(total))


def _matching(filter: AuditFilter) -> tuple[list[str], list[Any]]:
    """The ``WHERE`` conditions (fixed SQL text) and their parameters for ``filter``."""
    conditions: list[str] = []
    params: list[Any] = []
    equal = {
        "workspace_id": filter.workspace_id,
        "actor_id": filter.actor_id,
        "target_type": filter.target_type,
        "target_id": filter.target_id,
        "outcome": None if filter.outcome is None else filter.outcome.value,
    }
    for column, value in equal.items():
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    if filter.action_prefix:
        # substr, not LIKE: exact and case-sensitive, and no wildcard in the prefix to escape.
        conditions.append("substr(action, 1, ?) = ?")
        params += [len(filter.action_prefix), filter.action_prefix]
    if filter.since is not None:
        conditions.append("at >= ?")
        params.append(encode_datetime(filter.since))
    if filter.until is not None:
        conditions.append("at < ?")
        params.append(encode_datetime(filter.until))
    return conditions, params


def _entry(row: sqlite3.Row) -> AuditEntry:
    doc = dict(row)
    doc["detail"] = loads(doc["detail"])
    return audit_from_doc(doc)
