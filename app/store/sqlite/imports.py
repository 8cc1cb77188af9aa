"""Git imports in SQLite: one row per import; options, log, candidates and analysis as JSON text, the
analysis's Secret values as one keyring ciphertext in ``secret_values_ciphertext`` (never read with the
import).

A finished import (``COMPLETED`` or ``FAILED``) is final: ``save_import`` only updates a row that is
still unfinished, so a late write of a job the sweep already failed cannot bring it back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.domain.imports import GitImport
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.codec import dumps, encode_datetime, loads
from app.store.git_imports import (
    IMPORT_ID_TAKEN,
    SAVED_IMPORT_FIELDS,
    SECRET_VALUES_FIELD,
    UNFINISHED_IMPORT_STATUSES,
    finished_import_conflict,
    import_from_doc,
    import_to_doc,
    stale_failed,
)
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.scoping import in_scope

_JSON_COLUMNS = ("options", "logs", "candidates", "analysis")
_UNFINISHED = f"status IN ({', '.join('?' for _ in UNFINISHED_IMPORT_STATUSES)})"


def import_row(job: GitImport) -> dict[str, Any]:
    row = import_to_doc(job)
    for column in _JSON_COLUMNS:
        row[column] = None if row[column] is None else dumps(row[column])
    return row


def import_from_row(row: sqlite3.Row) -> GitImport:
    doc = dict(row)
    doc.pop(SECRET_VALUES_FIELD, None)  # read only by import_secret_values
    for column in _JSON_COLUMNS:
        doc[column] = None if doc[column] is None else loads(doc[column])
    return import_from_doc(doc)


class SqliteImports:
    """The ``ImportStore`` part of the SQLite store."""

    _db: Database

    async def insert_import(self, job: GitImport) -> None:
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (job.workspace_id,)) is None:
                raise NotFound("workspace", job.workspace_id)
            with duplicate_is_conflict(IMPORT_ID_TAKEN):
                await tx.insert("compose_imports", import_row(job))

    async def get_import(self, scope: Scope, import_id: str) -> GitImport | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM compose_imports WHERE id = ? AND {where.sql}",  # noqa: S608
                (import_id, *where.params),
            )
        return None if row is None else import_from_row(row)

    async def save_import(self, job: GitImport, *, secret_values: str | None = None) -> None:
        row = import_row(job)
        assignments = ", ".join(f"{column} = ?" for column in (*SAVED_IMPORT_FIELDS, SECRET_VALUES_FIELD))
        async with self._db.transaction() as tx:
            changed = await tx.run(
                f"UPDATE compose_imports SET {assignments} WHERE id = ? AND {_UNFINISHED}",  # noqa: S608
                (
                    *(row[column] for column in SAVED_IMPORT_FIELDS),
                    secret_values,
                    job.id,
                    *UNFINISHED_IMPORT_STATUSES,
                ),
            )
            if changed:
                return
            status = await tx.value("SELECT status FROM compose_imports WHERE id = ?", (job.id,))
        if status is None:
            raise NotFound("import", job.id)
        raise finished_import_conflict(job, str(status))

    async def import_secret_values(self, scope: Scope, import_id: str) -> str | None:
        where = in_scope(scope)
        sql = f"SELECT secret_values_ciphertext FROM compose_imports WHERE id = ? AND {where.sql}"  # noqa: S608
        async with self._db.transaction(write=False) as tx:
            value = await tx.value(sql, (import_id, *where.params))
        return None if value is None else str(value)

    async def fail_stale_imports(
        self, *, updated_before: datetime, at: datetime, reason: str
    ) -> list[GitImport]:
        params = (*UNFINISHED_IMPORT_STATUSES, encode_datetime(updated_before))
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                f"SELECT * FROM compose_imports WHERE {_UNFINISHED} AND updated_at < ? "  # noqa: S608
                "ORDER BY created_at, id",
                params,
            )
            failed = [stale_failed(import_from_row(row), at=at, reason=reason) for row in rows]
            assignments = ", ".join(f"{column} = ?" for column in SAVED_IMPORT_FIELDS)
            for job in failed:
                row = import_row(job)
                await tx.run(
                    f"UPDATE compose_imports SET {assignments} WHERE id = ?",  # noqa: S608
                    (*(row[column] for column in SAVED_IMPORT_FIELDS), job.id),
                )
        return failed


async def reencrypt_imports(tx: Tx, transform: Callable[[str], str]) -> int:
    """Inside ``reencrypt``'s transaction: rewrite every import's Secret values ciphertext; return how
    many."""
    count = 0
    for row in await tx.rows(
        "SELECT id, secret_values_ciphertext FROM compose_imports WHERE secret_values_ciphertext IS NOT NULL"
    ):
        await tx.run(
            "UPDATE compose_imports SET secret_values_ciphertext = ? WHERE id = ?",
            (transform(str(row["secret_values_ciphertext"])), row["id"]),
        )
        count += 1
    return count
