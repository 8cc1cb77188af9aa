"""``export_all``/``import_all``, the store port under `trellis backup`/`restore`, on every backend: a round
trip gives back the same records, and a snapshot a store cannot take whole is refused with nothing written.
The MongoDB run needs ``TRELLIS_TEST_MONGODB_URL`` (skipped otherwise, as the contract suite)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.workspaces import Scope
from app.errors import Conflict, Invalid
from app.ports import Store, StoreSnapshot
from app.store.opening import open_store
from tests.store.builders import Make, mongo_url


@dataclasses.dataclass
class Pair:
    source: Store
    target: Store


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    """Two stores of one backend: one to fill, one empty."""
    if request.param == "sqlite":
        source = await open_store(f"sqlite:///{tmp_path / 'source.db'}")
        target = await open_store(f"sqlite:///{tmp_path / 'target.db'}")
        try:
            yield Pair(source, target)
        finally:
            await source.close()
            await target.close()
        return
    from app.store.mongo import drop_mongo_database, open_mongo

    url = mongo_url()
    names = [f"trellis_test_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    source, target = [await open_mongo(url, database=name) for name in names]
    try:
        yield Pair(source, target)
    finally:
        await source.close()
        await target.close()
        for name in names:
            await drop_mongo_database(url, name)


async def _fill(store: Store, make: Make) -> str:
    user = make.user("ada@example.com")
    workspace = make.workspace(user.id, personal=True)
    await store.create_user(user, workspace)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    await store.create_version(Scope.of([workspace.id]), workflow.id, make.draft(user.id, tag="v1"))
    await store.insert_cluster(make.cluster(workspace.id))
    await store.put_secret_values(workflow.id, "db", "gAAAAAB-ciphertext", make.at())
    await store.acquire_lease("watch:c", "replica-1", now=make.at(), ttl=timedelta(seconds=30))
    return workflow.id


def _counts(snapshot: StoreSnapshot) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot.tables.items() if rows}


async def test_a_snapshot_restores_into_an_empty_store_record_for_record(pair: Pair) -> None:
    make = Make()
    workflow_id = await _fill(pair.source, make)
    snapshot = await pair.source.export_all()
    assert "leases" not in snapshot.tables  # transient: the restored server takes its own

    written = await pair.target.import_all(snapshot)

    again = await pair.target.export_all()
    assert written == sum(len(rows) for rows in snapshot.tables.values())
    assert again == snapshot
    assert await pair.target.secret_values(workflow_id) == {"db": "gAAAAAB-ciphertext"}
    assert _counts(again)["versions"] == 1


async def test_a_store_with_records_is_refused(pair: Pair) -> None:
    make = Make()
    await _fill(pair.source, make)
    snapshot = await pair.source.export_all()
    await pair.target.create_user(make.user("bob@example.com"), make.workspace("bob"))
    before = await pair.target.export_all()

    with pytest.raises(Conflict, match=r"not empty: .*users"):
        await pair.target.import_all(snapshot)
    assert await pair.target.export_all() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"migration": 10_000}, "newer Trellis"),
        ({"migration": 1}, "older Trellis"),
        ({"backend": "elsewhere"}, "taken from a elsewhere store"),
    ],
)
async def test_a_snapshot_of_another_kind_or_level_is_refused(
    pair: Pair, change: dict[str, object], message: str
) -> None:
    await _fill(pair.source, Make())
    snapshot = dataclasses.replace(await pair.source.export_all(), **change)  # type: ignore[arg-type]
    with pytest.raises(Invalid, match=message):
        await pair.target.import_all(snapshot)
    assert _counts(await pair.target.export_all()) == {}


async def test_unknown_tables_are_refused_and_nothing_is_written(pair: Pair) -> None:
    await _fill(pair.source, Make())
    snapshot = await pair.source.export_all()
    tables = {**snapshot.tables, "robert'); DROP TABLE users; --": [{"id": "x"}]}
    with pytest.raises(Invalid, match="tables this store does not have"):
        await pair.target.import_all(dataclasses.replace(snapshot, tables=tables))
    assert _counts(await pair.target.export_all()) == {}


async def test_sqlite_refuses_unknown_columns_and_dangling_references_writing_nothing(tmp_path: Path) -> None:
    source = await open_store(f"sqlite:///{tmp_path / 'source.db'}")
    target = await open_store(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        await _fill(source, Make())
        snapshot = await source.export_all()
        users = [{**snapshot.tables["users"][0], "shoe_size": 44}]
        with pytest.raises(Invalid, match="columns this store does not have: shoe_size"):
            await target.import_all(dataclasses.replace(snapshot, tables={**snapshot.tables, "users": users}))
        without_workspaces = {**snapshot.tables, "workspaces": []}
        with pytest.raises(Invalid, match="refer to records it does not hold"):
            await target.import_all(dataclasses.replace(snapshot, tables=without_workspaces))
        assert _counts(await target.export_all()) == {}
    finally:
        await source.close()
        await target.close()
