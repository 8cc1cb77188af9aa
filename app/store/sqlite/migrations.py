"""Forward-only schema migrations of the SQLite store.

:data:`MIGRATIONS` is an ordered list of numbered steps. At open, :func:`migrate` applies every step
whose number is not yet in ``schema_migrations``, in order, all in one ``BEGIN IMMEDIATE`` transaction
(SQLite's DDL is transactional): either every pending step is applied and recorded, or none is. A
database that records a step this code does not know was written by a newer Trellis and is refused.
Steps are never edited once released; a change of schema is a new step at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.store.codec import encode_datetime
from app.store.common import check_known, check_order
from app.store.sqlite.connection import Database


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, sessions, workspaces and memberships",
        (
            """CREATE TABLE users (
                id            TEXT PRIMARY KEY,
                email         TEXT NOT NULL COLLATE NOCASE,
                name          TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                role          TEXT NOT NULL,
                disabled      INTEGER NOT NULL,
                created_at    TEXT NOT NULL,
                updated_at    TEXT NOT NULL
            ) STRICT""",
            "CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE)",
            """CREATE TABLE sessions (
                id         TEXT PRIMARY KEY,
                user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at TEXT NOT NULL,
                revoked_at TEXT
            ) STRICT""",
            "CREATE INDEX sessions_user ON sessions (user_id)",
            """CREATE TABLE workspaces (
                id         TEXT PRIMARY KEY,
                name       TEXT NOT NULL,
                personal   INTEGER NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL
            ) STRICT""",
            """CREATE TABLE memberships (
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                role         TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                PRIMARY KEY (workspace_id, user_id)
            ) STRICT, WITHOUT ROWID""",
            "CREATE INDEX memberships_user ON memberships (user_id)",
        ),
    ),
    Migration(
        2,
        "workflows and versions",
        (
            """CREATE TABLE workflows (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id),
                name         TEXT NOT NULL,
                name_lower   TEXT NOT NULL,
                description  TEXT NOT NULL,
                status       TEXT NOT NULL,
                namespace    TEXT NOT NULL,
                cluster_id   TEXT,
                canvas       TEXT NOT NULL,
                revision     INTEGER NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                updated_at   TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX workflows_newest ON workflows (created_at DESC, id DESC)",
            "CREATE INDEX workflows_workspace_newest ON workflows (workspace_id, created_at DESC, id DESC)",
            "CREATE INDEX workflows_status ON workflows (status, created_at DESC, id DESC)",
            "CREATE INDEX workflows_name ON workflows (name)",
            """CREATE TABLE versions (
                id            TEXT PRIMARY KEY,
                workflow_id   TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
                workspace_id  TEXT NOT NULL,
                number        INTEGER NOT NULL,
                canvas        TEXT NOT NULL,
                tag           TEXT,
                description   TEXT NOT NULL,
                created_by    TEXT NOT NULL,
                created_at    TEXT NOT NULL,
                restored_from INTEGER,
                UNIQUE (workflow_id, number)
            ) STRICT""",
        ),
    ),
    Migration(
        3,
        "audit events",
        (
            """CREATE TABLE audit_events (
                id          TEXT PRIMARY KEY,
                at          TEXT NOT NULL,
                actor_id    TEXT,
                action      TEXT NOT NULL,
                target_type TEXT NOT NULL,
                target_id   TEXT,
                workspace_id TEXT,
                outcome     TEXT NOT NULL,
                error_code  TEXT,
                detail      TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX audit_newest ON audit_events (at DESC, id DESC)",
            "CREATE INDEX audit_actor_newest ON audit_events (actor_id, at DESC, id DESC)",
        ),
    ),
    Migration(
        4,
        "clusters, secret values and runs",
        (
            # name_lower is the Unicode-aware lower-cased name (SQLite's lower() folds ASCII only).
            """CREATE TABLE clusters (
                id                     TEXT PRIMARY KEY,
                workspace_id           TEXT NOT NULL REFERENCES workspaces (id),
                name                   TEXT NOT NULL,
                name_lower             TEXT NOT NULL,
                description            TEXT NOT NULL,
                auth_type              TEXT NOT NULL,
                server                 TEXT NOT NULL,
                credentials_ciphertext TEXT NOT NULL,
                created_by             TEXT NOT NULL,
                created_at             TEXT NOT NULL,
                updated_at             TEXT NOT NULL,
                last_probe             TEXT
            ) STRICT""",
            "CREATE UNIQUE INDEX clusters_workspace_name ON clusters (workspace_id, name_lower)",
            "CREATE INDEX clusters_name ON clusters (name_lower, id)",
            """CREATE TABLE secret_values (
                workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
                node_id     TEXT NOT NULL,
                ciphertext  TEXT NOT NULL,
                updated_at  TEXT NOT NULL,
                PRIMARY KEY (workflow_id, node_id)
            ) STRICT, WITHOUT ROWID""",
            # node_states, logs, pruned and warnings are JSON text; cluster_id is not a foreign key, so
            # removing a cluster keeps the history of the runs that deployed to it.
            """CREATE TABLE runs (
                id               TEXT PRIMARY KEY,
                workflow_id      TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
                workspace_id     TEXT NOT NULL,
                cluster_id       TEXT NOT NULL,
                version          INTEGER NOT NULL,
                status           TEXT NOT NULL,
                triggered_by     TEXT NOT NULL,
                started_by       TEXT NOT NULL,
                started_at       TEXT NOT NULL,
                owner            TEXT NOT NULL,
                heartbeat_at     TEXT NOT NULL,
                completed_at     TEXT,
                node_states      TEXT NOT NULL,
                logs             TEXT NOT NULL,
                pruned           TEXT NOT NULL,
                error            TEXT,
                cancel_requested INTEGER NOT NULL,
                warnings         TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX runs_workflow_newest ON runs (workflow_id, started_at DESC, id DESC)",
            "CREATE INDEX runs_status_heartbeat ON runs (status, heartbeat_at)",
            # At most one unfinished run per workflow, whatever writes it (start_run checks first).
            "CREATE UNIQUE INDEX runs_one_unfinished ON runs (workflow_id) "
            "WHERE status IN ('PENDING', 'RUNNING')",
        ),
    ),
    Migration(
        5,
        "node health, leases and exec tickets",
        (
            # facts is JSON text; a node's health goes with its workflow.
            """CREATE TABLE node_healths (
                workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
                node_id     TEXT NOT NULL,
                status      TEXT NOT NULL,
                message     TEXT NOT NULL,
                facts       TEXT NOT NULL,
                updated_at  TEXT NOT NULL,
                PRIMARY KEY (workflow_id, node_id)
            ) STRICT, WITHOUT ROWID""",
            """CREATE TABLE leases (
                name       TEXT PRIMARY KEY,
                owner      TEXT NOT NULL,
                expires_at TEXT NOT NULL
            ) STRICT, WITHOUT ROWID""",
            # command is a JSON array of strings; tickets are not tied to their workflow by a foreign
            # key: they live for seconds and are swept by expiry.
            """CREATE TABLE exec_tickets (
                id           TEXT PRIMARY KEY,
                user_id      TEXT NOT NULL,
                session_id   TEXT NOT NULL,
                workflow_id  TEXT NOT NULL,
                workspace_id TEXT NOT NULL,
                node_id      TEXT NOT NULL,
                namespace    TEXT NOT NULL,
                pod          TEXT NOT NULL,
                container    TEXT NOT NULL,
                command      TEXT NOT NULL,
                expires_at   TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX exec_tickets_expiry ON exec_tickets (expires_at)",
        ),
    ),
)

_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    number     INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
) STRICT"""


async def migrate(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the steps not applied yet, in one transaction; return their numbers."""
    check_order(migrations)
    async with db.transaction() as tx:
        await tx.run(_LEDGER)
        applied = {int(row[0]) for row in await tx.rows("SELECT number FROM schema_migrations")}
        check_known(applied, migrations, repr(db.path))
        pending = [step for step in migrations if step.number not in applied]
        for step in pending:
            for statement in step.statements:
                await tx.run(statement)
            await tx.run(
                "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (step.number, step.name, encode_datetime(datetime.now(UTC))),
            )
    return [step.number for step in pending]
