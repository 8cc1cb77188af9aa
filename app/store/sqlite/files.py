"""Workspace files in SQLite: one row per (workspace, path), a unique index holding that rule, and an
upsert that replaces the content at a taken path and bumps its revision in one statement. A workspace's
files go with it (``ON DELETE CASCADE``)."""

from __future__ import annotations

from app.domain.files import WorkspaceFile
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.files import REPLACED_FIELDS, file_from_doc, file_to_doc
from app.store.sqlite.connection import Database, duplicate_is_conflict
from app.store.sqlite.scoping import delete_in_scope, in_scope

_COLUMNS = (
    "id",
    "workspace_id",
    "path",
    "content",
    "content_type",
    "size",
    "sha256",
    "revision",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
)
# Every name in it comes from the code, none from input.
_INSERT = f"INSERT INTO workspace_files ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "  # noqa: S608
_UPSERT = (
    _INSERT
    + "ON CONFLICT (workspace_id, path) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in REPLACED_FIELDS)
    + ", revision = workspace_files.revision + 1 RETURNING *"
)


class SqliteFiles:
    """The ``FileStore`` part of the SQLite store."""

    _db: Database

    async def put_file(self, file: WorkspaceFile) -> WorkspaceFile:
        row = file_to_doc(file)
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (file.workspace_id,)) is None:
                raise NotFound("workspace", file.workspace_id)
            with duplicate_is_conflict("a file with this id already exists"):
                stored = await tx.row(_UPSERT, tuple(row[column] for column in _COLUMNS))
        assert stored is not None  # RETURNING always yields the inserted or updated row
        return file_from_doc(dict(stored))

    async def get_file(self, scope: Scope, file_id: str) -> WorkspaceFile | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM workspace_files WHERE id = ? AND {where.sql}",  # noqa: S608
                (file_id, *where.params),
            )
        return None if row is None else file_from_doc(dict(row))

    async def list_files(self, scope: Scope, workspace_id: str) -> list[WorkspaceFile]:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM workspace_files WHERE workspace_id = ? AND {where.sql} ORDER BY path",  # noqa: S608
                (workspace_id, *where.params),
            )
        return [file_from_doc(dict(row)) for row in rows]

    async def delete_file(self, scope: Scope, file_id: str) -> None:
        async with self._db.transaction() as tx:
            await delete_in_scope(tx, "workspace_files", file_id, scope, kind="file")
