"""Queries and mutations of people: user administration, sessions, API tokens, passwords."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain.people import WorkspaceDisposal
from app.domain.users import UserRole as DomainUserRole
from app.domain.workspaces import MemberRole as DomainMemberRole
from app.services.people import user_cursor
from schema.auth.types import User
from schema.connections import Connection, connection
from schema.context import Info
from schema.people.types import (
    ApiToken,
    ChangePasswordInput,
    ChangePasswordPayload,
    CreateApiTokenInput,
    CreateApiTokenPayload,
    DeleteUserInput,
    DeleteUserPayload,
    DisableUserInput,
    DisableUserPayload,
    EnableUserInput,
    EnableUserPayload,
    RequestPasswordResetInput,
    RequestPasswordResetPayload,
    ResetPasswordInput,
    ResetPasswordPayload,
    RevokeApiTokenInput,
    RevokeApiTokenPayload,
    RevokeSessionInput,
    RevokeSessionPayload,
    Session,
    SetUserRoleInput,
    SetUserRolePayload,
    SignOutEverywhereInput,
    SignOutEverywherePayload,
)


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="Every user, by e-mail (admins only). Pages of 20 by default, 100 at most.")
    async def users(
        self,
        info: Info,
        search: Annotated[
            str | None, strawberry.argument(description="Part of an e-mail address or name (any case).")
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[User]:
        principal = await info.context.principal()
        page = await info.context.services.people.find(principal, search=search, first=first, after=after)
        return connection(page, User.from_domain, user_cursor, after=after)

    @strawberry.field(description="Your active sign-in sessions, newest first.")
    async def sessions(self, info: Info) -> list[Session]:
        principal = await info.context.principal()
        return [Session.from_domain(v) for v in await info.context.services.sessions.mine(principal)]

    @strawberry.field(description="Your personal API tokens (revoked ones too), newest first; 100 at most.")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        principal = await info.context.principal()
        return [ApiToken.from_domain(t) for t in await info.context.services.api_tokens.mine(principal)]


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(description="Change a user's platform-wide role (admins only; audited).")
    async def set_user_role(self, info: Info, input: SetUserRoleInput) -> SetUserRolePayload:
        principal = await info.context.principal()
        user = await info.context.services.people.set_role(
            principal, str(input.user_id), DomainUserRole(input.role.value)
        )
        return SetUserRolePayload(user=User.from_domain(user))

    @strawberry.mutation(
        description="Disable a user at once: sessions, tokens and open streams end (admins only)."
    )
    async def disable_user(self, info: Info, input: DisableUserInput) -> DisableUserPayload:
        principal = await info.context.principal()
        user = await info.context.services.people.set_disabled(principal, str(input.user_id), True)
        return DisableUserPayload(user=User.from_domain(user))

    @strawberry.mutation(description="Enable a disabled user (admins only); they sign in again.")
    async def enable_user(self, info: Info, input: EnableUserInput) -> EnableUserPayload:
        principal = await info.context.principal()
        user = await info.context.services.people.set_disabled(principal, str(input.user_id), False)
        return EnableUserPayload(user=User.from_domain(user))

    @strawberry.mutation(
        description="Delete a user and decide what becomes of their workspaces (admins only)."
    )
    async def delete_user(self, info: Info, input: DeleteUserInput) -> DeleteUserPayload:
        principal = await info.context.principal()
        choice = input.workspaces
        disposal = WorkspaceDisposal(
            hand_over_to=str(choice.hand_over_to) if choice and choice.hand_over_to else None,
            delete=bool(choice and choice.delete),
        )
        deleted = await info.context.services.people.delete(principal, str(input.user_id), disposal)
        return DeleteUserPayload(
            deleted_user_id=input.user_id, deleted_workspace_ids=[strawberry.ID(i) for i in deleted]
        )

    @strawberry.mutation(description="End one of your sessions; its tokens stop working at once.")
    async def revoke_session(self, info: Info, input: RevokeSessionInput) -> RevokeSessionPayload:
        principal = await info.context.principal()
        await info.context.services.sessions.revoke(principal, str(input.session_id))
        return RevokeSessionPayload(revoked_session_id=input.session_id)

    @strawberry.mutation(description="End every session of yours (this one too), or an admin: of a user.")
    async def sign_out_everywhere(
        self, info: Info, input: SignOutEverywhereInput | None = None
    ) -> SignOutEverywherePayload:
        principal = await info.context.principal()
        user_id = str(input.user_id) if input and input.user_id else None
        ended = await info.context.services.sessions.sign_out_everywhere(principal, user_id)
        return SignOutEverywherePayload(ended_sessions=ended)

    @strawberry.mutation(description="Create a personal API token; the token is shown once.")
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        principal = await info.context.principal()
        created = await info.context.services.api_tokens.create(
            principal,
            name=input.name,
            workspace_id=str(input.workspace_id),
            role=DomainMemberRole(input.role.value),
            expires_at=input.expires_at,
        )
        return CreateApiTokenPayload(api_token=ApiToken.from_domain(created.token), token=created.plaintext)

    @strawberry.mutation(description="Revoke one of your API tokens; it stops working at once.")
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> RevokeApiTokenPayload:
        principal = await info.context.principal()
        token = await info.context.services.api_tokens.revoke(principal, str(input.id))
        return RevokeApiTokenPayload(api_token=ApiToken.from_domain(token))

    @strawberry.mutation(description="Change your password; your other sessions end.")
    async def change_password(self, info: Info, input: ChangePasswordInput) -> ChangePasswordPayload:
        principal = await info.context.principal()
        await info.context.services.passwords.change(
            principal, current=input.current_password, new=input.new_password
        )
        return ChangePasswordPayload(other_sessions_ended=True)

    @strawberry.mutation(
        description="Send a reset token to this address if an account has it (the answer never says)."
    )
    async def request_password_reset(
        self, info: Info, input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        await info.context.services.passwords.request_reset(input.email)
        return RequestPasswordResetPayload(accepted=True)

    @strawberry.mutation(
        description="Set a new password with a reset token; every session of the account ends."
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> ResetPasswordPayload:
        await info.context.services.passwords.reset(token=input.token, new_password=input.new_password)
        return ResetPasswordPayload(password_changed=True)
