"""Contract: Secret node values — one ciphertext per (workflow, node), upserted, gone with the workflow."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.workspaces import Scope
from app.errors import NotFound
from app.ports import Store
from tests.store.builders import Make


async def test_values_are_kept_per_node_and_replaced_on_put(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    assert await store.secret_values(workflow.id) == {}

    await store.put_secret_values(workflow.id, "db", "cipher-1", make.at())
    await store.put_secret_values(workflow.id, "api", "cipher-2", make.at())
    await store.put_secret_values(workflow.id, "db", "cipher-3", make.at())  # upsert

    assert await store.secret_values(workflow.id) == {"db": "cipher-3", "api": "cipher-2"}


async def test_values_belong_to_one_workflow(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    one, two = make.workflow(workspace.id), make.workflow(workspace.id)
    await store.insert_workflow(one)
    await store.insert_workflow(two)

    await store.put_secret_values(one.id, "db", "one's", make.at())
    await store.put_secret_values(two.id, "db", "two's", make.at())

    assert await store.secret_values(one.id) == {"db": "one's"}
    assert await store.secret_values(two.id) == {"db": "two's"}
    assert await store.secret_values("no-such-workflow") == {}


async def test_delete_removes_one_node_and_tolerates_missing_ones(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    await store.put_secret_values(workflow.id, "db", "c1", make.at())
    await store.put_secret_values(workflow.id, "api", "c2", make.at())

    await store.delete_secret_values(workflow.id, "db")
    await store.delete_secret_values(workflow.id, "db")
    await store.delete_secret_values(workflow.id, "never-had-one")
    await store.delete_secret_values("no-such-workflow", "db")

    assert await store.secret_values(workflow.id) == {"api": "c2"}


async def test_values_of_an_unknown_workflow_are_refused(store: Store, make: Make) -> None:
    with pytest.raises(NotFound):
        await store.put_secret_values("no-such-workflow", "db", "cipher", make.at())

    assert await store.secret_values("no-such-workflow") == {}


async def test_concurrent_puts_of_one_node_leave_one_value(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)

    await asyncio.gather(
        *(store.put_secret_values(workflow.id, "db", f"cipher-{i}", make.at()) for i in range(10))
    )

    values = await store.secret_values(workflow.id)
    assert list(values) == ["db"]
    assert values["db"] in {f"cipher-{i}" for i in range(10)}


async def test_deleting_the_workflow_deletes_its_values(store: Store, make: Make) -> None:
    _, workspace, scope = await make.tenant(store)
    workflow, kept = make.workflow(workspace.id), make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    await store.insert_workflow(kept)
    await store.put_secret_values(workflow.id, "db", "gone", make.at())
    await store.put_secret_values(kept.id, "db", "kept", make.at())

    await store.delete_workflow(scope, workflow.id)

    assert await store.secret_values(workflow.id) == {}
    assert await store.secret_values(kept.id) == {"db": "kept"}
    await store.insert_workflow(workflow)  # the id again: no value comes back
    assert await store.secret_values(workflow.id) == {}


async def test_reencrypt_rewrites_every_ciphertext_or_none(store: Store, make: Make) -> None:
    _, workspace, _ = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    cluster = make.cluster(workspace.id, credentials_ciphertext="v1:creds")
    await store.insert_cluster(cluster)
    await store.put_secret_values(workflow.id, "db", "v1:db", make.at())

    assert await store.reencrypt(lambda text: text.replace("v1:", "v2:")) == 2
    assert await store.secret_values(workflow.id) == {"db": "v2:db"}
    stored = await store.get_cluster(Scope.of([workspace.id]), cluster.id)
    assert stored is not None
    assert stored.credentials_ciphertext == "v2:creds"

    def refuse(text: str) -> str:
        if "db" in text:
            raise ValueError("no key decrypts this")
        return "v3:" + text

    with pytest.raises(ValueError, match="no key"):
        await store.reencrypt(refuse)
    assert await store.secret_values(workflow.id) == {"db": "v2:db"}
    again = await store.get_cluster(Scope.of([workspace.id]), cluster.id)
    assert again is not None
    assert again.credentials_ciphertext == stored.credentials_ciphertext
