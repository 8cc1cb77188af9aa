"""Workspace invitations and members' roles over real HTTP: single use, for one address, revocable,
expiring; owners only; the last owner stays."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.settings import Settings
from tests.api.people import add_member, code_of, team
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient

INVITE = """mutation($ws: ID!, $e: String!, $r: MemberRole!) { inviteWorkspaceMember(input:
  {workspaceId: $ws, email: $e, role: $r}) { inviteLink invitation { id email role status expiresAt } } }"""
ACCEPT = "mutation($t: String!) { acceptInvitation(input: {token: $t}) { role workspace { id viewerRole } } }"
LIST = "query($ws: ID!) { workspaceInvitations(workspaceId: $ws) { id email status } }"
SET_ROLE = """mutation($ws: ID!, $u: ID!, $r: MemberRole!) { setWorkspaceMemberRole(input:
  {workspaceId: $ws, userId: $u, role: $r}) { member { role } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Invitations last an hour here (sessions a day), so expiry is seen with a signed-in user."""
    return settings.model_copy(update={"invitation_ttl_seconds": 3600})


async def _invite(gql: GraphQLClient, token: str, workspace: str, email: str, role: str = "EDITOR") -> Any:
    data = await gql.ok(INVITE, {"ws": workspace, "e": email, "r": role}, token=token)
    return data["inviteWorkspaceMember"]


def _token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_an_invitation_is_accepted_once_by_its_address(gql: GraphQLClient, live_server: str) -> None:
    owner = await gql.register("owner@example.com")
    workspace = await team(gql, owner["token"])
    invited = await _invite(gql, owner["token"], workspace, "Ada@Example.com")
    assert invited["invitation"]["email"] == "ada@example.com"
    assert invited["invitation"]["status"] == "PENDING"
    assert invited["inviteLink"].startswith(f"{live_server}/invitations/accept?token=")
    token = _token_of(invited["inviteLink"])

    stranger = await gql.register("grace@example.com")
    assert await code_of(gql, ACCEPT, {"t": token}, token=stranger["token"]) == "BAD_INPUT"
    assert len((await gql.ok("{ workspaces { id } }", token=stranger["token"]))["workspaces"]) == 1

    ada = await gql.register("ada@example.com")
    accepted = (await gql.ok(ACCEPT, {"t": token}, token=ada["token"]))["acceptInvitation"]
    assert accepted == {"role": "EDITOR", "workspace": {"id": workspace, "viewerRole": "EDITOR"}}
    assert await code_of(gql, ACCEPT, {"t": token}, token=ada["token"]) == "BAD_INPUT"
    [listed] = (await gql.ok(LIST, {"ws": workspace}, token=owner["token"]))["workspaceInvitations"]
    assert listed["status"] == "ACCEPTED"
    assert await code_of(gql, LIST, {"ws": workspace}, token=ada["token"]) == "FORBIDDEN"
    assert await code_of(gql, ACCEPT, {"t": "trlinv_forged"}, token=ada["token"]) == "BAD_INPUT"


async def test_revoked_and_expired_invitations_do_not_work(gql: GraphQLClient, clock: FakeClock) -> None:
    owner = await gql.register("owner@example.com")
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, owner["token"])
    revoked = await _invite(gql, owner["token"], workspace, "ada@example.com")
    await gql.ok(
        "mutation($i: ID!) { revokeInvitation(input: {invitationId: $i}) { invitation { status } } }",
        {"i": revoked["invitation"]["id"]},
        token=owner["token"],
    )
    assert (
        await code_of(gql, ACCEPT, {"t": _token_of(revoked["inviteLink"])}, token=ada["token"]) == "BAD_INPUT"
    )
    expiring = await _invite(gql, owner["token"], workspace, "ada@example.com")
    clock.advance(hours=1, seconds=1)
    error = await gql.error(ACCEPT, {"t": _token_of(expiring["inviteLink"])}, token=ada["token"])
    assert error["extensions"]["code"] == "BAD_INPUT" and "expired" in error["message"]
    statuses = [
        i["status"]
        for i in (await gql.ok(LIST, {"ws": workspace}, token=owner["token"]))["workspaceInvitations"]
    ]
    assert sorted(statuses) == ["EXPIRED", "REVOKED"]


async def test_only_owners_invite_and_members_are_not_invited_twice(gql: GraphQLClient) -> None:
    owner = await gql.register("owner@example.com")
    editor = await gql.register("editor@example.com")
    workspace = await team(gql, owner["token"])
    await add_member(gql, owner["token"], workspace, "editor@example.com", "EDITOR")
    variables = {"ws": workspace, "e": "x@example.com", "r": "VIEWER"}
    assert await code_of(gql, INVITE, variables, token=editor["token"]) == "FORBIDDEN"
    assert (
        await code_of(gql, INVITE, {**variables, "e": "editor@example.com"}, token=owner["token"])
        == "CONFLICT"
    )
    assert (
        await code_of(gql, INVITE, {**variables, "e": "not an address"}, token=owner["token"]) == "BAD_INPUT"
    )
    personal = (await gql.ok("{ workspaces { id personal } }", token=owner["token"]))["workspaces"]
    personal_id = next(w["id"] for w in personal if w["personal"])
    assert await code_of(gql, INVITE, {**variables, "ws": personal_id}, token=owner["token"]) == "BAD_INPUT"
    assert (await gql.ok(LIST, {"ws": workspace}, token=owner["token"]))["workspaceInvitations"] == []


async def test_owners_change_member_roles_and_the_last_owner_stays(gql: GraphQLClient) -> None:
    owner = await gql.register("owner@example.com")
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, owner["token"])
    await add_member(gql, owner["token"], workspace, "ada@example.com", "VIEWER")
    ada_id, owner_id = ada["user"]["id"], owner["user"]["id"]
    assert await code_of(gql, SET_ROLE, {"ws": workspace, "u": ada_id, "r": "OWNER"}, token=ada["token"]) == (
        "FORBIDDEN"
    )
    assert await code_of(
        gql, SET_ROLE, {"ws": workspace, "u": owner_id, "r": "EDITOR"}, token=owner["token"]
    ) == ("CONFLICT")
    await gql.ok(SET_ROLE, {"ws": workspace, "u": ada_id, "r": "OWNER"}, token=owner["token"])
    await gql.ok(SET_ROLE, {"ws": workspace, "u": owner_id, "r": "VIEWER"}, token=ada["token"])
    roles = await gql.ok(
        "query($ws: ID!) { workspace(id: $ws) { viewerRole } }", {"ws": workspace}, token=owner["token"]
    )
    assert roles["workspace"]["viewerRole"] == "VIEWER"
    assert await code_of(
        gql, SET_ROLE, {"ws": workspace, "u": "nobody", "r": "VIEWER"}, token=ada["token"]
    ) == ("NOT_FOUND")
