"""``InvitationService.accept_for_signup``, which the sign-up policy calls: it checks the token and the
address and consumes the invitation once, over the real SQLite store (deliveries captured in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.domain.users import User
from app.domain.workspaces import MemberRole
from app.ports import Store
from app.services.auditing import Auditor
from app.services.identity import PrincipalCache
from app.services.invitations import InvitationGrant, InvitationMessage, InvitationRefused, InvitationService
from app.services.principals import Principal
from app.store.opening import open_store
from tests.clock import FakeClock
from tests.store.builders import Make


class Captured:
    def __init__(self) -> None:
        self.messages: list[InvitationMessage] = []

    async def send_invitation(self, message: InvitationMessage) -> bool:
        self.messages.append(message)
        return True


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Store]:
    store = await open_store(f"sqlite:///{tmp_path / 'trellis.db'}")
    yield store
    await store.close()


async def _invited(store: Store, clock: FakeClock) -> tuple[InvitationService, str, str]:
    make = Make()
    owner: User
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
    created = await service.invite(
        owner_principal, workspace_id=team.id, email="new@example.com", role=MemberRole.VIEWER
    )
    assert created.link is None  # delivered by the notifier
    token = parse_qs(urlsplit(mail.messages[0].link).query)["token"][0]
    return service, team.id, token


async def test_a_sign_up_consumes_its_invitation_once(sqlite: Store) -> None:
    clock = FakeClock()
    service, workspace_id, token = await _invited(sqlite, clock)
    with pytest.raises(InvitationRefused) as other:
        await service.accept_for_signup(token, "someone.else@example.com")
    assert other.value.code == "BAD_INPUT" and other.value.fields[0].path == "invitationToken"
    assert await service.accept_for_signup(token, " New@Example.com ") == InvitationGrant(
        workspace_id, MemberRole.VIEWER
    )
    with pytest.raises(InvitationRefused):
        await service.accept_for_signup(token, "new@example.com")


async def test_an_expired_or_forged_invitation_refuses_a_sign_up(sqlite: Store) -> None:
    clock = FakeClock()
    service, _, token = await _invited(sqlite, clock)
    with pytest.raises(InvitationRefused):
        await service.accept_for_signup(token[:-2] + "00", "new@example.com")
    clock.advance(hours=1)
    with pytest.raises(InvitationRefused) as expired:
        await service.accept_for_signup(token, "new@example.com")
    assert "expired" in expired.value.reason
