"""Image pull Secrets: a run's workloads whose images live on a registry of the workspace that has
credentials get a ``kubernetes.io/dockerconfigjson`` Secret in their namespace, named
``trellis-pull-<registry id>``, and name it in ``imagePullSecrets``.

One Secret per (registry, namespace) is shared by every workflow deploying there: it is applied with one
field manager of its own (``trellis-pull-secrets``, so workflows never conflict over it), labelled with
the registry rather than a workflow (so no workflow's prune deletes it). It is applied once per run,
right before the first wave after the Namespaces (which may create its namespace). A registry that
cannot give credentials now (ECR unreachable, keys refused) is a warning on the run, not a failure: the
pods would report ImagePullBackOff, with the reason in the run's log.

Credentials that expire — ECR's 12-hour tokens — are recorded per (workflow, registry, namespace) with
their expiry; :meth:`PullSecretService.refresh_due` (run every ``TRELLIS_REGISTRY_REFRESH_INTERVAL_SECONDS``)
re-applies each Secret ``TRELLIS_REGISTRY_REFRESH_MARGIN_SECONDS`` before it expires, with a fresh token.
Exchanged tokens are cached in memory only (never stored) until the margin before their expiry.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain import labels
from app.domain.deploy_order import wave_of
from app.domain.kinds import WORKLOAD_KINDS
from app.domain.manifests import RenderedObject
from app.domain.registries import (
    DOCKER_CONFIG_JSON_TYPE,
    PullAuth,
    PullSecretRecord,
    Registry,
    auth_key,
    docker_config_json,
    pull_secret_name,
    serves,
)
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.ports import (
    Clock,
    ClusterGateway,
    ClusterSession,
    ClusterStore,
    Manifest,
    RegistryClient,
    RegistryStore,
    WorkflowStore,
)
from app.services.clusters import unseal as unseal_cluster
from app.services.registries import access_of
from app.services.run_state import RunRecorder

log = logging.getLogger(__name__)

FIELD_MANAGER = "trellis-pull-secrets"
REGISTRY_LABEL = "trellis.dev/registry"
EXPIRES_ANNOTATION = "trellis.dev/expires-at"


class PullSecretStore(RegistryStore, ClusterStore, WorkflowStore, Protocol):
    pass


def pull_secret_manifest(registry: Registry, namespace: str, auth: PullAuth) -> Manifest:
    """The Secret holding ``auth`` for ``registry`` in ``namespace``."""
    payload = docker_config_json({auth_key(registry): auth})
    metadata: dict[str, Any] = {
        "name": pull_secret_name(registry.id),
        "namespace": namespace,
        "labels": {labels.MANAGED_BY: labels.MANAGER, REGISTRY_LABEL: registry.id},
    }
    if auth.expires_at is not None:
        metadata["annotations"] = {EXPIRES_ANNOTATION: auth.expires_at.isoformat()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": DOCKER_CONFIG_JSON_TYPE,
        "data": {".dockerconfigjson": base64.b64encode(payload.encode()).decode()},
    }


@dataclass(frozen=True, slots=True)
class PullSecretPlan:
    """Which of the workspace's registries (with credentials) a workflow's images live on, and the Secret
    names each workload node's pods use (node id → names)."""

    registries: tuple[Registry, ...] = ()
    by_node: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def namespaces(self, objects: Sequence[RenderedObject]) -> dict[str, frozenset[str]]:
        """Registry id → the namespaces whose workloads pull from it (from the rendered objects)."""
        wanted: dict[str, set[str]] = {}
        names = {pull_secret_name(r.id): r.id for r in self.registries}
        for obj in objects:
            for name in self.by_node.get(obj.node_id, ()):
                if obj.namespace:
                    wanted.setdefault(names[name], set()).add(obj.namespace)
        return {registry_id: frozenset(spaces) for registry_id, spaces in wanted.items()}


def plan_for(workflow: Workflow, registries: Sequence[Registry]) -> PullSecretPlan:
    """The plan of ``workflow`` given its workspace's registries (pure)."""
    usable = [r for r in registries if r.has_credentials]
    used: dict[str, Registry] = {}
    by_node: dict[str, tuple[str, ...]] = {}
    for node in workflow.canvas.nodes:
        image = node.data.get("image")
        if node.kind not in WORKLOAD_KINDS or not isinstance(image, str):
            continue
        matching = [r for r in usable if serves(r, image)]
        if matching:
            by_node[node.id] = tuple(pull_secret_name(r.id) for r in matching)
            used.update((r.id, r) for r in matching)
    return PullSecretPlan(tuple(used.values()), by_node)


@dataclass(slots=True)
class RunPullSecrets:
    """The image pull Secrets of one run; :meth:`before_wave` applies them once, before the first wave
    after the Namespaces."""

    service: PullSecretService
    plan: PullSecretPlan
    namespaces: Mapping[str, frozenset[str]]
    cluster_id: str
    applied: bool = False

    @property
    def by_node(self) -> Mapping[str, tuple[str, ...]]:
        return self.plan.by_node

    async def before_wave(self, session: ClusterSession, recorder: RunRecorder, kind: str) -> None:
        if self.applied or wave_of(kind) <= wave_of("Namespace"):
            return
        self.applied = True
        await self.service.apply(session, self, recorder)


