"""Encrypted values of Secret nodes in SQLite: one ciphertext per (workflow, node), never in a canvas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from app.errors import NotFound
from app.store.codec import encode_datetime
from app.store.sqlite.connection import Database


class SqliteSecretValues:
    """The ``SecretValueStore`` part of the SQLite store. Not scoped: the services reach these only
    through a workflow they have already found in the caller's scope. ``delete_workflow`` removes a
    workflow's values in its own transaction."""

    _db: Database

    async def put_secret_values(self, workflow_id: str, node_id: str, ciphertext: str, at: datetime) -> None:
        """Insert or replace (upsert) in one transaction; ``NotFound`` for an unknown workflow, checked
        under the write lock, so a value never outlives a concurrently deleted workflow."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workflows WHERE id = ?", (workflow_id,)) is None:
                raise NotFound("workflow", workflow_id)
            await tx.run(
                "INSERT INTO secret_values (workflow_id, node_id, ciphertext, updated_at) "
                "VALUES (?, ?, ?, ?) "
                "ON CONFLICT (workflow_id, node_id) DO UPDATE "
                "SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                (workflow_id, node_id, ciphertext, encode_datetime(at)),
            )

    async def secret_values(self, workflow_id: str) -> dict[str, str]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT node_id, ciphertext FROM secret_values WHERE workflow_id = ? ORDER BY node_id",
                (workflow_id,),
            )
        return {str(row["node_id"]): str(row["ciphertext"]) for row in rows}

    async def delete_secret_values(self, workflow_id: str, node_id: str) -> None:
        """Deleting values that are not there is a no-op."""
        async with self._db.transaction() as tx:
            await tx.run(
                "DELETE FROM secret_values WHERE workflow_id = ? AND node_id = ?", (workflow_id, node_id)
            )

    async def reencrypt(self, transform: Callable[[str], str]) -> int:
        """Rewrite every ciphertext (cluster credentials, Secret values) through ``transform`` in one
        transaction: all or nothing. Returns how many values were rewritten."""
        async with self._db.transaction() as tx:
            count = 0
            for row in await tx.rows("SELECT id, credentials_ciphertext FROM clusters"):
                await tx.run(
                    "UPDATE clusters SET credentials_ciphertext = ? WHERE id = ?",
                    (transform(str(row["credentials_ciphertext"])), row["id"]),
                )
                count += 1
            for row in await tx.rows("SELECT workflow_id, node_id, ciphertext FROM secret_values"):
                await tx.run(
                    "UPDATE secret_values SET ciphertext = ? WHERE workflow_id = ? AND node_id = ?",
                    (transform(str(row["ciphertext"])), row["workflow_id"], row["node_id"]),
                )
                count += 1
        return count
