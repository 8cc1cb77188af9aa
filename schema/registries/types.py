"""Container registries and their status. Credentials go in, and never come out."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.registries import Registry as DomainRegistry
from app.domain.registries import RegistryCheck as DomainRegistryCheck
from app.domain.registries import RegistryCredentials
from app.domain.registries import RegistryType as DomainRegistryType
from schema.auth.types import User
from schema.context import Info


@strawberry.enum(description="Which registry (or kind of registry) it is; decides the credentials it takes.")
class RegistryType(Enum):
    DOCKER_HUB = strawberry.enum_value(
        "DOCKER_HUB", description="Docker Hub: user name and password or token."
    )
    GHCR = strawberry.enum_value(
        "GHCR", description="GitHub Container Registry: user name and a personal access token."
    )
    ECR = strawberry.enum_value(
        "ECR",
        description="Amazon ECR: access key id, secret access key, region (and a session token for "
        "temporary keys); exchanged for 12-hour registry tokens.",
    )
    GCR = strawberry.enum_value(
        "GCR", description="Google Container Registry or Artifact Registry: a service account's JSON key."
    )
    ACR = strawberry.enum_value(
        "ACR",
        description="Azure Container Registry: a service principal (tenant, client id, secret) or the "
        "registry's admin user.",
    )
    GENERIC = strawberry.enum_value(
        "GENERIC",
        description="Any registry speaking the Docker Registry HTTP API v2: user name and password, or none.",
    )

    def to_domain(self) -> DomainRegistryType:
        return DomainRegistryType[self.name]


@strawberry.enum(description="The outcome of a registry's `/v2/` handshake.")
class RegistryStatus(Enum):
    REACHABLE = strawberry.enum_value("REACHABLE", description="It answered and accepted the credentials.")
    UNAUTHORIZED = strawberry.enum_value(
        "UNAUTHORIZED", description="It (or its token service) answered and refused the credentials."
    )
    UNREACHABLE = strawberry.enum_value(
        "UNREACHABLE",
        description="No usable answer: DNS, connection, TLS, timeout, refused by the egress rules, or "
        "not a registry.",
    )


@strawberry.type(description="The latest `/v2/` handshake with a registry.")
class RegistryCheck:
    status: RegistryStatus = strawberry.field(description="What the handshake found.")
    reason: str | None = strawberry.field(
        description="Why it was not REACHABLE, as the registry or the network said it (or a note)."
    )
    api_version: str | None = strawberry.field(
        description="The registry's `Docker-Distribution-API-Version` header, e.g. `registry/2.0`."
    )
    checked_at: datetime = strawberry.field(description="When the handshake ran.")

    @classmethod
    def from_domain(cls, check: DomainRegistryCheck) -> RegistryCheck:
        return cls(
            status=RegistryStatus(check.status.value),
            reason=check.reason,
            api_version=check.api_version,
            checked_at=check.checked_at,
        )


@strawberry.type(
    description="A container registry of a workspace: builds push to it, and runs get an image pull Secret "
    "for the images that live on it. Its credentials are encrypted at rest and never returned."
)
class Registry:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(description="Name, unique in its workspace.")
    type: RegistryType = strawberry.field(description="Which registry it is.")
    url: str = strawberry.field(description="The registry API's URL, `https://host[:port]`.")
    host: str = strawberry.field(
        description="`host[:port]`: images named `host/…` are pulled from it (`docker.io` images from "
        "Docker Hub)."
    )
    insecure: bool = strawberry.field(description="Reached over plain HTTP (a GENERIC registry only).")
    is_default: bool = strawberry.field(description="The workspace's default registry (at most one).")
    has_credentials: bool = strawberry.field(description="Credentials are stored (false: anonymous).")
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    status: RegistryCheck | None = strawberry.field(
        description="The latest handshake (`testRegistry` runs a new one); null before the first."
    )
    created_by_id: strawberry.Private[str]

    @strawberry.field(description="Who registered it.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, registry: DomainRegistry) -> Registry:
        return cls(
            id=strawberry.ID(registry.id),
            workspace_id=strawberry.ID(registry.workspace_id),
            name=registry.name,
            type=RegistryType(registry.type.value),
            url=registry.url,
            host=registry.host,
            insecure=registry.insecure,
            is_default=registry.is_default,
            has_credentials=registry.has_credentials,
            created_at=registry.created_at,
            updated_at=registry.updated_at,
            status=RegistryCheck.from_domain(registry.last_check) if registry.last_check else None,
            created_by_id=registry.created_by,
        )


@strawberry.input(
    description="A registry's credentials; which fields it takes depends on its type (see `RegistryType`). "
    "Fields another type uses are refused. Encrypted at rest, never returned."
)
class RegistryCredentialsInput:
    username: str | None = strawberry.field(
        default=None, description="DOCKER_HUB, GHCR, GENERIC, ACR (admin user): the user name."
    )
    password: str | None = strawberry.field(
        default=None, description="DOCKER_HUB, GHCR, GENERIC, ACR (admin user): the password or access token."
    )
    access_key_id: str | None = strawberry.field(default=None, description="ECR: the AWS access key id.")
    secret_access_key: str | None = strawberry.field(
        default=None, description="ECR: the AWS secret access key."
    )
    session_token: str | None = strawberry.field(
        default=None, description="ECR: the session token of temporary keys (optional)."
    )
    region: str | None = strawberry.field(default=None, description="ECR: the AWS region, e.g. `eu-west-1`.")
    service_account_json: str | None = strawberry.field(
        default=None, description="GCR: the service account's JSON key file, whole."
    )
    tenant_id: str | None = strawberry.field(
        default=None, description="ACR (service principal): the Microsoft Entra tenant id."
    )
    client_id: str | None = strawberry.field(
        default=None, description="ACR (service principal): the application (client) id."
    )
    client_secret: str | None = strawberry.field(
        default=None, description="ACR (service principal): the client secret."
    )

    def to_domain(self) -> RegistryCredentials:
        return RegistryCredentials(
            username=self.username,
            password=self.password,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            session_token=self.session_token,
            region=self.region,
            service_account_json=self.service_account_json,
            tenant_id=self.tenant_id,
            client_id=self.client_id,
            client_secret=self.client_secret,
        )


@strawberry.input(
    description="A registry to register in a workspace. Nothing is contacted: `testRegistry` does."
)
class RegisterRegistryInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace to register it in.")
    name: str = strawberry.field(description="Name, unique in the workspace (1 to 63 characters).")
    type: RegistryType = strawberry.field(description="Which registry it is.")
    url: str | None = strawberry.field(
        default=None,
        description="`https://host[:port]` (a bare host is taken as https). Defaults: DOCKER_HUB "
        "`https://registry-1.docker.io`, GHCR `https://ghcr.io`, GCR `https://gcr.io` (Artifact Registry: "
        "`https://<region>-docker.pkg.dev`), ECR from `accountId` and the region; ACR and GENERIC must "
        "give it (ACR: `https://<name>.azurecr.io`). `http://` only for an insecure GENERIC registry.",
    )
    account_id: str | None = strawberry.field(
        default=None, description="ECR: the 12-digit AWS account id, when `url` is not given."
    )
    insecure: bool = strawberry.field(
        default=False,
        description="GENERIC only: reach it over plain `http://` (refused unless the operator allows it).",
    )
    is_default: bool = strawberry.field(
        default=False, description="Make it the workspace's default (the previous default stops being one)."
    )
    credentials: RegistryCredentialsInput | None = strawberry.field(
        default=None, description="Its credentials (none: anonymous, GENERIC only)."
    )


@strawberry.type(description="The result of `registerRegistry`.")
class RegisterRegistryPayload:
    registry: Registry = strawberry.field(description="The registered registry.")


@strawberry.input(description="Change a registry; fields left out (or null) stay as they are.")
class UpdateRegistryInput:
    id: strawberry.ID = strawberry.field(description="The registry.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    url: str | None = strawberry.field(default=None, description="A new URL.")
    insecure: bool | None = strawberry.field(default=None, description="Plain HTTP or not (GENERIC only).")
    credentials: RegistryCredentialsInput | None = strawberry.field(
        default=None, description="New credentials; they replace the stored ones as a whole."
    )


@strawberry.type(description="The result of `updateRegistry`.")
class UpdateRegistryPayload:
    registry: Registry = strawberry.field(description="The registry as changed.")


@strawberry.input(description="Which registry to delete.")
class DeleteRegistryInput:
    id: strawberry.ID = strawberry.field(description="The registry.")


@strawberry.type(description="The result of `deleteRegistry`.")
class DeleteRegistryPayload:
    deleted_registry_id: strawberry.ID = strawberry.field(description="The id of the deleted registry.")


@strawberry.input(description="Which registry becomes its workspace's default.")
class SetDefaultRegistryInput:
    id: strawberry.ID = strawberry.field(description="The registry.")


@strawberry.type(description="The result of `setDefaultRegistry`.")
class SetDefaultRegistryPayload:
    registry: Registry = strawberry.field(description="The new default.")
    registries: list[Registry] = strawberry.field(
        description="Every registry of its workspace after the change (the old default included), by name."
    )


@strawberry.input(description="Which registry to test now.")
class TestRegistryInput:
    id: strawberry.ID = strawberry.field(description="The registry.")


@strawberry.type(description="The result of `testRegistry`.")
class TestRegistryPayload:
    registry: Registry = strawberry.field(description="The registry with its new status.")
    status: RegistryCheck = strawberry.field(description="The handshake that just ran.")