class PullSecretService:
    def __init__(
        self,
        *,
        store: PullSecretStore,
        client: RegistryClient,
        gateway: ClusterGateway,
        keyring: Keyring,
        clock: Clock,
        timeout_seconds: float,
        refresh_margin: timedelta,
    ) -> None:
        self._store = store
        self._client = client
        self._gateway = gateway
        self._keyring = keyring
        self._clock = clock
        self._timeout = timeout_seconds
        self._margin = refresh_margin
        self._tokens: dict[str, PullAuth] = {}  # registry id → an exchanged, expiring login (memory only)

    async def plan(self, workflow: Workflow) -> PullSecretPlan:
        registries = await self._store.list_registries(
            Scope.of([workflow.workspace_id]), workflow.workspace_id
        )
        return plan_for(workflow, registries)

    def for_run(
        self, plan: PullSecretPlan, objects: Sequence[RenderedObject], cluster_id: str
    ) -> RunPullSecrets | None:
        """What a run applies (None when its images need no credentials)."""
        if not plan.by_node:
            return None
        return RunPullSecrets(self, plan, plan.namespaces(objects), cluster_id)

    async def auth_for(self, registry: Registry) -> PullAuth | None:
        """The login to put in the Secret; an exchanged one is reused until the refresh margin before
        its expiry. ``Unavailable`` with the reason when it cannot be had now."""
        cached = self._tokens.get(registry.id)
        now = self._clock.now()
        if cached is not None and cached.expires_at is not None and cached.expires_at - self._margin > now:
            return cached
        auth = await self._client.pull_auth(access_of(self._keyring, registry))
        if auth is not None and auth.expires_at is not None:
            self._tokens[registry.id] = auth
        return auth

    async def apply(self, session: ClusterSession, run: RunPullSecrets, recorder: RunRecorder) -> None:
        """Apply the run's Secrets; record the expiring ones for refresh. Failures are warnings."""
        records: list[PullSecretRecord] = []
        for registry in run.plan.registries:
            spaces = sorted(run.namespaces.get(registry.id, ()))
            if not spaces:
                continue
            try:
                auth = await self.auth_for(registry)
            except errors.TrellisError as exc:
                await recorder.log(
                    f"image pull Secret for registry {registry.name} not applied: {exc.message}",
                    level="WARNING",
                    warning=True,
                )
                continue
            if auth is None:
                continue
            for namespace in spaces:
                manifest = pull_secret_manifest(registry, namespace, auth)
                try:
                    await session.apply(manifest, field_manager=FIELD_MANAGER)
                except errors.TrellisError as exc:
                    await recorder.log(
                        f"image pull Secret {pull_secret_name(registry.id)} in {namespace} not applied: "
                        f"{exc.message}",
                        level="WARNING",
                        warning=True,
                    )
                    continue
                await recorder.log(
                    f"image pull Secret {pull_secret_name(registry.id)} applied in {namespace}"
                )
                if auth.expires_at is not None:
                    records.append(
                        self._record(recorder, registry, run.cluster_id, namespace, auth.expires_at)
                    )
        await self._store.replace_pull_secrets(recorder.run.workflow_id, records)

    def _record(
        self, recorder: RunRecorder, registry: Registry, cluster_id: str, namespace: str, expires_at: datetime
    ) -> PullSecretRecord:
        return PullSecretRecord(
            workflow_id=recorder.run.workflow_id,
            workspace_id=recorder.run.workspace_id,
            registry_id=registry.id,
            cluster_id=cluster_id,
            namespace=namespace,
            expires_at=expires_at,
            applied_at=self._clock.now(),
        )

    async def refresh_due(self) -> int:
        """Re-apply, with fresh credentials, every recorded Secret that expires within the margin; drop the
        records whose workflow, registry or cluster is gone. Returns how many were refreshed; a failure
        leaves its record for the next round (and is logged)."""
        now = self._clock.now()
        refreshed = 0
        for record in await self._store.pull_secrets_due(now + self._margin):
            try:
                refreshed += await self._refresh(record)
            except errors.TrellisError as exc:
                log.warning(
                    "image pull Secret %s in %s (cluster %s) not refreshed: %s",
                    pull_secret_name(record.registry_id),
                    record.namespace,
                    record.cluster_id,
                    exc.message,
                )
        return refreshed

    async def _refresh(self, record: PullSecretRecord) -> int:
        scope = Scope.of([record.workspace_id])
        registry = await self._store.get_registry(scope, record.registry_id)
        cluster = await self._store.get_cluster(scope, record.cluster_id)
        workflow = await self._store.get_workflow(scope, record.workflow_id)
        if registry is None or cluster is None or workflow is None or not registry.has_credentials:
            await self._store.delete_pull_secret(record.workflow_id, record.registry_id, record.namespace)
            return 0
        auth = await self.auth_for(registry)
        if auth is None or auth.expires_at is None:
            await self._store.delete_pull_secret(record.workflow_id, record.registry_id, record.namespace)
            return 0
        credentials = unseal_cluster(self._keyring, cluster.credentials_ciphertext)
        async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
            await session.apply(
                pull_secret_manifest(registry, record.namespace, auth), field_manager=FIELD_MANAGER
            )
        await self._store.save_pull_secret(
            PullSecretRecord(
                workflow_id=record.workflow_id,
                workspace_id=record.workspace_id,
                registry_id=record.registry_id,
                cluster_id=record.cluster_id,
                namespace=record.namespace,
                expires_at=auth.expires_at,
                applied_at=self._clock.now(),
            )
        )
        return 1
