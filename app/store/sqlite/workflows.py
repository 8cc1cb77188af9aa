"""Workflows in SQLite: keyset-paginated lists and compare-and-set replacement."""

from __future__ import annotations

import sqlite3
from typing import Any

from app.domain.paging import Page
from app.domain.workflows import Workflow, WorkflowFilter, WorkflowType
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import WorkflowKey
from app.store.codec import dumps, encode_datetime, loads, workflow_from_doc, workflow_to_doc
from app.store.common import check_next_revision, check_page_size
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.scoping import in_scope

# The columns a compare-and-set rewrites; id, workspace_id, type, created_by and created_at never change.
_MUTABLE = (
    "name",
    "name_lower",
    "description",
    "status",
    "namespace",
    "cluster_id",
    "canvas",
    "revision",
    "updated_at",
)


def workflow_row(workflow: Workflow) -> dict[str, Any]:
    """The row of a workflow: its document, the canvas as JSON text, and the lower-cased name.

    ``type`` is written only for a FLOW: the column defaults to TOPOLOGY (migration 13), so a topology's
    row is the same as before that step.
    """
    row = workflow_to_doc(workflow)
    if workflow.type is WorkflowType.TOPOLOGY:
        del row["type"]
    row["canvas"] = dumps(row["canvas"])
    row["name_lower"] = workflow.name.lower()
    return row


def workflow_from_row(row: sqlite3.Row) -> Workflow:
    doc = dict(row)
    doc["canvas"] = loads(doc["canvas"])
    return workflow_from_doc(doc)


def escape_like(text: str) -> str:
    """``text`` as a literal inside a ``LIKE … ESCAPE '\\'`` pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def compare_and_set(tx: Tx, scope: Scope, workflow: Workflow, expected_revision: int) -> Workflow:
    """Inside ``tx``: rewrite the workflow only if it is in scope and still at ``expected_revision``.

    ``NotFound`` if it is missing or out of scope, ``Conflict(details={"currentRevision": n})`` if
    another write got there first. Returns the stored workflow.
    """
    check_next_revision(workflow, expected_revision)
    row = workflow_row(workflow)
    where = in_scope(scope)
    assignments = ", ".join(f"{column} = ?" for column in _MUTABLE)
    updated = await tx.row(
        f"UPDATE workflows SET {assignments} WHERE id = ? AND revision = ? AND {where.sql} RETURNING *",  # noqa: S608
        (*(row[column] for column in _MUTABLE), workflow.id, expected_revision, *where.params),
    )
    if updated is not None:
        return workflow_from_row(updated)
    current = await tx.value(
        f"SELECT revision FROM workflows WHERE id = ? AND {where.sql}",  # noqa: S608
        (workflow.id, *where.params),
    )
    if current is None:
        raise NotFound("workflow", workflow.id)
    raise Conflict(
        f"workflow {workflow.id!r} is at revision {current}, not {expected_revision}",
        details={"currentRevision": int(current)},
    )


class SqliteWorkflows:
    """The ``WorkflowStore`` part of the SQLite store."""

    _db: Database

    async def insert_workflow(self, workflow: Workflow) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` if the id is taken."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (workflow.workspace_id,)) is None:
                raise NotFound("workspace", workflow.workspace_id)
            with duplicate_is_conflict("a workflow with this id already exists"):
                await tx.insert("workflows", workflow_row(workflow))

    async def get_workflow(self, scope: Scope, workflow_id: str) -> Workflow | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM workflows WHERE id = ? AND {where.sql}",  # noqa: S608
                (workflow_id, *where.params),
            )
        return None if row is None else workflow_from_row(row)

    async def list_workflows(
        self, scope: Scope, filter: WorkflowFilter, first: int, after: WorkflowKey | None
    ) -> Page[Workflow]:
        """Newest first by ``(created_at, id)``; ``total`` counts the filtered set, whatever the page."""
        check_page_size(first)
        scoped = in_scope(scope)
        conditions = [scoped.sql]
        params: list[Any] = [*scoped.params]
        if filter.status is not None:
            conditions.append("status = ?")
            params.append(filter.status.value)
        if filter.type is not None:
            conditions.append("type = ?")
            params.append(filter.type.value)
        if filter.workspace_id is not None:
            conditions.append("workspace_id = ?")
            params.append(filter.workspace_id)
        if filter.name_contains:
            conditions.append("name_lower LIKE ? ESCAPE '\\'")
            params.append(f"%{escape_like(filter.name_contains.lower())}%")
        page_conditions = list(conditions)
        page_params = list(params)
        if after is not None:
            page_conditions.append("(created_at, id) < (?, ?)")
            page_params += [encode_datetime(after[0]), after[1]]
        async with self._db.transaction(write=False) as tx:
            total = await tx.value(
                f"SELECT count(*) FROM workflows WHERE {' AND '.join(conditions)}",  # noqa: S608
                params,
            )
            rows = await tx.rows(
                f"SELECT * FROM workflows WHERE {' AND '.join(page_conditions)} "  # noqa: S608
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                [*page_params, first + 1],
            )
        items = [workflow_from_row(row) for row in rows[:first]]
        return Page(items=items, has_next=len(rows) > first, total=int(total))

    async def replace_workflow(self, scope: Scope, workflow: Workflow, expected_revision: int) -> Workflow:
        async with self._db.transaction() as tx:
            return await compare_and_set(tx, scope, workflow, expected_revision)

    async def delete_workflow(self, scope: Scope, workflow_id: str) -> None:
        """The workflow, its versions, its Secret node values, its runs and its node healths in one
        transaction; the clusters it deployed to are not touched."""
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            found = await tx.value(
                f"SELECT 1 FROM workflows WHERE id = ? AND {where.sql}",  # noqa: S608
                (workflow_id, *where.params),
            )
            if found is None:
                raise NotFound("workflow", workflow_id)
            await tx.run(
                f"DELETE FROM versions WHERE workflow_id = ? AND {where.sql}",  # noqa: S608
                (workflow_id, *where.params),
            )
            await tx.run(
                f"DELETE FROM runs WHERE workflow_id = ? AND {where.sql}",  # noqa: S608
                (workflow_id, *where.params),
            )
            await tx.run("DELETE FROM secret_values WHERE workflow_id = ?", (workflow_id,))
            await tx.run("DELETE FROM node_healths WHERE workflow_id = ?", (workflow_id,))
            await tx.run("DELETE FROM workflows WHERE id = ?", (workflow_id,))
