"""Forward-only migrations: applied at open, in one transaction, only the new ones, never unknown ones."""

from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from app.domain.health import HealthStatus
from app.domain.runs import RunKind, RunStatus, StepOutputRecord
from app.domain.workspaces import Scope
from app.store import sqlite as sqlite_backend
from app.store.codec import encode_datetime
from app.store.common import SchemaTooNewError
from app.store.opening import open_store
from app.store.sqlite import MIGRATIONS, Migration, migrate, open_sqlite
from tests.store.builders import T0, Make, mongo_url

ALL = [step.number for step in MIGRATIONS]
# The steps released before clusters, Secret node values and runs (step 4) were added.
BEFORE_RUNS = [step for step in MIGRATIONS if step.number <= 3]
# The steps released before node health, leases and exec tickets (step 5) were added.
BEFORE_LIVE = [step for step in MIGRATIONS if step.number <= 4]


async def ledger(path: Path) -> dict[int, str]:
    async with aiosqlite.connect(path) as raw:
        rows = await raw.execute_fetchall("SELECT number, applied_at FROM schema_migrations ORDER BY number")
    return {int(number): str(applied_at) for number, applied_at in rows}


async def tables(path: Path) -> set[str]:
    async with aiosqlite.connect(path) as raw:
        rows = await raw.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(name) for (name,) in rows}


async def test_a_new_database_gets_every_step(tmp_path: Path) -> None:
    path = tmp_path / "trellis.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        assert await store.applied_migrations() == [step.number for step in MIGRATIONS]  # type: ignore[attr-defined]
    finally:
        await store.close()

    assert list(await ledger(path)) == ALL
    assert {
        "users",
        "sessions",
        "workspaces",
        "memberships",
        "workflows",
        "versions",
        "audit_events",
        "clusters",
        "secret_values",
        "runs",
        "node_healths",
        "leases",
        "exec_tickets",
        "step_outputs",
        "step_log_lines",
    } <= await tables(path)


async def test_reopening_applies_only_the_new_steps_and_keeps_the_data(tmp_path: Path, make: Make) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=MIGRATIONS[:1])
    try:
        user, workspace = await make.register(old)  # step 1 holds users and workspaces
    finally:
        await old.close()
    before = await ledger(path)
    assert list(before) == [1]
    assert "workflows" not in await tables(path)

    new = await open_store(f"sqlite:///{path}")
    try:
        after = await ledger(path)
        assert list(after) == ALL
        assert after[1] == before[1]  # step 1 was not applied again
        assert await new.get_user(user.id) == user
        workflow = make.workflow(workspace.id)
        await new.insert_workflow(workflow)
        assert await new.get_workflow(Scope.of([workspace.id]), workflow.id) == workflow
    finally:
        await new.close()


async def test_migrate_returns_the_steps_it_applied(tmp_path: Path) -> None:
    store = await open_sqlite(str(tmp_path / "trellis.db"))
    extra = Migration(ALL[-1] + 1, "an index", ("CREATE INDEX users_name ON users (name)",))
    try:
        assert await migrate(store._db) == []
        assert await migrate(store._db, (*MIGRATIONS, extra)) == [extra.number]
        assert await migrate(store._db, (*MIGRATIONS, extra)) == []
        assert await store.applied_migrations() == [*ALL, extra.number]
    finally:
        await store.close()


async def test_a_failing_step_rolls_back_every_pending_step(tmp_path: Path) -> None:
    path = tmp_path / "trellis.db"
    await (await open_sqlite(str(path), migrations=MIGRATIONS[:1])).close()
    broken = (
        *MIGRATIONS,
        Migration(ALL[-1] + 1, "fine on its own", ("CREATE TABLE extra (x INTEGER)",)),
        Migration(ALL[-1] + 2, "broken", ("CREATE TABLE broken (",)),
    )

    with pytest.raises(sqlite3.OperationalError):
        await open_sqlite(str(path), migrations=broken)

    assert list(await ledger(path)) == [1]
    assert {"workflows", "versions", "audit_events", "runs", "extra"}.isdisjoint(await tables(path))
    store = await open_sqlite(str(path))  # the released steps still apply afterwards
    await store.close()
    assert list(await ledger(path)) == ALL


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "trellis.db"
    await (await open_sqlite(str(path))).close()

    with pytest.raises(SchemaTooNewError, match=re.escape(str(ALL[2:]))):
        await open_sqlite(str(path), migrations=MIGRATIONS[:2])
    assert list(await ledger(path)) == ALL


