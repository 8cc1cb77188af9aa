"""Registries and their pull-Secret records in SQLite.

Names are unique per workspace by lower-cased name (a unique index), and a partial unique index holds
at most one default per workspace, so no interleaving of writers can break either rule. Every method
is one transaction: taking the default (unset the old one, set the new one) is atomic. A workspace's
registries go with it (``ON DELETE CASCADE``); a registry's and a workflow's pull-Secret records go
with them. The records' ``expires_at`` column is NOT NULL (migration 8 recorded only expiring
credentials): a record whose credentials never expire stores :data:`NEVER`, which no ``before`` reaches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from app.domain.registries import PullSecretRecord, Registry, RegistryCheck
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.codec import dumps, encode_datetime, loads
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
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.scoping import delete_in_scope, in_scope, update_in_scope


def registry_row(registry: Registry) -> dict[str, Any]:
    """The row of a registry: its document with booleans as integers and the last check as JSON text."""
    row = registry_to_doc(registry)
    row["insecure"] = int(registry.insecure)
    row["is_default"] = int(registry.is_default)
    row["last_check"] = None if row["last_check"] is None else dumps(row["last_check"])
    return row


def registry_from_row(row: sqlite3.Row) -> Registry:
    doc = dict(row)
    doc["last_check"] = None if doc["last_check"] is None else loads(doc["last_check"])
    return registry_from_doc(doc)


async def _unset_default(tx: Tx, workspace_id: str, keep: str) -> None:
    await tx.run(
        "UPDATE registries SET is_default = 0 WHERE workspace_id = ? AND is_default = 1 AND id != ?",
        (workspace_id, keep),
    )


async def _record_exists(tx: Tx, record: PullSecretRecord) -> bool:
    workflow = await tx.value("SELECT 1 FROM workflows WHERE id = ?", (record.workflow_id,))
    registry = await tx.value("SELECT 1 FROM registries WHERE id = ?", (record.registry_id,))
    return workflow is not None and registry is not None


NEVER = "9999-12-31T23:59:59.999999Z"
"""``expires_at`` of a record whose credentials do not expire (later than every encoded datetime)."""


def _pull_secret_row(record: PullSecretRecord) -> dict[str, Any]:
    row = pull_secret_to_doc(record)
    if row["expires_at"] is None:
        row["expires_at"] = NEVER
    return row


def _pull_secret_from_row(row: sqlite3.Row) -> PullSecretRecord:
    doc = dict(row)
    if doc["expires_at"] == NEVER:
        doc["expires_at"] = None
    return pull_secret_from_doc(doc)


_PULL_SECRET_COLUMNS = (
    "workflow_id",
    "registry_id",
    "namespace",
    "workspace_id",
    "cluster_id",
    "expires_at",
    "applied_at",
)
_UPSERT_PULL_SECRET = (
    f"INSERT INTO registry_pull_secrets ({', '.join(_PULL_SECRET_COLUMNS)}) "  # noqa: S608 - constants
    f"VALUES ({', '.join('?' for _ in _PULL_SECRET_COLUMNS)}) "
    "ON CONFLICT (workflow_id, registry_id, namespace) DO UPDATE SET "
    "workspace_id = excluded.workspace_id, cluster_id = excluded.cluster_id, "
    "expires_at = excluded.expires_at, applied_at = excluded.applied_at"
)


async def _upsert(tx: Tx, record: PullSecretRecord) -> None:
    row = _pull_secret_row(record)
    await tx.run(_UPSERT_PULL_SECRET, tuple(row[column] for column in _PULL_SECRET_COLUMNS))


class SqliteRegistries:
    """The ``RegistryStore`` part of the SQLite store."""

    _db: Database

    async def insert_registry(self, registry: Registry) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name or id. With
        ``is_default`` the previous default loses it in the same transaction."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (registry.workspace_id,)) is None:
                raise NotFound("workspace", registry.workspace_id)
            if await tx.value("SELECT 1 FROM registries WHERE id = ?", (registry.id,)) is not None:
                raise Conflict(REGISTRY_ID_TAKEN)
            if registry.is_default:
                await _unset_default(tx, registry.workspace_id, registry.id)
            with duplicate_is_conflict(REGISTRY_NAME_TAKEN):
                await tx.insert("registries", registry_row(registry))

    async def get_registry(self, scope: Scope, registry_id: str) -> Registry | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM registries WHERE id = ? AND {where.sql}",  # noqa: S608
                (registry_id, *where.params),
            )
        return None if row is None else registry_from_row(row)

    async def list_registries(self, scope: Scope, workspace_id: str | None = None) -> list[Registry]:
        """By lower-cased name, then id; a workspace outside the scope has none."""
        where = in_scope(scope)
        conditions, params = [where.sql], [*where.params]
        if workspace_id is not None:
            conditions.append("workspace_id = ?")
            params.append(workspace_id)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM registries WHERE {' AND '.join(conditions)} "  # noqa: S608
                "ORDER BY name_lower, id",
                params,
            )
        return [registry_from_row(row) for row in rows]

    async def replace_registry(self, scope: Scope, registry: Registry) -> None:
        row = registry_row(registry)
        values = {column: row[column] for column in MUTABLE_FIELDS}
        async with self._db.transaction() as tx:
            with duplicate_is_conflict(REGISTRY_NAME_TAKEN):
                await update_in_scope(tx, "registries", registry.id, scope, values, kind="registry")

    async def delete_registry(self, scope: Scope, registry_id: str) -> None:
        """Its pull-Secret records go with it (``ON DELETE CASCADE``, in the same transaction)."""
        async with self._db.transaction() as tx:
            await delete_in_scope(tx, "registries", registry_id, scope, kind="registry")

    async def set_default_registry(self, scope: Scope, registry_id: str, at: datetime) -> Registry:
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            row = await tx.row(
                f"SELECT * FROM registries WHERE id = ? AND {where.sql}",  # noqa: S608
                (registry_id, *where.params),
            )
            if row is None:
                raise NotFound("registry", registry_id)
            registry = registry_from_row(row)
            if not registry.is_default:
                await _unset_default(tx, registry.workspace_id, registry_id)
                await tx.run(
                    "UPDATE registries SET is_default = 1, updated_at = ? WHERE id = ?",
                    (encode_datetime(at), registry_id),
                )
                row = await tx.row("SELECT * FROM registries WHERE id = ?", (registry_id,))
                assert row is not None
                registry = registry_from_row(row)
        return registry

    async def record_registry_check(self, registry_id: str, check: RegistryCheck) -> None:
        async with self._db.transaction() as tx:
            await tx.run(
                "UPDATE registries SET last_check = ? WHERE id = ?", (dumps(check_to_doc(check)), registry_id)
            )

    async def replace_pull_secrets(self, workflow_id: str, records: Sequence[PullSecretRecord]) -> None:
        for record in records:
            if record.workflow_id != workflow_id:
                raise ValueError(
                    f"a pull-Secret record of workflow {record.workflow_id!r}, not {workflow_id!r}"
                )
        async with self._db.transaction() as tx:
            await tx.run("DELETE FROM registry_pull_secrets WHERE workflow_id = ?", (workflow_id,))
            for record in records:
                if await _record_exists(tx, record):
                    await _upsert(tx, record)

    async def save_pull_secret(self, record: PullSecretRecord) -> None:
        async with self._db.transaction() as tx:
            if await _record_exists(tx, record):
                await _upsert(tx, record)

    async def delete_pull_secret(self, workflow_id: str, registry_id: str, namespace: str) -> None:
        async with self._db.transaction() as tx:
            await tx.run(
                "DELETE FROM registry_pull_secrets "
                "WHERE workflow_id = ? AND registry_id = ? AND namespace = ?",
                (workflow_id, registry_id, namespace),
            )

    async def pull_secrets_due(self, before: datetime) -> list[PullSecretRecord]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM registry_pull_secrets WHERE expires_at < ? AND expires_at != ? "
                "ORDER BY expires_at, workflow_id, registry_id, namespace",
                (encode_datetime(before), NEVER),
            )
        return [_pull_secret_from_row(row) for row in rows]

    async def list_pull_secrets(
        self, *, workflow_id: str | None = None, registry_id: str | None = None
    ) -> list[PullSecretRecord]:
        conditions, params = ["1 = 1"], []
        if workflow_id is not None:
            conditions.append("workflow_id = ?")
            params.append(workflow_id)
        if registry_id is not None:
            conditions.append("registry_id = ?")
            params.append(registry_id)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM registry_pull_secrets WHERE {' AND '.join(conditions)} "  # noqa: S608
                "ORDER BY cluster_id, namespace, registry_id, workflow_id",
                params,
            )
        return [_pull_secret_from_row(row) for row in rows]


async def reencrypt_registries(tx: Tx, transform: Callable[[str], str]) -> int:
    """Inside the keyring rotation's transaction: rewrite every registry's credentials ciphertext
    (anonymous registries have none); return how many."""
    count = 0
    for row in await tx.rows(
        "SELECT id, credentials_ciphertext FROM registries WHERE credentials_ciphertext IS NOT NULL"
    ):
        await tx.run(
            "UPDATE registries SET credentials_ciphertext = ? WHERE id = ?",
            (transform(str(row["credentials_ciphertext"])), row["id"]),
        )
        count += 1
    return count
