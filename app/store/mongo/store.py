"""The MongoDB store: every part of the ``Store`` port over one :class:`MongoDatabase`."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError

from app.store.mongo.api_tokens import MongoApiTokens
from app.store.mongo.audit import MongoAudit
from app.store.mongo.backup import MongoBackup
from app.store.mongo.builds import MongoBuilds
from app.store.mongo.clusters import MongoClusters
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.data_collections import MongoDataCollections
from app.store.mongo.documents import Doc
from app.store.mongo.files import MongoFiles
from app.store.mongo.git import MongoGitCredentials
from app.store.mongo.identities import MongoIdentities
from app.store.mongo.imports import MongoImports
from app.store.mongo.invitations import MongoInvitations
from app.store.mongo.live import MongoLiveState
from app.store.mongo.migrations import MIGRATIONS, MongoMigration, migrate
from app.store.mongo.password_resets import MongoPasswordResets
from app.store.mongo.people import MongoPeople
from app.store.mongo.registries import MongoRegistries
from app.store.mongo.runs import MongoRuns
from app.store.mongo.secrets import MongoSecretValues
from app.store.mongo.step_records import MongoStepRecords
from app.store.mongo.triggers import MongoTriggers
from app.store.mongo.users import MongoUsers
from app.store.mongo.versions import MongoVersions
from app.store.mongo.workflows import MongoWorkflows
from app.store.mongo.workspace_secrets import MongoWorkspaceSecrets
from app.store.mongo.workspaces import MongoWorkspaces

DEFAULT_DATABASE = "trellis"


class MongoStore(
    MongoUsers,
    MongoIdentities,
    MongoPeople,
    MongoInvitations,
    MongoApiTokens,
    MongoPasswordResets,
    MongoWorkspaces,
    MongoWorkflows,
    MongoVersions,
    MongoAudit,
    MongoClusters,
    MongoSecretValues,
    MongoRuns,
    MongoStepRecords,
    MongoLiveState,
    MongoGitCredentials,
    MongoImports,
    MongoRegistries,
    MongoBuilds,
    MongoFiles,
    MongoDataCollections,
    MongoWorkspaceSecrets,
    MongoTriggers,
    MongoBackup,
):
    """The MongoDB store. Create it with :func:`open_mongo`; ``close()`` it when done."""

    def __init__(self, m: MongoDatabase) -> None:
        self._m = m

    @property
    def database_name(self) -> str:
        return self._m.db.name

    async def ping(self) -> None:
        """``Unavailable`` if no server answers within the client's server selection timeout."""
        await self._m.ping()

    async def applied_migrations(self) -> list[int]:
        """The numbers recorded in ``schema_migrations``, in order (for diagnostics and tests)."""
        with translate_errors():
            docs = (
                await self._m.db["schema_migrations"]
                .find({}, projection={"_id": True}, sort=[("_id", 1)])
                .to_list()
            )
        return [int(doc["_id"]) for doc in docs]

    async def close(self) -> None:
        """Close the client; closing twice is harmless."""
        await self._m.close()


def _client(url: str) -> AsyncMongoClient[Doc]:
    try:
        return AsyncMongoClient(url)
    except (ConfigurationError, ValueError) as exc:
        raise ValueError(f"invalid MongoDB URL: {exc}") from exc


async def _require_transactions(client: AsyncMongoClient[Doc]) -> None:
    """Transactions need a replica set member or a mongos; refuse a standalone server up front."""
    hello = await client["admin"].command("hello")
    if "setName" not in hello and hello.get("msg") != "isdbgrid":
        raise RuntimeError(
            "the MongoDB server is a standalone server, but Trellis needs transactions, which need a "
            "replica set (a single-node one will do: start mongod with --replSet rs0 and run "
            "rs.initiate()) or a sharded cluster"
        )


async def open_mongo(
    url: str, *, database: str | None = None, migrations: Sequence[MongoMigration] = MIGRATIONS
) -> MongoStore:
    """Connect to ``url``, check that it supports transactions, and migrate the database.

    The database is ``database`` if given, else the one named in the URL's path, else ``trellis``.
    ``ValueError`` for a malformed URL; ``Unavailable`` when no server answers (the URL's
    ``serverSelectionTimeoutMS`` sets how long to wait, 30 s by default).
    """
    client = _client(url)
    try:
        db = client[database] if database else client.get_default_database(default=DEFAULT_DATABASE)
        with translate_errors():
            await _require_transactions(client)
            await migrate(db, migrations)
    except BaseException:
        await client.close()
        raise
    return MongoStore(MongoDatabase(client, db))


async def drop_mongo_database(url: str, database: str) -> None:
    """Drop ``database`` (every record of a store); for test runs and tooling, never called by the app."""
    client = _client(url)
    try:
        with translate_errors():
            await client.drop_database(database)
    finally:
        await client.close()