async def test_steps_must_be_in_increasing_order(tmp_path: Path) -> None:
    shuffled = (MIGRATIONS[1], MIGRATIONS[0])

    with pytest.raises(ValueError, match="out of order"):
        await open_sqlite(str(tmp_path / "trellis.db"), migrations=shuffled)


def test_released_steps_are_numbered_one_to_n() -> None:
    assert [step.number for step in sqlite_backend.MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    from app.store.mongo import MIGRATIONS as MONGO_MIGRATIONS

    assert [step.number for step in MONGO_MIGRATIONS] == list(range(1, len(MONGO_MIGRATIONS) + 1))


@pytest.mark.mongo
async def test_mongo_reopening_applies_only_the_new_steps(make: Make) -> None:
    from app.store.mongo import MIGRATIONS as MONGO_MIGRATIONS
    from app.store.mongo import drop_mongo_database, open_mongo

    url = mongo_url()
    name = f"trellis_test_{uuid.uuid4().hex[:16]}"
    try:
        old = await open_mongo(url, database=name, migrations=MONGO_MIGRATIONS[:1])
        try:
            assert await old.applied_migrations() == [1]
            user, _ = await make.register(old)
        finally:
            await old.close()
        new = await open_mongo(url, database=name)
        try:
            assert await new.applied_migrations() == [step.number for step in MONGO_MIGRATIONS]
            assert await new.get_user(user.id) == user
        finally:
            await new.close()
        with pytest.raises(SchemaTooNewError):
            await open_mongo(url, database=name, migrations=MONGO_MIGRATIONS[:2])
    finally:
        await drop_mongo_database(url, name)


async def indexes(path: Path, table: str) -> set[str]:
    async with aiosqlite.connect(path) as raw:
        rows = await raw.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        )
    return {str(name) for (name,) in rows}


async def test_a_database_from_before_runs_upgrades_to_clusters_secrets_and_runs(
    tmp_path: Path, make: Make
) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=BEFORE_RUNS)
    try:
        user, workspace, scope = await make.tenant(old)
        workflow = make.workflow(workspace.id)
        await old.insert_workflow(workflow)
        versions = [await old.create_version(scope, workflow.id, make.draft(user.id)) for _ in range(2)]
    finally:
        await old.close()
    before = await ledger(path)
    assert list(before) == [1, 2, 3]
    assert {"clusters", "secret_values", "runs"}.isdisjoint(await tables(path))

    new = await open_store(f"sqlite:///{path}")
    try:
        after = await ledger(path)
        assert list(after) == ALL
        assert {number: after[number] for number in before} == before  # old steps not applied again
        assert await indexes(path, "runs") >= {
            "runs_workflow_newest",
            "runs_status_heartbeat",
            "runs_one_unfinished",
        }
        assert "clusters_workspace_name" in await indexes(path, "clusters")
        # the old records are intact and the new operations work on them
        assert await new.get_workflow(scope, workflow.id) == workflow
        assert [v.number for v in (await new.list_versions(scope, workflow.id, 10, None)).items] == [2, 1]
        assert await new.get_version(scope, workflow.id, 1) == versions[0]
        cluster = make.cluster(workspace.id)
        await new.insert_cluster(cluster)
        version, run = await new.start_run(
            scope, make.draft(user.id), make.run(workflow, cluster_id=cluster.id)
        )
        assert (version.number, run.version) == (3, 3)
        await new.put_secret_values(workflow.id, "db", "cipher", make.at())
        await new.delete_workflow(scope, workflow.id)
        assert await new.get_run(scope, run.id) is None
        assert await new.secret_values(workflow.id) == {}
        assert await new.get_cluster(scope, cluster.id) == cluster
    finally:
        await new.close()


