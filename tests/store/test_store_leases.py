"""Contract: leases — taken when free, taken over once expired, renewed by their owner, refused to anyone
else while held, released only by the owner; atomically, across connections."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from app.domain.live import Lease
from app.ports import Store
from tests.store.builders import T0, Backend

TTL = timedelta(seconds=30)
NAME = "watch:cluster-1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_a_free_lease_is_taken_until_now_plus_ttl(store: Store) -> None:
    lease = await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    assert lease == Lease(NAME, "server-a", at(30))
    assert lease.expires_at.utcoffset() == timedelta(0)


async def test_a_held_lease_is_refused_to_another_owner(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    assert await store.acquire_lease(NAME, "server-b", now=at(10), ttl=TTL) is None
    assert await store.acquire_lease(NAME, "server-b", now=at(29.999999), ttl=TTL) is None
    # the refusals changed nothing: the owner still renews it
    assert await store.acquire_lease(NAME, "server-a", now=at(20), ttl=TTL) == Lease(NAME, "server-a", at(50))


async def test_the_owner_renews_its_lease(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    renewed = await store.acquire_lease(NAME, "server-a", now=at(25), ttl=timedelta(seconds=60))

    assert renewed == Lease(NAME, "server-a", at(85))
    assert await store.acquire_lease(NAME, "server-b", now=at(80), ttl=TTL) is None


async def test_the_owner_renews_its_own_expired_lease(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    assert await store.acquire_lease(NAME, "server-a", now=at(100), ttl=TTL) == Lease(
        NAME, "server-a", at(130)
    )


async def test_an_expired_lease_is_taken_over(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    taken = await store.acquire_lease(NAME, "server-b", now=at(30), ttl=TTL)  # expires_at <= now

    assert taken == Lease(NAME, "server-b", at(60))
    assert await store.acquire_lease(NAME, "server-a", now=at(31), ttl=TTL) is None  # the old owner lost it


async def test_leases_of_different_names_are_independent(store: Store) -> None:
    one = await store.acquire_lease("watch:cluster-1", "server-a", now=at(0), ttl=TTL)
    two = await store.acquire_lease("watch:cluster-2", "server-b", now=at(0), ttl=TTL)

    assert (one, two) == (
        Lease("watch:cluster-1", "server-a", at(30)),
        Lease("watch:cluster-2", "server-b", at(30)),
    )


async def test_release_frees_the_lease_for_anyone(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    await store.release_lease(NAME, "server-a")

    assert await store.acquire_lease(NAME, "server-b", now=at(1), ttl=TTL) == Lease(NAME, "server-b", at(31))


async def test_release_by_another_owner_is_a_no_op(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)

    await store.release_lease(NAME, "server-b")
    await store.release_lease("watch:unknown", "server-a")

    assert await store.acquire_lease(NAME, "server-b", now=at(1), ttl=TTL) is None
    assert await store.acquire_lease(NAME, "server-a", now=at(2), ttl=TTL) == Lease(NAME, "server-a", at(32))


async def test_a_released_lease_taken_over_is_not_released_by_the_old_owner(store: Store) -> None:
    await store.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)
    await store.acquire_lease(NAME, "server-b", now=at(40), ttl=TTL)  # a's lease expired: b took it

    await store.release_lease(NAME, "server-a")  # a, late, lets go of what it no longer holds

    assert await store.acquire_lease(NAME, "server-c", now=at(41), ttl=TTL) is None


async def test_a_ttl_must_be_positive_and_times_aware(store: Store) -> None:
    with pytest.raises(ValueError, match="positive"):
        await store.acquire_lease(NAME, "server-a", now=at(0), ttl=timedelta(0))
    with pytest.raises(ValueError, match="naive"):
        await store.acquire_lease(NAME, "server-a", now=datetime(2024, 5, 1, 12), ttl=TTL)

    assert await store.acquire_lease(NAME, "server-b", now=at(0), ttl=TTL) == Lease(NAME, "server-b", at(30))


async def test_concurrent_acquirers_of_a_free_lease_exactly_one_wins(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]  # separate connections (or clients)
    owners = [f"server-{i}" for i in range(12)]

    results = await asyncio.gather(
        *(stores[i % 3].acquire_lease(NAME, owner, now=at(0), ttl=TTL) for i, owner in enumerate(owners))
    )

    winners = [lease for lease in results if lease is not None]
    assert len(winners) == 1
    assert winners[0].owner in owners
    assert winners[0].expires_at == at(30)
    others = [owner for owner in owners if owner != winners[0].owner]
    assert await stores[0].acquire_lease(NAME, others[0], now=at(1), ttl=TTL) is None


async def test_concurrent_takeovers_of_an_expired_lease_exactly_one_wins(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    await stores[0].acquire_lease(NAME, "server-old", now=at(0), ttl=TTL)
    owners = [f"server-{i}" for i in range(12)]

    results = await asyncio.gather(
        *(stores[i % 3].acquire_lease(NAME, owner, now=at(60), ttl=TTL) for i, owner in enumerate(owners))
    )

    winners = [lease for lease in results if lease is not None]
    assert len(winners) == 1
    assert winners[0].owner in owners
    assert await stores[1].acquire_lease(NAME, "server-old", now=at(61), ttl=TTL) is None


async def test_a_lease_outlives_reopening(backend: Backend) -> None:
    first = await backend.open()
    await first.acquire_lease(NAME, "server-a", now=at(0), ttl=TTL)
    await first.close()

    again = await backend.open()

    assert await again.acquire_lease(NAME, "server-b", now=at(1), ttl=TTL) is None
