"""Clusters in MongoDB: unique per workspace by lower-cased name; the last probe kept on the document.

Every write touches one document, so none needs a transaction; a taken name is caught by the unique
index on ``(workspace_id, name_lower)``, so two concurrent writers cannot both take it.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from app.domain.clusters import Cluster, ClusterProbe
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import probe_to_doc
from app.store.common import CLUSTER_NAME_TAKEN
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import cluster_from_mongo, cluster_to_mongo
from app.store.mongo.scoping import in_scope

# The fields replace_cluster rewrites; _id, workspace_id, created_by, created_at and last_probe (written
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

BY_NAME = [("name_lower", 1), ("_id", 1)]


def _duplicate(exc: DuplicateKeyError) -> Conflict:
    """Which unique key an insert hit: the id (index ``_id_``) or the name (``clusters_workspace_name``)."""
    details = exc.details or {}
    key = details.get("keyPattern") or details.get("keyValue")
    on_id = set(key) == {"_id"} if key else "index: _id_ " in str(exc)
    return Conflict("a cluster with this id already exists" if on_id else CLUSTER_NAME_TAKEN)


class MongoClusters:
    """The ``ClusterStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_cluster(self, cluster: Cluster) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name or id."""
        with translate_errors():
            if (
                await self._m.workspaces.find_one({"_id": cluster.workspace_id}, projection={"_id": True})
                is None
            ):
                raise NotFound("workspace", cluster.workspace_id)
            try:
                await self._m.clusters.insert_one(cluster_to_mongo(cluster))
            except DuplicateKeyError as exc:
                raise _duplicate(exc) from exc

    async def get_cluster(self, scope: Scope, cluster_id: str) -> Cluster | None:
        with translate_errors():
            doc = await self._m.clusters.find_one(in_scope(scope, {"_id": cluster_id}))
        return None if doc is None else cluster_from_mongo(doc)

    async def list_clusters(self, scope: Scope, workspace_id: str | None = None) -> list[Cluster]:
        """By lower-cased name, then id; a workspace outside the scope has none."""
        conditions: dict[str, Any] = {} if workspace_id is None else {"workspace_id": workspace_id}
        with translate_errors():
            docs = await self._m.clusters.find(in_scope(scope, conditions), sort=BY_NAME).to_list()
        return [cluster_from_mongo(doc) for doc in docs]

    async def replace_cluster(self, scope: Scope, cluster: Cluster) -> None:
        """Rewrite the mutable fields of a cluster in scope; the last probe is left as stored."""
        doc = cluster_to_mongo(cluster)
        with translate_errors():
            try:
                result = await self._m.clusters.update_one(
                    in_scope(scope, {"_id": cluster.id}), {"$set": {field: doc[field] for field in _MUTABLE}}
                )
            except DuplicateKeyError as exc:
                raise Conflict(CLUSTER_NAME_TAKEN) from exc
        if result.matched_count == 0:
            raise NotFound("cluster", cluster.id)

    async def delete_cluster(self, scope: Scope, cluster_id: str) -> None:
        """Workflows naming the cluster and runs that deployed to it are left as they are."""
        with translate_errors():
            result = await self._m.clusters.delete_one(in_scope(scope, {"_id": cluster_id}))
        if result.deleted_count == 0:
            raise NotFound("cluster", cluster_id)

    async def record_probe(self, cluster_id: str, probe: ClusterProbe) -> None:
        """Keep ``probe`` as the cluster's last one; a cluster removed meanwhile is ignored."""
        with translate_errors():
            await self._m.clusters.update_one(
                {"_id": cluster_id}, {"$set": {"last_probe": probe_to_doc(probe)}}
            )
