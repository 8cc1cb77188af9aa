"""Workspace secrets in SQLite: one row per (workspace, name) — its primary key — holding the value's
ciphertext, written with one upsert that keeps ``created_*``. A workspace's secrets go with it
(``ON DELETE CASCADE``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.domain.workspace_secrets import WorkspaceSecret
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.codec import dumps
from app.store.sqlite.connection import Database
from app.store.sqlite.scoping import in_scope
from app.store.workspace_secrets import REPLACED_FIELDS, secret_from_doc, secret_to_doc

_COLUMNS = (
    "workspace_id",
    "name",
    "description",
    "ciphertext",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
)
# Every name in it comes from the code, none from input.
_UPSERT = (
    f"INSERT INTO workspace_secrets ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "  # noqa: S608
    "ON CONFLICT (workspace_id, name) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in REPLACED_FIELDS)
    + " RETURNING *"
)


class SqliteWorkspaceSecrets:
    """The ``WorkspaceSecretStore`` part of the SQLite store."""

    _db: Database

    async def put_workspace_secret(self, secret: WorkspaceSecret, ciphertext: str) -> WorkspaceSecret:
        row = secret_to_doc(secret, ciphertext)
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (secret.workspace_id,)) is None:
                raise NotFound("workspace", secret.workspace_id)
            stored = await tx.row(_UPSERT, tuple(row[column] for column in _COLUMNS))
        assert stored is not None  # RETURNING always yields the inserted or updated row
        return secret_from_doc(dict(stored))

    async def list_workspace_secrets(self, scope: Scope, workspace_id: str) -> list[WorkspaceSecret]:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM workspace_secrets WHERE workspace_id = ? AND {where.sql} ORDER BY name",  # noqa: S608
                (workspace_id, *where.params),
            )
        return [secret_from_doc(dict(row)) for row in rows]

    async def get_workspace_secret(
        self, scope: Scope, workspace_id: str, name: str
    ) -> WorkspaceSecret | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM workspace_secrets WHERE workspace_id = ? AND name = ? AND {where.sql}",  # noqa: S608
                (workspace_id, name, *where.params),
            )
        return None if row is None else secret_from_doc(dict(row))

    async def delete_workspace_secret(self, scope: Scope, workspace_id: str, name: str) -> None:
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            deleted = await tx.run(
                f"DELETE FROM workspace_secrets WHERE workspace_id = ? AND name = ? AND {where.sql}",  # noqa: S608
                (workspace_id, name, *where.params),
            )
        if deleted == 0:
            raise NotFound("secret", name)

    async def workspace_secret_ciphertexts(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT name, ciphertext FROM workspace_secrets "
                "WHERE workspace_id = ? AND name IN (SELECT value FROM json_each(?))",
                (workspace_id, dumps(sorted(set(names)))),
            )
        return {str(row["name"]): str(row["ciphertext"]) for row in rows}

    async def reencrypt_workspace_secrets(self, transform: Callable[[str], str]) -> int:
        async with self._db.transaction() as tx:
            rows = await tx.rows("SELECT workspace_id, name, ciphertext FROM workspace_secrets")
            for row in rows:
                await tx.run(
                    "UPDATE workspace_secrets SET ciphertext = ? WHERE workspace_id = ? AND name = ?",
                    (transform(str(row["ciphertext"])), row["workspace_id"], row["name"]),
                )
        return len(rows)
