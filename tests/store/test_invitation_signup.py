"""Sign-up by invitation, all or nothing: ``InvitationService.check_for_signup`` checks the token and the
address and writes nothing; ``accept_for_signup`` then creates the account (with its provider identity for
an OAuth sign-up), uses the invitation up and adds the membership it gives in one atomic store write
(``create_user_by_invitation``) — an invitation taken meanwhile, a taken e-mail or a taken identity leaves
the invitation unused and no account behind. Over every store backend (deliveries captured in-process)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.domain.identities import UserIdentity
from app.domain.invitations import InvitationStatus
from app.domain.users import User, UserRole
from app.domain.workspaces import MemberRole, Membership, Scope, Workspace
from app.errors import Conflict
from app.ports import Store
from app.services.auditing import Auditor
from app.services.identity import PrincipalCache
from app.services.invitations import InvitationGrant, InvitationMessage, InvitationRefused, InvitationService
from app.services.principals import Principal
from tests.clock import FakeClock
from tests.store.builders import Make

EMAIL = "new@example.com"


class Captured:
    def __init__(self) -> None:
        self.messages: list[InvitationMessage] = []

    async def send_invitation(self, message: InvitationMessage) -> bool:
        self.messages.append(message)
        return True


@dataclass
class Invited:
    service: InvitationService
    store: Store
    clock: FakeClock
    owner: User
    team: str
    token: str

    def account(self, make: Make, email: str = EMAIL) -> tuple[User, Workspace]:
        """A new account about to be created (not stored)."""
        user = make.user(email, created_at=self.clock.now(), updated_at=self.clock.now())
        return user, make.workspace(user.id, f"{user.name}'s space", personal=True)

    async def invitation_status(self, grant: InvitationGrant) -> InvitationStatus:
        invitation = await self.store.get_invitation(grant.invitation_id)
        assert invitation is not None
        return invitation.status(self.clock.now())

    async def members(self) -> set[str]:
        return {m.user_id for m in await self.store.list_members(Scope.of([self.team]), self.team)}


@pytest.fixture
async def invited(store: Store, make: Make) -> Invited:
    clock = FakeClock()
    owner, _ = await make.register(store)
    team = make.workspace(owner.id)
    await store.create_workspace(team, make.membership(team.id, owner.id, MemberRole.OWNER))
    mail = Captured()
    service = InvitationService(
        store=store,
        clock=clock,
        auditor=Auditor(log=store, clock=clock),
        principals=PrincipalCache(0),
        notifier=mail,
        ttl=timedelta(hours=1),
        accept_url="https://trellis.example/invitations/accept",
    )
    owner_principal = Principal(user=owner, session_id="s", roles={team.id: MemberRole.OWNER})
    created = await service.invite(owner_principal, workspace_id=team.id, email=EMAIL, role=MemberRole.VIEWER)
    assert created.link is None  # delivered by the notifier
    token = parse_qs(urlsplit(mail.messages[0].link).query)["token"][0]
    return Invited(service, store, clock, owner, team.id, token)


async def test_the_check_writes_nothing_and_refuses_another_address(invited: Invited) -> None:
    with pytest.raises(InvitationRefused) as other:
        await invited.service.check_for_signup(invited.token, "someone.else@example.com")
    assert other.value.code == "BAD_INPUT" and other.value.fields[0].path == "invitationToken"
    grant = await invited.service.check_for_signup(invited.token, " New@Example.com ")
    assert (grant.workspace_id, grant.role) == (invited.team, MemberRole.VIEWER)
    assert await invited.service.check_for_signup(invited.token, EMAIL) == grant  # still unused
    assert await invited.invitation_status(grant) is InvitationStatus.PENDING


async def test_an_expired_or_forged_invitation_refuses_a_sign_up(invited: Invited) -> None:
    with pytest.raises(InvitationRefused):
        await invited.service.check_for_signup(invited.token[:-2] + "00", EMAIL)
    invited.clock.advance(hours=1)
    with pytest.raises(InvitationRefused) as expired:
        await invited.service.check_for_signup(invited.token, EMAIL)
    assert "expired" in expired.value.reason


async def test_the_account_the_invitation_and_the_membership_are_written_together(
    invited: Invited, make: Make
) -> None:
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    user, personal = invited.account(make)
    stored = await invited.service.accept_for_signup(grant, user, personal)
    assert stored.id == user.id and stored.role is UserRole.USER  # not the first user: no ADMIN
    roles = {(m.workspace_id, m.role) for m in await invited.store.memberships_of_user(user.id)}
    assert roles == {(personal.id, MemberRole.OWNER), (invited.team, MemberRole.VIEWER)}
    invitation = await invited.store.get_invitation(grant.invitation_id)
    assert invitation is not None and invitation.accepted_by == user.id
    again, other = invited.account(make, "new2@example.com")
    with pytest.raises(InvitationRefused):
        await invited.service.accept_for_signup(grant, again, other)  # single use
    assert await invited.store.get_user_by_email("new2@example.com") is None


async def test_an_oauth_sign_up_links_its_identity_in_the_same_write(invited: Invited, make: Make) -> None:
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    user, personal = invited.account(make)
    identity = UserIdentity("corp", "subject-1", "", EMAIL, invited.clock.now())
    stored = await invited.service.accept_for_signup(grant, user, personal, identity)
    linked = await invited.store.get_identity("corp", "subject-1")
    assert linked is not None and linked.user_id == stored.id
    assert await invited.members() == {invited.owner.id, stored.id}


async def test_an_invitation_taken_after_the_check_creates_no_account(invited: Invited, make: Make) -> None:
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    # Someone else uses the invitation between the check and the write (the link was forwarded).
    other, _ = await make.register(invited.store)
    member = Membership(invited.team, other.id, MemberRole.VIEWER, invited.clock.now())
    assert await invited.store.consume_invitation(grant.invitation_id, invited.clock.now(), member=member)
    user, personal = invited.account(make)
    with pytest.raises(InvitationRefused):
        await invited.service.accept_for_signup(grant, user, personal)
    assert await invited.store.get_user_by_email(EMAIL) is None
    assert await invited.store.list_workspaces(Scope.of([personal.id])) == []
    assert await invited.members() == {invited.owner.id, other.id}


async def test_a_revoked_or_expired_invitation_after_the_check_creates_no_account(
    invited: Invited, make: Make
) -> None:
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    invited.clock.advance(hours=1)
    user, personal = invited.account(make)
    with pytest.raises(InvitationRefused):
        await invited.service.accept_for_signup(grant, user, personal)
    assert await invited.store.get_user_by_email(EMAIL) is None
    assert await invited.invitation_status(grant) is InvitationStatus.EXPIRED


async def test_a_taken_email_leaves_the_invitation_unused(invited: Invited, make: Make) -> None:
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    first, first_personal = invited.account(make)
    await invited.store.create_user(first, first_personal)  # a registration without the invitation won
    user, personal = invited.account(make)
    with pytest.raises(Conflict):
        await invited.service.accept_for_signup(grant, user, personal)
    assert await invited.invitation_status(grant) is InvitationStatus.PENDING
    assert await invited.store.get_user(user.id) is None
    assert await invited.store.list_workspaces(Scope.of([personal.id])) == []
    assert await invited.members() == {invited.owner.id}


async def test_a_taken_identity_leaves_the_invitation_unused_and_no_account(
    invited: Invited, make: Make
) -> None:
    holder, _ = await make.register(invited.store)
    await invited.store.link_identity(
        UserIdentity("corp", "subject-1", holder.id, "h@example.com", make.at())
    )
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    user, personal = invited.account(make)
    identity = UserIdentity("corp", "subject-1", "", EMAIL, invited.clock.now())
    with pytest.raises(Conflict):
        await invited.service.accept_for_signup(grant, user, personal, identity)
    assert await invited.store.get_user_by_email(EMAIL) is None
    assert await invited.invitation_status(grant) is InvitationStatus.PENDING
    assert await invited.members() == {invited.owner.id}
    stored = await invited.service.accept_for_signup(grant, user, personal)  # still usable, once
    assert await invited.members() == {invited.owner.id, stored.id}


async def test_concurrent_sign_ups_with_one_invitation_make_one_account(invited: Invited, make: Make) -> None:
    grant = await invited.service.check_for_signup(invited.token, EMAIL)
    accounts = [invited.account(make) for _ in range(4)]
    outcomes = await asyncio.gather(
        *(invited.service.accept_for_signup(grant, user, personal) for user, personal in accounts),
        return_exceptions=True,
    )
    made = [o for o in outcomes if isinstance(o, User)]
    assert len(made) == 1
    assert all(isinstance(o, InvitationRefused | Conflict) for o in outcomes if not isinstance(o, User))
    stored = await invited.store.get_user_by_email(EMAIL)
    assert stored is not None and stored.id == made[0].id
    for user, personal in accounts:
        if user.id != stored.id:
            assert await invited.store.get_user(user.id) is None
            assert await invited.store.list_workspaces(Scope.of([personal.id])) == []
    assert await invited.members() == {invited.owner.id, stored.id}
