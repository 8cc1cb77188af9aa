"""Registries and their pull-Secret records in MongoDB.

Names are unique per workspace by lower-cased name, and a partial unique index (on ``workspace_id``
where ``is_default``) holds at most one default per workspace, so no interleaving of writers can break
either rule. Taking the default (unset the old, set the new), inserting a new default, deleting a
registry with its pull-Secret records and replacing a workflow's records are transactions; the other
writes touch one document. Records of a workflow deleted later are dropped by the refresher, or by the
pull-Secret clean-up, when it meets them (the workflow's deletion does not reach into this collection). A
record whose credentials never expire has ``expires_at`` null, which no ``$lt`` matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.registries import PullSecretRecord, Registry, RegistryCheck
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo
from app.store.mongo.scoping import in_scope
from app.store.registries import (
    MUTABLE_FIELDS,
    REGISTRY_ID_TAKEN,
    REGISTRY_NAME_TAKEN,
    check_to_doc,
    pull_secret_from_doc,
    pull_secret_to_doc,
    registry_from_doc,
    registry_to_doc,
)

REGISTRIES = "registries"
PULL_SECRETS = "registry_pull_secrets"
BY_NAME = [("name_lower", 1), ("_id", 1)]


def _registries(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[REGISTRIES]


def _pull_secrets(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[PULL_SECRETS]


def _registry(doc: Doc) -> Registry:
    return registry_from_doc(from_mongo(doc))


def _duplicate(exc: DuplicateKeyError) -> Conflict:
    """Which unique key an insert hit: the id (index ``_id_``) or the name."""
    details = exc.details or {}
    key = details.get("keyPattern") or details.get("keyValue")
    on_id = set(key) == {"_id"} if key else "index: _id_ " in str(exc)
    return Conflict(REGISTRY_ID_TAKEN if on_id else REGISTRY_NAME_TAKEN)


def _record_key(record: PullSecretRecord) -> dict[str, Any]:
    return {
        "workflow_id": record.workflow_id,
        "registry_id": record.registry_id,
        "namespace": record.namespace,
    }


class MongoRegistries:
    """The ``RegistryStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_registry(self, registry: Registry) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name or id. With
        ``is_default`` the previous default loses it in the same transaction."""
        doc = to_mongo(registry_to_doc(registry))

        async def write(session: AsyncClientSession) -> None:
            workspace = await self._m.workspaces.find_one(
                {"_id": registry.workspace_id}, projection={"_id": True}, session=session
            )
            if workspace is None:
                raise NotFound("workspace", registry.workspace_id)
            if registry.is_default:
                await _registries(self._m).update_many(
                    {"workspace_id": registry.workspace_id, "is_default": True, "_id": {"$ne": registry.id}},
                    {"$set": {"is_default": False}},
                    session=session,
                )
            try:
                await _registries(self._m).insert_one(doc, session=session)
            except DuplicateKeyError as exc:
                raise _duplicate(exc) from exc

        await self._m.transaction(write)

    async def get_registry(self, scope: Scope, registry_id: str) -> Registry | None:
        with translate_errors():
            doc = await _registries(self._m).find_one(in_scope(scope, {"_id": registry_id}))
        return None if doc is None else _registry(doc)

    async def list_registries(self, scope: Scope, workspace_id: str | None = None) -> list[Registry]:
        """By lower-cased name, then id; a workspace outside the scope has none."""
        conditions: dict[str, Any] = {} if workspace_id is None else {"workspace_id": workspace_id}
        with translate_errors():
            docs = await _registries(self._m).find(in_scope(scope, conditions), sort=BY_NAME).to_list()
        return [_registry(doc) for doc in docs]

    async def replace_registry(self, scope: Scope, registry: Registry) -> None:
        doc = registry_to_doc(registry)
        with translate_errors():
            try:
                result = await _registries(self._m).update_one(
                    in_scope(scope, {"_id": registry.id}),
                    {"$set": {field: doc[field] for field in MUTABLE_FIELDS}},
                )
            except DuplicateKeyError as exc:
                raise Conflict(REGISTRY_NAME_TAKEN) from exc
        if result.matched_count == 0:
            raise NotFound("registry", registry.id)

    async def delete_registry(self, scope: Scope, registry_id: str) -> None:
        """The registry and its pull-Secret records, in one transaction."""

        async def write(session: AsyncClientSession) -> None:
            result = await _registries(self._m).delete_one(
                in_scope(scope, {"_id": registry_id}), session=session
            )
            if result.deleted_count == 0:
                raise NotFound("registry", registry_id)
            await _pull_secrets(self._m).delete_many({"registry_id": registry_id}, session=session)

        await self._m.transaction(write)

    async def set_default_registry(self, scope: Scope, registry_id: str, at: datetime) -> Registry:
        async def write(session: AsyncClientSession) -> Registry:
            doc = await _registries(self._m).find_one(in_scope(scope, {"_id": registry_id}), session=session)
            if doc is None:
                raise NotFound("registry", registry_id)
            registry = _registry(doc)
            if registry.is_default:
                return registry
            await _registries(self._m).update_many(
                {"workspace_id": registry.workspace_id, "is_default": True, "_id": {"$ne": registry_id}},
                {"$set": {"is_default": False}},
                session=session,
            )
            await _registries(self._m).update_one(
                {"_id": registry_id},
                {"$set": {"is_default": True, "updated_at": encode_datetime(at)}},
                session=session,
            )
            stored = await _registries(self._m).find_one({"_id": registry_id}, session=session)
            assert stored is not None
            return _registry(stored)

        return await self._m.transaction(write)

    async def record_registry_check(self, registry_id: str, check: RegistryCheck) -> None:
        with translate_errors():
            await _registries(self._m).update_one(
                {"_id": registry_id}, {"$set": {"last_check": check_to_doc(check)}}
            )

    async def replace_pull_secrets(self, workflow_id: str, records: Sequence[PullSecretRecord]) -> None:
        for record in records:
            if record.workflow_id != workflow_id:
                raise ValueError(
                    f"a pull-Secret record of workflow {record.workflow_id!r}, not {workflow_id!r}"
                )

        async def write(session: AsyncClientSession) -> None:
            await _pull_secrets(self._m).delete_many({"workflow_id": workflow_id}, session=session)
            if not records:
                return
            if (
                await self._m.workflows.find_one(
                    {"_id": workflow_id}, projection={"_id": True}, session=session
                )
                is None
            ):
                return
            registries = {r.registry_id for r in records}
            found = (
                await _registries(self._m)
                .find({"_id": {"$in": sorted(registries)}}, projection={"_id": True}, session=session)
                .to_list()
            )
            present = {doc["_id"] for doc in found}
            kept = [pull_secret_to_doc(r) for r in records if r.registry_id in present]
            if kept:
                await _pull_secrets(self._m).insert_many(kept, session=session)

        await self._m.transaction(write)

    async def save_pull_secret(self, record: PullSecretRecord) -> None:
        async def write(session: AsyncClientSession) -> None:
            workflow = await self._m.workflows.find_one(
                {"_id": record.workflow_id}, projection={"_id": True}, session=session
            )
            registry = await _registries(self._m).find_one(
                {"_id": record.registry_id}, projection={"_id": True}, session=session
            )
            if workflow is None or registry is None:
                return
            await _pull_secrets(self._m).update_one(
                _record_key(record), {"$set": pull_secret_to_doc(record)}, upsert=True, session=session
            )

        await self._m.transaction(write)

    async def delete_pull_secret(self, workflow_id: str, registry_id: str, namespace: str) -> None:
        with translate_errors():
            await _pull_secrets(self._m).delete_one(
                {"workflow_id": workflow_id, "registry_id": registry_id, "namespace": namespace}
            )

    async def pull_secrets_due(self, before: datetime) -> list[PullSecretRecord]:
        with translate_errors():
            docs = (
                await _pull_secrets(self._m)
                .find(
                    {"expires_at": {"$lt": encode_datetime(before)}},
                    sort=[("expires_at", 1), ("workflow_id", 1), ("registry_id", 1), ("namespace", 1)],
                )
                .to_list()
            )
        return [pull_secret_from_doc(doc) for doc in docs]

    async def list_pull_secrets(
        self, *, workflow_id: str | None = None, registry_id: str | None = None
    ) -> list[PullSecretRecord]:
        query: dict[str, Any] = {}
        if workflow_id is not None:
            query["workflow_id"] = workflow_id
        if registry_id is not None:
            query["registry_id"] = registry_id
        with translate_errors():
            docs = (
                await _pull_secrets(self._m)
                .find(
                    query,
                    sort=[("cluster_id", 1), ("namespace", 1), ("registry_id", 1), ("workflow_id", 1)],
                )
                .to_list()
            )
        return [pull_secret_from_doc(doc) for doc in docs]


async def reencrypt_registries(
    m: MongoDatabase, session: AsyncClientSession, transform: Callable[[str], str]
) -> int:
    """Inside the keyring rotation's transaction: rewrite every registry's credentials ciphertext
    (anonymous registries have none); return how many."""
    count = 0
    async for doc in _registries(m).find(
        {"credentials_ciphertext": {"$type": "string"}},
        projection={"credentials_ciphertext": True},
        session=session,
    ):
        await _registries(m).update_one(
            {"_id": doc["_id"]},
            {"$set": {"credentials_ciphertext": transform(str(doc["credentials_ciphertext"]))}},
            session=session,
        )
        count += 1
    return count
