"""Contract: administering people (list, roles, disabling, deletion, passwords), sessions of a user,
members' roles, invitations, API tokens and password resets — the same on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.opaque_tokens import API_TOKEN_PREFIX, INVITATION_PREFIX, mint
from app.domain.api_tokens import ApiToken
from app.domain.invitations import Invitation
from app.domain.password_resets import PasswordReset
from app.domain.users import Session, UserRole
from app.domain.workspaces import MemberRole, Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import T0, Make


async def _session(store: Store, make: Make, user_id: str) -> Session:
    session = Session(id=make.id("s"), user_id=user_id, created_at=make.at())
    await store.create_session(session)
    return session


async def test_users_are_listed_by_email_searched_and_paged(store: Store, make: Make) -> None:
    for email in ("carol@example.com", "alan@example.com", "bea@example.com"):
        await store.create_user(make.user(email), make.workspace("x", personal=True))
    first = await store.list_users(None, 2, None)
    assert [u.email for u in first.items] == ["alan@example.com", "bea@example.com"]
    assert first.has_next and first.total == 3
    last = first.items[-1]
    rest = await store.list_users(None, 2, (last.email, last.id))
    assert [u.email for u in rest.items] == ["carol@example.com"] and not rest.has_next
    assert [u.email for u in (await store.list_users("AL", 10, None)).items] == ["alan@example.com"]
    assert (await store.list_users("100%_", 10, None)).total == 0  # wildcards are literal


async def test_the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted(store: Store, make: Make) -> None:
    admin, _ = await make.register(store)
    other, _ = await make.register(store)
    for change in (
        store.set_user_role(admin.id, UserRole.USER, make.at()),
        store.set_user_disabled(admin.id, True, make.at()),
        store.delete_user(admin.id, make.at(), hand_over_to=None),
    ):
        with pytest.raises(Conflict):
            await change
    assert (await store.set_user_role(other.id, UserRole.ADMIN, make.at())).role is UserRole.ADMIN
    assert (await store.set_user_role(admin.id, UserRole.USER, make.at())).role is UserRole.USER
    with pytest.raises(NotFound):
        await store.set_user_role("nobody", UserRole.USER, make.at())


async def test_disabling_ends_every_session_and_a_password_change_all_but_one(
    store: Store, make: Make
) -> None:
    await make.register(store)
    user, _ = await make.register(store)
    one, two, three = [await _session(store, make, user.id) for _ in range(3)]
    await store.set_password(user.id, "new-hash", make.at(), keep_session=two.id)
    assert [s.id for s in await store.list_sessions(user.id)] == [two.id]
    assert (await store.get_user(user.id)).password_hash == "new-hash"  # type: ignore[union-attr]
    disabled = await store.set_user_disabled(user.id, True, make.at())
    assert disabled.disabled and await store.list_sessions(user.id) == []
    assert not (await store.set_user_disabled(user.id, False, make.at())).disabled
    four = await _session(store, make, user.id)
    assert await store.revoke_sessions(user.id, make.at(), keep=four.id) == 0
    assert await store.revoke_sessions(user.id, make.at()) == 1
    assert {one.id, three.id}.isdisjoint(s.id for s in await store.list_sessions(user.id))


async def test_deleting_a_user_hands_over_or_deletes_their_workspaces(store: Store, make: Make) -> None:
    await make.register(store)
    ada, personal = await make.register(store)
    heir, _ = await make.register(store)
    shared = make.workspace(ada.id, "Shared")
    await store.create_workspace(shared, make.membership(shared.id, ada.id, MemberRole.OWNER))
    await store.add_member(make.membership(shared.id, heir.id, MemberRole.VIEWER))
    owned = {w.workspace_id: w for w in await store.owned_workspaces(ada.id)}
    assert set(owned) == {personal.id, shared.id}
    assert not owned[personal.id].needs_decision and owned[shared.id].other_members == 1
    await store.insert_api_token(_api_token(make, ada.id, shared.id))

    deleted = await store.delete_user(ada.id, make.at(), hand_over_to=heir.id)
    assert deleted == [personal.id]  # empty and unshared: deleted in any case
    assert await store.get_user(ada.id) is None
    assert await store.list_api_tokens(ada.id) == []
    [member] = await store.list_members(Scope.of([shared.id]), shared.id)
    assert (member.user_id, member.role) == (heir.id, MemberRole.OWNER)

    grace, _ = await make.register(store)
    team = make.workspace(grace.id, "Team")
    await store.create_workspace(team, make.membership(team.id, grace.id, MemberRole.OWNER))
    await store.insert_workflow(make.workflow(team.id))  # content
    assert (await store.owned_workspaces(grace.id))[-1].has_content
    assert set(await store.delete_user(grace.id, make.at(), hand_over_to=None)) >= {team.id}
    assert await store.get_workspace(Scope.of([team.id]), team.id) is None


async def test_a_member_role_changes_but_the_last_owner_stays(store: Store, make: Make) -> None:
    owner, _ = await make.register(store)
    other, _ = await make.register(store)
    team = make.workspace(owner.id)
    await store.create_workspace(team, make.membership(team.id, owner.id, MemberRole.OWNER))
    await store.add_member(make.membership(team.id, other.id, MemberRole.VIEWER))
    with pytest.raises(Conflict):
        await store.set_member_role(team.id, owner.id, MemberRole.EDITOR)
    assert (await store.set_member_role(team.id, other.id, MemberRole.OWNER)).role is MemberRole.OWNER
    assert (await store.set_member_role(team.id, owner.id, MemberRole.VIEWER)).role is MemberRole.VIEWER
    with pytest.raises(NotFound):
        await store.set_member_role(team.id, "nobody", MemberRole.VIEWER)


def _invitation(make: Make, workspace_id: str, created_by: str) -> Invitation:
    minted = mint(INVITATION_PREFIX)
    return Invitation(
        id=minted.id,
        workspace_id=workspace_id,
        email="ada@example.com",
        role=MemberRole.EDITOR,
        token_hash=minted.digest,
        created_by=created_by,
        created_at=T0,
        expires_at=T0 + timedelta(hours=1),
    )


async def test_an_invitation_is_consumed_once_and_not_after_expiry(store: Store, make: Make) -> None:
    owner, _ = await make.register(store)
    ada, _ = await make.register(store)
    team = make.workspace(owner.id)
    await store.create_workspace(team, make.membership(team.id, owner.id, MemberRole.OWNER))
    invitation = _invitation(make, team.id, owner.id)
    await store.insert_invitation(invitation)
    member = make.membership(team.id, ada.id, MemberRole.EDITOR)
    assert await store.consume_invitation(invitation.id, T0 + timedelta(hours=1), member=member) is None
    consumed = await store.consume_invitation(invitation.id, T0 + timedelta(minutes=5), member=member)
    assert consumed is not None and consumed.accepted_by == ada.id
    assert await store.consume_invitation(invitation.id, T0 + timedelta(minutes=6), member=member) is None
    assert {m.user_id for m in await store.list_members(Scope.of([team.id]), team.id)} == {owner.id, ada.id}

    revoked = _invitation(make, team.id, owner.id)
    await store.insert_invitation(revoked)
    assert await store.revoke_invitation(revoked.id, T0)
    assert not await store.revoke_invitation(revoked.id, T0)
    assert await store.consume_invitation(revoked.id, T0, member=None) is None
    assert [i.id for i in await store.list_invitations(team.id)] != []
    with pytest.raises(NotFound):
        await store.insert_invitation(_invitation(make, "nowhere", owner.id))


def _api_token(make: Make, user_id: str, workspace_id: str) -> ApiToken:
    minted = mint(API_TOKEN_PREFIX)
    return ApiToken(
        id=minted.id,
        user_id=user_id,
        workspace_id=workspace_id,
        name="ci",
        role=MemberRole.VIEWER,
        token_hash=minted.digest,
        created_at=make.at(),
        expires_at=None,
    )


async def test_api_tokens_are_listed_touched_and_revoked(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)
    other, _ = await make.register(store)
    token = _api_token(make, user.id, workspace.id)
    await store.insert_api_token(token)
    await store.touch_api_token(token.id, T0)
    assert (await store.get_api_token(token.id)).last_used_at == T0  # type: ignore[union-attr]
    assert not await store.revoke_api_token(other.id, token.id, T0)
    assert await store.revoke_api_token(user.id, token.id, T0)
    assert not await store.revoke_api_token(user.id, token.id, T0)
    [listed] = await store.list_api_tokens(user.id)
    assert listed.revoked_at == T0
    with pytest.raises(NotFound):
        await store.insert_api_token(_api_token(make, "nobody", workspace.id))


async def test_a_password_reset_completes_once_and_ends_every_session(store: Store, make: Make) -> None:
    user, _ = await make.register(store)
    await _session(store, make, user.id)
    resets = [
        PasswordReset(
            id=make.id("r"),
            user_id=user.id,
            token_hash="h",
            created_at=T0,
            expires_at=T0 + timedelta(minutes=30),
        )
        for _ in range(2)
    ]
    for reset in resets:
        await store.insert_password_reset(reset)
    assert await store.complete_password_reset(resets[0].id, "new", T0 + timedelta(minutes=30)) is None
    assert await store.complete_password_reset(resets[0].id, "new", T0 + timedelta(minutes=29)) == user.id
    assert (await store.get_user(user.id)).password_hash == "new"  # type: ignore[union-attr]
    assert await store.list_sessions(user.id) == []
    assert await store.complete_password_reset(resets[1].id, "newer", T0) is None  # ended with the first
