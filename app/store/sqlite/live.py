"""Live state in SQLite: each deployed node's health, leases on named work, single-use exec tickets.

Every method is one transaction under the store's lock, started with ``BEGIN IMMEDIATE`` when it
writes, so it is serialised against every other writer, in this process and in others:

- ``put_node_health``: one ``INSERT … SELECT … WHERE EXISTS (the workflow) ON CONFLICT DO UPDATE``;
  a health whose workflow is gone (deleted meanwhile) is dropped, so none outlives its workflow.
- ``acquire_lease``: one ``INSERT … ON CONFLICT (name) DO UPDATE … WHERE owner = ? OR expires_at <= ?
  RETURNING *``: inserted when absent, taken over when expired, renewed when already the caller's;
  no row comes back (None) while another owner holds it.
- ``consume_exec_ticket``: one ``DELETE … RETURNING *``, so of concurrent consumers exactly one gets
  the row; an expired ticket is deleted too but not returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from app.domain.live import ExecTicket, Lease, NodeHealth
from app.store.codec import (
    decode_datetime,
    dumps,
    encode_datetime,
    exec_ticket_from_doc,
    exec_ticket_to_doc,
    lease_from_doc,
    loads,
    node_health_from_doc,
    node_health_to_doc,
)
from app.store.common import EXEC_TICKET_TAKEN, check_lease_ttl, node_id_list
from app.store.sqlite.connection import Database, duplicate_is_conflict

_HEALTH_COLUMNS = ("workflow_id", "node_id", "status", "message", "facts", "updated_at")


def node_health_row(entry: NodeHealth) -> dict[str, Any]:
    row = node_health_to_doc(entry)
    row["facts"] = dumps(row["facts"])
    return row


def node_health_from_row(row: sqlite3.Row) -> NodeHealth:
    doc = dict(row)
    doc["facts"] = loads(doc["facts"])
    return node_health_from_doc(doc)


def exec_ticket_row(ticket: ExecTicket) -> dict[str, Any]:
    row = exec_ticket_to_doc(ticket)
    row["command"] = dumps(row["command"])
    return row


def exec_ticket_from_row(row: sqlite3.Row) -> ExecTicket:
    doc = dict(row)
    doc["command"] = loads(doc["command"])
    return exec_ticket_from_doc(doc)


class SqliteLiveState:
    """The ``LiveStateStore`` part of the SQLite store. Not scoped: the watch pool and the exec route
    reach these by ids they already hold. ``delete_workflow`` removes a workflow's node healths in its
    own transaction."""

    _db: Database

    # Node health ------------------------------------------------------------------------------------

    async def put_node_health(self, entry: NodeHealth) -> None:
        """Upsert the health of ``(workflow_id, node_id)``; dropped if the workflow is not stored (the
        check and the write are one statement under the write lock)."""
        row = node_health_row(entry)
        columns = ", ".join(_HEALTH_COLUMNS)
        marks = ", ".join("?" for _ in _HEALTH_COLUMNS)
        updates = ", ".join(f"{column} = excluded.{column}" for column in _HEALTH_COLUMNS[2:])
        async with self._db.transaction() as tx:
            await tx.run(
                f"INSERT INTO node_healths ({columns}) "  # noqa: S608 - column names come from code
                f"SELECT {marks} WHERE EXISTS (SELECT 1 FROM workflows WHERE id = ?) "
                f"ON CONFLICT (workflow_id, node_id) DO UPDATE SET {updates}",
                (*(row[column] for column in _HEALTH_COLUMNS), entry.workflow_id),
            )

    async def node_healths(self, workflow_id: str) -> list[NodeHealth]:
        """Every stored node health of the workflow, by node id."""
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM node_healths WHERE workflow_id = ? ORDER BY node_id", (workflow_id,)
            )
        return [node_health_from_row(row) for row in rows]

    async def delete_node_healths(self, workflow_id: str, node_ids: Sequence[str] | None = None) -> None:
        """All of the workflow's when ``node_ids`` is None, else those nodes' (none for an empty list);
        missing ones are ignored. The ids travel as one JSON array (no bound-parameter limit)."""
        async with self._db.transaction() as tx:
            if node_ids is None:
                await tx.run("DELETE FROM node_healths WHERE workflow_id = ?", (workflow_id,))
                return
            await tx.run(
                "DELETE FROM node_healths WHERE workflow_id = ? "
                "AND node_id IN (SELECT value FROM json_each(?))",
                (workflow_id, dumps(node_id_list(node_ids))),
            )

    # Leases -----------------------------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Insert, take over (``expires_at <= now``) or renew, until ``now + ttl``: one upsert whose
        update is guarded by "the caller's, or expired"; None while another owner holds it."""
        check_lease_ttl(ttl)
        expires_at = encode_datetime(now + ttl)
        async with self._db.transaction() as tx:
            row = await tx.row(
                "INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
                "WHERE leases.owner = excluded.owner OR leases.expires_at <= ? "
                "RETURNING *",
                (name, owner, expires_at, encode_datetime(now)),
            )
        return None if row is None else lease_from_doc(dict(row))

    async def release_lease(self, name: str, owner: str) -> None:
        """Only the owner releases; anyone else's release (or an unknown lease) is a no-op."""
        async with self._db.transaction() as tx:
            await tx.run("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

    # Exec tickets -----------------------------------------------------------------------------------

    async def create_exec_ticket(self, ticket: ExecTicket, *, now: datetime | None = None) -> None:
        """Insert the ticket (``Conflict`` if its id is taken). Given ``now`` (not part of the port
        yet), tickets expired by then are deleted in the same transaction; ``consume_exec_ticket``
        sweeps them too."""
        async with self._db.transaction() as tx:
            if now is not None:
                await tx.run("DELETE FROM exec_tickets WHERE expires_at <= ?", (encode_datetime(now),))
            with duplicate_is_conflict(EXEC_TICKET_TAKEN):
                await tx.insert("exec_tickets", exec_ticket_row(ticket))

    async def consume_exec_ticket(self, ticket_id: str, *, now: datetime) -> ExecTicket | None:
        """Delete the ticket and return it if it was still valid (``now < expires_at``); None for an
        unknown, already used or expired ticket. Every ticket expired by ``now`` is deleted with it."""
        at = encode_datetime(now)
        async with self._db.transaction() as tx:
            row = await tx.row("DELETE FROM exec_tickets WHERE id = ? RETURNING *", (ticket_id,))
            await tx.run("DELETE FROM exec_tickets WHERE expires_at <= ?", (at,))
        if row is None or decode_datetime(str(row["expires_at"])) <= now:
            return None
        return exec_ticket_from_row(row)
