"""Workspace scoping of the SQLite store, in one place.

Every tenant query (workflows, versions, workspaces, members, clusters, runs) adds the clause returned by
:func:`in_scope`, so a record of a workspace outside the caller's scope is indistinguishable from a
missing one. The scope travels as one JSON array parameter (``json_each``), so its size never meets
SQLite's limit on bound parameters, and an empty scope matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.codec import dumps
from app.store.sqlite.connection import Tx

# Tables of workspace resources addressed by ``id`` and a ``workspace_id`` column.
ScopedTable = Literal["clusters", "registries", "git_credentials", "workspace_files"]

# The columns that name a record's workspace: ``id`` for workspaces, ``workspace_id`` elsewhere.
ScopeColumn = Literal["workspace_id", "id", "workflows.workspace_id", "versions.workspace_id"]


@dataclass(frozen=True, slots=True)
class Clause:
    """A fragment of a ``WHERE`` clause and its parameters."""

    sql: str
    params: tuple[Any, ...]


def in_scope(scope: Scope, column: ScopeColumn = "workspace_id") -> Clause:
    """``<column> IN (the scope's workspace ids)``."""
    sql = f"{column} IN (SELECT value FROM json_each(?))"  # noqa: S608 - column is a Literal
    return Clause(sql, (dumps(sorted(scope.workspace_ids)),))


async def update_in_scope(
    tx: Tx, table: ScopedTable, record_id: str, scope: Scope, values: Mapping[str, Any], *, kind: str
) -> None:
    """Set ``values`` (column → value; columns are the store's own names) on record ``record_id`` of
    ``table`` when it is in scope; ``NotFound`` (naming ``kind``) otherwise."""
    where = in_scope(scope)
    assignments = ", ".join(f"{column} = ?" for column in values)
    changed = await tx.run(
        f"UPDATE {table} SET {assignments} WHERE id = ? AND {where.sql}",  # noqa: S608 - Literal table
        (*values.values(), record_id, *where.params),
    )
    if changed == 0:
        raise NotFound(kind, record_id)


async def delete_in_scope(tx: Tx, table: ScopedTable, record_id: str, scope: Scope, *, kind: str) -> None:
    """Delete record ``record_id`` of ``table`` when it is in scope; ``NotFound`` (naming ``kind``)
    otherwise."""
    where = in_scope(scope)
    deleted = await tx.run(
        f"DELETE FROM {table} WHERE id = ? AND {where.sql}",  # noqa: S608 - Literal table
        (record_id, *where.params),
    )
    if deleted == 0:
        raise NotFound(kind, record_id)
