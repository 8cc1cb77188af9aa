"""Encrypted values of Secret nodes in MongoDB: one document per (workflow, node), never in a canvas.

``put_secret_values`` runs in a transaction that first ``$inc``-s the workflow's ``secret_seq``: the
workflow document is the conflict domain shared with ``delete_workflow`` (which deletes it), so a value
written concurrently with the deletion of its workflow either lands before it (and is deleted with it)
or finds the workflow gone (``NotFound``); no value outlives its workflow.

``write_workflow_with_secrets`` (a compose import) inserts or compare-and-sets the workflow (the
compare-and-set also ``$inc``-s ``secret_seq``) and upserts its values in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import workflow_from_mongo, workflow_to_mongo
from app.store.mongo.git import reencrypt_git_credentials
from app.store.mongo.imports import reencrypt_imports
from app.store.mongo.registries import reencrypt_registries
from app.store.mongo.scoping import in_scope
from app.store.mongo.workflows import compare_and_set


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

    async def write_workflow_with_secrets(
        self,
        scope: Scope,
        workflow: Workflow,
        secret_ciphertexts: Mapping[str, str],
        *,
        at: datetime,
        expected_revision: int | None,
    ) -> Workflow:
        """Insert (``expected_revision`` None) or compare-and-set the workflow and upsert the values of
        its Secret nodes in one transaction: an error raised inside it aborts all of it."""

        async def write(session: AsyncClientSession) -> Workflow:
            if expected_revision is None:
                workspace = await self._m.workspaces.find_one(
                    in_scope(scope, {"_id": workflow.workspace_id}, "_id"),
                    projection={"_id": True},
                    session=session,
                )
                if workspace is None:
                    raise NotFound("workspace", workflow.workspace_id)
                try:
                    await self._m.workflows.insert_one(
                        {**workflow_to_mongo(workflow), "version_seq": 0}, session=session
                    )
                except DuplicateKeyError as exc:
                    raise Conflict("a workflow with this id already exists") from exc
                stored = workflow
            else:
                doc = await compare_and_set(
                    self._m, scope, workflow, expected_revision, inc={"secret_seq": 1}, session=session
                )
                stored = workflow_from_mongo(doc)
            for node_id, ciphertext in sorted(secret_ciphertexts.items()):
                await self._m.secret_values.update_one(
                    {"workflow_id": workflow.id, "node_id": node_id},
                    {"$set": {"ciphertext": ciphertext, "updated_at": encode_datetime(at)}},
                    upsert=True,
                    session=session,
                )
            return stored

        return await self._m.transaction(write)

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
        """Rewrite every ciphertext (cluster credentials, Secret values, Git credentials, Git imports'
        Secret values, registry credentials) through ``transform`` in one transaction: all or nothing.
        Returns how many values were rewritten."""

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
            count += await reencrypt_git_credentials(self._m, session, transform)
            count += await reencrypt_imports(self._m, session, transform)
            count += await reencrypt_registries(self._m, session, transform)
            return count

        return await self._m.transaction(write)
