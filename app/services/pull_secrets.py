"""Image pull Secrets: a run's workloads whose images live on a registry of the workspace that has
credentials get a ``kubernetes.io/dockerconfigjson`` Secret in their namespace, named
``trellis-pull-<registry id>``, and name it in ``imagePullSecrets``.

One Secret per (registry, namespace) is shared by every workflow deploying there: it is applied with one
field manager of its own (``trellis-pull-secrets``, so workflows never conflict over it), labelled with
the registry rather than a workflow (so no workflow's prune deletes it). It is applied once per run,
right before the first wave after the Namespaces (which may create its namespace). A registry that
cannot give credentials now (ECR unreachable, keys refused) is a warning on the run, not a failure: the
pods would report ImagePullBackOff, with the reason in the run's log.

Every Secret applied is recorded per (workflow, registry, namespace) with its cluster. Credentials
that expire — ECR's 12-hour tokens — are recorded with their expiry; :meth:`PullSecretService.refresh_due`
(run every ``TRELLIS_REGISTRY_REFRESH_INTERVAL_SECONDS``) re-applies each Secret
``TRELLIS_REGISTRY_REFRESH_MARGIN_SECONDS`` before it expires, with a fresh token. Exchanged tokens are
cached in memory only (never stored) until the margin before their expiry.

The records also say when a Secret may go (the rule is the same everywhere: a Secret is deleted only when
no other workflow's record names its namespace and no object there — other than the workflow's own —
names it in ``imagePullSecrets``; a Secret of the same name without our registry label is never touched):

* a run, right before its prune, lets go of the Secrets it recorded on its cluster that it no longer
  needs (no workload of its pulls from that registry into that namespace any more);
* a teardown (``deleteWorkflow`` with ``deleteResources``, archiving) lets go of every Secret the workflow
  recorded on its cluster, before its objects are pruned (so its Namespace can go too);
* deleting a registry deletes its Secrets from every cluster and namespace recorded, whoever uses them.

All of this is best effort: a Secret that cannot be deleted now is a warning (the run's log, or the server
log and the audit entry of the registry's deletion), and its record is kept to try again at the next
release. Secrets applied before records were kept for every Secret (only expiring ones were) are unknown
to this and stay.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain import labels
from app.domain.deploy_order import wave_of
from app.domain.kinds import KINDS, WORKLOAD_KINDS
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
from app.domain.runs import AppliedObject, ObjectAction
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
from app.services.registries import RegistryCleanup, access_of
from app.services.run_state import RunRecorder

log = logging.getLogger(__name__)

FIELD_MANAGER = "trellis-pull-secrets"
REGISTRY_LABEL = "trellis.dev/registry"
EXPIRES_ANNOTATION = "trellis.dev/expires-at"
# Where a pull Secret may be named: every node kind that runs pods, and bare Pods.
_NAMING_KINDS = (*((KINDS[kind].api_version, kind) for kind in WORKLOAD_KINDS), ("v1", "Pod"))


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


def pull_secret_names(obj: Mapping[str, Any]) -> set[str]:
    """Every name in an ``imagePullSecrets`` anywhere under the object's ``spec`` (a Pod's, or the pod
    template of any workload kind, a CronJob's included)."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if key == "imagePullSecrets" and isinstance(inner, list):
                    found.update(
                        str(item["name"]) for item in inner if isinstance(item, Mapping) and "name" in item
                    )
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(obj.get("spec"))
    return found


def _deleted(record: PullSecretRecord) -> AppliedObject:
    return AppliedObject(
        "v1", "Secret", pull_secret_name(record.registry_id), record.namespace, ObjectAction.PRUNED
    )


def _where(record: PullSecretRecord) -> str:
    return f"{pull_secret_name(record.registry_id)} in {record.namespace}"


