"""Live state in MongoDB: each deployed node's health, leases on named work, single-use exec tickets.

Atomicity, per operation:

- ``put_node_health``: one transaction that first ``$inc``-s the workflow's ``health_seq`` and then
  upserts the health. The workflow document is the conflict domain shared with ``delete_workflow``
  (which deletes it): a health written concurrently with the deletion of its workflow either lands
  before it (and is deleted with it) or finds the workflow gone and is dropped, so none outlives its
  workflow; two puts of one workflow are serialised the same way, so their upserts never race on the
  unique ``(workflow_id, node_id)`` index.
- ``delete_node_healths``: one ``delete_many`` in a transaction (all or nothing).
- ``acquire_lease``: one ``find_one_and_update`` with ``upsert`` on the filter ``{_id: name, $or:
  [{owner}, {expires_at <= now}]}``, atomic on the one lease document. It updates the document when
  the lease is the caller's or expired, inserts it when absent, and when another owner holds it
  unexpired the filter matches nothing, the upsert's insert hits the ``_id`` that exists and
  MongoDB answers with a duplicate-key error, which means "held by another": None. The same error
  settles a race between acquirers of an absent lease: exactly one insert succeeds. (The server's
  own retry of duplicate-key upserts applies only to filters of plain equalities, not to this one;
  if it did retry, the filter would be evaluated again and give the same answer.) No transaction is
  needed, so leases work at the rate of single-document writes.
- ``release_lease``: one ``delete_one`` on ``{_id: name, owner}``.
- ``consume_exec_ticket``: one ``find_one_and_delete`` on the ticket's ``_id``: of concurrent consumers
  exactly one gets the document; an expired one is deleted but not returned. Expired tickets are then
  swept with one ``delete_many`` (housekeeping, not part of the consume's atomicity).
- ``create_exec_ticket``: one ``insert_one`` (after the optional sweep).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.live import ExecTicket, Lease, NodeHealth
from app.errors import Conflict
from app.store.codec import decode_datetime, encode_datetime
from app.store.common import EXEC_TICKET_TAKEN, check_lease_ttl, node_id_list
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import (
    exec_ticket_from_mongo,
    exec_ticket_to_mongo,
    lease_from_mongo,
    node_health_from_mongo,
    node_health_to_mongo,
)


class MongoLiveState:
    """The ``LiveStateStore`` part of the MongoDB store. Not scoped: the watch pool and the exec route
    reach these by ids they already hold. ``delete_workflow`` removes a workflow's node healths in its
    own transaction."""

    _m: MongoDatabase

    # Node health ------------------------------------------------------------------------------------

    async def put_node_health(self, entry: NodeHealth) -> None:
        """Upsert the health of ``(workflow_id, node_id)``; dropped if the workflow is not stored."""
        doc = node_health_to_mongo(entry)

        async def write(session: AsyncClientSession) -> None:
            touched = await self._m.workflows.update_one(
                {"_id": entry.workflow_id}, {"$inc": {"health_seq": 1}}, session=session
            )
            if touched.matched_count == 0:
                return
            await self._m.node_healths.update_one(
                {"workflow_id": entry.workflow_id, "node_id": entry.node_id},
                {"$set": doc},
                upsert=True,
                session=session,
            )

        await self._m.transaction(write)

    async def node_healths(self, workflow_id: str) -> list[NodeHealth]:
        """Every stored node health of the workflow, by node id."""
        with translate_errors():
            docs = await self._m.node_healths.find(
                {"workflow_id": workflow_id}, projection={"_id": False}, sort=[("node_id", 1)]
            ).to_list()
        return [node_health_from_mongo(doc) for doc in docs]

    async def delete_node_healths(self, workflow_id: str, node_ids: Sequence[str] | None = None) -> None:
        """All of the workflow's when ``node_ids`` is None, else those nodes' (none for an empty list);
        missing ones are ignored."""
        filter: dict[str, object] = {"workflow_id": workflow_id}
        if node_ids is not None:
            ids = node_id_list(node_ids)
            if not ids:
                return
            filter["node_id"] = {"$in": ids}

        async def write(session: AsyncClientSession) -> None:
            await self._m.node_healths.delete_many(filter, session=session)

        await self._m.transaction(write)

    # Leases -----------------------------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Insert, take over (``expires_at <= now``) or renew, until ``now + ttl``; None while another
        owner holds it. One single-document ``find_one_and_update`` (see the module's docstring)."""
        check_lease_ttl(ttl)
        claimable = {"_id": name, "$or": [{"owner": owner}, {"expires_at": {"$lte": encode_datetime(now)}}]}
        with translate_errors():
            try:
                doc = await self._m.leases.find_one_and_update(
                    claimable,
                    {"$set": {"owner": owner, "expires_at": encode_datetime(now + ttl)}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                return None  # held, unexpired, by another owner
        return None if doc is None else lease_from_mongo(doc)

    async def release_lease(self, name: str, owner: str) -> None:
        """Only the owner releases; anyone else's release (or an unknown lease) is a no-op."""
        with translate_errors():
            await self._m.leases.delete_one({"_id": name, "owner": owner})

    # Exec tickets -----------------------------------------------------------------------------------

    async def create_exec_ticket(self, ticket: ExecTicket, *, now: datetime | None = None) -> None:
        """Insert the ticket (``Conflict`` if its id is taken). Given ``now`` (not part of the port
        yet), tickets expired by then are deleted first; ``consume_exec_ticket`` sweeps them too."""
        with translate_errors():
            if now is not None:
                await self._m.exec_tickets.delete_many({"expires_at": {"$lte": encode_datetime(now)}})
            try:
                await self._m.exec_tickets.insert_one(exec_ticket_to_mongo(ticket))
            except DuplicateKeyError as exc:
                raise Conflict(EXEC_TICKET_TAKEN) from exc

    async def consume_exec_ticket(self, ticket_id: str, *, now: datetime) -> ExecTicket | None:
        """Delete the ticket and return it if it was still valid (``now < expires_at``); None for an
        unknown, already used or expired ticket. Every ticket expired by ``now`` is deleted too."""
        with translate_errors():
            doc = await self._m.exec_tickets.find_one_and_delete({"_id": ticket_id})
            await self._m.exec_tickets.delete_many({"expires_at": {"$lte": encode_datetime(now)}})
        if doc is None or decode_datetime(str(doc["expires_at"])) <= now:
            return None
        return exec_ticket_from_mongo(doc)
