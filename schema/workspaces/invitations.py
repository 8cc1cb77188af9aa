"""Workspace invitations and members' roles: types, queries and mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from app.domain.invitations import Invitation as DomainInvitation
from app.domain.invitations import InvitationStatus as DomainStatus
from app.domain.workspaces import MemberRole as DomainRole
from schema.context import Info
from schema.workspaces.types import MemberRole, Workspace, WorkspaceMember


@strawberry.enum(description="Where an invitation stands.")
class InvitationStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="An invitation to join a workspace, for one e-mail address (single use).")
class Invitation:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it joins.")
    email: str = strawberry.field(description="Only an account with this address can accept it.")
    role: MemberRole = strawberry.field(description="The role it grants.")
    status: InvitationStatus = strawberry.field(description="Where it stands now.")
    created_at: datetime = strawberry.field(description="When it was made.")
    expires_at: datetime = strawberry.field(description="When the link stops working.")
    accepted_at: datetime | None = strawberry.field(description="When it was accepted, if it was.")

    @classmethod
    def from_domain(cls, invitation: DomainInvitation, status: DomainStatus) -> Invitation:
        return cls(
            id=strawberry.ID(invitation.id),
            workspace_id=strawberry.ID(invitation.workspace_id),
            email=invitation.email,
            role=MemberRole(invitation.role.value),
            status=InvitationStatus(status.value),
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
            accepted_at=invitation.accepted_at,
        )


@strawberry.input(description="Invite someone by e-mail to a workspace you own.")
class InviteWorkspaceMemberInput:
    workspace_id: strawberry.ID = strawberry.field(description="A shared workspace you own.")
    email: str = strawberry.field(description="Their e-mail address (they may not have an account yet).")
    role: MemberRole = strawberry.field(description="The role they get on accepting.")


@strawberry.type(description="The result of `inviteWorkspaceMember`.")
class InviteWorkspaceMemberPayload:
    invitation: Invitation = strawberry.field(description="The invitation.")
    invite_link: str | None = strawberry.field(
        description="The single-use link to pass on, shown this once; null when Trellis delivered it itself."
    )


@strawberry.input(description="Revoke a pending invitation (owners).")
class RevokeInvitationInput:
    invitation_id: strawberry.ID = strawberry.field(description="The invitation.")


@strawberry.type(description="The result of `revokeInvitation`.")
class RevokeInvitationPayload:
    invitation: Invitation = strawberry.field(description="The revoked invitation.")


@strawberry.input(description="Accept an invitation sent to your e-mail address.")
class AcceptInvitationInput:
    token: str = strawberry.field(description="The token from the invitation link.")


@strawberry.type(description="The result of `acceptInvitation`.")
class AcceptInvitationPayload:
    workspace: Workspace = strawberry.field(description="The workspace you joined.")
    role: MemberRole = strawberry.field(description="Your role there.")


@strawberry.input(description="Change a member's role (owners). The last owner cannot be demoted.")
class SetWorkspaceMemberRoleInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    user_id: strawberry.ID = strawberry.field(description="The member.")
    role: MemberRole = strawberry.field(description="The new role.")


@strawberry.type(description="The result of `setWorkspaceMemberRole`.")
class SetWorkspaceMemberRolePayload:
    member: WorkspaceMember = strawberry.field(description="The member with the new role.")
    workspace: Workspace = strawberry.field(description="The workspace.")


@strawberry.type
class InvitationQuery:
    @strawberry.field(description="The invitations of a workspace you own, newest first, in every status.")
    async def workspace_invitations(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
    ) -> list[Invitation]:
        principal = await info.context.principal()
        service = info.context.services.invitations
        invitations = await service.of_workspace(principal, str(workspace_id))
        return [Invitation.from_domain(i, service.status_of(i)) for i in invitations]


@strawberry.type
class InvitationMutation:
    @strawberry.mutation(description="Invite someone by e-mail with a role; the link works once and expires.")
    async def invite_workspace_member(
        self, info: Info, input: InviteWorkspaceMemberInput
    ) -> InviteWorkspaceMemberPayload:
        principal = await info.context.principal()
        service = info.context.services.invitations
        created = await service.invite(
            principal,
            workspace_id=str(input.workspace_id),
            email=input.email,
            role=DomainRole(input.role.value),
        )
        return InviteWorkspaceMemberPayload(
            invitation=Invitation.from_domain(created.invitation, service.status_of(created.invitation)),
            invite_link=created.link,
        )

    @strawberry.mutation(description="Revoke a pending invitation; its link stops working.")
    async def revoke_invitation(self, info: Info, input: RevokeInvitationInput) -> RevokeInvitationPayload:
        principal = await info.context.principal()
        service = info.context.services.invitations
        invitation = await service.revoke(principal, str(input.invitation_id))
        return RevokeInvitationPayload(
            invitation=Invitation.from_domain(invitation, service.status_of(invitation))
        )

    @strawberry.mutation(description="Join a workspace with an invitation sent to your e-mail address.")
    async def accept_invitation(self, info: Info, input: AcceptInvitationInput) -> AcceptInvitationPayload:
        principal = await info.context.principal()
        services = info.context.services
        grant = await services.invitations.accept(principal, input.token)
        principal = await info.context.reauthorize()
        workspace = await services.workspaces.get(principal, grant.workspace_id)
        return AcceptInvitationPayload(
            workspace=Workspace.from_domain(workspace), role=MemberRole(grant.role.value)
        )

    @strawberry.mutation(description="Change a member's role (owners; the last owner stays an owner).")
    async def set_workspace_member_role(
        self, info: Info, input: SetWorkspaceMemberRoleInput
    ) -> SetWorkspaceMemberRolePayload:
        principal = await info.context.principal()
        service = info.context.services.workspaces
        membership = await service.set_member_role(
            principal,
            workspace_id=str(input.workspace_id),
            user_id=str(input.user_id),
            role=DomainRole(input.role.value),
        )
        workspace = await service.get(principal, str(input.workspace_id))
        return SetWorkspaceMemberRolePayload(
            member=WorkspaceMember.from_domain(membership), workspace=Workspace.from_domain(workspace)
        )
