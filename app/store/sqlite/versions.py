"""Versions in SQLite: numbers allocated as max + 1 inside the writing transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

from app.domain.paging import Page
from app.domain.versions import Version, VersionDraft
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.codec import dumps, loads, version_from_doc, version_to_doc
from app.store.common import check_page_size, new_id
from app.store.sqlite.connection import Database, Tx
from app.store.sqlite.scoping import in_scope
from app.store.sqlite.workflows import compare_and_set


def version_from_row(row: sqlite3.Row) -> Version:
    doc = dict(row)
    doc["canvas"] = loads(doc["canvas"])
    return version_from_doc(doc)


async def append_version(tx: Tx, workflow_id: str, workspace_id: str, draft: VersionDraft) -> Version:
    """Inside a ``BEGIN IMMEDIATE`` transaction: insert ``draft`` as number max + 1. The write lock is
    held from ``BEGIN`` on, so no other writer can read the same maximum."""
    number = await tx.value(
        "SELECT coalesce(max(number), 0) + 1 FROM versions WHERE workflow_id = ?", (workflow_id,)
    )
    version = Version(
        id=new_id(),
        workflow_id=workflow_id,
        workspace_id=workspace_id,
        number=int(number),
        canvas=draft.canvas,
        tag=draft.tag,
        description=draft.description,
        created_by=draft.created_by,
        created_at=draft.created_at,
        restored_from=draft.restored_from,
    )
    row = version_to_doc(version)
    row["canvas"] = dumps(row["canvas"])
    await tx.insert("versions", row)
    return version


class SqliteVersions:
    """The ``VersionStore`` part of the SQLite store."""

    _db: Database

    async def create_version(self, scope: Scope, workflow_id: str, draft: VersionDraft) -> Version:
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            workspace_id = await tx.value(
                f"SELECT workspace_id FROM workflows WHERE id = ? AND {where.sql}",  # noqa: S608
                (workflow_id, *where.params),
            )
            if workspace_id is None:
                raise NotFound("workflow", workflow_id)
            return await append_version(tx, workflow_id, str(workspace_id), draft)

    async def restore_version(
        self, scope: Scope, workflow_id: str, draft: VersionDraft, workflow: Workflow
    ) -> tuple[Version, Workflow]:
        """Compare-and-set and append in one transaction: a failed compare-and-set writes nothing."""
        if workflow.id != workflow_id:
            raise ValueError(f"restoring workflow {workflow_id!r} with the body of {workflow.id!r}")
        async with self._db.transaction() as tx:
            stored = await compare_and_set(tx, scope, workflow, workflow.revision - 1)
            version = await append_version(tx, workflow_id, stored.workspace_id, draft)
        return version, stored

    async def get_version(self, scope: Scope, workflow_id: str, number: int) -> Version | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM versions WHERE workflow_id = ? AND number = ? AND {where.sql}",  # noqa: S608
                (workflow_id, number, *where.params),
            )
        return None if row is None else version_from_row(row)

    async def list_versions(
        self, scope: Scope, workflow_id: str, first: int, after: int | None
    ) -> Page[Version]:
        """Newest first by number; an unknown or out-of-scope workflow has an empty list."""
        check_page_size(first)
        where = in_scope(scope)
        params: list[Any] = [workflow_id, *where.params]
        keyset, keyset_params = ("AND number < ?", [after]) if after is not None else ("", [])
        async with self._db.transaction(write=False) as tx:
            total = await tx.value(
                f"SELECT count(*) FROM versions WHERE workflow_id = ? AND {where.sql}",  # noqa: S608
                params,
            )
            rows = await tx.rows(
                f"SELECT * FROM versions WHERE workflow_id = ? AND {where.sql} {keyset} "  # noqa: S608
                "ORDER BY number DESC LIMIT ?",
                [*params, *keyset_params, first + 1],
            )
        items = [version_from_row(row) for row in rows[:first]]
        return Page(items=items, has_next=len(rows) > first, total=int(total))
