"""Personal API tokens over real HTTP: shown once, limited to a workspace and a role, revoked, expired,
dead with their user; the `trellis` client authenticates with one (TRELLIS_TOKEN)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from app.clients.trellis_api import TrellisApi
from tests.api.people import ME, add_member, code_of, create_workflow, team
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient

CREATE = """mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) {
  token apiToken { id name role workspaceId expiresAt lastUsedAt revokedAt } } }"""
TOKENS = "{ apiTokens { id name lastUsedAt revokedAt } }"
REVOKE = "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }"


async def _token(gql: GraphQLClient, session: str, workspace: str, role: str, **extra: Any) -> dict[str, Any]:
    data = await gql.ok(
        CREATE, {"i": {"name": "ci", "workspaceId": workspace, "role": role, **extra}}, token=session
    )
    created: dict[str, Any] = data["createApiToken"]
    return created


async def test_a_token_acts_in_its_workspace_with_its_role_only(gql: GraphQLClient) -> None:
    owner = await gql.register("owner@example.com")
    workspace = await team(gql, owner["token"])
    elsewhere = await team(gql, owner["token"], "Elsewhere")
    other_workflow = await create_workflow(gql, owner["token"], elsewhere)
    viewer = await _token(gql, owner["token"], workspace, "VIEWER")
    assert viewer["token"].startswith("trl_")
    assert viewer["apiToken"]["role"] == "VIEWER"
    token = viewer["token"]

    assert (await gql.ok(ME, token=token))["me"]["email"] == "owner@example.com"
    assert [w["id"] for w in (await gql.ok("{ workspaces { id } }", token=token))["workspaces"]] == [
        workspace
    ]
    assert (
        await code_of(
            gql, "query($id: ID!) { workflow(id: $id) { id } }", {"id": other_workflow}, token=token
        )
        == "NOT_FOUND"
    )
    assert (
        await code_of(
            gql,
            'mutation($ws: ID!) { createWorkflow(input: {name: "x", workspaceId: $ws}) { workflow { id } } }',
            {"ws": workspace},
            token=token,
        )
        == "FORBIDDEN"
    )
    editor = (await _token(gql, owner["token"], workspace, "EDITOR"))["token"]
    assert await create_workflow(gql, editor, workspace)
    # Tokens manage no credentials and carry no admin rights (the owner is the first user: an admin).
    assert await code_of(
        gql, CREATE, {"i": {"name": "x", "workspaceId": workspace, "role": "VIEWER"}}, token=editor
    ) == ("FORBIDDEN")
    assert await code_of(gql, "{ users { totalCount } }", token=editor) == "FORBIDDEN"
    listed = (await gql.ok(TOKENS, token=owner["token"]))["apiTokens"]
    assert len(listed) == 2 and all("token" not in t for t in listed)


async def test_a_token_never_exceeds_its_creators_role(gql: GraphQLClient) -> None:
    owner = await gql.register("owner@example.com")
    member = await gql.register("member@example.com")
    workspace = await team(gql, owner["token"])
    await add_member(gql, owner["token"], workspace, "member@example.com", "EDITOR")
    error = await gql.error(
        CREATE, {"i": {"name": "ci", "workspaceId": workspace, "role": "OWNER"}}, token=member["token"]
    )
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert [f["path"] for f in error["extensions"]["fields"]] == ["role"]
    assert (await gql.ok(TOKENS, token=member["token"]))["apiTokens"] == []
    token = (await _token(gql, member["token"], workspace, "EDITOR"))["token"]
    await gql.ok(
        "mutation($ws: ID!, $u: ID!) { setWorkspaceMemberRole(input: {workspaceId: $ws, userId: $u, "
        "role: VIEWER}) { member { role } } }",
        {"ws": workspace, "u": member["user"]["id"]},
        token=owner["token"],
    )
    assert (
        await code_of(  # the member's current role caps the token at once
            gql,
            'mutation($ws: ID!) { createWorkflow(input: {name: "x", workspaceId: $ws}) { workflow { id } } }',
            {"ws": workspace},
            token=token,
        )
        == "FORBIDDEN"
    )
    assert (
        await code_of(
            gql,
            CREATE,
            {
                "i": {
                    "name": "old",
                    "workspaceId": workspace,
                    "role": "VIEWER",
                    "expiresAt": "2020-01-01T00:00:00Z",
                }
            },
            token=member["token"],
        )
        == "BAD_INPUT"
    )


async def test_revoked_expired_and_disabled_tokens_stop_at_once(gql: GraphQLClient, clock: FakeClock) -> None:
    admin = await gql.register("root@example.com")
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, ada["token"])
    revoked = await _token(gql, ada["token"], workspace, "VIEWER")
    await gql.ok(ME, token=revoked["token"])
    await gql.ok(REVOKE, {"id": revoked["apiToken"]["id"]}, token=ada["token"])
    assert await code_of(gql, ME, token=revoked["token"]) == "UNAUTHENTICATED"
    assert await code_of(gql, REVOKE, {"id": revoked["apiToken"]["id"]}, token=admin["token"]) == "NOT_FOUND"

    expiry = (clock.now() + timedelta(hours=1)).isoformat()
    expiring = await _token(gql, ada["token"], workspace, "VIEWER", expiresAt=expiry)
    await gql.ok(ME, token=expiring["token"])
    clock.advance(hours=1, seconds=1)
    assert await code_of(gql, ME, token=expiring["token"]) == "UNAUTHENTICATED"

    fresh = await gql.ok(
        'mutation { login(input: {email: "ada@example.com", password: "correct horse battery"}) { token } }'
    )
    alive = await _token(gql, fresh["login"]["token"], workspace, "VIEWER")
    await gql.ok(ME, token=alive["token"])
    await gql.ok(
        "mutation($u: ID!) { disableUser(input: {userId: $u}) { user { id } } }",
        {"u": ada["user"]["id"]},
        token=admin["token"],
    )
    assert await code_of(gql, ME, token=alive["token"]) == "UNAUTHENTICATED"
    forged = alive["token"][:-4] + "0000"
    assert await code_of(gql, ME, token=forged) == "UNAUTHENTICATED"
    assert await code_of(gql, ME, token="trl_nonsense") == "UNAUTHENTICATED"


async def test_last_use_is_recorded(gql: GraphQLClient, clock: FakeClock) -> None:
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, ada["token"])
    created = await _token(gql, ada["token"], workspace, "VIEWER")
    assert created["apiToken"]["lastUsedAt"] is None
    await gql.ok(ME, token=created["token"])
    [listed] = (await gql.ok(TOKENS, token=ada["token"]))["apiTokens"]
    assert listed["lastUsedAt"] is not None
    assert listed["lastUsedAt"].startswith(clock.now().date().isoformat())


async def test_the_trellis_client_uses_an_api_token(gql: GraphQLClient, live_server: str) -> None:
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, ada["token"])
    token = (await _token(gql, ada["token"], workspace, "VIEWER"))["token"]

    def call() -> dict[str, Any]:
        with TrellisApi(live_server, token=token) as api:
            return api.call(ME)

    assert (await asyncio.to_thread(call))["me"]["email"] == "ada@example.com"


async def test_a_token_cannot_open_a_terminal(gql: GraphQLClient) -> None:
    """A terminal is redeemed against a signed-in session, which a token has not: refused up front."""
    owner = await gql.register("owner@example.com")
    workspace = await team(gql, owner["token"])
    workflow = await create_workflow(gql, owner["token"], workspace)
    editor = (await _token(gql, owner["token"], workspace, "EDITOR"))["token"]
    ticket = """mutation($i: CreateExecTicketInput!) { createExecTicket(input: $i) { ticket } }"""
    request = {"workflowId": workflow, "nodeId": "web", "pod": "web-0", "container": "web"}
    assert await code_of(gql, ticket, {"i": request}, token=editor) == "FORBIDDEN"
