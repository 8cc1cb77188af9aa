"""The audit log in MongoDB: append-only, listed newest first."""

from __future__ import annotations

import re
from typing import Any

from pymongo.errors import DuplicateKeyError

from app.domain.audit import AuditEntry, AuditFilter
from app.domain.paging import Page
from app.errors import Conflict
from app.ports import AuditKey
from app.store.codec import audit_from_doc, audit_to_doc, encode_datetime
from app.store.common import check_page_size
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo

NEWEST_FIRST = [("at", -1), ("_id", -1)]


class MongoAudit:
    """The ``AuditLog`` part of the MongoDB store."""

    _m: MongoDatabase

    async def append_audit(self, entry: AuditEntry) -> None:
        with translate_errors():
            try:
                await self._m.audit.insert_one(to_mongo(audit_to_doc(entry)))
            except DuplicateKeyError as exc:
                raise Conflict("an audit entry with this id already exists") from exc

    async def list_audit(self, first: int, actor_id: str | None = None) -> list[AuditEntry]:
        """Newest first by ``(at, _id)``, optionally only one actor's entries."""
        check_page_size(first)
        if first == 0:  # a limit of 0 means "no limit" to MongoDB
            return []
        filter: dict[str, Any] = {} if actor_id is None else {"actor_id": actor_id}
        with translate_errors():
            docs = await self._m.audit.find(filter, sort=NEWEST_FIRST, limit=first).to_list()
        return [audit_from_doc(from_mongo(doc)) for doc in docs]

    async def page_audit(self, filter: AuditFilter, first: int, after: AuditKey | None) -> Page[AuditEntry]:
        """Newest first by ``(at, _id)``; ``total`` counts every entry matching ``filter``."""
        check_page_size(first)
        matching = _matching(filter)
        page = matching
        if after is not None:
            at = encode_datetime(after[0])
            keyset = {"$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": after[1]}}]}
            page = {"$and": [matching, keyset]}
        with translate_errors():
            total = await self._m.audit.count_documents(matching)
            docs = await self._m.audit.find(page, sort=NEWEST_FIRST, limit=first + 1).to_list()
        items = [audit_from_doc(from_mongo(doc)) for doc in docs[:first]]
        return Page(items=items, has_next=len(docs) > first, total=total)


def _matching(filter: AuditFilter) -> dict[str, Any]:
    query: dict[str, Any] = {}
    equal = {
        "workspace_id": filter.workspace_id,
        "actor_id": filter.actor_id,
        "target_type": filter.target_type,
        "target_id": filter.target_id,
        "outcome": None if filter.outcome is None else filter.outcome.value,
    }
    query.update({name: value for name, value in equal.items() if value is not None})
    if filter.action_prefix:
        query["action"] = {"$regex": "^" + re.escape(filter.action_prefix)}
    at: dict[str, str] = {}
    if filter.since is not None:
        at["$gte"] = encode_datetime(filter.since)
    if filter.until is not None:
        at["$lt"] = encode_datetime(filter.until)
    if at:
        query["at"] = at
    return query
