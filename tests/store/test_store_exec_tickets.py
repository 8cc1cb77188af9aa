"""Contract: exec tickets — created, then consumed exactly once before they expire; an expired or used
ticket gives None; expired tickets do not accumulate."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiosqlite
import pytest

from app.errors import Conflict
from app.ports import Store
from app.store.sqlite.store import SqliteStore
from tests.store.builders import T0, Backend, Make


async def stored_ticket_ids(store: Store) -> set[str]:
    """Every ticket id the store holds, read beside the contract (it has no listing)."""
    if isinstance(store, SqliteStore):
        async with aiosqlite.connect(store.path) as raw:
            rows = await raw.execute_fetchall("SELECT id FROM exec_tickets")
        return {str(row[0]) for row in rows}
    from app.store.mongo import MongoStore

    assert isinstance(store, MongoStore)
    docs = await store._m.exec_tickets.find({}, projection={"_id": True}).to_list()
    return {str(doc["_id"]) for doc in docs}


async def test_a_ticket_is_consumed_once(store: Store, make: Make) -> None:
    ticket = make.ticket()
    await store.create_exec_ticket(ticket)

    consumed = await store.consume_exec_ticket(ticket.id, now=T0)

    assert consumed == ticket
    assert consumed.command == ("/bin/sh", "-c", "echo 'grüß dich ✓' && ls -la \"$HOME\"")
    assert consumed.expires_at.utcoffset() == timedelta(0)
    assert await store.consume_exec_ticket(ticket.id, now=T0) is None  # a second use
    assert await stored_ticket_ids(store) == set()


async def test_an_unknown_ticket_gives_none(store: Store, make: Make) -> None:
    await store.create_exec_ticket(make.ticket())

    assert await store.consume_exec_ticket("no-such-ticket", now=T0) is None


async def test_an_expired_ticket_gives_none_and_is_deleted(store: Store, make: Make) -> None:
    ticket = make.ticket(expires_at=T0 + timedelta(seconds=30))
    await store.create_exec_ticket(ticket)

    assert await store.consume_exec_ticket(ticket.id, now=T0 + timedelta(seconds=30)) is None  # at expiry

    assert await stored_ticket_ids(store) == set()
    assert await store.consume_exec_ticket(ticket.id, now=T0) is None  # gone, even with an earlier clock


async def test_a_ticket_is_valid_until_just_before_it_expires(store: Store, make: Make) -> None:
    ticket = make.ticket(expires_at=T0 + timedelta(seconds=30))
    await store.create_exec_ticket(ticket)

    assert (
        await store.consume_exec_ticket(ticket.id, now=T0 + timedelta(seconds=29, microseconds=999999))
        == ticket
    )


async def test_tickets_are_independent(store: Store, make: Make) -> None:
    one, two = make.ticket(pod="web-1", command=()), make.ticket(pod="web-2", command=("bash",))
    await store.create_exec_ticket(one)
    await store.create_exec_ticket(two)

    assert await store.consume_exec_ticket(two.id, now=T0) == two
    assert await store.consume_exec_ticket(one.id, now=T0) == one


async def test_a_taken_ticket_id_is_a_conflict(store: Store, make: Make) -> None:
    ticket = make.ticket()
    await store.create_exec_ticket(ticket)

    with pytest.raises(Conflict):
        await store.create_exec_ticket(make.ticket(id=ticket.id, pod="another"))

    assert await store.consume_exec_ticket(ticket.id, now=T0) == ticket


async def test_concurrent_consumers_exactly_one_gets_the_ticket(backend: Backend, make: Make) -> None:
    stores = [await backend.open() for _ in range(3)]  # separate connections (or clients)
    ticket = make.ticket()
    await stores[0].create_exec_ticket(ticket)

    results = await asyncio.gather(*(stores[i % 3].consume_exec_ticket(ticket.id, now=T0) for i in range(12)))

    assert [result for result in results if result is not None] == [ticket]


async def test_consuming_sweeps_every_expired_ticket(store: Store, make: Make) -> None:
    stale = [make.ticket(expires_at=T0 + timedelta(seconds=s)) for s in (1, 5, 10)]
    fresh = make.ticket(expires_at=T0 + timedelta(minutes=5))
    used = make.ticket(expires_at=T0 + timedelta(minutes=5))
    for ticket in (*stale, fresh, used):
        await store.create_exec_ticket(ticket)

    assert await store.consume_exec_ticket(used.id, now=T0 + timedelta(seconds=10)) == used

    assert await stored_ticket_ids(store) == {fresh.id}
    assert await store.consume_exec_ticket(fresh.id, now=T0 + timedelta(seconds=11)) == fresh


async def test_creating_with_a_clock_sweeps_expired_tickets(store: Store, make: Make) -> None:
    """``create_exec_ticket(ticket, now=…)``: both backends take the clock the port does not pass yet."""
    stale = make.ticket(expires_at=T0 + timedelta(seconds=5))
    fresh = make.ticket(expires_at=T0 + timedelta(minutes=5))
    await store.create_exec_ticket(stale)
    await store.create_exec_ticket(fresh)
    sweeping: Any = store

    new = make.ticket(expires_at=T0 + timedelta(minutes=6))
    await sweeping.create_exec_ticket(new, now=T0 + timedelta(seconds=5))

    assert await stored_ticket_ids(store) == {fresh.id, new.id}


async def test_creating_without_a_clock_keeps_every_ticket(store: Store, make: Make) -> None:
    stale = make.ticket(expires_at=T0 - timedelta(days=1))
    await store.create_exec_ticket(stale)
    fresh = make.ticket()
    await store.create_exec_ticket(fresh)

    assert await stored_ticket_ids(store) == {stale.id, fresh.id}
