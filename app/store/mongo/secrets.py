"""Encrypted values of Secret nodes in MongoDB: one document per (workflow, node), never in a canvas.

``put_secret_values`` runs in a transaction that first ``$inc``-s the workflow's ``secret_seq``: the
workflow document is the conflict domain shared with ``delete_workflow`` (which deletes it), so a value
written concurrently with the deletion of its workflow either lands before it (and is deleted with it)
or finds the workflow gone (``NotFound``); no value outlives its workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from app.errors import NotFound
from app.store.codec import encode_datetime
from app.store.mongo.connection import MongoDatabase, translate_errors


class MongoSecretValues:
    """The ``SecretValueStore`` part of the MongoDB store. Not scoped: the services reach these only
    through a workflow they have already found in the caller's scope."""

    _m: MongoDatabase

    async def put_secret_values(self, workflow_id: str, node_id: str, ciphertext: str, at: datetime) -> None:
        """Upsert in one transaction with the workflow's counter; ``NotFound`` for an unknown workflow."""

        async def write(session: AsyncClientSession) -> None:
            touched = await self._m.workflows.update_one(
                {"_id": workflow_id}, {"$inc": {"secret_seq": 1}}, session=session
            )
            if touched.matched_count == 0:
                raise NotFound("workflow", workflow_id)
            await self._m.secret_values.update_one(
                {"workflow_id": workflow_id, "node_id": node_id},
                {"$set": {"ciphertext": ciphertext, "updated_at": encode_datetime(at)}},
                upsert=True,
                session=session,
            )

        await self._m.transaction(write)

    async def secret_values(self, workflow_id: str) -> dict[str, str]:
        with translate_errors():
            docs = await self._m.secret_values.find(
                {"workflow_id": workflow_id},
                projection={"_id": False, "node_id": True, "ciphertext": True},
                sort=[("node_id", 1)],
            ).to_list()
        return {str(doc["node_id"]): str(doc["ciphertext"]) for doc in docs}

    async def delete_secret_values(self, workflow_id: str, node_id: str) -> None:
        """Deleting values that are not there is a no-op."""
        with translate_errors():
            await self._m.secret_values.delete_one({"workflow_id": workflow_id, "node_id": node_id})

    async def reencrypt(self, transform: Callable[[str], str]) -> int:
        """Rewrite every ciphertext (cluster credentials, Secret values) through ``transform`` in one
        transaction: all or nothing. Returns how many values were rewritten."""

        async def write(session: AsyncClientSession) -> int:
            count = 0
            async for doc in self._m.clusters.find(
                {}, projection={"credentials_ciphertext": True}, session=session
            ):
                await self._m.clusters.update_one(
                    {"_id": doc["_id"]},
                    {"$set": {"credentials_ciphertext": transform(str(doc["credentials_ciphertext"]))}},
                    session=session,
                )
                count += 1
            async for doc in self._m.secret_values.find({}, projection={"ciphertext": True}, session=session):
                await self._m.secret_values.update_one(
                    {"_id": doc["_id"]},
                    {"$set": {"ciphertext": transform(str(doc["ciphertext"]))}},
                    session=session,
                )
                count += 1
            return count

        return await self._m.transaction(write)