@pytest.mark.mongo
async def test_mongo_database_from_before_runs_upgrades(make: Make) -> None:
    from app.store.mongo import MIGRATIONS as MONGO_MIGRATIONS
    from app.store.mongo import drop_mongo_database, open_mongo

    url = mongo_url()
    name = f"trellis_test_{uuid.uuid4().hex[:16]}"
    try:
        old = await open_mongo(url, database=name, migrations=MONGO_MIGRATIONS[:3])
        try:
            user, workspace, scope = await make.tenant(old)
            workflow = make.workflow(workspace.id)
            await old.insert_workflow(workflow)
            await old.create_version(scope, workflow.id, make.draft(user.id))
        finally:
            await old.close()
        new = await open_mongo(url, database=name)
        try:
            assert await new.applied_migrations() == [step.number for step in MONGO_MIGRATIONS]
            index_names = {index["name"] for index in await (await new._m.runs.list_indexes()).to_list()}
            assert {"runs_workflow_newest", "runs_status_heartbeat"} <= index_names
            version, run = await new.start_run(scope, make.draft(user.id), make.run(workflow))
            assert (version.number, run.version) == (2, 2)
            cluster = make.cluster(workspace.id)
            await new.insert_cluster(cluster)
            assert await new.get_cluster(scope, cluster.id) == cluster
        finally:
            await new.close()
    finally:
        await drop_mongo_database(url, name)


async def test_a_database_from_before_live_state_upgrades_to_node_health_leases_and_tickets(
    tmp_path: Path, make: Make
) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=BEFORE_LIVE)
    try:
        user, workspace, scope = await make.tenant(old)
        workflow = make.workflow(workspace.id)
        await old.insert_workflow(workflow)
        _, run = await old.start_run(scope, make.draft(user.id), make.run(workflow))
        await old.put_secret_values(workflow.id, "db", "cipher", make.at())
    finally:
        await old.close()
    before = await ledger(path)
    assert list(before) == [1, 2, 3, 4]
    assert {"node_healths", "leases", "exec_tickets"}.isdisjoint(await tables(path))

    new = await open_store(f"sqlite:///{path}")
    try:
        after = await ledger(path)
        assert list(after) == ALL
        assert {number: after[number] for number in before} == before  # old steps not applied again
        assert "exec_tickets_expiry" in await indexes(path, "exec_tickets")
        # the old records are intact and the new operations work on them
        assert await new.get_workflow(scope, workflow.id) == workflow
        assert await new.get_run(scope, run.id) == run
        assert await new.secret_values(workflow.id) == {"db": "cipher"}
        health = make.node_health(workflow.id, "n1", HealthStatus.HEALTHY, "3/3 ready")
        await new.put_node_health(health)
        assert await new.node_healths(workflow.id) == [health]
        lease = await new.acquire_lease("watch:c1", "server-a", now=make.at(), ttl=timedelta(seconds=30))
        assert lease is not None
        assert lease.owner == "server-a"
        ticket = make.ticket(workflow.id, workspace_id=workspace.id, user_id=user.id)
        await new.create_exec_ticket(ticket)
        assert await new.consume_exec_ticket(ticket.id, now=T0) == ticket
        await new.delete_workflow(scope, workflow.id)
        assert await new.node_healths(workflow.id) == []
    finally:
        await new.close()


