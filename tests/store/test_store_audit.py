"""Contract: the audit log — append, newest first, by actor; filtered keyset pages; the request's origin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.audit import AuditFilter, AuditOutcome
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


async def test_the_origin_of_an_entry_round_trips(store: Store, make: Make) -> None:
    from_request = make.audit(address="2001:db8::7", user_agent="trellis-cli/1.0 (linux) ✓")
    from_the_server = make.audit("run.recover", actor_id=None)
    for entry in (from_request, from_the_server):
        await store.append_audit(entry)

    assert await store.list_audit(10) == [from_the_server, from_request]
    page = await store.page_audit(AuditFilter(), 10, None)
    assert page.items == [from_the_server, from_request]
    assert page.items[1].address == "2001:db8::7" and page.items[0].address is None


async def test_page_audit_filters_on_every_field(store: Store, make: Make) -> None:
    login = make.audit("auth.login", actor_id=None, target_type="user", target_id="u-1")
    created = make.audit("workflow.create", actor_id="u-1", workspace_id="ws-1", target_id="wf-1")
    refused = make.audit(
        "workflow.save",
        actor_id="u-2",
        workspace_id="ws-1",
        target_id="wf-1",
        outcome=AuditOutcome.FAILURE,
        error_code="FORBIDDEN",
    )
    elsewhere = make.audit("workflows_x.odd", actor_id="u-1", workspace_id="ws-2", target_id="wf-9")
    cluster = make.audit(
        "cluster.register", actor_id="u-1", workspace_id="ws-1", target_type="cluster", target_id="c-1"
    )
    entries = [login, created, refused, elsewhere, cluster]
    for entry in entries:
        await store.append_audit(entry)

    async def ids(filter: AuditFilter) -> list[str]:
        page = await store.page_audit(filter, 10, None)
        assert page.total == len(page.items) and not page.has_next
        return [e.id for e in page.items]

    assert await ids(AuditFilter()) == [e.id for e in reversed(entries)]
    assert await ids(AuditFilter(workspace_id="ws-1")) == [cluster.id, refused.id, created.id]
    assert await ids(AuditFilter(actor_id="u-1")) == [cluster.id, elsewhere.id, created.id]
    assert await ids(AuditFilter(action_prefix="workflow.")) == [refused.id, created.id]
    assert await ids(AuditFilter(action_prefix="workflow")) == [elsewhere.id, refused.id, created.id]
    assert await ids(AuditFilter(action_prefix="auth.login")) == [login.id]
    assert await ids(AuditFilter(action_prefix="workflow%")) == []  # no wildcard: a literal prefix
    assert await ids(AuditFilter(action_prefix="Workflow.")) == []  # case matters
    assert await ids(AuditFilter(target_type="cluster")) == [cluster.id]
    assert await ids(AuditFilter(target_id="wf-1")) == [refused.id, created.id]
    assert await ids(AuditFilter(outcome=AuditOutcome.FAILURE)) == [refused.id]
    assert await ids(AuditFilter(workspace_id="ws-1", actor_id="u-1", action_prefix="workflow.")) == [
        created.id
    ]
    # from is inclusive, to exclusive
    assert await ids(AuditFilter(since=created.at, until=cluster.at)) == [
        elsewhere.id,
        refused.id,
        created.id,
    ]
    assert await ids(AuditFilter(since=cluster.at)) == [cluster.id]
    assert await ids(AuditFilter(until=created.at)) == [login.id]


async def test_page_audit_pages_by_keyset_with_totals(store: Store, make: Make) -> None:
    # Two instants, three entries each: the cursor must break ties by id.
    entries = [
        make.audit(id=f"a-{i}", at=T0 + timedelta(seconds=i // 3), workspace_id="ws-1") for i in range(6)
    ]
    entries.append(make.audit(id="other", at=T0, workspace_id="ws-2"))
    for entry in entries:
        await store.append_audit(entry)
    only = AuditFilter(workspace_id="ws-1")

    first = await store.page_audit(only, 4, None)
    assert [e.id for e in first.items] == ["a-5", "a-4", "a-3", "a-2"]
    assert first.has_next and first.total == 6
    last = first.items[-1]
    second = await store.page_audit(only, 4, (last.at, last.id))
    assert [e.id for e in second.items] == ["a-1", "a-0"]
    assert not second.has_next and second.total == 6
    assert (await store.page_audit(only, 0, None)).items == []
    assert (await store.page_audit(only, 0, None)).total == 6
