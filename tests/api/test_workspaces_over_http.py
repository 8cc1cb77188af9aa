"""Workspaces are tenants: membership, roles, and another workspace's ids behaving as missing."""

from __future__ import annotations

from tests.graphql_client import GraphQLClient

WORKSPACES = "query { workspaces { id name personal viewerRole members { role user { email } } } }"
CREATE_WS = (
    "mutation($name: String!) { createWorkspace(input: {name: $name}) { workspace { id name personal } } }"
)
ADD = """mutation($ws: ID!, $email: String!, $role: MemberRole!) {
  addWorkspaceMember(input: {workspaceId: $ws, email: $email, role: $role}) { member { role user { email } } }
}"""
REMOVE = """mutation($ws: ID!, $user: ID!) {
  removeWorkspaceMember(input: {workspaceId: $ws, userId: $user}) { removedUserId }
}"""
CREATE_WF = (
    """mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { workflow { id name } } }"""
)
WORKFLOW = "query($id: ID!) { workflow(id: $id) { id name } }"
RENAME = """mutation($id: ID!, $name: String!) { updateWorkflow(input: {id: $id, name: $name}) { workflow { name } } }"""


async def test_every_user_has_a_personal_workspace(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com", name="Ada"))["token"]
    workspaces = (await gql.ok(WORKSPACES, token=token))["workspaces"]
    assert len(workspaces) == 1
    assert workspaces[0]["personal"] is True
    assert workspaces[0]["viewerRole"] == "OWNER"
    assert workspaces[0]["members"] == [{"role": "OWNER", "user": {"email": "ada@example.com"}}]


async def test_roles_decide_who_reads_writes_and_manages(gql: GraphQLClient) -> None:
    owner = (await gql.register("owner@example.com"))["token"]
    editor_user = await gql.register("editor@example.com")
    viewer_user = await gql.register("viewer@example.com")
    ws = (await gql.ok(CREATE_WS, {"name": "Team"}, token=owner))["createWorkspace"]["workspace"]["id"]
    await gql.ok(ADD, {"ws": ws, "email": "editor@example.com", "role": "EDITOR"}, token=owner)
    await gql.ok(ADD, {"ws": ws, "email": "viewer@example.com", "role": "VIEWER"}, token=owner)

    wf = (
        await gql.ok(CREATE_WF, {"input": {"name": "shop", "workspaceId": ws}}, token=editor_user["token"])
    )["createWorkflow"]["workflow"]["id"]
    assert (await gql.ok(WORKFLOW, {"id": wf}, token=viewer_user["token"]))["workflow"]["name"] == "shop"

    denied = await gql.error(RENAME, {"id": wf, "name": "mine"}, token=viewer_user["token"])
    assert denied["extensions"]["code"] == "FORBIDDEN"
    denied = await gql.error(
        CREATE_WF, {"input": {"name": "x", "workspaceId": ws}}, token=viewer_user["token"]
    )
    assert denied["extensions"]["code"] == "FORBIDDEN"
    denied = await gql.error(
        ADD, {"ws": ws, "email": "viewer@example.com", "role": "OWNER"}, token=editor_user["token"]
    )
    assert denied["extensions"]["code"] == "FORBIDDEN"
    # the viewer's write changed nothing
    assert (await gql.ok(WORKFLOW, {"id": wf}, token=owner))["workflow"]["name"] == "shop"


async def test_another_workspaces_ids_behave_as_missing(gql: GraphQLClient) -> None:
    ada = (await gql.register("ada@example.com"))["token"]
    eve = (await gql.register("eve@example.com"))["token"]
    wf = (await gql.ok(CREATE_WF, {"input": {"name": "secret"}}, token=ada))["createWorkflow"]["workflow"][
        "id"
    ]
    ada_ws = (await gql.ok(WORKSPACES, token=ada))["workspaces"][0]["id"]

    foreign = await gql.error(WORKFLOW, {"id": wf}, token=eve)
    missing = await gql.error(WORKFLOW, {"id": "does-not-exist"}, token=eve)
    assert foreign["extensions"]["code"] == missing["extensions"]["code"] == "NOT_FOUND"
    assert foreign["message"].replace(wf, "X") == missing["message"].replace("does-not-exist", "X")

    for query, variables in [
        (RENAME, {"id": wf, "name": "stolen"}),
        ("mutation($id: ID!) { deleteWorkflow(input: {id: $id}) { deletedWorkflowId } }", {"id": wf}),
        ("query($id: ID!) { workspace(id: $id) { name } }", {"id": ada_ws}),
        (CREATE_WF, {"input": {"name": "intruder", "workspaceId": ada_ws}}),
        (ADD, {"ws": ada_ws, "email": "eve@example.com", "role": "OWNER"}),
        ("query($id: ID!) { versions(workflowId: $id) { totalCount } }", {"id": wf}),
    ]:
        error = await gql.error(query, variables, token=eve)
        assert error["extensions"]["code"] == "NOT_FOUND", (query, error)
    listed = await gql.ok("query { workflows { totalCount } }", token=eve)
    assert listed["workflows"]["totalCount"] == 0
    assert (await gql.ok(WORKFLOW, {"id": wf}, token=ada))["workflow"]["name"] == "secret"


async def test_a_removed_member_loses_access_at_once(gql: GraphQLClient) -> None:
    owner = (await gql.register("owner@example.com"))["token"]
    member = await gql.register("member@example.com")
    ws = (await gql.ok(CREATE_WS, {"name": "Team"}, token=owner))["createWorkspace"]["workspace"]["id"]
    await gql.ok(ADD, {"ws": ws, "email": "member@example.com", "role": "EDITOR"}, token=owner)
    wf = (await gql.ok(CREATE_WF, {"input": {"name": "shop", "workspaceId": ws}}, token=owner))[
        "createWorkflow"
    ]["workflow"]["id"]
    await gql.ok(WORKFLOW, {"id": wf}, token=member["token"])
    await gql.ok(REMOVE, {"ws": ws, "user": member["user"]["id"]}, token=owner)
    error = await gql.error(WORKFLOW, {"id": wf}, token=member["token"])
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_the_last_owner_cannot_leave(gql: GraphQLClient) -> None:
    owner = await gql.register("owner@example.com")
    ws = (await gql.ok(CREATE_WS, {"name": "Team"}, token=owner["token"]))["createWorkspace"]["workspace"][
        "id"
    ]
    error = await gql.error(REMOVE, {"ws": ws, "user": owner["user"]["id"]}, token=owner["token"])
    assert error["extensions"]["code"] == "CONFLICT"


async def test_adding_members_checks_the_input(gql: GraphQLClient) -> None:
    owner = (await gql.register("owner@example.com"))["token"]
    await gql.register("member@example.com")
    ws = (await gql.ok(CREATE_WS, {"name": "Team"}, token=owner))["createWorkspace"]["workspace"]["id"]
    unknown = await gql.error(ADD, {"ws": ws, "email": "ghost@example.com", "role": "EDITOR"}, token=owner)
    assert unknown["extensions"]["code"] == "BAD_INPUT"
    assert unknown["extensions"]["fields"][0]["path"] == "email"
    await gql.ok(ADD, {"ws": ws, "email": "member@example.com", "role": "EDITOR"}, token=owner)
    twice = await gql.error(ADD, {"ws": ws, "email": "member@example.com", "role": "VIEWER"}, token=owner)
    assert twice["extensions"]["code"] == "CONFLICT"
    bad_role = await gql.error(ADD, {"ws": ws, "email": "member@example.com", "role": "KING"}, token=owner)
    assert bad_role["extensions"]["code"] == "BAD_INPUT"
    blank = await gql.error(CREATE_WS, {"name": "   "}, token=owner)
    assert blank["extensions"]["code"] == "BAD_INPUT"
