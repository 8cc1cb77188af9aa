"""Git credential queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.services.git_credentials import NewGitCredential
from schema.context import Info
from schema.git.types import (
    CreateGitCredentialInput,
    CreateGitCredentialPayload,
    DeleteGitCredentialInput,
    DeleteGitCredentialPayload,
    GitCredential,
)


@strawberry.type
class GitQuery:
    @strawberry.field(description="A workspace's Git credentials, by name (never their secrets).")
    async def git_credentials(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
    ) -> list[GitCredential]:
        principal = await info.context.principal()
        credentials = await info.context.services.git_credentials.list(principal, workspace_id)
        return [GitCredential.from_domain(c) for c in credentials]


@strawberry.type
class GitMutation:
    @strawberry.mutation(
        description="Store a token or an SSH key for a Git host (editors and owners); it is checked, "
        "encrypted and never returned."
    )
    async def create_git_credential(
        self, info: Info, input: CreateGitCredentialInput
    ) -> CreateGitCredentialPayload:
        principal = await info.context.principal()
        credential = await info.context.services.git_credentials.create(
            principal,
            NewGitCredential(
                workspace_id=input.workspace_id,
                name=input.name,
                host=input.host,
                token=input.token,
                ssh_private_key=input.ssh_private_key,
                username=input.username,
            ),
        )
        return CreateGitCredentialPayload(git_credential=GitCredential.from_domain(credential))

    @strawberry.mutation(description="Delete a Git credential (editors and owners).")
    async def delete_git_credential(
        self, info: Info, input: DeleteGitCredentialInput
    ) -> DeleteGitCredentialPayload:
        principal = await info.context.principal()
        deleted = await info.context.services.git_credentials.delete(principal, input.id)
        return DeleteGitCredentialPayload(deleted_git_credential_id=strawberry.ID(deleted.id))
