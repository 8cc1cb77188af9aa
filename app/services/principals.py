"""Who is calling: the signed-in user, their session and their workspace roles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app import errors
from app.domain.users import User, UserRole
from app.domain.workspaces import MemberRole, Scope


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    session_id: str
    roles: Mapping[str, MemberRole]  # workspace id → role
    api_token_id: str | None = None  # set when a personal API token authenticated the call

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        """Platform administration needs a signed-in session: an API token never carries it."""
        return self.api_token_id is None and self.user.role is UserRole.ADMIN

    @property
    def scope(self) -> Scope:
        """Every workspace this principal can read."""
        return Scope.of(self.roles)

    def role_in(self, workspace_id: str) -> MemberRole | None:
        return self.roles.get(workspace_id)

    def require_write(self, workspace_id: str) -> None:
        """Raise ``Forbidden`` unless the principal is an owner or editor of a workspace it can see.

        Callers first load the target through ``scope`` (so an invisible id is already ``NotFound``).
        """
        role = self.roles.get(workspace_id)
        if role is None or not role.can_write:
            raise errors.Forbidden(
                "viewers can read this workspace but not change it", workspace_id=workspace_id
            )

    def require_manage(self, workspace_id: str) -> None:
        role = self.roles.get(workspace_id)
        if role is None or not role.can_manage:
            raise errors.Forbidden(
                "only owners of this workspace can manage its members", workspace_id=workspace_id
            )

    def require_owner(self, workspace_id: str, what: str) -> None:
        """``Forbidden`` unless an owner: owners manage members, clusters and registries (``what``)."""
        role = self.roles.get(workspace_id)
        if role is None or not role.can_manage:
            raise errors.Forbidden(
                f"only owners of this workspace can manage its {what}", workspace_id=workspace_id
            )

    def require_admin(self) -> None:
        if not self.is_admin:
            raise errors.Forbidden("only administrators can do this (and not with an API token)")

    def require_session(self) -> None:
        """Managing credentials (sessions, API tokens, passwords, invitations) and opening a terminal need a
        signed-in session."""
        if self.api_token_id is not None:
            raise errors.Forbidden("an API token cannot do this: sign in with your account")
