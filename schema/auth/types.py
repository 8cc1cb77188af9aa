"""People and sign-in results."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.users import User as DomainUser
from app.services.identity import SignedIn


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
    created_at: datetime = strawberry.field(description="When the account was created.")

    @classmethod
    def from_domain(cls, user: DomainUser) -> User:
        return cls(
            id=strawberry.ID(user.id),
            email=user.email,
            name=user.name,
            role=UserRole(user.role.value),
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
