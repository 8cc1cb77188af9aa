"""Flow triggers in MongoDB: one document per trigger (``_id`` its id), and the ``trigger_deliveries``
and ``trigger_fires`` documents whose ``_id`` is the pair (trigger, delivery id) or (trigger, fire time):
inserting one is atomic and unique, so a webhook delivery and a schedule fire time count once whatever
process writes them. Every write is a single-document operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.runs import TriggerKind
from app.domain.triggers import Trigger
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import encode_datetime
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo
from app.store.mongo.scoping import in_scope
from app.store.trigger_codec import trigger_from_doc, trigger_to_doc

TRIGGERS = "triggers"
DELIVERIES = "trigger_deliveries"
FIRES = "trigger_fires"
_REPLACED = ("name", "enabled", "config", "source_workflow_id", "updated_at")


def _col(m: MongoDatabase, name: str) -> AsyncCollection[Doc]:
    return m.db[name]


def _trigger(doc: Doc) -> Trigger:
    return trigger_from_doc(from_mongo(doc))


def _delivery_key(trigger_id: str, delivery_id: str) -> str:
    return f"{trigger_id}\n{delivery_id}"


class MongoTriggers:
    """The ``TriggerStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def create_trigger(self, trigger: Trigger) -> None:
        with translate_errors():
            try:
                await _col(self._m, TRIGGERS).insert_one(to_mongo(trigger_to_doc(trigger)))
            except DuplicateKeyError as exc:
                raise Conflict("a trigger with this id already exists") from exc

    async def get_trigger(self, scope: Scope, trigger_id: str) -> Trigger | None:
        with translate_errors():
            doc = await _col(self._m, TRIGGERS).find_one(in_scope(scope, {"_id": trigger_id}))
        return None if doc is None else _trigger(doc)

    async def find_trigger(self, trigger_id: str) -> Trigger | None:
        with translate_errors():
            doc = await _col(self._m, TRIGGERS).find_one({"_id": trigger_id})
        return None if doc is None else _trigger(doc)

    async def list_triggers(self, scope: Scope, workflow_id: str) -> list[Trigger]:
        with translate_errors():
            docs = (
                await _col(self._m, TRIGGERS)
                .find(in_scope(scope, {"workflow_id": workflow_id}), sort=[("created_at", 1), ("_id", 1)])
                .to_list()
            )
        return [_trigger(doc) for doc in docs]

    async def update_trigger(self, trigger: Trigger) -> None:
        doc = trigger_to_doc(trigger)
        update: dict[str, Any] = {"$set": {field: doc[field] for field in _REPLACED}}
        with translate_errors():
            result = await _col(self._m, TRIGGERS).update_one({"_id": trigger.id}, update)
        if result.matched_count == 0:
            raise NotFound("trigger", trigger.id)
        if trigger.cursor_at is not None:
            await self.set_trigger_cursor(trigger.id, trigger.cursor_at)

    async def delete_trigger(self, scope: Scope, trigger_id: str) -> bool:
        with translate_errors():
            result = await _col(self._m, TRIGGERS).delete_one(in_scope(scope, {"_id": trigger_id}))
            if result.deleted_count:
                await _col(self._m, DELIVERIES).delete_many({"trigger_id": trigger_id})
                await _col(self._m, FIRES).delete_many({"trigger_id": trigger_id})
        return result.deleted_count > 0

    async def enabled_triggers(self, kind: TriggerKind) -> list[Trigger]:
        with translate_errors():
            docs = (
                await _col(self._m, TRIGGERS)
                .find({"kind": kind.value, "enabled": True}, sort=[("created_at", 1), ("_id", 1)])
                .to_list()
            )
        return [_trigger(doc) for doc in docs]

    async def triggers_of_source(self, source_workflow_id: str) -> list[Trigger]:
        query = {
            "source_workflow_id": source_workflow_id,
            "kind": TriggerKind.RUN_COMPLETED.value,
            "enabled": True,
        }
        with translate_errors():
            docs = await _col(self._m, TRIGGERS).find(query, sort=[("created_at", 1), ("_id", 1)]).to_list()
        return [_trigger(doc) for doc in docs]

    async def claim_delivery(self, trigger_id: str, delivery_id: str, at: datetime) -> str | None:
        key = _delivery_key(trigger_id, delivery_id)
        with translate_errors():
            try:
                await _col(self._m, DELIVERIES).insert_one(
                    {"_id": key, "trigger_id": trigger_id, "run_id": "", "received_at": encode_datetime(at)}
                )
                return None
            except DuplicateKeyError:
                doc = await _col(self._m, DELIVERIES).find_one({"_id": key})
        return "" if doc is None else str(doc.get("run_id") or "")

    async def settle_delivery(self, trigger_id: str, delivery_id: str, run_id: str | None) -> None:
        key = _delivery_key(trigger_id, delivery_id)
        with translate_errors():
            if run_id is None:
                await _col(self._m, DELIVERIES).delete_one({"_id": key})
            else:
                await _col(self._m, DELIVERIES).update_one({"_id": key}, {"$set": {"run_id": run_id}})

    async def claim_fire(self, trigger_id: str, fire_at: datetime, at: datetime) -> bool:
        fire = encode_datetime(fire_at)
        with translate_errors():
            if await _col(self._m, TRIGGERS).find_one({"_id": trigger_id}, projection={"_id": True}) is None:
                return False
            try:
                await _col(self._m, FIRES).insert_one(
                    {
                        "_id": f"{trigger_id}\n{fire}",
                        "trigger_id": trigger_id,
                        "fired_at": encode_datetime(at),
                    }
                )
            except DuplicateKeyError:
                return False
        return True

    async def set_trigger_cursor(self, trigger_id: str, cursor_at: datetime) -> None:
        cursor = encode_datetime(cursor_at)
        with translate_errors():
            await _col(self._m, TRIGGERS).update_one(
                {"_id": trigger_id, "$or": [{"cursor_at": None}, {"cursor_at": {"$lt": cursor}}]},
                {"$set": {"cursor_at": cursor}},
            )

    async def mark_trigger_fired(self, trigger_id: str, at: datetime, run_id: str) -> None:
        with translate_errors():
            await _col(self._m, TRIGGERS).update_one(
                {"_id": trigger_id}, {"$set": {"last_fired_at": encode_datetime(at), "last_run_id": run_id}}
            )


async def delete_triggers_of(m: MongoDatabase, workflow_id: str, session: AsyncClientSession) -> None:
    """A deleted workflow's triggers, with their deliveries and fire records (inside its transaction)."""
    docs = (
        await _col(m, TRIGGERS)
        .find({"workflow_id": workflow_id}, projection={"_id": True}, session=session)
        .to_list()
    )
    ids = [doc["_id"] for doc in docs]
    if ids:
        await _col(m, DELIVERIES).delete_many({"trigger_id": {"$in": ids}}, session=session)
        await _col(m, FIRES).delete_many({"trigger_id": {"$in": ids}}, session=session)
        await _col(m, TRIGGERS).delete_many({"_id": {"$in": ids}}, session=session)
