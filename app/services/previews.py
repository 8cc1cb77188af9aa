"""Previews: the manifests a workflow renders to (no cluster), and a plan of what a run would do.

Both render exactly what a run renders: with the ``imagePullSecrets`` a run gives workloads whose images
live on a registry of the workspace that has credentials (worked out from the store alone; no registry
is contacted). The pull Secret itself is not shown: it is not one of the workflow's objects (it is shared
by every workflow deploying to its namespace, applied with its own field manager and labelled with its
registry, not the workflow), and its content is credentials obtained when a run applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain import labels
from app.domain.manifests import SECRET_MASK, RenderedBundle, RenderedObject, RenderRequest
from app.domain.object_diff import ObjectChange, diff_objects
from app.domain.workflows import Canvas, Workflow
from app.ports import (
    ClusterGateway,
    ClusterSession,
    ClusterStore,
    Manifest,
    Renderer,
    VersionStore,
    WorkflowStore,
)
from app.services.clusters import workflow_credentials
from app.services.principals import Principal
from app.services.pruning import Pruner
from app.services.pull_secrets import PullSecretService
from app.services.run_executor import field_manager
from app.services.secret_values import SecretValueService
from app.services.workflows import require_deployable


class PreviewStore(WorkflowStore, VersionStore, ClusterStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class PlannedObject:
    node_id: str | None
    api_version: str
    kind: str
    name: str
    namespace: str | None
    changes: tuple[ObjectChange, ...] = ()
    created: bool = False
    problem: str | None = None  # the API server refused the dry run, or another workflow owns it


@dataclass(frozen=True, slots=True)
class Plan:
    creates: tuple[PlannedObject, ...]
    changes: tuple[PlannedObject, ...]
    unchanged: tuple[PlannedObject, ...]
    prunes: tuple[PlannedObject, ...]
    refused: tuple[PlannedObject, ...]
    skipped: tuple[tuple[str, str], ...]


def _mask_secret(obj: Manifest) -> Manifest:
    if obj.get("kind") != "Secret":
        return obj
    masked = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(obj.get(key), dict):
            masked[key] = dict.fromkeys(obj[key], SECRET_MASK)
    return masked


class PreviewService:
    def __init__(
        self,
        *,
        store: PreviewStore,
        renderer: Renderer,
        secrets: SecretValueService,
        gateway: ClusterGateway,
        keyring: Keyring,
        timeout_seconds: float,
        pull_secrets: PullSecretService | None = None,
    ) -> None:
        self._store = store
        self._pull_secrets = pull_secrets  # which image pull Secrets a run names (from the store only)
        self._renderer = renderer
        self._secrets = secrets
        self._gateway = gateway
        self._keyring = keyring
        self._timeout = timeout_seconds

    async def _workflow(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        require_deployable(workflow, "workflowId")
        return workflow

    async def _pulls(self, workflow: Workflow) -> Mapping[str, tuple[str, ...]]:
        """Workload node id → the image pull Secrets a run of ``workflow`` (as given) names."""
        if self._pull_secrets is None:
            return {}
        return (await self._pull_secrets.plan(workflow)).by_node

    async def manifests(self, principal: Principal, workflow_id: str, version: int | None) -> RenderedBundle:
        """Every object the workflow (or one of its versions) renders to, as a run renders it; Secret
        values masked."""
        workflow = await self._workflow(principal, workflow_id)
        canvas: Canvas = workflow.canvas
        if version is not None:
            snapshot = await self._store.get_version(principal.scope, workflow.id, version)
            if snapshot is None:
                raise errors.NotFound("version", f"{workflow_id}@{version}")
            canvas = snapshot.canvas
        values = await self._secrets.values_of(workflow.id)
        pulls = await self._pulls(replace(workflow, canvas=canvas))
        return self._renderer.render(
            RenderRequest(
                workflow.id, workflow.namespace, canvas, values, mask_secrets=True, pull_secrets=pulls
            )
        )

    async def plan(self, principal: Principal, workflow_id: str) -> Plan:
        """A server-side dry run of every object: what a run would create, change and prune."""
        workflow = await self._workflow(principal, workflow_id)
        credentials = await workflow_credentials(self._store, self._keyring, principal.scope, workflow)
        values = await self._secrets.values_of(workflow.id)
        bundle = self._renderer.render(
            RenderRequest(
                workflow.id, workflow.namespace, workflow.canvas, values, False, await self._pulls(workflow)
            )
        )
        creates, changes, unchanged, refused = [], [], [], []
        async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
            new_namespaces: set[str] = set()
            for obj in bundle.objects:
                planned = await self._plan_one(session, workflow.id, obj, new_namespaces)
                if obj.kind == "Namespace" and planned.created:
                    new_namespaces.add(obj.name)
                if planned.problem:
                    refused.append(planned)
                elif planned.created:
                    creates.append(planned)
                elif planned.changes:
                    changes.append(planned)
                else:
                    unchanged.append(planned)
            gone = [
                o
                for o in await Pruner(session=session, recorder=None).owned(workflow.id)
                if labels.node_of(o) not in {n.id for n in workflow.canvas.nodes}
            ]
        prunes = tuple(
            PlannedObject(
                labels.node_of(o),
                str(o["apiVersion"]),
                str(o["kind"]),
                str(o["metadata"]["name"]),
                o["metadata"].get("namespace"),
            )
            for o in gone
        )
        return Plan(tuple(creates), tuple(changes), tuple(unchanged), prunes, tuple(refused), bundle.skipped)

    async def _plan_one(
        self, session: ClusterSession, workflow_id: str, obj: RenderedObject, new_namespaces: set[str]
    ) -> PlannedObject:
        base = PlannedObject(obj.node_id, obj.api_version, obj.kind, obj.name, obj.namespace)
        if obj.namespace in new_namespaces:
            return replace(
                base, created=True
            )  # its namespace comes with this run: nothing to dry-run against
        try:
            existing = await session.get(obj.api_version, obj.kind, obj.name, obj.namespace)
            owner = labels.workflow_of(existing) if existing else None
            if owner is not None and owner != workflow_id:
                return replace(
                    base, problem=f"belongs to workflow {owner}; a run would refuse to take it over"
                )
            result = await session.apply(obj.manifest, field_manager=field_manager(workflow_id), dry_run=True)
        except errors.TrellisError as exc:
            return replace(base, problem=exc.message)
        if existing is None:
            return replace(base, created=True)
        return replace(base, changes=tuple(diff_objects(_mask_secret(existing), _mask_secret(result))))
