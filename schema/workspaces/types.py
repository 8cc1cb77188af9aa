"""Workspaces (tenants) and their members."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app import errors
from app.domain.workspaces import Membership
from app.domain.workspaces import Workspace as DomainWorkspace
from schema.auth.types import User
from schema.context import Info


@strawberry.enum(description="What a member may do: viewers read, editors write, owners also manage members.")
class MemberRole(Enum):
    OWNER = "OWNER"
    EDITOR = "EDITOR"
    VIEWER = "VIEWER"


@strawberry.type(description="A member of a workspace.")
class WorkspaceMember:
    user_id: strawberry.Private[str]
    role: MemberRole = strawberry.field(description="The member's role.")
    added_at: datetime = strawberry.field(description="When the member was added.")

    @strawberry.field(description="The member.")
    async def user(self, info: Info) -> User:
        user = await info.context.loaders.users.load(self.user_id)
        if user is None:
            raise errors.NotFound("user", self.user_id)
        return User.from_domain(user)

    @classmethod
    def from_domain(cls, membership: Membership) -> WorkspaceMember:
        return cls(
            user_id=membership.user_id, role=MemberRole(membership.role.value), added_at=membership.created_at
        )


@strawberry.type(
    description="A tenant: every workflow belongs to one workspace. Each user has a personal one."
)
class Workspace:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(description="Display name.")
    personal: bool = strawberry.field(description="The personal workspace of its creator (no other members).")
    created_at: datetime = strawberry.field(description="When it was created.")

    @strawberry.field(description="Your role in this workspace.")
    async def viewer_role(self, info: Info) -> MemberRole:
        principal = await info.context.principal()
        role = principal.role_in(self.id)
        if role is None:
            raise errors.NotFound("workspace", self.id)
        return MemberRole(role.value)

    @strawberry.field(description="Everyone in this workspace with their roles.")
    async def members(self, info: Info) -> list[WorkspaceMember]:
        principal = await info.context.principal()
        members = await info.context.services.workspaces.members(principal, self.id)
        return [WorkspaceMember.from_domain(m) for m in members]

    @classmethod
    def from_domain(cls, workspace: DomainWorkspace) -> Workspace:
        return cls(
            id=strawberry.ID(workspace.id),
            name=workspace.name,
            personal=workspace.personal,
            created_at=workspace.created_at,
        )


@strawberry.input(description="A new shared workspace; you become its owner.")
class CreateWorkspaceInput:
    name: str = strawberry.field(description="Display name, 1 to 100 characters.")


@strawberry.type(description="The result of `createWorkspace`.")
class CreateWorkspacePayload:
    workspace: Workspace = strawberry.field(description="The new workspace.")


@strawberry.input(description="Add an existing user to a workspace (owners only).")
class AddWorkspaceMemberInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    email: str = strawberry.field(description="E-mail of a registered user.")
    role: MemberRole = strawberry.field(description="Their role.")


@strawberry.type(description="The result of `addWorkspaceMember`.")
class AddWorkspaceMemberPayload:
    member: WorkspaceMember = strawberry.field(description="The new member.")
    workspace: Workspace = strawberry.field(description="The workspace.")


@strawberry.input(description="Remove a member (owners; anyone may remove themselves). The last owner stays.")
class RemoveWorkspaceMemberInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    user_id: strawberry.ID = strawberry.field(description="The member to remove.")


@strawberry.type(description="The result of `removeWorkspaceMember`.")
class RemoveWorkspaceMemberPayload:
    removed_user_id: strawberry.ID = strawberry.field(description="Who was removed.")
    workspace_id: strawberry.ID = strawberry.field(description="From which workspace.")
