"""Forward-only schema migrations of the MongoDB store.

:data:`MIGRATIONS` is an ordered list of numbered steps; each creates collections and indexes or
seeds documents. At open, :func:`migrate` applies, in order, every step whose number is not yet in
the ``schema_migrations`` collection and records it there. Index builds cannot run inside a
transaction, so instead every step is idempotent (``create_index`` with the same specification is a
no-op, collections are created only when missing, seeds use ``$setOnInsert``): a step interrupted
half-way, or run by two instances starting together, is simply applied again. A database that
records a step this code does not know was written by a newer Trellis and is refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, DuplicateKeyError, OperationFailure

from app.store.codec import encode_datetime
from app.store.common import check_known, check_order
from app.store.mongo.connection import USERS_COUNTER
from app.store.mongo.documents import Doc

_NAMESPACE_EXISTS = 48


@dataclass(frozen=True, slots=True)
class MongoMigration:
    number: int
    name: str
    apply: Callable[[AsyncDatabase[Doc]], Awaitable[None]]


async def ensure_collections(db: AsyncDatabase[Doc], *names: str) -> None:
    """Create the collections that do not exist yet (transactions cannot create them on old servers)."""
    existing = set(await db.list_collection_names())
    for name in names:
        if name in existing:
            continue
        try:
            await db.create_collection(name)
        except CollectionInvalid:
            pass  # created meanwhile by another instance
        except OperationFailure as exc:
            if exc.code != _NAMESPACE_EXISTS:
                raise


async def _identity(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "users", "sessions", "workspaces", "memberships", "counters")
    # E-mails are stored lower-cased, so a plain unique index makes them unique case-insensitively.
    await db["users"].create_index([("email", 1)], unique=True, name="users_email")
    await db["sessions"].create_index([("user_id", 1)], name="sessions_user")
    await db["memberships"].create_index(
        [("workspace_id", 1), ("user_id", 1)], unique=True, name="memberships_workspace_user"
    )
    await db["memberships"].create_index([("user_id", 1)], name="memberships_user")
    users = await db["users"].count_documents({})
    await db["counters"].update_one({"_id": USERS_COUNTER}, {"$setOnInsert": {"count": users}}, upsert=True)


async def _workflows(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "workflows", "versions")
    await db["workflows"].create_index(
        [("workspace_id", 1), ("created_at", -1), ("_id", -1)], name="workflows_workspace_newest"
    )
    await db["workflows"].create_index([("created_at", -1), ("_id", -1)], name="workflows_newest")
    await db["workflows"].create_index(
        [("status", 1), ("created_at", -1), ("_id", -1)], name="workflows_status_newest"
    )
    await db["versions"].create_index(
        [("workflow_id", 1), ("number", 1)], unique=True, name="versions_number"
    )


async def _audit(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "audit_events")
    await db["audit_events"].create_index([("at", -1), ("_id", -1)], name="audit_newest")
    await db["audit_events"].create_index(
        [("actor_id", 1), ("at", -1), ("_id", -1)], name="audit_actor_newest"
    )


async def _clusters_secrets_runs(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "clusters", "secret_values", "runs")
    # name_lower is stored lower-cased, so a plain unique index makes names unique case-insensitively.
    await db["clusters"].create_index(
        [("workspace_id", 1), ("name_lower", 1)], unique=True, name="clusters_workspace_name"
    )
    await db["clusters"].create_index([("name_lower", 1), ("_id", 1)], name="clusters_name")
    await db["secret_values"].create_index(
        [("workflow_id", 1), ("node_id", 1)], unique=True, name="secret_values_workflow_node"
    )
    await db["runs"].create_index(
        [("workflow_id", 1), ("started_at", -1), ("_id", -1)], name="runs_workflow_newest"
    )
    await db["runs"].create_index([("status", 1), ("heartbeat_at", 1)], name="runs_status_heartbeat")


async def _live_state(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "node_healths", "leases", "exec_tickets")
    await db["node_healths"].create_index(
        [("workflow_id", 1), ("node_id", 1)], unique=True, name="node_healths_workflow_node"
    )
    await db["exec_tickets"].create_index([("expires_at", 1)], name="exec_tickets_expiry")


async def _git_credentials(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "git_credentials")
    # name_lower is stored lower-cased, so a plain unique index makes names unique case-insensitively.
    await db["git_credentials"].create_index(
        [("workspace_id", 1), ("name_lower", 1)], unique=True, name="git_credentials_workspace_name"
    )
    await db["git_credentials"].create_index(
        [("workspace_id", 1), ("host", 1)], name="git_credentials_workspace_host"
    )


async def _compose_imports(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "compose_imports")
    await db["compose_imports"].create_index(
        [("workspace_id", 1), ("created_at", -1)], name="compose_imports_workspace_newest"
    )
    await db["compose_imports"].create_index(
        [("status", 1), ("updated_at", 1)], name="compose_imports_status_updated"
    )


async def _registries(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "registries", "registry_pull_secrets")
    # name_lower is stored lower-cased, so a plain unique index makes names unique case-insensitively;
    # the partial unique index allows one default per workspace.
    await db["registries"].create_index(
        [("workspace_id", 1), ("name_lower", 1)], unique=True, name="registries_workspace_name"
    )
    await db["registries"].create_index(
        [("workspace_id", 1)],
        unique=True,
        partialFilterExpression={"is_default": True},
        name="registries_one_default",
    )
    await db["registries"].create_index([("name_lower", 1), ("_id", 1)], name="registries_name")
    await db["registry_pull_secrets"].create_index(
        [("workflow_id", 1), ("registry_id", 1), ("namespace", 1)],
        unique=True,
        name="registry_pull_secrets_key",
    )
    await db["registry_pull_secrets"].create_index([("expires_at", 1)], name="registry_pull_secrets_expiry")
    await db["registry_pull_secrets"].create_index(
        [("registry_id", 1)], name="registry_pull_secrets_registry"
    )


async def _builds(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "builds")
    await db["builds"].create_index(
        [("workspace_id", 1), ("created_at", -1), ("_id", -1)], name="builds_workspace_newest"
    )
    await db["builds"].create_index(
        [("workflow_id", 1), ("created_at", -1), ("_id", -1)], name="builds_workflow_newest"
    )
    await db["builds"].create_index(
        [("status", 1), ("created_at", 1), ("_id", 1)], name="builds_status_created"
    )


async def _identities(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "user_identities", "oauth_states", "oauth_codes")
    await db["user_identities"].create_index([("user_id", 1)], name="user_identities_user")
    await db["oauth_states"].create_index([("expires_at", 1)], name="oauth_states_expiry")
    await db["oauth_codes"].create_index([("expires_at", 1)], name="oauth_codes_expiry")


async def _people(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "invitations", "api_tokens", "password_resets")
    await db["invitations"].create_index(
        [("workspace_id", 1), ("created_at", -1), ("_id", 1)], name="invitations_workspace_newest"
    )
    await db["api_tokens"].create_index(
        [("user_id", 1), ("created_at", -1), ("_id", 1)], name="api_tokens_user_newest"
    )
    await db["api_tokens"].create_index([("workspace_id", 1)], name="api_tokens_workspace")
    await db["password_resets"].create_index([("user_id", 1)], name="password_resets_user")


async def _audit_origins(db: AsyncDatabase[Doc]) -> None:
    # The address and user_agent fields need no schema; older entries simply lack them.
    await db["audit_events"].create_index(
        [("workspace_id", 1), ("at", -1), ("_id", -1)], name="audit_workspace_newest"
    )


async def _flows_and_files(db: AsyncDatabase[Doc]) -> None:
    # Every workflow written before this step is a topology; the type never changes afterwards.
    await db["workflows"].update_many({"type": {"$exists": False}}, {"$set": {"type": "TOPOLOGY"}})
    await db["workflows"].create_index(
        [("type", 1), ("created_at", -1), ("_id", -1)], name="workflows_type_newest"
    )
    await ensure_collections(db, "workspace_files")
    await db["workspace_files"].create_index(
        [("workspace_id", 1), ("path", 1)], unique=True, name="workspace_files_path"
    )


async def _flow_runs_and_step_records(db: AsyncDatabase[Doc]) -> None:
    # Every run written before this step is a deploy run; the kind never changes afterwards.
    await db["runs"].update_many({"kind": {"$exists": False}}, {"$set": {"kind": "DEPLOY"}})
    await ensure_collections(db, "step_outputs", "step_log_lines", "step_log_counters")
    await db["step_outputs"].create_index(
        [("run_id", 1), ("node_id", 1), ("attempt", 1)], unique=True, name="step_outputs_key"
    )
    await db["step_log_lines"].create_index(
        [("run_id", 1), ("node_id", 1), ("seq", 1)], unique=True, name="step_log_lines_key"
    )
    await db["step_log_counters"].create_index(
        [("run_id", 1), ("node_id", 1)], unique=True, name="step_log_counters_key"
    )


async def _workspace_secrets(db: AsyncDatabase[Doc]) -> None:
    await ensure_collections(db, "workspace_secrets")
    await db["workspace_secrets"].create_index(
        [("workspace_id", 1), ("name", 1)], unique=True, name="workspace_secrets_name"
    )


async def _triggers(db: AsyncDatabase[Doc]) -> None:
    # Runs written before this step have no trigger_id (a person started them).
    await ensure_collections(db, "triggers", "trigger_deliveries", "trigger_fires")
    await db["triggers"].create_index([("workflow_id", 1), ("created_at", 1)], name="triggers_workflow")
    await db["triggers"].create_index([("kind", 1), ("enabled", 1)], name="triggers_kind_enabled")
    await db["triggers"].create_index([("source_workflow_id", 1)], name="triggers_source")
    # Deliveries and fires are unique by _id (trigger id + delivery id / fire time).
    await db["trigger_deliveries"].create_index([("trigger_id", 1)], name="trigger_deliveries_trigger")
    await db["trigger_fires"].create_index([("trigger_id", 1)], name="trigger_fires_trigger")


async def _data_collections(db: AsyncDatabase[Doc]) -> None:
    # A schema document holds its versions (``history``), so an update is one atomic document write.
    await ensure_collections(db, "data_schemas", "data_records")
    await db["data_schemas"].create_index(
        [("workspace_id", 1), ("collection", 1)], unique=True, name="data_schemas_collection"
    )
    await db["data_records"].create_index(
        [("workspace_id", 1), ("collection", 1), ("_id", 1)], name="data_records_collection"
    )


MIGRATIONS: tuple[MongoMigration, ...] = (
    MongoMigration(1, "users, sessions, workspaces and memberships", _identity),
    MongoMigration(2, "workflows and versions", _workflows),
    MongoMigration(3, "audit events", _audit),
    MongoMigration(4, "clusters, secret values and runs", _clusters_secrets_runs),
    MongoMigration(5, "node health, leases and exec tickets", _live_state),
    MongoMigration(6, "git credentials", _git_credentials),
    MongoMigration(7, "compose imports", _compose_imports),
    MongoMigration(8, "registries", _registries),
    MongoMigration(9, "builds", _builds),
    MongoMigration(10, "user identities, OAuth states and one-time codes", _identities),
    MongoMigration(11, "invitations, API tokens and password resets", _people),
    MongoMigration(12, "audit event origins and workspace index", _audit_origins),
    MongoMigration(13, "workflow types and workspace files", _flows_and_files),
    MongoMigration(14, "flow runs, step outputs and step logs", _flow_runs_and_step_records),
    MongoMigration(15, "workspace secrets", _workspace_secrets),
    MongoMigration(16, "flow triggers, webhook deliveries and schedule fires", _triggers),
    MongoMigration(17, "data collections: schemas, their versions and records", _data_collections),
)


async def migrate(db: AsyncDatabase[Doc], migrations: Sequence[MongoMigration] = MIGRATIONS) -> list[int]:
    """Apply the steps not applied yet, in order; return their numbers."""
    check_order(migrations)
    ledger = db["schema_migrations"]
    applied = {int(doc["_id"]) for doc in await ledger.find({}, projection={"_id": True}).to_list()}
    check_known(applied, migrations, f"database {db.name!r}")
    pending = [step for step in migrations if step.number not in applied]
    for step in pending:
        await step.apply(db)
        record = {"_id": step.number, "name": step.name, "applied_at": encode_datetime(datetime.now(UTC))}
        with contextlib.suppress(DuplicateKeyError):  # another instance recorded the same step meanwhile
            await ledger.insert_one(record)
    return [step.number for step in pending]