@pytest.mark.mongo
async def test_mongo_database_from_before_live_state_upgrades(make: Make) -> None:
    from app.store.mongo import MIGRATIONS as MONGO_MIGRATIONS
    from app.store.mongo import drop_mongo_database, open_mongo

    url = mongo_url()
    name = f"trellis_test_{uuid.uuid4().hex[:16]}"
    try:
        old = await open_mongo(url, database=name, migrations=MONGO_MIGRATIONS[:4])
        try:
            user, workspace, scope = await make.tenant(old)
            workflow = make.workflow(workspace.id)
            await old.insert_workflow(workflow)
            _, run = await old.start_run(scope, make.draft(user.id), make.run(workflow))
        finally:
            await old.close()
        new = await open_mongo(url, database=name)
        try:
            assert await new.applied_migrations() == [step.number for step in MONGO_MIGRATIONS]
            health_indexes = {
                index["name"] for index in await (await new._m.node_healths.list_indexes()).to_list()
            }
            assert "node_healths_workflow_node" in health_indexes
            ticket_indexes = {
                index["name"] for index in await (await new._m.exec_tickets.list_indexes()).to_list()
            }
            assert "exec_tickets_expiry" in ticket_indexes
            assert await new.get_run(scope, run.id) == run
            health = make.node_health(workflow.id, "n1", HealthStatus.DEGRADED, "crash")
            await new.put_node_health(health)
            assert await new.node_healths(workflow.id) == [health]
            lease = await new.acquire_lease("watch:c1", "server-a", now=make.at(), ttl=timedelta(seconds=30))
            assert lease is not None
            ticket = make.ticket(workflow.id, workspace_id=workspace.id, user_id=user.id)
            await new.create_exec_ticket(ticket)
            assert await new.consume_exec_ticket(ticket.id, now=T0) == ticket
            await new.delete_workflow(scope, workflow.id)
            assert await new.node_healths(workflow.id) == []
        finally:
            await new.close()
    finally:
        await drop_mongo_database(url, name)


async def test_audit_entries_from_before_origins_upgrade_without_an_address(
    tmp_path: Path, make: Make
) -> None:
    path = tmp_path / "trellis.db"
    await (await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number < 12])).close()
    before = make.audit(workspace_id="ws-1")
    async with aiosqlite.connect(path) as raw:  # a row as the code before step 12 wrote it
        await raw.execute(
            "INSERT INTO audit_events (id, at, actor_id, action, target_type, target_id, workspace_id, "
            "outcome, error_code, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, '{}')",
            (
                before.id,
                encode_datetime(before.at),
                before.actor_id,
                before.action,
                before.target_type,
                before.target_id,
                before.workspace_id,
                before.outcome.value,
            ),
        )
        await raw.commit()
    assert "audit_workspace_newest" not in await indexes(path, "audit_events")

    new = await open_store(f"sqlite:///{path}")
    try:
        after = make.audit(workspace_id="ws-1", address="203.0.113.9", user_agent="curl/8")
        await new.append_audit(after)
        assert await new.list_audit(10) == [after, before]
        assert before.address is None
    finally:
        await new.close()
    assert "audit_workspace_newest" in await indexes(path, "audit_events")


async def test_runs_from_before_flow_runs_upgrade_as_deploy_runs(tmp_path: Path, make: Make) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number < 14])
    try:
        user, workspace, scope = await make.tenant(old)
        workflow = make.workflow(workspace.id)
        await old.insert_workflow(workflow)
        _, run = await old.start_run(scope, make.draft(user.id), make.run(workflow, heartbeat_at=T0))
    finally:
        await old.close()
    assert {"step_outputs", "step_log_lines"}.isdisjoint(await tables(path))

    new = await open_store(f"sqlite:///{path}")
    try:
        stored = await new.get_run(scope, run.id)
        assert stored == run
        assert stored is not None
        assert (stored.kind, stored.trigger_data) == (RunKind.DEPLOY, None)
        # the old run is a deploy run to the sweep, and the new tables take records of it
        await new.append_step_logs(run.id, "n1", [(T0, 1, "INFO", "hello")], keep=10)
        record = StepOutputRecord(run.id, "n1", 1, {"ok": True}, 11, T0)
        await new.put_step_output(record)
        assert await new.get_step_output(run.id, "n1", 1) == record
        [swept] = await new.interrupt_stale_runs(heartbeat_before=make.at(), at=make.at(), reason="stale")
        assert (swept.id, swept.status) == (run.id, RunStatus.INTERRUPTED)
        await new.delete_workflow(scope, workflow.id)
        assert await new.step_logs(run.id, "n1") == []
    finally:
        await new.close()


