"""Git credentials in SQLite: unique per workspace by lower-cased name; the secret only as ciphertext."""

from __future__ import annotations

from collections.abc import Callable

from app.domain.git import GitCredential
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.store.git_credentials import (
    GIT_CREDENTIAL_ID_TAKEN,
    GIT_CREDENTIAL_NAME_TAKEN,
    git_credential_from_doc,
    git_credential_to_doc,
)
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.scoping import delete_in_scope, in_scope


class SqliteGitCredentials:
    """The ``GitCredentialStore`` part of the SQLite store. Every method is one transaction; a taken
    name is caught by the unique index on ``(workspace_id, name_lower)``, so two concurrent writers
    cannot both take it. A workspace's credentials are deleted with it (``ON DELETE CASCADE``)."""

    _db: Database

    async def insert_git_credential(self, credential: GitCredential) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name or id."""
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (credential.workspace_id,)) is None:
                raise NotFound("workspace", credential.workspace_id)
            if await tx.value("SELECT 1 FROM git_credentials WHERE id = ?", (credential.id,)) is not None:
                raise Conflict(GIT_CREDENTIAL_ID_TAKEN)
            with duplicate_is_conflict(GIT_CREDENTIAL_NAME_TAKEN):
                await tx.insert("git_credentials", git_credential_to_doc(credential))

    async def get_git_credential(self, scope: Scope, credential_id: str) -> GitCredential | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM git_credentials WHERE id = ? AND {where.sql}",  # noqa: S608
                (credential_id, *where.params),
            )
        return None if row is None else git_credential_from_doc(dict(row))

    async def list_git_credentials(self, scope: Scope, workspace_id: str) -> list[GitCredential]:
        """By lower-cased name, then id; a workspace outside the scope has none."""
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM git_credentials WHERE workspace_id = ? AND {where.sql} "  # noqa: S608
                "ORDER BY name_lower, id",
                (workspace_id, *where.params),
            )
        return [git_credential_from_doc(dict(row)) for row in rows]

    async def delete_git_credential(self, scope: Scope, credential_id: str) -> None:
        """``NotFound`` outside scope."""
        async with self._db.transaction() as tx:
            await delete_in_scope(tx, "git_credentials", credential_id, scope, kind="Git credential")


async def reencrypt_git_credentials(tx: Tx, transform: Callable[[str], str]) -> int:
    """Inside ``reencrypt``'s transaction: rewrite every Git credential's ciphertext; return how many."""
    count = 0
    for row in await tx.rows("SELECT id, ciphertext FROM git_credentials"):
        await tx.run(
            "UPDATE git_credentials SET ciphertext = ? WHERE id = ?",
            (transform(str(row["ciphertext"])), row["id"]),
        )
        count += 1
    return count
