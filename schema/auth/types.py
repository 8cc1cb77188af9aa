"""People and sign-in results."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.users import User as DomainUser
from app.services.identity import SignedIn
from app.services.oauth_signin import AuthMethods as DomainAuthMethods


@strawberry.enum(description="A platform-wide role; the first user ever registered is an ADMIN.")
class UserRole(Enum):
    ADMIN = "ADMIN"
    USER = "USER"


@strawberry.type(description="A person who signs in to Trellis.")
class User:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    email: str = strawberry.field(description="E-mail address (lower-case), used to sign in.")
    name: str = strawberry.field(description="Display name.")
    role: UserRole = strawberry.field(description="Platform-wide role.")
    disabled: bool = strawberry.field(description="A disabled account cannot sign in or use its tokens.")
    created_at: datetime = strawberry.field(description="When the account was created.")

    @classmethod
    def from_domain(cls, user: DomainUser) -> User:
        return cls(
            id=strawberry.ID(user.id),
            email=user.email,
            name=user.name,
            role=UserRole(user.role.value),
            disabled=user.disabled,
            created_at=user.created_at,
        )


@strawberry.type(description="A signed-in session: send `token` as `Authorization: Bearer <token>`.")
class AuthPayload:
    token: str = strawberry.field(description="The access token (a JWT, valid for 24 hours by default).")
    expires_at: datetime = strawberry.field(description="When `token` stops working; refresh it before then.")
    user: User = strawberry.field(description="The signed-in user.")

    @classmethod
    def from_domain(cls, signed_in: SignedIn) -> AuthPayload:
        return cls(
            token=signed_in.token, expires_at=signed_in.expires_at, user=User.from_domain(signed_in.user)
        )


@strawberry.input(description="A new account.")
class RegisterInput:
    email: str = strawberry.field(description="E-mail address; must not be taken.")
    password: str = strawberry.field(description="At least 8 characters and at most 72 bytes.")
    name: str = strawberry.field(description="Display name, 1 to 100 characters.")
    invitation_token: str | None = strawberry.field(
        default=None,
        description="The token of an invitation link: required when `authMethods.invitationRequired`; "
        "the new account joins the invitation's workspace.",
    )


@strawberry.input(description="Credentials of an existing account.")
class LoginInput:
    email: str = strawberry.field(description="E-mail address.")
    password: str = strawberry.field(description="Password.")


@strawberry.input(description="Which token to refresh.")
class RefreshTokenInput:
    token: str | None = strawberry.field(
        default=None,
        description="The token to refresh (it may have expired); defaults to the Authorization header's.",
    )


@strawberry.type(description="The result of `logout`.")
class LogoutPayload:
    session_ended: bool = strawberry.field(description="True: the token no longer works.")


@strawberry.enum(description="How an identity provider is spoken to.")
class AuthProviderType(Enum):
    OIDC = "oidc"
    OAUTH2 = "oauth2"
    GITHUB = "github"


@strawberry.type(description="An identity provider to offer on the login page.")
class AuthProvider:
    id: strawberry.ID = strawberry.field(
        description="Its id: the browser signs in at `/v1/auth/oauth/{id}/authorize` "
        "(optional query `redirect`: a front-end path to land on; `invitation`: an invitation token)."
    )
    display_name: str = strawberry.field(description="The name to show on its button.")
    icon: str | None = strawberry.field(description="An icon name or URL, as configured.")
    type: AuthProviderType = strawberry.field(description="OIDC, OAUTH2 or GITHUB.")


@strawberry.type(description="The ways to sign in and sign up on this server.")
class AuthMethods:
    password_login: bool = strawberry.field(description="Whether `login` with e-mail and password works.")
    password_signup: bool = strawberry.field(description="Whether `register` is open.")
    invitation_required: bool = strawberry.field(
        description="Whether a new account needs an invitation (`register`'s `invitationToken`, or "
        "`invitation` on a provider's authorize URL)."
    )
    providers: list[AuthProvider] = strawberry.field(description="Identity providers, in configured order.")

    @classmethod
    def from_domain(cls, methods: DomainAuthMethods) -> AuthMethods:
        return cls(
            password_login=methods.password_login,
            password_signup=methods.password_signup,
            invitation_required=methods.invitation_required,
            providers=[
                AuthProvider(
                    id=strawberry.ID(p.id),
                    display_name=p.display_name,
                    icon=p.icon,
                    type=AuthProviderType(p.type.value),
                )
                for p in methods.providers
            ],
        )


@strawberry.input(description="The one-time code an OAuth sign-in sent to the front end.")
class ExchangeOAuthCodeInput:
    code: str = strawberry.field(description="The `code` of the front end's `/auth/callback` URL.")
