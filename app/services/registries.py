"""Container registries: register (credentials checked per type, encrypted at rest), list, change,
remove (with the image pull Secrets made from it), choose the workspace's default, and test with a real
``/v2/`` handshake."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring, KeyringError
from app.domain.ids import new_id
from app.domain.registries import (
    Handshake,
    PullSecretRecord,
    Registry,
    RegistryAccess,
    RegistryCheck,
    RegistryCredentials,
    RegistryProblem,
    RegistryStatus,
    RegistryType,
    check_credentials,
    check_name,
    check_url,
    default_url,
    normalise_url,
)
from app.net import EgressGuard
from app.ports import Clock, RegistryClient, RegistryStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.principals import Principal

INSECURE_SETTING = "TRELLIS_REGISTRY_ALLOW_INSECURE"


class RegistryServiceStore(RegistryStore, WorkspaceStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class RegistryRegistration:
    workspace_id: str
    name: str
    type: RegistryType
    url: str | None  # None: the type's default (Docker Hub, GHCR, GCR; ECR from ``account_id``)
    credentials: RegistryCredentials
    account_id: str | None = None  # ECR only: builds the default URL
    insecure: bool = False
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """What ``updateRegistry`` changes; None leaves a part as it is. New ``credentials`` replace the
    stored ones as a whole (they are never shown, so there is nothing to merge with)."""

    name: str | None = None
    url: str | None = None
    insecure: bool | None = None
    credentials: RegistryCredentials | None = None


@dataclass(frozen=True, slots=True)
class RegistryCleanup:
    """What deleting a registry's image pull Secrets from the clusters did: how many were deleted, and
    where one could not be (``cluster/namespace: why``)."""

    deleted: int = 0
    failed: tuple[str, ...] = ()


class PullSecretRemover(Protocol):
    async def remove_registry(
        self, registry: Registry, records: Sequence[PullSecretRecord]
    ) -> RegistryCleanup:
        """Delete the registry's pull Secrets from the clusters and namespaces ``records`` name, best
        effort (never raises for a cluster)."""
        ...


def seal(keyring: Keyring, credentials: RegistryCredentials) -> str | None:
    """The ciphertext of the credentials; None for anonymous access."""
    if credentials.empty:
        return None
    return keyring.encrypt(json.dumps(dataclasses.asdict(credentials), sort_keys=True))


def unseal(keyring: Keyring, ciphertext: str | None) -> RegistryCredentials:
    if ciphertext is None:
        return RegistryCredentials()
    try:
        raw = json.loads(keyring.decrypt(ciphertext))
    except KeyringError as exc:
        raise errors.Unavailable(
            "the registry's credentials cannot be decrypted with the configured keys "
            "(TRELLIS_ENCRYPTION_KEYS)"
        ) from exc
    return RegistryCredentials(**raw)


def access_of(keyring: Keyring, registry: Registry) -> RegistryAccess:
    return RegistryAccess(
        registry.type, registry.url, registry.insecure, unseal(keyring, registry.credentials_ciphertext)
    )


class RegistryService:
    def __init__(
        self,
        *,
        store: RegistryServiceStore,
        client: RegistryClient,
        guard: EgressGuard,
        keyring: Keyring,
        clock: Clock,
        auditor: Auditor,
        allow_insecure: bool,
        pull_secrets: PullSecretRemover | None = None,
    ) -> None:
        self._store = store
        self._pull_secrets = pull_secrets  # removes the image pull Secrets of a deleted registry
        self._client = client
        self._guard = guard
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor
        self._allow_insecure = allow_insecure

    async def get(self, principal: Principal, registry_id: str) -> Registry:
        registry = await self._store.get_registry(principal.scope, registry_id)
        if registry is None:
            raise errors.NotFound("registry", registry_id)
        return registry

    async def visible(self, principal: Principal, workspace_id: str) -> list[Registry]:
        """The workspace's registries by name (``NOT_FOUND`` for a workspace the caller cannot see)."""
        if await self._store.get_workspace(principal.scope, workspace_id) is None:
            raise errors.NotFound("workspace", workspace_id)
        return await self._store.list_registries(principal.scope, workspace_id)

    async def register(self, principal: Principal, registration: RegistryRegistration) -> Registry:
        """Validate everything (name, URL, credentials for the type, the insecure flag, the egress rules),
        then store it with its credentials encrypted. It is not contacted: ``test`` does that."""
        async with self._auditor.action(
            "registry.register",
            actor_id=principal.user_id,
            target_type="registry",
            workspace_id=registration.workspace_id,
        ) as record:
            if await self._store.get_workspace(principal.scope, registration.workspace_id) is None:
                raise errors.NotFound("workspace", registration.workspace_id)
            principal.require_owner(registration.workspace_id, "registries")
            name, url, credentials = self._checked(
                registration.type,
                registration.name,
                registration.url,
                registration.credentials,
                registration.insecure,
                account_id=registration.account_id,
            )
            await self._check_egress(url, registration.insecure)
            now = self._clock.now()
            registry = Registry(
                id=new_id(),
                workspace_id=registration.workspace_id,
                name=name,
                type=registration.type,
                url=url,
                insecure=registration.insecure,
                is_default=registration.is_default,
                created_by=principal.user_id,
                created_at=now,
                updated_at=now,
                credentials_ciphertext=seal(self._keyring, credentials),
            )
            record.target_id = registry.id
            record.detail = {"type": registry.type.value, "url": url, "default": str(registry.is_default)}
            await self._store.insert_registry(registry)
            return registry

    async def update(self, principal: Principal, registry_id: str, change: RegistryChange) -> Registry:
        async with self._auditor.action(
            "registry.update", actor_id=principal.user_id, target_type="registry", target_id=registry_id
        ) as record:
            current = await self.get(principal, registry_id)
            record.workspace_id = current.workspace_id
            principal.require_owner(current.workspace_id, "registries")
            insecure = current.insecure if change.insecure is None else change.insecure
            credentials = (
                change.credentials
                if change.credentials is not None
                else unseal(self._keyring, current.credentials_ciphertext)
            )
            name, url, checked = self._checked(
                current.type,
                current.name if change.name is None else change.name,
                current.url if change.url is None else change.url,
                credentials,
                insecure,
                account_id=None,
            )
            if url != current.url or insecure != current.insecure:
                await self._check_egress(url, insecure)
            updated = replace(
                current,
                name=name,
                url=url,
                insecure=insecure,
                updated_at=self._clock.now(),
                credentials_ciphertext=(
                    seal(self._keyring, checked)
                    if change.credentials is not None
                    else current.credentials_ciphertext
                ),
            )
            record.detail = {
                "changed": ",".join(
                    part
                    for part, value in (
                        ("name", change.name),
                        ("url", change.url),
                        ("insecure", change.insecure),
                        ("credentials", change.credentials),
                    )
                    if value is not None
                )
            }
            await self._store.replace_registry(principal.scope, updated)
            return updated

    async def remove(self, principal: Principal, registry_id: str) -> None:
        """Forget the registry, then delete its image pull Secrets from every cluster and namespace its
        records name (best effort: one that cannot be deleted now stays, is logged, and is listed in the
        audit entry's ``pullSecretsNotDeleted``)."""
        async with self._auditor.action(
            "registry.remove", actor_id=principal.user_id, target_type="registry", target_id=registry_id
        ) as record:
            registry = await self.get(principal, registry_id)
            record.workspace_id = registry.workspace_id
            principal.require_owner(registry.workspace_id, "registries")
            placed = await self._store.list_pull_secrets(registry_id=registry_id)
            await self._store.delete_registry(principal.scope, registry_id)
            if self._pull_secrets is not None and placed:
                cleanup = await self._pull_secrets.remove_registry(registry, placed)
                record.detail = {"pullSecretsDeleted": str(cleanup.deleted)}
                if cleanup.failed:
                    record.detail["pullSecretsNotDeleted"] = "; ".join(cleanup.failed)

    async def set_default(self, principal: Principal, registry_id: str) -> Registry:
        """Make it its workspace's default; the previous default stops being one in the same write."""
        async with self._auditor.action(
            "registry.set_default", actor_id=principal.user_id, target_type="registry", target_id=registry_id
        ) as record:
            registry = await self.get(principal, registry_id)
            record.workspace_id = registry.workspace_id
            principal.require_owner(registry.workspace_id, "registries")
            return await self._store.set_default_registry(principal.scope, registry_id, self._clock.now())

    async def test(self, principal: Principal, registry_id: str) -> tuple[Registry, RegistryCheck]:
        """Run the ``/v2/`` handshake now and record its outcome as the registry's status.

        This is a mutation, not a query, although the registry itself is left alone: the outcome is
        stored on the registry (``status`` of every later ``registries`` answer) and audited, as
        ``testCluster`` does. Viewers may test (it changes no configuration).
        """
        async with self._auditor.action(
            "registry.test", actor_id=principal.user_id, target_type="registry", target_id=registry_id
        ) as record:
            registry = await self.get(principal, registry_id)
            record.workspace_id = registry.workspace_id
            check = await self.check(registry)
            record.detail = {"status": check.status.value}
            await self._store.record_registry_check(registry.id, check)
            return replace(registry, last_check=check), check

    async def check(self, registry: Registry) -> RegistryCheck:
        """The handshake's outcome, stamped with the time (no exception for a failed handshake)."""
        if registry.insecure and not self._allow_insecure:
            outcome = Handshake(
                RegistryStatus.UNREACHABLE,
                f"plain-HTTP registries are not allowed here ({INSECURE_SETTING} is off)",
            )
        else:
            outcome = await self._client.handshake(access_of(self._keyring, registry))
        return RegistryCheck(outcome.status, outcome.reason, outcome.api_version, self._clock.now())

    def _checked(
        self,
        registry_type: RegistryType,
        name: str,
        url: str | None,
        credentials: RegistryCredentials,
        insecure: bool,
        *,
        account_id: str | None,
    ) -> tuple[str, str, RegistryCredentials]:
        """The cleaned name, normalised URL and credentials; ``BAD_INPUT`` listing every problem."""
        problems: list[errors.FieldError] = []

        def collect(exc: RegistryProblem) -> None:
            problems.extend(errors.FieldError(p.path, p.message) for p in exc.problems)

        cleaned_name, cleaned, normalised = name, credentials, ""
        try:
            cleaned_name = check_name(name)
        except RegistryProblem as exc:
            collect(exc)
        try:
            cleaned = check_credentials(registry_type, credentials)
        except RegistryProblem as exc:
            collect(exc)
        try:
            given = url.strip() if url else ""
            normalised = normalise_url(given) if given else default_url(registry_type, cleaned, account_id)
            check_url(registry_type, normalised, cleaned, insecure)
        except RegistryProblem as exc:
            collect(exc)
        if insecure and not self._allow_insecure:
            problems.append(
                errors.FieldError(
                    "insecure",
                    f"plain-HTTP registries are not allowed here; an operator can allow them with "
                    f"{INSECURE_SETTING}",
                )
            )
        if problems:
            first = problems[0]
            raise errors.Invalid(f"{first.path}: {first.message}", problems)
        return cleaned_name, normalised, cleaned

    async def _check_egress(self, url: str, insecure: bool) -> None:
        """Refuse (``BAD_INPUT`` on ``url``) a registry the egress rules forbid. A name that does not
        resolve now is accepted: the handshake will say so."""
        with contextlib.suppress(errors.Unavailable):
            await self._guard.check_url(
                url, schemes=("http", "https") if insecure else ("https",), field="url"
            )
