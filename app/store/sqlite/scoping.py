"""Workspace scoping of the SQLite store, in one place.

Every tenant query (workflows, versions, workspaces, members, clusters, runs) adds the clause returned by
:func:`in_scope`, so a record of a workspace outside the caller's scope is indistinguishable from a
missing one. The scope travels as one JSON array parameter (``json_each``), so its size never meets
SQLite's limit on bound parameters, and an empty scope matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.domain.workspaces import Scope
from app.store.codec import dumps

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
