"""Contract: users (first admin, e-mail uniqueness) and sessions."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.users import Session, UserRole
from app.domain.workspaces import MemberRole, Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make


async def test_create_user_stores_user_workspace_and_owner_membership(store: Store, make: Make) -> None:
    user = make.user("Ada@Example.COM")
    personal = make.workspace(user.id, "Ada's space", personal=True)

    stored = await store.create_user(user, personal)

    assert stored == replace(user, email="ada@example.com", role=UserRole.ADMIN)
    assert await store.get_user(user.id) == stored
    assert await store.get_workspace(Scope.of([personal.id]), personal.id) == personal
    [membership] = await store.memberships_of_user(user.id)
    assert (membership.workspace_id, membership.user_id, membership.role) == (
        personal.id,
        user.id,
        MemberRole.OWNER,
    )


async def test_only_the_first_user_becomes_admin(store: Store, make: Make) -> None:
    first, _ = await make.register(store)
    second, _ = await make.register(store)
    promoted = make.user(role=UserRole.ADMIN)
    third = await store.create_user(promoted, make.workspace(promoted.id, personal=True))

    assert first.role is UserRole.ADMIN
    assert second.role is UserRole.USER
    assert third.role is UserRole.ADMIN  # a role the caller chose is kept
    assert (await store.get_user(second.id)).role is UserRole.USER


async def test_concurrent_first_registrations_make_exactly_one_admin(store: Store, make: Make) -> None:
    users = [make.user() for _ in range(8)]

    stored = await asyncio.gather(
        *(store.create_user(user, make.workspace(user.id, personal=True)) for user in users)
    )

    assert [user.role for user in stored].count(UserRole.ADMIN) == 1
    persisted = [await store.get_user(user.id) for user in users]
    assert [user.role for user in persisted if user is not None].count(UserRole.ADMIN) == 1


async def test_email_is_unique_case_insensitively(store: Store, make: Make) -> None:
    await make.register(store, "grace@example.com")
    duplicate = make.user("GRACE@example.com")
    personal = make.workspace(duplicate.id, personal=True)

    with pytest.raises(Conflict, match="a user with this e-mail already exists"):
        await store.create_user(duplicate, personal)

    # nothing of the failed registration was written
    assert await store.get_user(duplicate.id) is None
    assert await store.get_workspace(Scope.of([personal.id]), personal.id) is None
    assert await store.memberships_of_user(duplicate.id) == []


async def test_concurrent_registrations_with_one_email_store_one_user(store: Store, make: Make) -> None:
    emails = ["same@example.com", "SAME@example.com", "Same@Example.com", "sAmE@EXAMPLE.COM"]
    users = [make.user(email) for email in emails]

    results = await asyncio.gather(
        *(store.create_user(user, make.workspace(user.id, personal=True)) for user in users),
        return_exceptions=True,
    )

    assert sum(1 for result in results if isinstance(result, Conflict)) == 3
    assert [await store.get_user(user.id) is not None for user in users].count(True) == 1


async def test_a_failed_first_registration_does_not_use_up_the_admin_role(store: Store, make: Make) -> None:
    taken = make.user("taken@example.com")
    await store.create_user(taken, make.workspace(taken.id, personal=True))
    clash = make.user("TAKEN@example.com")
    with pytest.raises(Conflict):
        await store.create_user(clash, make.workspace(clash.id, personal=True))

    later, _ = await make.register(store)

    assert later.role is UserRole.USER


async def test_get_user_by_email_ignores_case(store: Store, make: Make) -> None:
    user, _ = await make.register(store, "Linus@Example.com")

    assert await store.get_user_by_email("LINUS@example.COM") == user
    assert await store.get_user_by_email("linus@example.com") == user
    assert await store.get_user_by_email("nobody@example.com") is None
    assert await store.get_user("missing") is None


async def test_user_datetimes_round_trip_timezone_aware_in_utc(store: Store, make: Make) -> None:
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=plus_two)
    updated = datetime(2024, 1, 1, 0, 0, 0, 0, tzinfo=UTC)
    user = make.user(created_at=created, updated_at=updated)

    await store.create_user(user, make.workspace(user.id, personal=True))
    loaded = await store.get_user(user.id)

    assert loaded is not None
    assert loaded.created_at == created
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at.microsecond == 999999
    assert loaded.updated_at == updated
    assert loaded.updated_at.tzinfo is UTC


async def test_naive_datetimes_are_refused(store: Store, make: Make) -> None:
    user = make.user(created_at=datetime(2024, 1, 1, 12, 0), updated_at=datetime(2024, 1, 1, 12, 0))

    with pytest.raises(ValueError, match="naive"):
        await store.create_user(user, make.workspace(user.id, personal=True))


async def test_sessions_are_created_read_and_revoked_once(store: Store, make: Make) -> None:
    user, _ = await make.register(store)
    session = Session(id="s-1", user_id=user.id, created_at=make.at())
    await store.create_session(session)

    assert await store.get_session("s-1") == session
    assert (await store.get_session("s-1")).active

    first_revocation = make.at()
    await store.revoke_session("s-1", first_revocation)
    await store.revoke_session("s-1", make.at())  # the first revocation wins
    await store.revoke_session("no-such-session", make.at())  # a no-op

    revoked = await store.get_session("s-1")
    assert revoked == replace(session, revoked_at=first_revocation)
    assert not revoked.active
    assert revoked.revoked_at.tzinfo is UTC
    assert await store.get_session("no-such-session") is None


async def test_a_session_needs_an_existing_user_and_a_fresh_id(store: Store, make: Make) -> None:
    user, _ = await make.register(store)
    await store.create_session(Session(id="s-1", user_id=user.id, created_at=make.at()))

    with pytest.raises(NotFound):
        await store.create_session(Session(id="s-2", user_id="ghost", created_at=make.at()))
    with pytest.raises(Conflict):
        await store.create_session(Session(id="s-1", user_id=user.id, created_at=make.at()))
