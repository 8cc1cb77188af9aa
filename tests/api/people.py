"""Helpers of the people tests: a shared workspace with members, and small operations."""

from __future__ import annotations

from typing import Any

from tests.graphql_client import GraphQLClient


async def team(gql: GraphQLClient, owner_token: str, name: str = "Team") -> str:
    data = await gql.ok(
        "mutation($n: String!) { createWorkspace(input: {name: $n}) { workspace { id } } }",
        {"n": name},
        token=owner_token,
    )
    workspace_id: str = data["createWorkspace"]["workspace"]["id"]
    return workspace_id


async def add_member(gql: GraphQLClient, owner_token: str, workspace_id: str, email: str, role: str) -> None:
    await gql.ok(
        "mutation($ws: ID!, $e: String!, $r: MemberRole!) { addWorkspaceMember(input: "
        "{workspaceId: $ws, email: $e, role: $r}) { member { role } } }",
        {"ws": workspace_id, "e": email, "r": role},
        token=owner_token,
    )


async def create_workflow(gql: GraphQLClient, token: str, workspace_id: str, name: str = "shop") -> str:
    data = await gql.ok(
        "mutation($ws: ID!, $n: String!) { createWorkflow(input: {name: $n, workspaceId: $ws}) "
        "{ workflow { id } } }",
        {"ws": workspace_id, "n": name},
        token=token,
    )
    workflow_id: str = data["createWorkflow"]["workflow"]["id"]
    return workflow_id


async def login(gql: GraphQLClient, email: str, password: str = "correct horse battery") -> str:
    data = await gql.ok(
        "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }",
        {"e": email, "p": password},
    )
    token: str = data["login"]["token"]
    return token


async def code_of(
    gql: GraphQLClient, query: str, variables: dict[str, Any] | None = None, *, token: str
) -> str:
    """The ``extensions.code`` of an operation that must fail."""
    error = await gql.error(query, variables, token=token)
    code: str = error["extensions"]["code"]
    return code


ME = "{ me { id email role } }"
