"""``export_all``/``import_all`` of the MongoDB store.

Documents travel as canonical Extended JSON (``bson.json_util``), so every BSON type comes back as it
was; ciphertexts are copied as stored.

An export reads every collection through one snapshot session (``snapshot=True``, MongoDB 5.0 or later
on a replica set): all reads see the data as of one cluster time while writes go on. Caveat: the
snapshot lives only as long as the server keeps history (``minSnapshotHistoryWindowInSeconds``, 300 s by
default); an export that takes longer fails with ``SnapshotTooOld`` — stop the writers (scale Trellis to
zero) and export again, or raise that server parameter.

A restore runs in one transaction (``MongoDatabase.transaction``): emptiness and migration checks, then
every insert, commit or nothing. Caveat: a transaction must commit within the server's
``transactionLifetimeLimitSeconds`` (60 s by default); restore a very large backup after raising it.
The ``counters`` collection is seeded by the migrations (the number of users, which decides who becomes
the first administrator), so it does not count towards "empty" and is replaced by the backup's.
"""

from __future__ import annotations

import json
from typing import Any

from bson import json_util
from pymongo.asynchronous.client_session import AsyncClientSession

from app.errors import Invalid
from app.ports import StoreSnapshot
from app.store.backup import backed_up, check_empty, check_snapshot
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc

BACKEND = "mongodb"
SEEDED = "counters"
_OPTIONS = json_util.CANONICAL_JSON_OPTIONS


def _to_json(doc: Doc) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json_util.dumps(doc, json_options=_OPTIONS))
    return plain


def _from_json(row: Any) -> Doc:
    try:
        doc: Doc = json_util.loads(json.dumps(row), json_options=_OPTIONS)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"a backup document is not valid Extended JSON: {exc}") from exc
    return doc


class MongoBackup:
    _m: MongoDatabase

    async def _collections(self) -> list[str]:
        names = await self._m.db.list_collection_names()
        return backed_up(n for n in names if not n.startswith("system."))

    async def _migration(self, session: AsyncClientSession | None = None) -> int:
        docs = await self._m.db["schema_migrations"].find({}, {"_id": True}, session=session).to_list()
        return max((int(doc["_id"]) for doc in docs), default=0)

    async def export_all(self) -> StoreSnapshot:
        with translate_errors():
            names = await self._collections()
            async with self._m.client.start_session(snapshot=True) as session:
                migration = await self._migration(session)
                tables = {
                    name: [
                        _to_json(doc) for doc in await self._m.db[name].find({}, session=session).to_list()
                    ]
                    for name in names
                }
        return StoreSnapshot(BACKEND, migration, tables)

    async def import_all(self, snapshot: StoreSnapshot) -> int:
        names = await self._collections()
        documents = {name: [_from_json(row) for row in rows] for name, rows in snapshot.tables.items()}

        async def restore(session: AsyncClientSession) -> int:
            check_snapshot(snapshot, backend=BACKEND, migration=await self._migration(session), tables=names)
            check_empty(
                {
                    name: await self._m.db[name].count_documents({}, session=session)
                    for name in names
                    if name != SEEDED
                }
            )
            count = 0
            for name, docs in documents.items():
                if name == SEEDED:
                    await self._m.db[name].delete_many({}, session=session)
                if docs:
                    await self._m.db[name].insert_many(docs, session=session)
                    count += len(docs)
            return count

        return await self._m.transaction(restore)
