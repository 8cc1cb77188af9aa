"""Flow triggers in SQLite: one row per trigger (its config as JSON text), and the unique
``trigger_deliveries`` and ``trigger_fires`` rows that make a webhook delivery and a schedule fire time
count once, whatever process writes them (an ``INSERT … ON CONFLICT DO NOTHING`` under the write lock).
A trigger goes with its workflow (``ON DELETE CASCADE``)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from app.domain.runs import TriggerKind
from app.domain.triggers import Trigger
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.codec import dumps, encode_datetime, loads
from app.store.sqlite.connection import Database, duplicate_is_conflict
from app.store.sqlite.scoping import in_scope
from app.store.trigger_codec import trigger_from_doc, trigger_to_doc

_REPLACED = ("name", "enabled", "config", "source_workflow_id", "updated_at", "cursor_at")


def _row(trigger: Trigger) -> dict[str, Any]:
    row = trigger_to_doc(trigger)
    row["config"] = dumps(row["config"])
    row["enabled"] = int(trigger.enabled)
    return row


def _trigger(row: sqlite3.Row) -> Trigger:
    doc = dict(row)
    doc["config"] = loads(doc["config"])
    return trigger_from_doc(doc)


class SqliteTriggers:
    """The ``TriggerStore`` part of the SQLite store."""

    _db: Database

    async def create_trigger(self, trigger: Trigger) -> None:
        async with self._db.transaction() as tx:
            with duplicate_is_conflict("a trigger with this id already exists"):
                await tx.insert("triggers", _row(trigger))

    async def get_trigger(self, scope: Scope, trigger_id: str) -> Trigger | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM triggers WHERE id = ? AND {where.sql}",  # noqa: S608
                (trigger_id, *where.params),
            )
        return None if row is None else _trigger(row)

    async def find_trigger(self, trigger_id: str) -> Trigger | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row("SELECT * FROM triggers WHERE id = ?", (trigger_id,))
        return None if row is None else _trigger(row)

    async def list_triggers(self, scope: Scope, workflow_id: str) -> list[Trigger]:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM triggers WHERE workflow_id = ? AND {where.sql} "  # noqa: S608
                "ORDER BY created_at, id",
                (workflow_id, *where.params),
            )
        return [_trigger(row) for row in rows]

    async def update_trigger(self, trigger: Trigger) -> None:
        row = _row(trigger)
        assignments = ", ".join(f"{column} = ?" for column in _REPLACED)
        async with self._db.transaction() as tx:
            changed = await tx.run(
                f"UPDATE triggers SET {assignments} WHERE id = ?",  # noqa: S608
                (*(row[column] for column in _REPLACED), trigger.id),
            )
        if changed == 0:
            raise NotFound("trigger", trigger.id)

    async def delete_trigger(self, scope: Scope, trigger_id: str) -> bool:
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            changed = await tx.run(
                f"DELETE FROM triggers WHERE id = ? AND {where.sql}",  # noqa: S608
                (trigger_id, *where.params),
            )
        return changed > 0

    async def enabled_triggers(self, kind: TriggerKind) -> list[Trigger]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM triggers WHERE kind = ? AND enabled = 1 ORDER BY created_at, id", (kind.value,)
            )
        return [_trigger(row) for row in rows]

    async def triggers_of_source(self, source_workflow_id: str) -> list[Trigger]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM triggers WHERE source_workflow_id = ? AND kind = ? AND enabled = 1 "
                "ORDER BY created_at, id",
                (source_workflow_id, TriggerKind.RUN_COMPLETED.value),
            )
        return [_trigger(row) for row in rows]

    async def claim_delivery(self, trigger_id: str, delivery_id: str, at: datetime) -> str | None:
        async with self._db.transaction() as tx:
            inserted = await tx.run(
                "INSERT INTO trigger_deliveries (trigger_id, delivery_id, run_id, received_at) "
                "VALUES (?, ?, '', ?) ON CONFLICT (trigger_id, delivery_id) DO NOTHING",
                (trigger_id, delivery_id, encode_datetime(at)),
            )
            if inserted:
                return None
            run_id = await tx.value(
                "SELECT run_id FROM trigger_deliveries WHERE trigger_id = ? AND delivery_id = ?",
                (trigger_id, delivery_id),
            )
        return str(run_id or "")

    async def settle_delivery(self, trigger_id: str, delivery_id: str, run_id: str | None) -> None:
        async with self._db.transaction() as tx:
            if run_id is None:
                await tx.run(
                    "DELETE FROM trigger_deliveries WHERE trigger_id = ? AND delivery_id = ?",
                    (trigger_id, delivery_id),
                )
            else:
                await tx.run(
                    "UPDATE trigger_deliveries SET run_id = ? WHERE trigger_id = ? AND delivery_id = ?",
                    (run_id, trigger_id, delivery_id),
                )

    async def claim_fire(self, trigger_id: str, fire_at: datetime, at: datetime) -> bool:
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM triggers WHERE id = ?", (trigger_id,)) is None:
                return False
            inserted = await tx.run(
                "INSERT INTO trigger_fires (trigger_id, fire_at, fired_at) VALUES (?, ?, ?) "
                "ON CONFLICT (trigger_id, fire_at) DO NOTHING",
                (trigger_id, encode_datetime(fire_at), encode_datetime(at)),
            )
        return inserted > 0

    async def set_trigger_cursor(self, trigger_id: str, cursor_at: datetime) -> None:
        cursor = encode_datetime(cursor_at)
        async with self._db.transaction() as tx:
            await tx.run(
                "UPDATE triggers SET cursor_at = ? WHERE id = ? AND (cursor_at IS NULL OR cursor_at < ?)",
                (cursor, trigger_id, cursor),
            )

    async def mark_trigger_fired(self, trigger_id: str, at: datetime, run_id: str) -> None:
        async with self._db.transaction() as tx:
            await tx.run(
                "UPDATE triggers SET last_fired_at = ?, last_run_id = ? WHERE id = ?",
                (encode_datetime(at), run_id, trigger_id),
            )
