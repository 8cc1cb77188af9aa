"""The SQLite store: every part of the ``Store`` port over one :class:`Database`."""

from __future__ import annotations

from collections.abc import Sequence

from app.store.sqlite.api_tokens import SqliteApiTokens
from app.store.sqlite.audit import SqliteAudit
from app.store.sqlite.backup import SqliteBackup
from app.store.sqlite.builds import SqliteBuilds
from app.store.sqlite.clusters import SqliteClusters
from app.store.sqlite.connection import Database, connect
from app.store.sqlite.data_collections import SqliteDataCollections
from app.store.sqlite.files import SqliteFiles
from app.store.sqlite.git import SqliteGitCredentials
from app.store.sqlite.identities import SqliteIdentities
from app.store.sqlite.imports import SqliteImports
from app.store.sqlite.invitations import SqliteInvitations
from app.store.sqlite.live import SqliteLiveState
from app.store.sqlite.migrations import MIGRATIONS, Migration, migrate
from app.store.sqlite.password_resets import SqlitePasswordResets
from app.store.sqlite.people import SqlitePeople
from app.store.sqlite.registries import SqliteRegistries
from app.store.sqlite.runs import SqliteRuns
from app.store.sqlite.secrets import SqliteSecretValues
from app.store.sqlite.step_records import SqliteStepRecords
from app.store.sqlite.triggers import SqliteTriggers
from app.store.sqlite.users import SqliteUsers
from app.store.sqlite.versions import SqliteVersions
from app.store.sqlite.workflows import SqliteWorkflows
from app.store.sqlite.workspace_secrets import SqliteWorkspaceSecrets
from app.store.sqlite.workspaces import SqliteWorkspaces


class SqliteStore(
    SqliteUsers,
    SqliteIdentities,
    SqlitePeople,
    SqliteInvitations,
    SqliteApiTokens,
    SqlitePasswordResets,
    SqliteWorkspaces,
    SqliteWorkflows,
    SqliteVersions,
    SqliteAudit,
    SqliteClusters,
    SqliteSecretValues,
    SqliteRuns,
    SqliteStepRecords,
    SqliteLiveState,
    SqliteGitCredentials,
    SqliteImports,
    SqliteRegistries,
    SqliteBuilds,
    SqliteFiles,
    SqliteDataCollections,
    SqliteWorkspaceSecrets,
    SqliteTriggers,
    SqliteBackup,
):
    """The embedded default store. Create it with :func:`open_sqlite`; ``close()`` it when done."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def path(self) -> str:
        return self._db.path

    async def ping(self) -> None:
        """``Unavailable`` if the database cannot be read (closed, unreadable, locked for too long)."""
        await self._db.ping()

    async def applied_migrations(self) -> list[int]:
        """The numbers recorded in ``schema_migrations``, in order (for diagnostics and tests)."""
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows("SELECT number FROM schema_migrations ORDER BY number")
        return [int(row[0]) for row in rows]

    async def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        await self._db.close()


async def open_sqlite(
    path: str, *, migrations: Sequence[Migration] = MIGRATIONS, busy_timeout_ms: int = 5000
) -> SqliteStore:
    """Open (creating if needed) the database at ``path`` or ``:memory:`` and migrate it."""
    db = await connect(path, busy_timeout_ms=busy_timeout_ms)
    try:
        await migrate(db, migrations)
    except BaseException:
        await db.close()
        raise
    return SqliteStore(db)
