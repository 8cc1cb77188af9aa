"""Encrypted values of Secret nodes in SQLite: one ciphertext per (workflow, node), never in a canvas."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.codec import encode_datetime
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.git import reencrypt_git_credentials
from app.store.sqlite.imports import reencrypt_imports
from app.store.sqlite.registries import reencrypt_registries
from app.store.sqlite.workflows import compare_and_set, workflow_row

_UPSERT = (
    "INSERT INTO secret_values (workflow_id, node_id, ciphertext, updated_at) "
    "VALUES (?, ?, ?, ?) "
    "ON CONFLICT (workflow_id, node_id) DO UPDATE "
    "SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at"
)


async def _insert_in_scope(tx: Tx, scope: Scope, workflow: Workflow) -> None:
    """Inside ``tx``: insert a new workflow into a workspace of ``scope`` (``NotFound`` otherwise,
    ``Conflict`` for a taken id)."""
    if (
        workflow.workspace_id not in scope
        or await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (workflow.workspace_id,)) is None
    ):
        raise NotFound("workspace", workflow.workspace_id)
    with duplicate_is_conflict("a workflow with this id already exists"):
        await tx.insert("workflows", workflow_row(workflow))


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
            await tx.run(_UPSERT, (workflow_id, node_id, ciphertext, encode_datetime(at)))

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
        its Secret nodes in one transaction: any failure rolls all of it back."""
        async with self._db.transaction() as tx:
            if expected_revision is None:
                await _insert_in_scope(tx, scope, workflow)
                stored = workflow
            else:
                stored = await compare_and_set(tx, scope, workflow, expected_revision)
            for node_id, ciphertext in sorted(secret_ciphertexts.items()):
                await tx.run(_UPSERT, (workflow.id, node_id, ciphertext, encode_datetime(at)))
        return stored

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
        """Rewrite every ciphertext (cluster credentials, Secret values, Git credentials, Git imports'
        Secret values, registry credentials) through ``transform`` in one transaction: all or nothing.
        Returns how many values were rewritten."""
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
            count += await reencrypt_git_credentials(tx, transform)
            count += await reencrypt_imports(tx, transform)
            count += await reencrypt_registries(tx, transform)
        return count
