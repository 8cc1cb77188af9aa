"""Contract: workspaces, members, scoping and last-owner protection."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.workspaces import MemberRole, Membership, Scope
from app.errors import Conflict, NotFound
from app.ports import Store
from tests.store.builders import Make


async def test_create_workspace_with_its_first_owner(store: Store, make: Make) -> None:
    user, personal = await make.register(store)
    team = make.workspace(user.id, "Platform")
    owner = Membership(team.id, user.id, MemberRole.OWNER, make.at())

    await store.create_workspace(team, owner)

    assert await store.get_workspace(Scope.of([team.id]), team.id) == team
    assert await store.list_members(Scope.of([team.id]), team.id) == [owner]
    assert {m.workspace_id for m in await store.memberships_of_user(user.id)} == {personal.id, team.id}


async def test_create_workspace_refuses_an_unknown_owner_or_a_taken_id(store: Store, make: Make) -> None:
    user, personal = await make.register(store)
    ghost_team = make.workspace("ghost")
    with pytest.raises(NotFound):
        await store.create_workspace(
            ghost_team, Membership(ghost_team.id, "ghost", MemberRole.OWNER, make.at())
        )
    assert await store.get_workspace(Scope.of([ghost_team.id]), ghost_team.id) is None

    other, _ = await make.register(store)
    clash = make.workspace(other.id, "Clash", id=personal.id)
    with pytest.raises(Conflict):
        await store.create_workspace(clash, Membership(personal.id, other.id, MemberRole.OWNER, make.at()))
    assert await store.memberships_of_user(other.id) != []
    assert [m.user_id for m in await store.list_members(Scope.of([personal.id]), personal.id)] == [user.id]


async def test_create_workspace_needs_an_owner_of_that_workspace(store: Store, make: Make) -> None:
    user, _ = await make.register(store)
    team = make.workspace(user.id)

    with pytest.raises(ValueError, match="OWNER"):
        await store.create_workspace(team, Membership(team.id, user.id, MemberRole.EDITOR, make.at()))
    with pytest.raises(ValueError, match="OWNER"):
        await store.create_workspace(team, Membership("elsewhere", user.id, MemberRole.OWNER, make.at()))


async def test_workspaces_outside_the_scope_look_missing(store: Store, make: Make) -> None:
    _, mine = await make.register(store)
    _, theirs = await make.register(store)
    scope = Scope.of([mine.id])

    assert await store.get_workspace(scope, theirs.id) is None
    assert await store.get_workspace(scope, "no-such-workspace") is None
    assert await store.list_workspaces(scope) == [mine]
    assert await store.list_members(scope, theirs.id) == []
    assert await store.list_workspaces(Scope.of([])) == []
    assert await store.get_workspace(Scope.of([]), mine.id) is None
    assert await store.list_members(Scope.of([]), mine.id) == []


async def test_list_workspaces_puts_personal_first_then_sorts_by_name(store: Store, make: Make) -> None:
    user, personal = await make.register(store)
    teams = [make.workspace(user.id, name) for name in ("Zeta", "Alpha", "Mid")]
    for team in teams:
        await store.create_workspace(team, Membership(team.id, user.id, MemberRole.OWNER, make.at()))

    listed = await store.list_workspaces(Scope.of([personal.id, *(t.id for t in teams)]))

    assert [w.name for w in listed] == [personal.name, "Alpha", "Mid", "Zeta"]


async def test_members_are_added_listed_and_refused_twice(store: Store, make: Make) -> None:
    owner, workspace = await make.register(store)
    editor, _ = await make.register(store)
    membership = make.membership(workspace.id, editor.id, MemberRole.EDITOR)

    await store.add_member(membership)

    members = await store.list_members(Scope.of([workspace.id]), workspace.id)
    assert [(m.user_id, m.role) for m in members] == [
        (owner.id, MemberRole.OWNER),
        (editor.id, MemberRole.EDITOR),
    ]
    assert membership in await store.memberships_of_user(editor.id)
    with pytest.raises(Conflict):
        await store.add_member(make.membership(workspace.id, editor.id, MemberRole.VIEWER))
    assert membership in await store.list_members(Scope.of([workspace.id]), workspace.id)


async def test_add_member_needs_an_existing_workspace_and_user(store: Store, make: Make) -> None:
    user, workspace = await make.register(store)

    with pytest.raises(NotFound):
        await store.add_member(make.membership("no-such-workspace", user.id))
    with pytest.raises(NotFound):
        await store.add_member(make.membership(workspace.id, "no-such-user"))


async def test_remove_member_removes_non_owners_and_refuses_strangers(store: Store, make: Make) -> None:
    _, workspace = await make.register(store)
    viewer, _ = await make.register(store)
    await store.add_member(make.membership(workspace.id, viewer.id, MemberRole.VIEWER))

    await store.remove_member(workspace.id, viewer.id)

    assert viewer.id not in {
        m.user_id for m in await store.list_members(Scope.of([workspace.id]), workspace.id)
    }
    with pytest.raises(NotFound):
        await store.remove_member(workspace.id, viewer.id)
    with pytest.raises(NotFound):
        await store.remove_member("no-such-workspace", viewer.id)


async def test_the_last_owner_cannot_be_removed(store: Store, make: Make) -> None:
    owner, workspace = await make.register(store)
    editor, _ = await make.register(store)
    await store.add_member(make.membership(workspace.id, editor.id, MemberRole.EDITOR))

    with pytest.raises(Conflict, match="owner"):
        await store.remove_member(workspace.id, owner.id)

    assert owner.id in {m.user_id for m in await store.list_members(Scope.of([workspace.id]), workspace.id)}


async def test_one_of_two_owners_can_leave(store: Store, make: Make) -> None:
    first, workspace = await make.register(store)
    second, _ = await make.register(store)
    await store.add_member(make.membership(workspace.id, second.id, MemberRole.OWNER))

    await store.remove_member(workspace.id, first.id)

    members = await store.list_members(Scope.of([workspace.id]), workspace.id)
    assert [(m.user_id, m.role) for m in members] == [(second.id, MemberRole.OWNER)]
    with pytest.raises(Conflict):
        await store.remove_member(workspace.id, second.id)


async def test_two_owners_leaving_at_once_leave_one_owner(store: Store, make: Make) -> None:
    first, workspace = await make.register(store)
    second, _ = await make.register(store)
    await store.add_member(make.membership(workspace.id, second.id, MemberRole.OWNER))

    results = await asyncio.gather(
        store.remove_member(workspace.id, first.id),
        store.remove_member(workspace.id, second.id),
        return_exceptions=True,
    )

    assert sorted(type(result).__name__ for result in results) == ["Conflict", "NoneType"]
    owners = [
        m
        for m in await store.list_members(Scope.of([workspace.id]), workspace.id)
        if m.role is MemberRole.OWNER
    ]
    assert len(owners) == 1


async def test_membership_datetimes_round_trip_in_utc(store: Store, make: Make) -> None:
    _, workspace = await make.register(store)
    [membership] = await store.list_members(Scope.of([workspace.id]), workspace.id)
    [loaded] = await store.list_workspaces(Scope.of([workspace.id]))

    assert membership.created_at.utcoffset() is not None
    assert loaded.created_at == workspace.created_at
    assert loaded.created_at.utcoffset().total_seconds() == 0
