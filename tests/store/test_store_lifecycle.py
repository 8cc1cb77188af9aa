"""Contract: ping, close and reopening."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.workspaces import Scope
from app.errors import Unavailable
from app.ports import Store
from tests.store.builders import Backend, Make


async def test_ping_answers_while_open_and_fails_once_closed(backend: Backend) -> None:
    store = await backend.open()
    await store.ping()

    await store.close()

    with pytest.raises(Unavailable):
        await store.ping()
    with pytest.raises(Unavailable):
        await store.get_user("anyone")
    await store.close()  # closing twice is harmless


async def test_data_survives_reopening(backend: Backend, make: Make) -> None:
    store = await backend.open()
    user, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    await store.create_version(scope, workflow.id, make.draft())
    await store.close()

    reopened = await backend.open()

    assert await reopened.get_user(user.id) == user
    assert await reopened.get_workflow(Scope.of([workspace.id]), workflow.id) == workflow
    assert (await reopened.create_version(scope, workflow.id, make.draft())).number == 2
    assert (await make.register(reopened))[0].role.value == "USER"


async def test_two_stores_on_one_database_share_numbering(backend: Backend, make: Make) -> None:
    first: Store = await backend.open()
    second: Store = await backend.open()
    _, workspace, scope = await make.tenant(first)
    workflow = make.workflow(workspace.id)
    await first.insert_workflow(workflow)

    versions = await asyncio.gather(
        *(
            (first if i % 2 else second).create_version(scope, workflow.id, make.draft(description=f"d{i}"))
            for i in range(10)
        )
    )

    assert sorted(v.number for v in versions) == list(range(1, 11))
