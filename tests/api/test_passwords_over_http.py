"""Password change and reset over real HTTP; reset tokens are captured by a delivery of our own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from app.services.container import Deliveries
from app.services.invitations import InvitationMessage
from app.services.passwords import LogPasswordResetNotifier, PasswordResetMessage
from app.settings import Settings
from tests.api.people import ME, code_of, login
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

CHANGE = """mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n})
  { otherSessionsEnded } }"""
REQUEST = "mutation($e: String!) { requestPasswordReset(input: {email: $e}) { accepted } }"
RESET = """mutation($t: String!, $n: String!) { resetPassword(input: {token: $t, newPassword: $n})
  { passwordChanged } }"""
OLD = "correct horse battery"
NEW = "a much better passphrase"


class CapturedMail:
    """Deliveries that keep every message (our own Protocols, implemented in-process)."""

    def __init__(self) -> None:
        self.resets: list[PasswordResetMessage] = []
        self.invitations: list[InvitationMessage] = []

    async def send_password_reset(self, message: PasswordResetMessage) -> None:
        self.resets.append(message)

    async def send_invitation(self, message: InvitationMessage) -> bool:
        self.invitations.append(message)
        return True


@pytest.fixture
def mail() -> CapturedMail:
    return CapturedMail()


@pytest.fixture
def live_server(settings: Settings, clock: FakeClock, mail: CapturedMail) -> Iterator[str]:
    with serving(settings, clock=clock, deliveries=Deliveries(invitations=mail, password_resets=mail)) as url:
        yield url


def _token(message: PasswordResetMessage) -> str:
    return parse_qs(urlsplit(message.link).query)["token"][0]


async def test_changing_the_password_ends_the_other_sessions(gql: GraphQLClient) -> None:
    ada = await gql.register("ada@example.com")
    laptop = await login(gql, "ada@example.com")
    error = await gql.error(CHANGE, {"c": "wrong", "n": NEW}, token=laptop)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert [f["path"] for f in error["extensions"]["fields"]] == ["currentPassword"]
    assert await code_of(gql, CHANGE, {"c": OLD, "n": "short"}, token=laptop) == "BAD_INPUT"
    assert (await gql.ok(ME, token=ada["token"]))["me"]  # nothing changed yet
    await gql.ok(CHANGE, {"c": OLD, "n": NEW}, token=laptop)
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"
    assert (await gql.ok(ME, token=laptop))["me"]["email"] == "ada@example.com"
    assert await login(gql, "ada@example.com", NEW)
    assert (
        await code_of(
            gql,
            'mutation { login(input: {email: "ada@example.com", password: "correct horse battery"}) { token } }',
            token="",
        )
        == "UNAUTHENTICATED"
    )


async def test_a_reset_token_works_once_and_ends_every_session(
    gql: GraphQLClient, mail: CapturedMail
) -> None:
    ada = await gql.register("ada@example.com")
    known = await gql.raw(REQUEST, {"e": "ADA@example.com"})
    unknown = await gql.raw(REQUEST, {"e": "nobody@example.com"})
    assert known == unknown == {"data": {"requestPasswordReset": {"accepted": True}}}
    [message] = mail.resets
    assert message.email == "ada@example.com"
    token = _token(message)
    assert token.startswith("trlpwr_")
    assert await code_of(gql, RESET, {"t": token, "n": "short"}, token="") == "BAD_INPUT"
    await gql.ok(RESET, {"t": token, "n": NEW})
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"
    assert await login(gql, "ada@example.com", NEW)
    assert await code_of(gql, RESET, {"t": token, "n": "yet another passphrase"}, token="") == "BAD_INPUT"
    assert await code_of(gql, RESET, {"t": "trlpwr_forged", "n": NEW}, token="") == "BAD_INPUT"


async def test_a_reset_token_expires_after_thirty_minutes(
    gql: GraphQLClient, mail: CapturedMail, clock: FakeClock
) -> None:
    await gql.register("ada@example.com")
    await gql.ok(REQUEST, {"e": "ada@example.com"})
    await gql.ok(REQUEST, {"e": "ada@example.com"})
    early, late = (_token(m) for m in mail.resets)
    clock.advance(minutes=30)
    assert await code_of(gql, RESET, {"t": early, "n": NEW}, token="") == "BAD_INPUT"
    assert await code_of(gql, RESET, {"t": late, "n": NEW}, token="") == "BAD_INPUT"
    assert await login(gql, "ada@example.com", OLD)


async def test_using_one_reset_token_ends_the_others(gql: GraphQLClient, mail: CapturedMail) -> None:
    await gql.register("ada@example.com")
    await gql.ok(REQUEST, {"e": "ada@example.com"})
    await gql.ok(REQUEST, {"e": "ada@example.com"})
    first, second = (_token(m) for m in mail.resets)
    await gql.ok(RESET, {"t": second, "n": NEW})
    assert await code_of(gql, RESET, {"t": first, "n": "yet another passphrase"}, token="") == "BAD_INPUT"


async def test_a_delivering_notifier_keeps_the_invitation_link_out_of_the_payload(
    gql: GraphQLClient, mail: CapturedMail
) -> None:
    owner = await gql.register("owner@example.com")
    workspace = (
        await gql.ok(
            'mutation { createWorkspace(input: {name: "T"}) { workspace { id } } }', token=owner["token"]
        )
    )["createWorkspace"]["workspace"]["id"]
    data = await gql.ok(
        'mutation($ws: ID!) { inviteWorkspaceMember(input: {workspaceId: $ws, email: "ada@example.com", '
        "role: VIEWER}) { inviteLink } }",
        {"ws": workspace},
        token=owner["token"],
    )
    assert data["inviteWorkspaceMember"]["inviteLink"] is None
    [message] = mail.invitations
    assert message.email == "ada@example.com" and "token=trlinv_" in message.link


async def test_the_default_delivery_logs_no_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    secret = "trlpwr_" + "0" * 32 + "_secret"
    await LogPasswordResetNotifier().send_password_reset(
        PasswordResetMessage(
            email="a@example.com", name="A", link=f"http://x/?token={secret}", expires_at=datetime.now(UTC)
        )
    )
    assert "reset was requested" in caplog.text
    assert secret not in caplog.text and "a@example.com" not in caplog.text
