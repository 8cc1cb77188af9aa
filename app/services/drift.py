"""Drift: the live objects of a workflow's last completed deploy against what that run applied, and
``syncWorkflow``, which applies the deployed version again.

What the run applied is rendered again from its version (as a run renders it: Secret values, image pull
Secrets), then compared with the live objects on the fields Trellis set (:mod:`app.domain.drift`).
Objects labelled with the workflow whose node is not in that version are EXTRA.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain import labels
from app.domain.clusters import ClusterCredentials
from app.domain.drift import DriftState, ObjectDrift, WorkflowDrift, compare
from app.domain.manifests import SECRET_MASK, RenderedObject, RenderRequest
from app.domain.runs import NodeRunStatus, ObjectAction, Run, RunKind, RunStatus
from app.domain.versions import Version
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.ports import (
    Clock,
    ClusterGateway,
    ClusterSession,
    ClusterStore,
    Renderer,
    RunKey,
    RunStore,
    VersionStore,
    WorkflowStore,
)
from app.services.auditing import Auditor
from app.services.clusters import unseal
from app.services.principals import Principal
from app.services.pruning import Pruner
from app.services.pull_secrets import PullSecretService
from app.services.run_executor import field_manager
from app.services.runs import RunService
from app.services.secret_values import SecretValueService
from app.services.workflows import require_deployable

_PAGE = 50  # runs read per page while looking for the last completed deploy


class DriftStore(WorkflowStore, VersionStore, ClusterStore, RunStore, Protocol):
    pass


class DriftService:
    def __init__(
        self,
        *,
        store: DriftStore,
        renderer: Renderer,
        secrets: SecretValueService,
        gateway: ClusterGateway,
        keyring: Keyring,
        clock: Clock,
        auditor: Auditor,
        runs: RunService,
        timeout_seconds: float,
        pull_secrets: PullSecretService | None = None,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._secrets = secrets
        self._gateway = gateway
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor
        self._runs = runs  # syncWorkflow starts an ordinary deploy run
        self._timeout = timeout_seconds
        self._pull_secrets = pull_secrets

    async def drift(self, principal: Principal, workflow_id: str) -> WorkflowDrift:
        """``workflowDrift``: every object of the last completed deploy run, compared with the cluster."""
        workflow = await self._workflow(principal.scope, workflow_id)
        run = await self.last_deploy(principal.scope, workflow.id)
        if run is None:
            return WorkflowDrift(workflow.id, None, None, self._clock.now())
        version = await self._version(principal.scope, workflow.id, run.version)
        applied = await self._render(workflow, version)
        async with self._gateway.open(await self._credentials(run), timeout_seconds=self._timeout) as session:
            objects = await self._compare(session, workflow.id, run, applied)
            nodes = {node.id for node in version.canvas.nodes}
            seen = {(o.kind, o.namespace, o.name) for o in objects}
            for live in await Pruner(session=session, recorder=None).owned(workflow.id):
                node_id = labels.node_of(live)
                meta = live.get("metadata") or {}
                kind, name, namespace = str(live.get("kind")), str(meta.get("name")), meta.get("namespace")
                if node_id in nodes or (kind, namespace, name) in seen:
                    continue
                api_version = str(live.get("apiVersion"))
                objects.append(ObjectDrift(node_id, api_version, kind, name, namespace, DriftState.EXTRA))
        return WorkflowDrift(workflow.id, run.id, run.version, self._clock.now(), tuple(objects))

    async def sync(self, principal: Principal, workflow_id: str) -> Run:
        """``syncWorkflow``: take back the fields other managers changed in the workflow's objects
        (a forced apply of what the last completed deploy applied, MODIFIED objects only), then start a
        deploy run of that version, which recreates what is MISSING and prunes what is EXTRA.

        The workflow's canvas must still be that version (otherwise the run would deploy later edits too:
        ``runWorkflow`` deploys them, ``restoreVersion`` goes back)."""
        async with self._auditor.action(
            "workflow.sync", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            workflow = await self._workflow(principal.scope, workflow_id)
            record.workspace_id = workflow.workspace_id
            principal.require_write(workflow.workspace_id)
            run = await self.last_deploy(principal.scope, workflow.id)
            if run is None:
                raise errors.Invalid.field("workflowId", "nothing was deployed yet: run the workflow first")
            version = await self._version(principal.scope, workflow.id, run.version)
            if version.canvas != workflow.canvas:
                raise errors.Conflict(
                    f"the workflow changed since version {run.version} was deployed; run it to deploy the "
                    f"changes, or restore version {run.version} first",
                    {"deployedVersion": run.version},
                )
            applied = await self._render(workflow, version)
            credentials = await self._credentials(run)
            async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
                taken = await self._take_back(session, workflow.id, run, applied)
            started = await self._runs.start(principal, workflow.id, trigger_data=None)
            record.detail = {"runId": started.id, "version": str(run.version), "takenBack": str(taken)}
            return started

    async def _take_back(
        self,
        session: ClusterSession,
        workflow_id: str,
        run: Run,
        applied: Mapping[tuple[str, str], RenderedObject],
    ) -> int:
        """Force-apply the MODIFIED objects that are still this workflow's; how many."""
        taken = 0
        for found in await self._compare(session, workflow_id, run, applied):
            rendered = applied.get((found.node_id or "", found.kind))
            if found.state is not DriftState.MODIFIED or rendered is None:
                continue
            live = await session.get(found.api_version, found.kind, found.name, found.namespace)
            if live is None or labels.workflow_of(live) not in (None, workflow_id):
                continue  # gone meanwhile, or another workflow's: the run reports it
            await session.apply(rendered.manifest, field_manager=field_manager(workflow_id), force=True)
            taken += 1
        return taken

    async def _credentials(self, run: Run) -> ClusterCredentials:
        cluster = await self._store.get_cluster(Scope.of([run.workspace_id]), run.cluster_id)
        if cluster is None:
            raise errors.Invalid.field("workflowId", "the cluster of the last deploy is no longer registered")
        return unseal(self._keyring, cluster.credentials_ciphertext)

    async def last_deploy(self, scope: Scope, workflow_id: str) -> Run | None:
        """The newest COMPLETED deploy run of the workflow: the latest start, and of runs started at the
        same instant the one of the highest version (runs are listed by (start, id), ids are random)."""
        after: RunKey | None = None
        best: Run | None = None
        while True:
            page = await self._store.list_runs(scope, workflow_id, _PAGE, after)
            for run in page.items:
                if best is not None and run.started_at < best.started_at:
                    return best
                completed = run.kind is RunKind.DEPLOY and run.status is RunStatus.COMPLETED
                if completed and (best is None or run.version > best.version):
                    best = run
            if not page.has_next or not page.items:
                return best
            last = page.items[-1]
            after = (last.started_at, last.id)

    async def _compare(
        self,
        session: ClusterSession,
        workflow_id: str,
        run: Run,
        applied: Mapping[tuple[str, str], RenderedObject],
    ) -> list[ObjectDrift]:
        manager = field_manager(workflow_id)
        found: list[ObjectDrift] = []
        for state in run.node_states:
            if state.status is not NodeRunStatus.APPLIED:
                continue
            for obj in state.objects:
                if obj.action is ObjectAction.PRUNED:
                    continue
                base = ObjectDrift(
                    state.node_id, obj.api_version, obj.kind, obj.name, obj.namespace, DriftState.IN_SYNC
                )
                live = await session.get(obj.api_version, obj.kind, obj.name, obj.namespace)
                if live is None:
                    found.append(replace(base, state=DriftState.MISSING))
                    continue
                rendered = applied.get((state.node_id, obj.kind))
                if rendered is None:  # the version no longer renders it (should not happen): nothing to judge
                    found.append(base)
                    continue
                changes = compare(rendered.manifest, live, manager=manager, mask=SECRET_MASK)
                found.append(replace(base, state=DriftState.MODIFIED, changes=changes) if changes else base)
        return found

    async def _render(self, workflow: Workflow, version: Version) -> dict[tuple[str, str], RenderedObject]:
        """The version's objects as a run renders them, by (node id, kind)."""
        deployed = replace(workflow, canvas=version.canvas)
        pulls = (await self._pull_secrets.plan(deployed)).by_node if self._pull_secrets else {}
        bundle = self._renderer.render(
            RenderRequest(
                workflow.id,
                workflow.namespace,
                version.canvas,
                await self._secrets.values_of(workflow.id),
                mask_secrets=False,
                pull_secrets=pulls,
            )
        )
        return {(obj.node_id, obj.kind): obj for obj in bundle.objects}

    async def _workflow(self, scope: Scope, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        require_deployable(workflow, "workflowId")
        return workflow

    async def _version(self, scope: Scope, workflow_id: str, number: int) -> Version:
        version = await self._store.get_version(scope, workflow_id, number)
        if version is None:
            raise errors.NotFound("version", f"{workflow_id}@{number}")
        return version
