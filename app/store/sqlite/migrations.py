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
    Migration(
        6,
        "git credentials",
        (
            # name_lower carries the per-workspace unique name; host is stored normalised (lower case,
            # IDNA); username is NULL when none was given. A workspace's credentials go with it.
            """CREATE TABLE git_credentials (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                name         TEXT NOT NULL,
                name_lower   TEXT NOT NULL,
                host         TEXT NOT NULL,
                kind         TEXT NOT NULL,
                username     TEXT,
                ciphertext   TEXT NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL
            ) STRICT""",
            "CREATE UNIQUE INDEX git_credentials_workspace_name "
            "ON git_credentials (workspace_id, name_lower)",
            "CREATE INDEX git_credentials_workspace_host ON git_credentials (workspace_id, host)",
        ),
    ),
    Migration(
        7,
        "compose imports",
        (
            # options, logs, candidates and analysis are JSON text (the analysis holds Secret key names,
            # never values); commit_sha is NULL until the clone resolved the ref; secret_values_ciphertext
            # holds the analysis's Secret values encrypted with the keyring (NULL when there are none).
            # Imports go with their workspace.
            """CREATE TABLE compose_imports (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                created_by   TEXT NOT NULL,
                url          TEXT NOT NULL,
                ref          TEXT,
                path         TEXT,
                options      TEXT NOT NULL,
                status       TEXT NOT NULL,
                percent      INTEGER NOT NULL,
                logs         TEXT NOT NULL,
                error        TEXT,
                message      TEXT,
                candidates   TEXT NOT NULL,
                commit_sha   TEXT,
                analysis     TEXT,
                created_at   TEXT NOT NULL,
                updated_at   TEXT NOT NULL,
                revision     INTEGER NOT NULL,
                secret_values_ciphertext TEXT
            ) STRICT""",
            "CREATE INDEX compose_imports_workspace_newest "
            "ON compose_imports (workspace_id, created_at DESC)",
            "CREATE INDEX compose_imports_status_updated ON compose_imports (status, updated_at)",
        ),
    ),
    Migration(
        8,
        "registries",
        (
            # name_lower carries the per-workspace unique name; at most one default per workspace (a
            # partial unique index); credentials_ciphertext is NULL for anonymous access; last_check is
            # JSON text. A workspace's registries go with it.
            """CREATE TABLE registries (
                id                     TEXT PRIMARY KEY,
                workspace_id           TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                name                   TEXT NOT NULL,
                name_lower             TEXT NOT NULL,
                type                   TEXT NOT NULL,
                url                    TEXT NOT NULL,
                insecure               INTEGER NOT NULL,
                is_default             INTEGER NOT NULL,
                credentials_ciphertext TEXT,
                created_by             TEXT NOT NULL,
                created_at             TEXT NOT NULL,
                updated_at             TEXT NOT NULL,
                last_check             TEXT
            ) STRICT""",
            "CREATE UNIQUE INDEX registries_workspace_name ON registries (workspace_id, name_lower)",
            "CREATE UNIQUE INDEX registries_one_default ON registries (workspace_id) WHERE is_default = 1",
            "CREATE INDEX registries_name ON registries (name_lower, id)",
            # Image pull Secrets applied for a workflow's runs whose credentials expire (ECR), so they
            # are refreshed in time; they go with their workflow and their registry.
            """CREATE TABLE registry_pull_secrets (
                workflow_id  TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
                registry_id  TEXT NOT NULL REFERENCES registries (id) ON DELETE CASCADE,
                namespace    TEXT NOT NULL,
                workspace_id TEXT NOT NULL,
                cluster_id   TEXT NOT NULL,
                expires_at   TEXT NOT NULL,
                applied_at   TEXT NOT NULL,
                PRIMARY KEY (workflow_id, registry_id, namespace)
            ) STRICT, WITHOUT ROWID""",
            "CREATE INDEX registry_pull_secrets_expiry ON registry_pull_secrets (expires_at)",
            "CREATE INDEX registry_pull_secrets_registry ON registry_pull_secrets (registry_id)",
        ),
    ),
    Migration(
        9,
        "builds",
        (
            # build_args, logs and lines_seen are JSON text; started_at is NULL while the build waits in
            # the queue; cluster_id, registry_id and workflow_id are not foreign keys, so removing a
            # cluster, a registry or a workflow keeps the history of its builds. Builds go with their
            # workspace.
            """CREATE TABLE builds (
                id               TEXT PRIMARY KEY,
                workspace_id     TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                created_by       TEXT NOT NULL,
                cluster_id       TEXT NOT NULL,
                registry_id      TEXT NOT NULL,
                repo_url         TEXT NOT NULL,
                ref              TEXT,
                context_path     TEXT NOT NULL,
                dockerfile_path  TEXT NOT NULL,
                use_nixpacks     INTEGER NOT NULL,
                target           TEXT,
                build_args       TEXT NOT NULL,
                image_repository TEXT NOT NULL,
                image_name       TEXT NOT NULL,
                image_tag        TEXT NOT NULL,
                workflow_id      TEXT,
                node_id          TEXT,
                status           TEXT NOT NULL,
                error_stage      TEXT,
                message          TEXT,
                percent          INTEGER NOT NULL,
                digest           TEXT,
                commit_sha       TEXT,
                created_at       TEXT NOT NULL,
                updated_at       TEXT NOT NULL,
                started_at       TEXT,
                finished_at      TEXT,
                logs             TEXT NOT NULL,
                trimmed          INTEGER NOT NULL,
                lines_seen       TEXT NOT NULL,
                owner            TEXT,
                heartbeat_at     TEXT,
                revision         INTEGER NOT NULL,
                secret_deleted   INTEGER NOT NULL
            ) STRICT""",
            "CREATE INDEX builds_workspace_newest ON builds (workspace_id, created_at DESC, id DESC)",
            "CREATE INDEX builds_workflow_newest ON builds (workflow_id, created_at DESC, id DESC)",
            "CREATE INDEX builds_status_created ON builds (status, created_at, id)",
        ),
    ),
    Migration(
        10,
        "user identities, OAuth states and one-time codes",
        (
            # A provider account (provider id, its subject) linked to a user; it goes with the user.
            """CREATE TABLE user_identities (
                provider   TEXT NOT NULL,
                subject    TEXT NOT NULL,
                user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                email      TEXT,
                created_at TEXT NOT NULL,
                PRIMARY KEY (provider, subject)
            ) STRICT, WITHOUT ROWID""",
            "CREATE INDEX user_identities_user ON user_identities (user_id)",
            # Authorization requests in flight (id: the state's SHA-256) and one-time codes (id: the code's
            # SHA-256); both live for minutes at most and are swept by expiry.
            """CREATE TABLE oauth_states (
                id            TEXT PRIMARY KEY,
                provider      TEXT NOT NULL,
                code_verifier TEXT NOT NULL,
                nonce         TEXT,
                redirect      TEXT NOT NULL,
                invitation    TEXT,
                expires_at    TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX oauth_states_expiry ON oauth_states (expires_at)",
            """CREATE TABLE oauth_codes (
                id         TEXT PRIMARY KEY,
                user_id    TEXT NOT NULL,
                session_id TEXT NOT NULL,
                expires_at TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at)",
        ),
    ),
    Migration(
        11,
        "invitations, API tokens and password resets",
        (
            # Only SHA-256 hashes of the tokens are stored (the tokens are shown once). Invitations go
            # with their workspace; API tokens with their user or workspace; resets with their user.
            """CREATE TABLE invitations (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                email        TEXT NOT NULL,
                role         TEXT NOT NULL,
                token_hash   TEXT NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                expires_at   TEXT NOT NULL,
                accepted_at  TEXT,
                accepted_by  TEXT,
                revoked_at   TEXT
            ) STRICT""",
            "CREATE INDEX invitations_workspace_newest ON invitations (workspace_id, created_at DESC, id)",
            """CREATE TABLE api_tokens (
                id           TEXT PRIMARY KEY,
                user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                name         TEXT NOT NULL,
                role         TEXT NOT NULL,
                token_hash   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                expires_at   TEXT,
                last_used_at TEXT,
                revoked_at   TEXT
            ) STRICT""",
            "CREATE INDEX api_tokens_user_newest ON api_tokens (user_id, created_at DESC, id)",
            "CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id)",
            """CREATE TABLE password_resets (
                id         TEXT PRIMARY KEY,
                user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                token_hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                used_at    TEXT
            ) STRICT""",
            "CREATE INDEX password_resets_user ON password_resets (user_id)",
        ),
    ),
    Migration(
        12,
        "audit event origins and workspace index",
        (
            # Where each audited request came from; NULL for entries written before this step and for
            # work the server started itself.
            "ALTER TABLE audit_events ADD COLUMN address TEXT",
            "ALTER TABLE audit_events ADD COLUMN user_agent TEXT",
            "CREATE INDEX audit_workspace_newest ON audit_events (workspace_id, at DESC, id DESC)",
        ),
    ),
    Migration(
        13,
        "workflow types and workspace files",
        (
            # Every workflow written before this step is a topology; the type never changes afterwards.
            "ALTER TABLE workflows ADD COLUMN type TEXT NOT NULL DEFAULT 'TOPOLOGY'",
            "CREATE INDEX workflows_type_newest ON workflows (type, created_at DESC, id DESC)",
            # Scripts shared by flow steps: one row per (workspace, path), content as text.
            """CREATE TABLE workspace_files (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                path         TEXT NOT NULL,
                content      TEXT NOT NULL,
                content_type TEXT NOT NULL,
                size         INTEGER NOT NULL,
                sha256       TEXT NOT NULL,
                revision     INTEGER NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                updated_by   TEXT NOT NULL,
                updated_at   TEXT NOT NULL
            ) STRICT""",
            "CREATE UNIQUE INDEX workspace_files_path ON workspace_files (workspace_id, path)",
        ),
    ),
    Migration(
        14,
        "flow runs, step outputs and step logs",
        (
            # Every run written before this step is a deploy run; trigger_data is JSON text (NULL: none).
            "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'DEPLOY'",
            "ALTER TABLE runs ADD COLUMN trigger_data TEXT",
            # Outputs posted back by steps, accepted once per attempt; output is JSON text.
            """CREATE TABLE step_outputs (
                run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                node_id     TEXT NOT NULL,
                attempt     INTEGER NOT NULL,
                output      TEXT NOT NULL,
                size        INTEGER NOT NULL,
                received_at TEXT NOT NULL,
                PRIMARY KEY (run_id, node_id, attempt)
            ) STRICT, WITHOUT ROWID""",
            # Step logs, numbered per (run, step) by seq; trimmed lines leave a gap in seq.
            """CREATE TABLE step_log_lines (
                run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                node_id TEXT NOT NULL,
                seq     INTEGER NOT NULL,
                at      TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                level   TEXT NOT NULL,
                message TEXT NOT NULL,
                PRIMARY KEY (run_id, node_id, seq)
            ) STRICT, WITHOUT ROWID""",
        ),
    ),
    Migration(
        15,
        "workspace secrets",
        (
            # One row per (workspace, name); the value only as its ciphertext. Goes with its workspace.
            """CREATE TABLE workspace_secrets (
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                name         TEXT NOT NULL,
                description  TEXT NOT NULL,
                ciphertext   TEXT NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                updated_by   TEXT NOT NULL,
                updated_at   TEXT NOT NULL,
                PRIMARY KEY (workspace_id, name)
            ) STRICT, WITHOUT ROWID""",
        ),
    ),
    Migration(
        16,
        "flow triggers, webhook deliveries and schedule fires",
        (
            # The trigger that started a run (NULL: a person did).
            "ALTER TABLE runs ADD COLUMN trigger_id TEXT",
            # config is JSON text (a webhook's secret inside it is encrypted with the keyring).
            """CREATE TABLE triggers (
                id                 TEXT PRIMARY KEY,
                workflow_id        TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
                workspace_id       TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                kind               TEXT NOT NULL,
                name               TEXT NOT NULL,
                enabled            INTEGER NOT NULL,
                config             TEXT NOT NULL,
                source_workflow_id TEXT,
                created_by         TEXT NOT NULL,
                created_at         TEXT NOT NULL,
                updated_at         TEXT NOT NULL,
                last_fired_at      TEXT,
                last_run_id        TEXT,
                cursor_at          TEXT
            ) STRICT""",
            "CREATE INDEX triggers_workflow ON triggers (workflow_id, created_at)",
            "CREATE INDEX triggers_kind_enabled ON triggers (kind, enabled)",
            "CREATE INDEX triggers_source ON triggers (source_workflow_id)",
            # One row per delivery a sender made (its retries carry the same id): a replay starts nothing.
            """CREATE TABLE trigger_deliveries (
                trigger_id  TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
                delivery_id TEXT NOT NULL,
                run_id      TEXT NOT NULL,
                received_at TEXT NOT NULL,
                PRIMARY KEY (trigger_id, delivery_id)
            ) STRICT, WITHOUT ROWID""",
            # One row per schedule fire time: of several server processes exactly one inserts it.
            """CREATE TABLE trigger_fires (
                trigger_id TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
                fire_at    TEXT NOT NULL,
                fired_at   TEXT NOT NULL,
                PRIMARY KEY (trigger_id, fire_at)
            ) STRICT, WITHOUT ROWID""",
        ),
    ),
    Migration(
        17,
        "data collections: schemas, their versions and records",
        (
            # The current schema of each collection (JSON text); every version is kept beside it.
            """CREATE TABLE data_schemas (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                collection   TEXT NOT NULL,
                schema       TEXT NOT NULL,
                version      INTEGER NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                updated_by   TEXT NOT NULL,
                updated_at   TEXT NOT NULL
            ) STRICT""",
            "CREATE UNIQUE INDEX data_schemas_collection ON data_schemas (workspace_id, collection)",
            """CREATE TABLE data_schema_versions (
                schema_id  TEXT NOT NULL REFERENCES data_schemas (id) ON DELETE CASCADE,
                version    INTEGER NOT NULL,
                schema     TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (schema_id, version)
            ) STRICT, WITHOUT ROWID""",
            # Records as JSON text, listed by id within their collection.
            """CREATE TABLE data_records (
                id           TEXT PRIMARY KEY,
                workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                collection   TEXT NOT NULL,
                data         TEXT NOT NULL,
                revision     INTEGER NOT NULL,
                created_by   TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                updated_by   TEXT NOT NULL,
                updated_at   TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX data_records_collection ON data_records (workspace_id, collection, id)",
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
