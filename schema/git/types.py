"""Git credentials: a token or an SSH key for one Git host. Secrets go in, and never come out."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.git import GitCredential as DomainGitCredential
from schema.auth.types import User
from schema.context import Info


@strawberry.enum(description="What a Git credential holds.")
class GitCredentialKind(Enum):
    TOKEN = strawberry.enum_value("TOKEN", description="An access token, used over https://.")
    SSH_KEY = strawberry.enum_value("SSH_KEY", description="An SSH private key, used over ssh://.")


@strawberry.type(
    description="A workspace's credential for one Git host, used by Git imports, builds and exports. "
    "The secret is encrypted at rest and never returned."
)
class GitCredential:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(description="Name, unique in its workspace.")
    host: str = strawberry.field(
        description="The Git host it is used for (lower case, without port), e.g. `github.com`."
    )
    kind: GitCredentialKind = strawberry.field(description="Token or SSH key.")
    username: str | None = strawberry.field(
        description="The user name sent with it (`x-access-token` for tokens, `git` for SSH keys, "
        "unless another was given)."
    )
    created_at: datetime = strawberry.field(description="When it was created.")
    created_by_id: strawberry.Private[str]

    @strawberry.field(description="Who created it.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, credential: DomainGitCredential) -> GitCredential:
        return cls(
            id=strawberry.ID(credential.id),
            workspace_id=strawberry.ID(credential.workspace_id),
            name=credential.name,
            host=credential.host,
            kind=GitCredentialKind(credential.kind.value),
            username=credential.username,
            created_at=credential.created_at,
            created_by_id=credential.created_by,
        )


@strawberry.input(
    description="A credential for one Git host: give exactly one of `token` and `sshPrivateKey`. "
    "It is encrypted at rest and never returned."
)
class CreateGitCredentialInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(description="Name, unique in the workspace (1 to 63 characters).")
    host: str = strawberry.field(
        description="The Git host name alone, without scheme, port or path, e.g. `github.com`."
    )
    token: str | None = strawberry.field(
        default=None, description="An access token (at most 4 KiB), for https:// URLs."
    )
    ssh_private_key: str | None = strawberry.field(
        default=None,
        description="An SSH private key in OpenSSH or PEM form, without a passphrase, for ssh:// URLs.",
    )
    username: str | None = strawberry.field(
        default=None,
        description="The user name to send: default `x-access-token` for tokens (GitHub and GitLab "
        "accept it; use `oauth2` for GitLab OAuth tokens, `x-token-auth` for Bitbucket) and `git` for "
        "SSH keys.",
    )


@strawberry.type(description="The result of `createGitCredential`.")
class CreateGitCredentialPayload:
    git_credential: GitCredential = strawberry.field(
        description="The stored credential (without its secret)."
    )


@strawberry.input(description="Which Git credential to delete.")
class DeleteGitCredentialInput:
    id: strawberry.ID = strawberry.field(description="The credential.")


@strawberry.type(description="The result of `deleteGitCredential`.")
class DeleteGitCredentialPayload:
    deleted_git_credential_id: strawberry.ID = strawberry.field(
        description="The id of the deleted credential."
    )
