"""Workspace secret queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.services.workspace_secrets import SecretInput
from schema.context import Info
from schema.secrets.types import (
    DeleteSecretInput,
    DeleteSecretPayload,
    SetSecretInput,
    SetSecretPayload,
    WorkspaceSecret,
)


@strawberry.type
class SecretQuery:
    @strawberry.field(description="A workspace's secrets by name: who set them and when, never their values.")
    async def secrets(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
    ) -> list[WorkspaceSecret]:
        principal = await info.context.principal()
        secrets = await info.context.services.workspace_secrets.visible(principal, workspace_id)
        return [WorkspaceSecret.from_domain(s) for s in secrets]


@strawberry.type
class SecretMutation:
    @strawberry.mutation(
        description="Create a workspace secret, or replace the value of the one of that name (editors)."
    )
    async def set_secret(self, info: Info, input: SetSecretInput) -> SetSecretPayload:
        principal = await info.context.principal()
        secret = await info.context.services.workspace_secrets.set(
            principal,
            SecretInput(
                workspace_id=input.workspace_id,
                name=input.name,
                value=input.value,
                description=input.description,
            ),
        )
        return SetSecretPayload(secret=WorkspaceSecret.from_domain(secret))

    @strawberry.mutation(
        description="Delete a workspace secret; refused while steps of flows read it, unless forced."
    )
    async def delete_secret(self, info: Info, input: DeleteSecretInput) -> DeleteSecretPayload:
        principal = await info.context.principal()
        await info.context.services.workspace_secrets.delete(
            principal, input.workspace_id, input.name, force=input.force
        )
        return DeleteSecretPayload(deleted_name=input.name)
