"""Sign-up, sign-in, refresh, sign-out and `me`."""

from __future__ import annotations

import strawberry

from app import errors
from schema.auth.types import (
    AuthMethods,
    AuthPayload,
    ExchangeOAuthCodeInput,
    LoginInput,
    LogoutPayload,
    RefreshTokenInput,
    RegisterInput,
    User,
)
from schema.context import Info


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> User:
        principal = await info.context.principal()
        return User.from_domain(principal.user)

    @strawberry.field(description="How one may sign in and sign up here (no sign-in needed).")
    def auth_methods(self, info: Info) -> AuthMethods:
        return AuthMethods.from_domain(info.context.services.oauth.methods())


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Create an account and sign in. The first account ever is an ADMIN.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        signed_in = await info.context.services.identity.register(
            email=input.email,
            password=input.password,
            name=input.name,
            invitation_token=input.invitation_token,
        )
        return AuthPayload.from_domain(signed_in)

    @strawberry.mutation(
        description="Trade the one-time code of an OAuth sign-in (valid 30 s, once) for the session's token."
    )
    async def exchange_o_auth_code(self, info: Info, input: ExchangeOAuthCodeInput) -> AuthPayload:
        return AuthPayload.from_domain(await info.context.services.oauth.exchange(input.code))

    @strawberry.mutation(description="Sign in with e-mail and password.")
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        signed_in = await info.context.services.identity.login(email=input.email, password=input.password)
        return AuthPayload.from_domain(signed_in)

    @strawberry.mutation(
        description="A fresh token for the same session, while its sign-in is under 7 days old "
        "(the token itself may have expired)."
    )
    async def refresh_token(self, info: Info, input: RefreshTokenInput | None = None) -> AuthPayload:
        token = (input.token if input else None) or info.context.bearer()
        if not token:
            raise errors.Unauthenticated(
                "send the token to refresh, in `input.token` or the Authorization header"
            )
        return AuthPayload.from_domain(await info.context.services.identity.refresh(token))

    @strawberry.mutation(description="End this session at once: its tokens stop working on the next request.")
    async def logout(self, info: Info) -> LogoutPayload:
        principal = await info.context.principal()
        await info.context.services.identity.logout(principal)
        return LogoutPayload(session_ended=True)
