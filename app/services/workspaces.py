"""Workspaces (the tenants) and their members."""

from __future__ import annotations

from typing import Protocol

from app import errors
from app.domain.ids import new_id
from app.domain.users import User
from app.domain.workspaces import MemberRole, Membership, Workspace
from app.ports import Clock, UserStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.identity import PrincipalCache
from app.services.principals import Principal

MAX_WORKSPACE_NAME = 100


class WorkspaceServiceStore(UserStore, WorkspaceStore, Protocol):
    pass


class WorkspaceService:
    def __init__(
        self, *, store: WorkspaceServiceStore, clock: Clock, auditor: Auditor, principals: PrincipalCache
    ) -> None:
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._principals = principals

    async def visible(self, principal: Principal) -> list[Workspace]:
        return await self._store.list_workspaces(principal.scope)

    async def get(self, principal: Principal, workspace_id: str) -> Workspace:
        workspace = await self._store.get_workspace(principal.scope, workspace_id)
        if workspace is None:
            raise errors.NotFound("workspace", workspace_id)
        return workspace

    async def personal(self, principal: Principal) -> Workspace:
        for workspace in await self.visible(principal):
            if workspace.personal and workspace.created_by == principal.user_id:
                return workspace
        raise errors.NotFound("personal workspace", principal.user_id)

    async def members(self, principal: Principal, workspace_id: str) -> list[Membership]:
        return await self._store.list_members(principal.scope, workspace_id)

    async def create(self, principal: Principal, *, name: str) -> Workspace:
        name = name.strip()
        if not name or len(name) > MAX_WORKSPACE_NAME:
            raise errors.Invalid.field("name", f"must be 1 to {MAX_WORKSPACE_NAME} characters")
        async with self._auditor.action(
            "workspace.create", actor_id=principal.user_id, target_type="workspace"
        ) as record:
            now = self._clock.now()
            workspace = Workspace(
                id=new_id(), name=name, personal=False, created_by=principal.user_id, created_at=now
            )
            owner = Membership(workspace.id, principal.user_id, MemberRole.OWNER, now)
            record.target_id = record.workspace_id = workspace.id
            await self._store.create_workspace(workspace, owner)
        self._principals.clear()
        return workspace

    async def add_member(
        self, principal: Principal, *, workspace_id: str, email: str, role: MemberRole
    ) -> tuple[Membership, User]:
        async with self._auditor.action(
            "workspace.member.add",
            actor_id=principal.user_id,
            target_type="workspace",
            target_id=workspace_id,
            workspace_id=workspace_id,
        ) as record:
            workspace = await self.get(principal, workspace_id)
            principal.require_manage(workspace.id)
            if workspace.personal:
                raise errors.Invalid.field("workspaceId", "a personal workspace has no other members")
            user = await self._store.get_user_by_email(email.strip().lower())
            if user is None:
                raise errors.Invalid.field(
                    "email", "no user has this e-mail address (invitations come later)"
                )
            record.detail = {"userId": user.id, "role": role.value}
            membership = Membership(workspace.id, user.id, role, self._clock.now())
            await self._store.add_member(membership)
        self._principals.clear()
        return membership, user

    async def set_member_role(
        self, principal: Principal, *, workspace_id: str, user_id: str, role: MemberRole
    ) -> Membership:
        """Owners change a member's role; the last owner cannot be demoted (``CONFLICT``)."""
        async with self._auditor.action(
            "workspace.member.set_role",
            actor_id=principal.user_id,
            target_type="workspace",
            target_id=workspace_id,
            workspace_id=workspace_id,
        ) as record:
            workspace = await self.get(principal, workspace_id)
            principal.require_manage(workspace.id)
            record.detail = {"userId": user_id, "role": role.value}
            membership = await self._store.set_member_role(workspace.id, user_id, role)
        self._principals.clear()
        return membership

    async def remove_member(self, principal: Principal, *, workspace_id: str, user_id: str) -> None:
        async with self._auditor.action(
            "workspace.member.remove",
            actor_id=principal.user_id,
            target_type="workspace",
            target_id=workspace_id,
            workspace_id=workspace_id,
        ) as record:
            workspace = await self.get(principal, workspace_id)
            if user_id != principal.user_id:  # anyone may leave; only owners remove others
                principal.require_manage(workspace.id)
            record.detail = {"userId": user_id}
            await self._store.remove_member(workspace.id, user_id)
        self._principals.clear()
