"""Contract: linked provider identities, OAuth states and one-time codes — (provider, subject) is unique, a
user and its first identity are written together or not at all, states and codes are consumed once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.domain.identities import OAuthCode, OAuthState, UserIdentity
from app.domain.users import UserRole
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import T0, Make


def _identity(user_id: str, subject: str = "sub-1", provider: str = "corp") -> UserIdentity:
    return UserIdentity(provider, subject, user_id, "someone@example.com", T0)


async def test_a_user_and_its_identity_are_created_together(store: Store, make: Make) -> None:
    user = make.user("first@example.com")
    stored = await store.create_user_with_identity(
        user, make.workspace(user.id, personal=True), _identity("ignored")
    )
    assert stored.role is UserRole.ADMIN  # the first user, as with create_user
    linked = await store.get_identity("corp", "sub-1")
    assert linked is not None and linked.user_id == stored.id
    assert await store.identities_of_user(stored.id) == [linked]


async def test_a_taken_email_writes_neither_user_nor_identity(store: Store, make: Make) -> None:
    first = make.user("taken@example.com")
    await store.create_user(first, make.workspace(first.id, personal=True))
    second = make.user("Taken@Example.com")
    with pytest.raises(Conflict):
        await store.create_user_with_identity(second, make.workspace(second.id, personal=True), _identity(""))
    assert await store.get_identity("corp", "sub-1") is None
    assert await store.get_user(second.id) is None


async def test_a_provider_subject_links_once(store: Store, make: Make) -> None:
    user = make.user()
    await store.create_user(user, make.workspace(user.id, personal=True))
    await store.link_identity(_identity(user.id))
    with pytest.raises(Conflict):
        await store.link_identity(_identity(user.id))
    await store.link_identity(_identity(user.id, provider="github"))  # same subject, other provider
    assert [i.provider for i in await store.identities_of_user(user.id)] == ["corp", "github"]
    with pytest.raises(NotFound):
        await store.link_identity(_identity("no-such-user", subject="sub-2"))


async def test_a_state_is_consumed_once_even_when_raced(store: Store) -> None:
    state = OAuthState("digest-1", "corp", "verifier", "nonce", "/", None, T0 + timedelta(minutes=10))
    await store.create_oauth_state(state, sweep_before=T0)
    results = await asyncio.gather(*(store.consume_oauth_state("digest-1") for _ in range(5)))
    assert [r for r in results if r is not None] == [state]
    assert await store.consume_oauth_state("unknown") is None


async def test_expired_states_are_kept_until_swept(store: Store) -> None:
    old = OAuthState("old", "corp", "v", None, "/", None, T0)
    await store.create_oauth_state(old, sweep_before=T0 - timedelta(minutes=10))
    late = await store.consume_oauth_state("old")
    assert late == old  # expired but still there: the caller can say "expired"
    await store.create_oauth_state(old, sweep_before=T0 - timedelta(minutes=10))
    await store.create_oauth_state(
        OAuthState("new", "corp", "v", None, "/", None, T0 + timedelta(hours=1)),
        sweep_before=T0 + timedelta(1),
    )
    assert await store.consume_oauth_state("old") is None


async def test_a_code_is_consumed_once_and_only_before_it_expires(store: Store) -> None:
    code = OAuthCode("code-1", "user-1", "session-1", T0 + timedelta(seconds=30))
    await store.create_oauth_code(code, now=T0)
    assert await store.consume_oauth_code("code-1", now=T0 + timedelta(seconds=29)) == code
    assert await store.consume_oauth_code("code-1", now=T0) is None
    await store.create_oauth_code(OAuthCode("code-2", "user-1", "s", T0 + timedelta(seconds=30)), now=T0)
    assert await store.consume_oauth_code("code-2", now=T0 + timedelta(seconds=30)) is None
