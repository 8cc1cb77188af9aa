"""The audit log in MongoDB: append-only, listed newest first."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from app.domain.audit import AuditEntry
from app.errors import Conflict
from app.store.codec import audit_from_doc, audit_to_doc
from app.store.common import check_page_size
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import from_mongo, to_mongo


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
            docs = await self._m.audit.find(filter, sort=[("at", -1), ("_id", -1)], limit=first).to_list()
        return [audit_from_doc(from_mongo(doc)) for doc in docs]
