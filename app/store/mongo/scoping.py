"""Workspace scoping of the MongoDB store, in one place.

Every tenant query (workflows, versions, workspaces, members, clusters, runs) wraps its filter with
:func:`in_scope`, so a document of a workspace outside the caller's scope is indistinguishable from a
missing one. An empty scope gives ``{"$in": []}``, which matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from app.domain.workspaces import Scope

# The field that names a document's workspace: ``_id`` for workspaces, ``workspace_id`` elsewhere.
ScopeField = Literal["workspace_id", "_id"]


def in_scope(scope: Scope, filter: Mapping[str, Any], field: ScopeField = "workspace_id") -> dict[str, Any]:
    """``filter`` AND ``<field> IN (the scope's workspace ids)``."""
    return {"$and": [dict(filter), {field: {"$in": sorted(scope.workspace_ids)}}]}
