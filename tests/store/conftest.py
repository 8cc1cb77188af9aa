"""Fixtures of the store contract suite.

``store`` is parametrised over the backends: ``sqlite`` always (a file under ``tmp_path``, so WAL and
reopening are real) and ``mongo`` when ``TRELLIS_TEST_MONGODB_URL`` names a MongoDB replica set (each
test then gets a fresh, uniquely named database, dropped afterwards). ``backend`` opens further
stores on the same database, for reopen and multi-connection tests. ``make`` builds domain objects.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.ports import Store
from app.store.opening import open_store
from tests.store.builders import Backend, Make, mongo_url

BACKENDS = ["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trellis.db'}"
        opened = Backend("sqlite", lambda: open_store(url))
        try:
            yield opened
        finally:
            await opened.close_all()
        return
    from app.store.mongo import drop_mongo_database, open_mongo

    mongo = mongo_url()
    name = f"trellis_test_{uuid.uuid4().hex[:16]}"
    opened = Backend("mongo", lambda: open_mongo(mongo, database=name))
    try:
        yield opened
    finally:
        await opened.close_all()
        await drop_mongo_database(mongo, name)


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()


@pytest.fixture
def make() -> Make:
    return Make()
