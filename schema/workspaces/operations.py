"""Workspace queries and mutations."""

from __future__ import annotations

import strawberry

from app.domain.workspaces import MemberRole as DomainRole
from schema.context import Info
from schema.workspaces.types import (
    AddWorkspaceMemberInput,
    AddWorkspaceMemberPayload,
    CreateWorkspaceInput,
    CreateWorkspacePayload,
    RemoveWorkspaceMemberInput,
    RemoveWorkspaceMemberPayload,
    Workspace,
    WorkspaceMember,
)


@strawberry.type
class WorkspaceQuery:
    @strawberry.field(
        description="Every workspace you are a member of: your personal one first, then by name."
    )
    async def workspaces(self, info: Info) -> list[Workspace]:
        principal = await info.context.principal()
        return [Workspace.from_domain(w) for w in await info.context.services.workspaces.visible(principal)]

    @strawberry.field(description="One workspace you are a member of.")
    async def workspace(self, info: Info, id: strawberry.ID) -> Workspace:
        principal = await info.context.principal()
        return Workspace.from_domain(await info.context.services.workspaces.get(principal, id))


@strawberry.type
class WorkspaceMutation:
    @strawberry.mutation(description="Create a shared workspace; you become its owner.")
    async def create_workspace(self, info: Info, input: CreateWorkspaceInput) -> CreateWorkspacePayload:
        principal = await info.context.principal()
        workspace = await info.context.services.workspaces.create(principal, name=input.name)
        return CreateWorkspacePayload(workspace=Workspace.from_domain(workspace))

    @strawberry.mutation(description="Add a registered user to a workspace you own.")
    async def add_workspace_member(
        self, info: Info, input: AddWorkspaceMemberInput
    ) -> AddWorkspaceMemberPayload:
        principal = await info.context.principal()
        service = info.context.services.workspaces
        membership, _ = await service.add_member(
            principal, workspace_id=input.workspace_id, email=input.email, role=DomainRole(input.role.value)
        )
        workspace = await service.get(principal, input.workspace_id)
        return AddWorkspaceMemberPayload(
            member=WorkspaceMember.from_domain(membership), workspace=Workspace.from_domain(workspace)
        )

    @strawberry.mutation(description="Remove a member from a workspace.")
    async def remove_workspace_member(
        self, info: Info, input: RemoveWorkspaceMemberInput
    ) -> RemoveWorkspaceMemberPayload:
        principal = await info.context.principal()
        await info.context.services.workspaces.remove_member(
            principal, workspace_id=input.workspace_id, user_id=input.user_id
        )
        return RemoveWorkspaceMemberPayload(removed_user_id=input.user_id, workspace_id=input.workspace_id)