@dataclass(frozen=True, slots=True)
class Released:
    """What letting go of some pull-Secret records did, per record: its Secret deleted now; kept because
    another workflow recorded it there (the record is forgotten: that workflow's record answers for it);
    kept because an object in its namespace that is not the workflow's names it (the record stays, so
    the next release tries again); or not deleted, with why (the record stays). The records of Secrets
    already gone, or not ours, are forgotten without a word."""

    deleted: tuple[PullSecretRecord, ...] = ()
    shared: tuple[PullSecretRecord, ...] = ()
    in_use: tuple[PullSecretRecord, ...] = ()
    failed: tuple[tuple[PullSecretRecord, str], ...] = ()


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

    async def before_prune(self, session: ClusterSession, recorder: RunRecorder) -> None:
        """Let go of the Secrets the workflow recorded on this cluster that this run no longer needs."""
        await self.service.release_unneeded(session, self, recorder)


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
    ) -> RunPullSecrets:
        """What a run applies, and lets go of before its prune (also when its images need no credentials
        any more: Secrets an earlier run applied may have to go)."""
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
        """Apply the run's Secrets and record each (the expiring ones with their expiry, for refresh).
        Failures are warnings. Records of Secrets not applied now are kept: :meth:`release_unneeded`
        decides about them."""
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
                await self._store.save_pull_secret(
                    self._record(recorder, registry, run.cluster_id, namespace, auth.expires_at)
                )

    def _record(
        self,
        recorder: RunRecorder,
        registry: Registry,
        cluster_id: str,
        namespace: str,
        expires_at: datetime | None,
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

    # --- letting go --------------------------------------------------------------------------------------

    async def release_unneeded(
        self, session: ClusterSession, run: RunPullSecrets, recorder: RunRecorder
    ) -> None:
        """Before a run's prune: let go of the workflow's records on the run's cluster whose registry no
        workload of this run pulls from into that namespace; what happened goes to the run's log."""
        stale = [
            record
            for record in await self._store.list_pull_secrets(workflow_id=recorder.run.workflow_id)
            if record.cluster_id == run.cluster_id
            and record.namespace not in run.namespaces.get(record.registry_id, ())
        ]
        if not stale:
            return
        released = await self.release(session, stale)
        for record in released.deleted:
            await recorder.pruned(_deleted(record))
            await recorder.log(
                f"image pull Secret {_where(record)} deleted: no workload there uses it any more"
            )
        for record in released.shared:
            await recorder.log(f"image pull Secret {_where(record)} kept: another workflow there uses it")
        for record in released.in_use:
            await recorder.log(
                f"image pull Secret {_where(record)} is no longer needed but kept: an object there that "
                "is not this workflow's names it",
                level="WARNING",
            )
        for record, why in released.failed:
            await recorder.log(
                f"image pull Secret {_where(record)} is no longer needed but was not deleted: {why}",
                level="WARNING",
                warning=True,
            )

    async def release_workflow(
        self, session: ClusterSession, workflow_id: str, cluster_id: str
    ) -> list[AppliedObject]:
        """A teardown: let go of every Secret the workflow recorded on ``cluster_id`` (the session's);
        the Secrets deleted. A failure is logged (and its record kept)."""
        records = [
            r
            for r in await self._store.list_pull_secrets(workflow_id=workflow_id)
            if r.cluster_id == cluster_id
        ]
        released = await self.release(session, records)
        for record in released.in_use:
            log.info(
                "workflow %s: image pull Secret %s kept: others there name it", workflow_id, _where(record)
            )
        for record, why in released.failed:
            log.warning(
                "workflow %s: image pull Secret %s was not deleted: %s", workflow_id, _where(record), why
            )
        return [_deleted(record) for record in released.deleted]

    async def release(self, session: ClusterSession, records: Sequence[PullSecretRecord]) -> Released:
        """Let go of ``records`` (all on the session's cluster): each Secret is deleted unless another
        workflow recorded it there or an object in its namespace still names it (see :class:`Released`
        for what becomes of each record)."""
        deleted: list[PullSecretRecord] = []
        shared: list[PullSecretRecord] = []
        in_use: list[PullSecretRecord] = []
        failed: list[tuple[PullSecretRecord, str]] = []
        for record in records:
            try:
                if await self._recorded_by_another(record):
                    shared.append(record)
                elif await self._named_by_another(session, record):
                    in_use.append(record)
                    continue
                elif await self._delete(session, record.registry_id, record.namespace):
                    deleted.append(record)
            except errors.TrellisError as exc:
                failed.append((record, exc.message))
                continue
            await self._store.delete_pull_secret(record.workflow_id, record.registry_id, record.namespace)
        return Released(tuple(deleted), tuple(shared), tuple(in_use), tuple(failed))

    async def _recorded_by_another(self, record: PullSecretRecord) -> bool:
        """Whether another workflow (that still exists) recorded the same Secret."""
        for other in await self._store.list_pull_secrets(registry_id=record.registry_id):
            if (
                other.workflow_id == record.workflow_id
                or other.cluster_id != record.cluster_id
                or other.namespace != record.namespace
            ):
                continue
            if await self._store.get_workflow(Scope.of([other.workspace_id]), other.workflow_id) is not None:
                return True
            # a deleted workflow's record (MongoDB does not drop them with the workflow)
            await self._store.delete_pull_secret(other.workflow_id, other.registry_id, other.namespace)
        return False

    async def _named_by_another(self, session: ClusterSession, record: PullSecretRecord) -> bool:
        """Whether an object in the namespace that is not the record's workflow's (a workload or a Pod:
        another workflow's left behind, or not Trellis's at all) names the Secret."""
        name = pull_secret_name(record.registry_id)
        for api_version, kind in _NAMING_KINDS:
            try:
                items = await session.list(api_version, kind, label_selector="", namespace=record.namespace)
            except errors.NotFound:
                continue
            for item in items:
                if labels.workflow_of(item) != record.workflow_id and name in pull_secret_names(item):
                    return True
        return False

    async def _delete(self, session: ClusterSession, registry_id: str, namespace: str) -> bool:
        """Delete the registry's Secret in ``namespace``; False when it is gone already or is not ours
        (the same name without our registry label: left alone)."""
        name = pull_secret_name(registry_id)
        existing = await session.get("v1", "Secret", name, namespace)
        if existing is None:
            return False
        found = (existing.get("metadata") or {}).get("labels") or {}
        if found.get(REGISTRY_LABEL) != registry_id:
            log.warning("Secret %s in %s is not an image pull Secret of Trellis: left alone", name, namespace)
            return False
        return await session.delete("v1", "Secret", name, namespace)

    async def remove_registry(
        self, registry: Registry, records: Sequence[PullSecretRecord]
    ) -> RegistryCleanup:
        """A registry was deleted: delete its Secrets from every cluster and namespace ``records`` name
        (whoever used them), best effort; each failure is logged and reported."""
        spaces: dict[str, set[str]] = {}
        for record in records:
            spaces.setdefault(record.cluster_id, set()).add(record.namespace)
        deleted, failed = 0, []
        scope = Scope.of([registry.workspace_id])
        for cluster_id, namespaces in sorted(spaces.items()):
            cluster = await self._store.get_cluster(scope, cluster_id)
            if cluster is None:
                continue  # its cluster was removed: nothing there can be reached
            try:
                credentials = unseal_cluster(self._keyring, cluster.credentials_ciphertext)
                async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
                    for namespace in sorted(namespaces):
                        try:
                            if await self._delete(session, registry.id, namespace):
                                deleted += 1
                        except errors.TrellisError as exc:
                            failed.append(f"{cluster.name}/{namespace}: {exc.message}")
            except errors.TrellisError as exc:
                failed += [f"{cluster.name}/{namespace}: {exc.message}" for namespace in sorted(namespaces)]
            except Exception:  # the registry is gone already: its deletion must not fail now
                log.exception("deleting the image pull Secrets of registry %s failed", registry.id)
                failed += [
                    f"{cluster.name}/{namespace}: an unexpected error" for namespace in sorted(namespaces)
                ]
        for failure in failed:
            log.warning("registry %s deleted; its image pull Secret in %s stays", registry.id, failure)
        return RegistryCleanup(deleted=deleted, failed=tuple(failed))

    # --- refreshing -------------------------------------------------------------------------------------

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
        if registry is None or cluster is None or workflow is None:
            await self._store.delete_pull_secret(record.workflow_id, record.registry_id, record.namespace)
            return 0
        auth = await self.auth_for(registry) if registry.has_credentials else None
        if auth is None or auth.expires_at is None:
            # nothing to refresh with any more; the record stays (without expiry) so the Secret is let go
            await self._store.save_pull_secret(replace(record, expires_at=None))
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
