"""Types of user administration, sessions, personal API tokens and passwords."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.api_tokens import ApiToken as DomainApiToken
from app.services.sessions import SessionView
from schema.auth.types import User, UserRole
from schema.workspaces.types import MemberRole


@strawberry.type(description="One of your sign-in sessions.")
class Session:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    created_at: datetime = strawberry.field(description="When this sign-in happened.")
    current: bool = strawberry.field(description="The session of this request.")

    @classmethod
    def from_domain(cls, view: SessionView) -> Session:
        return cls(
            id=strawberry.ID(view.session.id), created_at=view.session.created_at, current=view.current
        )


@strawberry.type(
    description="A personal API token: acts as you in one workspace with at most your role there. "
    "Send it as `Authorization: Bearer trl_…`; only its hash is stored."
)
class ApiToken:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(description="What it is for (a CI pipeline, a laptop).")
    workspace_id: strawberry.ID = strawberry.field(description="The only workspace it can reach.")
    role: MemberRole = strawberry.field(description="Its role there (never above your own).")
    created_at: datetime = strawberry.field(description="When it was created.")
    expires_at: datetime | None = strawberry.field(description="When it stops working; null: never.")
    last_used_at: datetime | None = strawberry.field(
        description="When it was last used (recorded at most once a minute by default)."
    )
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")

    @classmethod
    def from_domain(cls, token: DomainApiToken) -> ApiToken:
        return cls(
            id=strawberry.ID(token.id),
            name=token.name,
            workspace_id=strawberry.ID(token.workspace_id),
            role=MemberRole(token.role.value),
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


@strawberry.input(description="Change a user's platform-wide role (admins only).")
class SetUserRoleInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")
    role: UserRole = strawberry.field(description="The new role. The last enabled admin stays an admin.")


@strawberry.type(description="The result of `setUserRole`.")
class SetUserRolePayload:
    user: User = strawberry.field(description="The user with the new role.")


@strawberry.input(description="Disable a user (admins only): their sessions and API tokens stop at once.")
class DisableUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user. The last enabled admin stays enabled.")


@strawberry.type(description="The result of `disableUser`.")
class DisableUserPayload:
    user: User = strawberry.field(description="The disabled user.")


@strawberry.input(description="Enable a disabled user again (admins only).")
class EnableUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user.")


@strawberry.type(description="The result of `enableUser`.")
class EnableUserPayload:
    user: User = strawberry.field(description="The enabled user.")


@strawberry.input(
    description="What becomes of the workspaces a deleted user is the only owner of: give exactly one."
)
class DeletedUserWorkspacesInput:
    hand_over_to: strawberry.ID | None = strawberry.field(
        default=None, description="This user becomes their owner (a personal workspace stops being personal)."
    )
    delete: bool = strawberry.field(
        default=False,
        description="Delete them with everything in them (records only: objects already deployed stay).",
    )


@strawberry.input(description="Delete a user (admins only).")
class DeleteUserInput:
    user_id: strawberry.ID = strawberry.field(description="The user. The last enabled admin stays.")
    workspaces: DeletedUserWorkspacesInput | None = strawberry.field(
        default=None,
        description="Required when they are the only owner of a workspace with other members or content "
        "(a CONFLICT lists them otherwise); empty unshared workspaces are deleted in any case.",
    )


@strawberry.type(description="The result of `deleteUser`.")
class DeleteUserPayload:
    deleted_user_id: strawberry.ID = strawberry.field(description="Who was deleted.")
    deleted_workspace_ids: list[strawberry.ID] = strawberry.field(description="Workspaces deleted with them.")


@strawberry.input(description="End one of your sessions.")
class RevokeSessionInput:
    session_id: strawberry.ID = strawberry.field(description="The session (see `sessions`).")


@strawberry.type(description="The result of `revokeSession`.")
class RevokeSessionPayload:
    revoked_session_id: strawberry.ID = strawberry.field(description="The session that ended.")


@strawberry.input(description="Whose sessions to end.")
class SignOutEverywhereInput:
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Another user's (admins only); default: yours, this one included."
    )


@strawberry.type(description="The result of `signOutEverywhere`.")
class SignOutEverywherePayload:
    ended_sessions: int = strawberry.field(description="How many sessions ended.")


@strawberry.input(description="A new personal API token.")
class CreateApiTokenInput:
    name: str = strawberry.field(description="What it is for, 1 to 100 characters.")
    workspace_id: strawberry.ID = strawberry.field(description="The only workspace it can reach.")
    role: MemberRole = strawberry.field(description="Its role there, at most yours.")
    expires_at: datetime | None = strawberry.field(default=None, description="When it stops; null: never.")


@strawberry.type(description="The result of `createApiToken`: the token is shown this once.")
class CreateApiTokenPayload:
    api_token: ApiToken = strawberry.field(description="The token's record.")
    token: str = strawberry.field(description="The token itself (`trl_…`): store it now, it is not kept.")


@strawberry.input(description="Revoke one of your API tokens.")
class RevokeApiTokenInput:
    id: strawberry.ID = strawberry.field(description="The token's id.")


@strawberry.type(description="The result of `revokeApiToken`.")
class RevokeApiTokenPayload:
    api_token: ApiToken = strawberry.field(description="The revoked token.")


@strawberry.input(description="Change your password.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="Your current password.")
    new_password: str = strawberry.field(description="At least 8 characters and at most 72 bytes.")


@strawberry.type(description="The result of `changePassword`.")
class ChangePasswordPayload:
    other_sessions_ended: bool = strawberry.field(description="True: every other session has ended.")


@strawberry.input(description="Ask for a password reset token to be sent to an e-mail address.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The account's e-mail address.")


@strawberry.type(
    description="The result of `requestPasswordReset`; the same whether the address exists or not."
)
class RequestPasswordResetPayload:
    accepted: bool = strawberry.field(description="Always true.")


@strawberry.input(description="Set a new password with a reset token.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The token from the reset message (valid 30 minutes, once).")
    new_password: str = strawberry.field(description="At least 8 characters and at most 72 bytes.")


@strawberry.type(description="The result of `resetPassword`: sign in with the new password.")
class ResetPasswordPayload:
    password_changed: bool = strawberry.field(description="True: every session of the account has ended.")