@pytest.mark.mongo
async def test_mongo_runs_from_before_flow_runs_upgrade_as_deploy_runs(make: Make) -> None:
    from app.store.mongo import MIGRATIONS as MONGO_MIGRATIONS
    from app.store.mongo import drop_mongo_database, open_mongo

    url = mongo_url()
    name = f"trellis_test_{uuid.uuid4().hex[:16]}"
    try:
        old = await open_mongo(url, database=name, migrations=MONGO_MIGRATIONS[:13])
        try:
            user, workspace, scope = await make.tenant(old)
            workflow = make.workflow(workspace.id)
            await old.insert_workflow(workflow)
            _, run = await old.start_run(scope, make.draft(user.id), make.run(workflow))
            # a run document as the code before step 14 wrote it
            await old._m.runs.update_one({"_id": run.id}, {"$unset": {"kind": "", "trigger_data": ""}})
        finally:
            await old.close()
        new = await open_mongo(url, database=name)
        try:
            assert await new.applied_migrations() == [step.number for step in MONGO_MIGRATIONS]
            doc = await new._m.runs.find_one({"_id": run.id})
            assert doc is not None
            assert doc["kind"] == "DEPLOY"
            assert await new.get_run(scope, run.id) == run
            for collection, index in (
                ("step_outputs", "step_outputs_key"),
                ("step_log_lines", "step_log_lines_key"),
                ("step_log_counters", "step_log_counters_key"),
            ):
                names = {i["name"] for i in await (await new._m.db[collection].list_indexes()).to_list()}
                assert index in names
        finally:
            await new.close()
    finally:
        await drop_mongo_database(url, name)


async def test_runs_from_before_triggers_upgrade_with_no_trigger(tmp_path: Path, make: Make) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number < 16])
    try:
        user, workspace, scope = await make.tenant(old)
        workflow = make.workflow(workspace.id)
        await old.insert_workflow(workflow)
        _, run = await old.start_run(scope, make.draft(user.id), make.run(workflow, heartbeat_at=T0))
    finally:
        await old.close()
    assert {"triggers", "trigger_deliveries", "trigger_fires"}.isdisjoint(await tables(path))

    new = await open_store(f"sqlite:///{path}")
    try:
        stored = await new.get_run(scope, run.id)
        assert stored == run
        assert stored is not None and stored.trigger_id is None
        assert await new.list_triggers(scope, workflow.id) == []
    finally:
        await new.close()
    assert {"triggers", "trigger_deliveries", "trigger_fires"} <= await tables(path)


async def test_step_17_adds_empty_data_collections_to_an_existing_workspace(
    tmp_path: Path, make: Make
) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number < 17])
    try:
        _, workspace, scope = await make.tenant(old)
    finally:
        await old.close()
    data_tables = {"data_schemas", "data_schema_versions", "data_records"}
    assert data_tables.isdisjoint(await tables(path))

    new = await open_store(f"sqlite:///{path}")
    try:
        assert await new.list_data_schemas(scope, workspace.id) == []
    finally:
        await new.close()
    assert data_tables <= await tables(path)
    assert 17 in await ledger(path)


async def test_workspace_secrets_arrive_with_step_15_and_keep_earlier_data(
    tmp_path: Path, make: Make
) -> None:
    path = tmp_path / "trellis.db"
    old = await open_sqlite(str(path), migrations=[step for step in MIGRATIONS if step.number < 15])
    try:
        _, workspace = await make.register(old)
    finally:
        await old.close()
    assert "workspace_secrets" not in await tables(path)
    store = await open_sqlite(str(path))
    try:
        assert 15 in await store.applied_migrations()
        assert "workspace_secrets" in await tables(path)
        assert await store.list_workspace_secrets(Scope.of([workspace.id]), workspace.id) == []
    finally:
        await store.close()
