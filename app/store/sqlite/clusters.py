"""Clusters in SQLite: unique per workspace by lower-cased name; the last probe kept on the row."""

from __future__ import annotations

import sqlite3
from typing import Any

from app.domain.clusters import Cluster, ClusterProbe
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import cluster_from_doc, cluster_to_doc, dumps, loads, probe_to_doc
from app.store.common import CLUSTER_NAME_TAKEN, cluster_name_key
from app.store.sqlite.connection import Database, duplicate_is_conflict
from app.store.sqlite.scoping import delete_in_scope, in_scope, update_in_scope

# The columns replace_cluster rewrites; id, workspace_id, created_by, created_at and last_probe (written
# only by record_probe) never change through it.
_MUTABLE = (
    "name",
    "name_lower",
    "description",
    "auth_type",
    "server",
    "credentials_ciphertext",
    "updated_at",
)


def cluster_row(cluster: Cluster) -> dict[str, Any]:
    """The row of a cluster: its document, the probe as JSON text, and the lower-cased name."""
    row = cluster_to_doc(cluster)
    row["last_probe"] = None if row["last_probe"] is None else dumps(row["last_probe"])
    row["name_lower"] = cluster_name_key(cluster.name)
    return row


def cluster_from_row(row: sqlite3.Row) -> Cluster:
    doc = dict(row)
    doc["last_probe"] = None if doc["last_probe"] is None else loads(doc["last_probe"])
    return cluster_from_doc(doc)


class SqliteClusters:
    """The ``ClusterStore`` part of the SQLite store. Every method is one transaction; a taken name is
    caught by the unique index on ``(workspace_id, name_lower)``, so two concurrent writers cannot
    both take it."""

    _db: Database

    async def insert_cluster(self, cluster: Cluster) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name or id."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (cluster.workspace_id,)) is None:
                raise NotFound("workspace", cluster.workspace_id)
            if await tx.value("SELECT 1 FROM clusters WHERE id = ?", (cluster.id,)) is not None:
                raise Conflict("a cluster with this id already exists")
            with duplicate_is_conflict(CLUSTER_NAME_TAKEN):
                await tx.insert("clusters", cluster_row(cluster))

    async def get_cluster(self, scope: Scope, cluster_id: str) -> Cluster | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM clusters WHERE id = ? AND {where.sql}",  # noqa: S608
                (cluster_id, *where.params),
            )
        return None if row is None else cluster_from_row(row)

    async def list_clusters(self, scope: Scope, workspace_id: str | None = None) -> list[Cluster]:
        """By lower-cased name, then id; a workspace outside the scope has none."""
        where = in_scope(scope)
        conditions, params = [where.sql], [*where.params]
        if workspace_id is not None:
            conditions.append("workspace_id = ?")
            params.append(workspace_id)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM clusters WHERE {' AND '.join(conditions)} ORDER BY name_lower, id",  # noqa: S608
                params,
            )
        return [cluster_from_row(row) for row in rows]

    async def replace_cluster(self, scope: Scope, cluster: Cluster) -> None:
        """Rewrite the mutable columns of a cluster in scope; the last probe is left as stored."""
        row = cluster_row(cluster)
        values = {column: row[column] for column in _MUTABLE}
        async with self._db.transaction() as tx:
            with duplicate_is_conflict(CLUSTER_NAME_TAKEN):
                await update_in_scope(tx, "clusters", cluster.id, scope, values, kind="cluster")

    async def delete_cluster(self, scope: Scope, cluster_id: str) -> None:
        """Workflows naming the cluster and runs that deployed to it are left as they are."""
        async with self._db.transaction() as tx:
            await delete_in_scope(tx, "clusters", cluster_id, scope, kind="cluster")

    async def record_probe(self, cluster_id: str, probe: ClusterProbe) -> None:
        """Keep ``probe`` as the cluster's last one; a cluster removed meanwhile is ignored."""
        async with self._db.transaction() as tx:
            await tx.run(
                "UPDATE clusters SET last_probe = ? WHERE id = ?", (dumps(probe_to_doc(probe)), cluster_id)
            )
