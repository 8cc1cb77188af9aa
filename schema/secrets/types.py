"""Workspace secrets: names and descriptions only; a value goes in through `setSecret` and never comes out."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.workspace_secrets import MAX_DESCRIPTION, MAX_VALUE_BYTES
from app.domain.workspace_secrets import WorkspaceSecret as DomainSecret
from schema.auth.types import User
from schema.context import Info


@strawberry.type(
    description="A secret of a workspace (an API key, a password) that flow steps read when they run: a "
    "Function's `secrets`, an HttpRequest's `{{ secrets.NAME }}`, an AiAgent's `apiKeySecret`. Its value is "
    "stored encrypted and is never returned."
)
class WorkspaceSecret:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(
        description="Unique in the workspace; an environment variable's name, e.g. `STRIPE_API_KEY`."
    )
    description: str = strawberry.field(description="What it is for (empty when not given).")
    created_at: datetime = strawberry.field(description="When it was first set.")
    updated_at: datetime = strawberry.field(description="When its value was last set.")
    created_by_id: strawberry.Private[str]
    updated_by_id: strawberry.Private[str]

    @strawberry.field(description="Who set it first.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @strawberry.field(description="Who set its current value.")
    async def updated_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.updated_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, secret: DomainSecret) -> WorkspaceSecret:
        return cls(
            workspace_id=strawberry.ID(secret.workspace_id),
            name=secret.name,
            description=secret.description,
            created_at=secret.created_at,
            updated_at=secret.updated_at,
            created_by_id=secret.created_by,
            updated_by_id=secret.updated_by,
        )


@strawberry.input(description="Create a workspace secret, or replace the value of the one of that name.")
class SetSecretInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    name: str = strawberry.field(
        description="Upper-case letters, digits and `_`, not starting with a digit, at most 128 characters."
    )
    value: str = strawberry.field(
        description=f"The value (at most {MAX_VALUE_BYTES} bytes in UTF-8); stored encrypted, never returned."
    )
    description: str = strawberry.field(
        default="", description=f"What it is for (at most {MAX_DESCRIPTION} characters)."
    )


@strawberry.type(description="The result of `setSecret`.")
class SetSecretPayload:
    secret: WorkspaceSecret = strawberry.field(description="The secret as stored (without its value).")


@strawberry.input(description="Delete a workspace secret.")
class DeleteSecretInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    name: str = strawberry.field(description="The secret's name.")
    force: bool = strawberry.field(
        default=False,
        description="Delete it even while steps of flows read it (CONFLICT, naming the flows, otherwise).",
    )


@strawberry.type(description="The result of `deleteSecret`.")
class DeleteSecretPayload:
    deleted_name: str = strawberry.field(description="The name of the deleted secret.")
