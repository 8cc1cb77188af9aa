"""Contract: the audit log — append, newest first, by actor."""

from __future__ import annotations

import pytest

from app.domain.audit import AuditOutcome
from app.errors import Conflict
from app.ports import Store
from tests.store.builders import T0, Make


async def test_audit_entries_round_trip_and_list_newest_first(store: Store, make: Make) -> None:
    login = make.audit(
        "auth.login",
        actor_id=None,
        target_type="user",
        target_id=None,
        outcome=AuditOutcome.FAILURE,
        error_code="UNAUTHENTICATED",
        detail={"email": "someone@example.com", "reason": "bad password ✗"},
    )
    created = make.audit("workflow.create", actor_id="u-1", workspace_id="ws-1")
    deleted = make.audit("workflow.delete", actor_id="u-2", workspace_id="ws-1")
    for entry in (created, login, deleted):  # appended out of time order
        await store.append_audit(entry)

    listed = await store.list_audit(10)

    assert listed == [deleted, created, login]
    assert listed[2].detail == {"email": "someone@example.com", "reason": "bad password ✗"}
    assert listed[2].actor_id is None
    assert listed[0].at.utcoffset().total_seconds() == 0


async def test_list_audit_limits_and_filters_by_actor(store: Store, make: Make) -> None:
    entries = [make.audit(actor_id="u-1" if i % 2 else "u-2") for i in range(6)]
    for entry in entries:
        await store.append_audit(entry)

    assert await store.list_audit(2) == [entries[5], entries[4]]
    assert await store.list_audit(10, actor_id="u-1") == [entries[5], entries[3], entries[1]]
    assert await store.list_audit(1, actor_id="u-2") == [entries[4]]
    assert await store.list_audit(10, actor_id="nobody") == []
    assert await store.list_audit(0) == []


async def test_audit_entries_at_one_instant_are_ordered_by_id(store: Store, make: Make) -> None:
    same = [make.audit(id=f"a-{i}", at=T0) for i in (2, 3, 1)]
    for entry in same:
        await store.append_audit(entry)

    assert [e.id for e in await store.list_audit(10)] == ["a-3", "a-2", "a-1"]


async def test_an_audit_id_is_used_once(store: Store, make: Make) -> None:
    entry = make.audit()
    await store.append_audit(entry)

    with pytest.raises(Conflict):
        await store.append_audit(entry)
    assert await store.list_audit(10) == [entry]
