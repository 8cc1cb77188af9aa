"""Registry queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain.registries import RegistryCredentials
from app.services.registries import RegistryChange, RegistryRegistration
from schema.context import Info
from schema.registries.types import (
    DeleteRegistryInput,
    DeleteRegistryPayload,
    RegisterRegistryInput,
    RegisterRegistryPayload,
    Registry,
    RegistryCheck,
    SetDefaultRegistryInput,
    SetDefaultRegistryPayload,
    TestRegistryInput,
    TestRegistryPayload,
    UpdateRegistryInput,
    UpdateRegistryPayload,
)


@strawberry.type
class RegistryQuery:
    @strawberry.field(description="A workspace's container registries, by name (never their credentials).")
    async def registries(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
    ) -> list[Registry]:
        principal = await info.context.principal()
        registries = await info.context.services.registries.visible(principal, workspace_id)
        return [Registry.from_domain(r) for r in registries]


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(
        description="Register a container registry; its credentials are checked and encrypted."
    )
    async def register_registry(self, info: Info, input: RegisterRegistryInput) -> RegisterRegistryPayload:
        principal = await info.context.principal()
        registry = await info.context.services.registries.register(
            principal,
            RegistryRegistration(
                workspace_id=input.workspace_id,
                name=input.name,
                type=input.type.to_domain(),
                url=input.url,
                credentials=input.credentials.to_domain() if input.credentials else RegistryCredentials(),
                account_id=input.account_id,
                insecure=input.insecure,
                is_default=input.is_default,
            ),
        )
        return RegisterRegistryPayload(registry=Registry.from_domain(registry))

    @strawberry.mutation(description="Change a registry's name, URL or credentials.")
    async def update_registry(self, info: Info, input: UpdateRegistryInput) -> UpdateRegistryPayload:
        principal = await info.context.principal()
        registry = await info.context.services.registries.update(
            principal,
            input.id,
            RegistryChange(
                name=input.name,
                url=input.url,
                insecure=input.insecure,
                credentials=input.credentials.to_domain() if input.credentials else None,
            ),
        )
        return UpdateRegistryPayload(registry=Registry.from_domain(registry))

    @strawberry.mutation(
        description=(
            "Delete a registry, then its image pull Secrets from every cluster and namespace where runs "
            "applied them (best effort: one that cannot be deleted stays and is named in the audit entry)."
        )
    )
    async def delete_registry(self, info: Info, input: DeleteRegistryInput) -> DeleteRegistryPayload:
        principal = await info.context.principal()
        await info.context.services.registries.remove(principal, input.id)
        return DeleteRegistryPayload(deleted_registry_id=input.id)

    @strawberry.mutation(
        description="Make a registry its workspace's default (the previous one stops being it)."
    )
    async def set_default_registry(
        self, info: Info, input: SetDefaultRegistryInput
    ) -> SetDefaultRegistryPayload:
        principal = await info.context.principal()
        service = info.context.services.registries
        registry = await service.set_default(principal, input.id)
        registries = await service.visible(principal, registry.workspace_id)
        return SetDefaultRegistryPayload(
            registry=Registry.from_domain(registry), registries=[Registry.from_domain(r) for r in registries]
        )

    @strawberry.mutation(
        description="Run the registry's `/v2/` handshake now (after the cloud token exchange, for ECR, GCR "
        "and ACR service principals) and record the outcome as its `status`. A mutation, since it stores "
        "that outcome; the registry is only read."
    )
    async def test_registry(self, info: Info, input: TestRegistryInput) -> TestRegistryPayload:
        principal = await info.context.principal()
        registry, check = await info.context.services.registries.test(principal, input.id)
        return TestRegistryPayload(
            registry=Registry.from_domain(registry), status=RegistryCheck.from_domain(check)
        )
