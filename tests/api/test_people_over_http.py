"""Administering people over real HTTP: listing, roles, disabling, deleting; sessions; viewers' limits.
A disabled user's open subscription is closed over a real WebSocket."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.api.people import ME, add_member, code_of, create_workflow, login, team
from tests.api.ws_client import subscribed
from tests.graphql_client import GraphQLClient

USERS = """query($s: String, $f: Int, $a: String) { users(search: $s, first: $f, after: $a) {
  totalCount nodes { email role disabled } pageInfo { hasNextPage endCursor } } }"""
SET_ROLE = "mutation($u: ID!, $r: UserRole!) { setUserRole(input: {userId: $u, role: $r}) { user { role } } }"
DISABLE = "mutation($u: ID!) { disableUser(input: {userId: $u}) { user { disabled } } }"
ENABLE = "mutation($u: ID!) { enableUser(input: {userId: $u}) { user { disabled } } }"
DELETE = """mutation($i: DeleteUserInput!) { deleteUser(input: $i) { deletedUserId deletedWorkspaceIds } }"""
WORKFLOW_STATUS = "subscription($id: ID!) { workflowStatus(workflowId: $id) { type } }"


async def test_admins_list_and_search_users_page_by_page(gql: GraphQLClient) -> None:
    admin = await gql.register("root@example.com", name="Root")
    for name in ("ada", "alan", "grace"):
        await gql.register(f"{name}@example.com", name=name.title())
    first = (await gql.ok(USERS, {"f": 2}, token=admin["token"]))["users"]
    assert [u["email"] for u in first["nodes"]] == ["ada@example.com", "alan@example.com"]
    assert first["totalCount"] == 4 and first["pageInfo"]["hasNextPage"]
    rest = (await gql.ok(USERS, {"f": 2, "a": first["pageInfo"]["endCursor"]}, token=admin["token"]))["users"]
    assert [u["email"] for u in rest["nodes"]] == ["grace@example.com", "root@example.com"]
    assert not rest["pageInfo"]["hasNextPage"]
    found = (await gql.ok(USERS, {"s": "AL"}, token=admin["token"]))["users"]
    assert [u["email"] for u in found["nodes"]] == ["alan@example.com"]
    user = await gql.register("someone@example.com")
    assert await code_of(gql, USERS, token=user["token"]) == "FORBIDDEN"
    assert await code_of(gql, USERS, {"a": "nonsense"}, token=admin["token"]) == "BAD_INPUT"


async def test_a_role_change_acts_on_the_next_request_and_the_last_admin_stays(gql: GraphQLClient) -> None:
    admin = await gql.register("root@example.com")
    other = await gql.register("ada@example.com")
    assert (
        await code_of(gql, SET_ROLE, {"u": admin["user"]["id"], "r": "USER"}, token=admin["token"])
        == "CONFLICT"
    )
    await gql.ok(SET_ROLE, {"u": other["user"]["id"], "r": "ADMIN"}, token=admin["token"])
    assert (await gql.ok(USERS, token=other["token"]))["users"]["totalCount"] == 2
    await gql.ok(SET_ROLE, {"u": other["user"]["id"], "r": "USER"}, token=admin["token"])
    assert await code_of(gql, USERS, token=other["token"]) == "FORBIDDEN"  # at once, not after 24 h
    audit = await gql.ok(
        "{ auditEvents(first: 50) { nodes { action outcome targetId } } }", token=admin["token"]
    )
    role_changes = [e for e in audit["auditEvents"]["nodes"] if e["action"] == "user.set_role"]
    assert [e["outcome"] for e in role_changes].count("FAILURE") == 1
    assert [e["outcome"] for e in role_changes].count("SUCCESS") == 2


async def test_a_disabled_user_is_out_at_once_and_back_when_enabled(gql: GraphQLClient) -> None:
    admin = await gql.register("root@example.com")
    ada = await gql.register("ada@example.com")
    assert (await gql.ok(DISABLE, {"u": ada["user"]["id"]}, token=admin["token"]))["disableUser"]["user"] == {
        "disabled": True
    }
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"
    assert (
        await code_of(
            gql,
            'mutation { login(input: {email: "ada@example.com", password: "correct horse battery"}) { token } }',
            token="",
        )
        == "UNAUTHENTICATED"
    )
    assert await code_of(gql, DISABLE, {"u": admin["user"]["id"]}, token=admin["token"]) == "CONFLICT"
    assert await code_of(gql, DISABLE, {"u": admin["user"]["id"]}, token=ada["token"]) == "UNAUTHENTICATED"
    await gql.ok(ENABLE, {"u": ada["user"]["id"]}, token=admin["token"])
    token = await login(gql, "ada@example.com")
    assert (await gql.ok(ME, token=token))["me"]["email"] == "ada@example.com"
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"  # the old sessions stay ended


async def test_a_disabled_users_open_subscription_is_closed(gql: GraphQLClient, live_server: str) -> None:
    admin = await gql.register("root@example.com")
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, ada["token"])
    workflow = await create_workflow(gql, ada["token"], workspace)
    async with subscribed(live_server, ada["token"]) as subscription:
        await subscription.start(WORKFLOW_STATUS, {"id": workflow})
        assert (await subscription.next())["data"]["workflowStatus"]["type"] == "METADATA"
        await gql.ok(DISABLE, {"u": ada["user"]["id"]}, token=admin["token"])
        started = time.monotonic()
        ended = await asyncio.wait_for(subscription.next(), timeout=10)
        elapsed = time.monotonic() - started
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert elapsed < 0.3 + 1.0  # one recheck interval (0.3 s in tests) and some slack


async def test_a_demoted_members_open_subscription_keeps_reading_but_a_removed_user_is_closed(
    gql: GraphQLClient, live_server: str
) -> None:
    admin = await gql.register("root@example.com")
    owner = await gql.register("owner@example.com")
    ada = await gql.register("ada@example.com")
    workspace = await team(gql, owner["token"])
    await add_member(gql, owner["token"], workspace, "ada@example.com", "EDITOR")
    workflow = await create_workflow(gql, owner["token"], workspace)
    async with subscribed(live_server, ada["token"]) as subscription:
        await subscription.start(WORKFLOW_STATUS, {"id": workflow})
        assert (await subscription.next())["data"]["workflowStatus"]["type"] == "METADATA"
        await gql.ok(
            "mutation($ws: ID!, $u: ID!) { setWorkspaceMemberRole(input: {workspaceId: $ws, userId: $u, "
            "role: VIEWER}) { member { role } } }",
            {"ws": workspace, "u": ada["user"]["id"]},
            token=owner["token"],
        )
        assert (
            await code_of(
                gql,
                "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }",
                {"id": workflow},
                token=ada["token"],
            )
            == "FORBIDDEN"
        )
        await gql.ok(DELETE, {"i": {"userId": ada["user"]["id"]}}, token=admin["token"])
        ended = await asyncio.wait_for(subscription.next(), timeout=10)
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_viewer_cannot_run_a_workflow_and_nothing_starts(gql: GraphQLClient) -> None:
    owner = await gql.register("owner@example.com")
    viewer = await gql.register("viewer@example.com")
    workspace = await team(gql, owner["token"])
    await add_member(gql, owner["token"], workspace, "viewer@example.com", "VIEWER")
    workflow = await create_workflow(gql, owner["token"], workspace)
    run = "mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"
    assert await code_of(gql, run, {"id": workflow}, token=viewer["token"]) == "FORBIDDEN"
    runs = await gql.ok(
        "query($id: ID!) { runs(workflowId: $id) { totalCount } }", {"id": workflow}, token=owner["token"]
    )
    assert runs["runs"]["totalCount"] == 0
    # Viewers read; editors write; only owners manage members and clusters.
    read = await gql.ok(
        "query($id: ID!) { workflow(id: $id) { id } }", {"id": workflow}, token=viewer["token"]
    )
    assert read["workflow"]["id"] == workflow
    editor = await gql.register("editor@example.com")
    await add_member(gql, owner["token"], workspace, "editor@example.com", "EDITOR")
    assert (
        await code_of(
            gql,
            'mutation($ws: ID!) { addWorkspaceMember(input: {workspaceId: $ws, email: "x@example.com", '
            "role: VIEWER}) { member { role } } }",
            {"ws": workspace},
            token=editor["token"],
        )
        == "FORBIDDEN"
    )
    assert (
        await code_of(
            gql,
            'mutation($ws: ID!) { registerCluster(input: {name: "c", authType: KUBECONFIG, kubeconfig: "x", '
            "workspaceId: $ws}) { cluster { id } } }",
            {"ws": workspace},
            token=editor["token"],
        )
        == "FORBIDDEN"
    )


async def test_deleting_a_user_asks_what_becomes_of_their_workspaces(gql: GraphQLClient) -> None:
    admin = await gql.register("root@example.com")
    ada = await gql.register("ada@example.com")
    grace = await gql.register("grace@example.com")
    shared = await team(gql, ada["token"], "Shared")
    await add_member(gql, ada["token"], shared, "grace@example.com", "VIEWER")
    alone = await team(gql, ada["token"], "Alone")
    await create_workflow(gql, ada["token"], alone)

    error = await gql.error(DELETE, {"i": {"userId": ada["user"]["id"]}}, token=admin["token"])
    assert error["extensions"]["code"] == "CONFLICT"
    assert set(error["extensions"]["workspaceIds"]) == {shared, alone}
    assert (await gql.ok(ME, token=ada["token"]))["me"]["email"] == "ada@example.com"  # nothing written
    assert (
        await code_of(
            gql,
            DELETE,
            {"i": {"userId": ada["user"]["id"], "workspaces": {"handOverTo": "nobody"}}},
            token=admin["token"],
        )
        == "BAD_INPUT"
    )
    assert (
        await code_of(gql, DELETE, {"i": {"userId": ada["user"]["id"]}}, token=grace["token"]) == "FORBIDDEN"
    )

    done = await gql.ok(
        DELETE,
        {"i": {"userId": ada["user"]["id"], "workspaces": {"handOverTo": grace["user"]["id"]}}},
        token=admin["token"],
    )
    assert len(done["deleteUser"]["deletedWorkspaceIds"]) == 1  # her empty personal workspace only
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"
    roles = await gql.ok("{ workspaces { id name viewerRole } }", token=grace["token"])
    mine = {w["id"]: w["viewerRole"] for w in roles["workspaces"]}
    assert mine[shared] == "OWNER" and mine[alone] == "OWNER"
    assert (
        await code_of(gql, DELETE, {"i": {"userId": admin["user"]["id"]}}, token=admin["token"]) == "CONFLICT"
    )


async def test_deleting_with_delete_removes_the_workspaces_and_their_content(gql: GraphQLClient) -> None:
    admin = await gql.register("root@example.com")
    ada = await gql.register("ada@example.com")
    grace = await gql.register("grace@example.com")
    shared = await team(gql, ada["token"], "Shared")
    await add_member(gql, ada["token"], shared, "grace@example.com", "EDITOR")
    await create_workflow(gql, ada["token"], shared)
    done = await gql.ok(
        DELETE, {"i": {"userId": ada["user"]["id"], "workspaces": {"delete": True}}}, token=admin["token"]
    )
    assert shared in done["deleteUser"]["deletedWorkspaceIds"]
    assert await code_of(
        gql, "query($id: ID!) { workspace(id: $id) { id } }", {"id": shared}, token=grace["token"]
    ) == ("NOT_FOUND")


SESSIONS = "{ sessions { id current createdAt } }"


async def test_sessions_are_listed_revoked_and_ended_everywhere(gql: GraphQLClient) -> None:
    ada = await gql.register("ada@example.com")
    laptop = await login(gql, "ada@example.com")
    phone = await login(gql, "ada@example.com")
    sessions = (await gql.ok(SESSIONS, token=laptop))["sessions"]
    assert len(sessions) == 3 and sum(s["current"] for s in sessions) == 1
    current = next(s["id"] for s in sessions if s["current"])
    phone_id = next(s["id"] for s in (await gql.ok(SESSIONS, token=phone))["sessions"] if s["current"])
    await gql.ok(
        "mutation($s: ID!) { revokeSession(input: {sessionId: $s}) { revokedSessionId } }",
        {"s": phone_id},
        token=laptop,
    )
    assert await code_of(gql, ME, token=phone) == "UNAUTHENTICATED"
    assert current in {s["id"] for s in (await gql.ok(SESSIONS, token=laptop))["sessions"]}
    other = await gql.register("grace@example.com")
    assert (
        await code_of(
            gql,
            "mutation($s: ID!) { revokeSession(input: {sessionId: $s}) { revokedSessionId } }",
            {"s": current},
            token=other["token"],
        )
        == "NOT_FOUND"
    )
    ended = await gql.ok("mutation { signOutEverywhere { endedSessions } }", token=laptop)
    assert ended["signOutEverywhere"]["endedSessions"] == 2
    assert await code_of(gql, ME, token=laptop) == "UNAUTHENTICATED"
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"


async def test_admins_sign_a_user_out_everywhere(gql: GraphQLClient) -> None:
    admin = await gql.register("root@example.com")
    ada = await gql.register("ada@example.com")
    query = "mutation($u: ID!) { signOutEverywhere(input: {userId: $u}) { endedSessions } }"
    assert await code_of(gql, query, {"u": admin["user"]["id"]}, token=ada["token"]) == "FORBIDDEN"
    data: Any = await gql.ok(query, {"u": ada["user"]["id"]}, token=admin["token"])
    assert data["signOutEverywhere"]["endedSessions"] == 1
    assert await code_of(gql, ME, token=ada["token"]) == "UNAUTHENTICATED"
    assert (await gql.ok(ME, token=admin["token"]))["me"]["role"] == "ADMIN"
