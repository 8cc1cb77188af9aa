"""Runs: start one (snapshot a version, then apply in the background), follow, cancel, list."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain.canvas_check import check_canvas
from app.domain.ids import new_id
from app.domain.manifests import RenderRequest
from app.domain.paging import Page
from app.domain.runs import NodeRunState, NodeRunStatus, Run, RunKind, RunStatus, TriggerKind
from app.domain.versions import VersionDraft
from app.domain.workflows import WorkflowStatus, WorkflowType
from app.ports import Clock, ClusterStore, Renderer, RunStore, WorkflowStore
from app.services.auditing import Auditor
from app.services.clusters import workflow_credentials
from app.services.flow_runs import FlowRunService, Reauthorize, StepLogUpdate
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal
from app.services.pull_secrets import PullSecretService
from app.services.run_executor import RunExecutor, RunPlan
from app.services.run_state import RunRecorder
from app.services.secret_values import SecretValueService, check_values
from app.services.tasks import TaskSupervisor
from app.services.workflows import invalid_canvas, require_deployable

CURSOR_LIST = "runs"


class RunServiceStore(RunStore, WorkflowStore, ClusterStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class RunTiming:
    heartbeat: timedelta  # how often a running run proves its server is alive
    lease: timedelta  # a run whose heartbeat is older than this belongs to a dead server


def run_cursor(run: Run) -> str:
    return encode_cursor(CURSOR_LIST, [run.started_at.isoformat(), run.id])


def parse_trigger_data(data: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """``triggerData.secrets``: Secret node id → key → value, overriding stored values for one run."""
    if not data:
        return {}
    unknown = set(data) - {"secrets"}
    if unknown:
        raise errors.Invalid.field(f"triggerData.{sorted(unknown)[0]}", "unknown key (known: secrets)")
    secrets = data.get("secrets") or {}
    if not isinstance(secrets, Mapping):
        raise errors.Invalid.field("triggerData.secrets", "must map Secret node ids to {key: value} objects")
    parsed: dict[str, dict[str, str]] = {}
    for node_id, values in secrets.items():
        if not isinstance(values, Mapping) or not all(isinstance(v, str) for v in values.values()):
            raise errors.Invalid.field(f"triggerData.secrets.{node_id}", "must be an object of string values")
        check_values(values, f"triggerData.secrets.{node_id}")
        parsed[str(node_id)] = {str(k): v for k, v in values.items()}
    return parsed


class RunService:
    def __init__(
        self,
        *,
        store: RunServiceStore,
        executor: RunExecutor,
        renderer: Renderer,
        secrets: SecretValueService,
        keyring: Keyring,
        tasks: TaskSupervisor,
        clock: Clock,
        auditor: Auditor,
        paging: PageRules,
        timing: RunTiming,
        owner: str,
        pull_secrets: PullSecretService | None = None,
        flows: FlowRunService | None = None,
    ) -> None:
        self._store = store
        self._flows = flows  # runs FLOW workflows (None: a FLOW refuses runWorkflow as before)
        self._pull_secrets = pull_secrets  # image pull Secrets for images on the workspace's registries
        self._executor = executor
        self._renderer = renderer
        self._secrets = secrets
        self._keyring = keyring
        self._tasks = tasks
        self._clock = clock
        self._auditor = auditor
        self._paging = paging
        self._timing = timing
        self._owner = owner

    async def start(
        self, principal: Principal, workflow_id: str, *, trigger_data: Mapping[str, Any] | None
    ) -> Run:
        """Validate everything first; then snapshot a version and record the run atomically; then apply
        in the background and return at once."""
        async with self._auditor.action(
            "run.start", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            workflow = await self._store.get_workflow(principal.scope, workflow_id)
            if workflow is None:
                raise errors.NotFound("workflow", workflow_id)
            principal.require_write(workflow.workspace_id)
            record.workspace_id = workflow.workspace_id
            if workflow.status is WorkflowStatus.ARCHIVED:
                raise errors.Invalid.field(
                    "id", "an archived workflow cannot run; move it back to DRAFT first"
                )
            if workflow.type is WorkflowType.FLOW and self._flows is not None:
                run = await self._flows.start(principal, workflow, trigger_data)
                record.detail = {"runId": run.id, "version": str(run.version)}
                return run
            require_deployable(workflow)
            credentials = await workflow_credentials(
                self._store, self._keyring, principal.scope, workflow, field="id"
            )
            cluster_id = workflow.cluster_id
            assert cluster_id is not None  # workflow_credentials refuses a workflow without a cluster
            overrides = parse_trigger_data(trigger_data)
            strict = check_canvas(workflow.canvas, strict=True)
            if strict.errors:
                raise invalid_canvas(strict.errors)
            values = {**await self._secrets.values_of(workflow.id)}
            for node_id, supplied in overrides.items():
                values[node_id] = {**values.get(node_id, {}), **supplied}
            pulls = await self._pull_secrets.plan(workflow) if self._pull_secrets else None
            # Render once now: a canvas that cannot become manifests never starts a run.
            rendered = self._renderer.render(
                RenderRequest(
                    workflow.id,
                    workflow.namespace,
                    workflow.canvas,
                    values,
                    True,
                    pulls.by_node if pulls else {},
                )
            )

            now = self._clock.now()
            run = Run(
                id=new_id(),
                workflow_id=workflow.id,
                workspace_id=workflow.workspace_id,
                cluster_id=cluster_id,
                version=0,
                status=RunStatus.RUNNING,
                triggered_by=TriggerKind.MANUAL,
                started_by=principal.user_id,
                started_at=now,
                owner=self._owner,
                heartbeat_at=now,
                node_states=tuple(NodeRunState(n.id, NodeRunStatus.PENDING) for n in workflow.canvas.nodes),
            )
            draft = VersionDraft(
                canvas=workflow.canvas,
                tag=None,
                description=f"Snapshot for run at {now.isoformat()}",
                created_by=principal.user_id,
                created_at=now,
            )
            _, run = await self._store.start_run(principal.scope, draft, run)
            record.detail = {"runId": run.id, "version": str(run.version)}
        plan = RunPlan(
            workflow=workflow,
            canvas=workflow.canvas,
            credentials=credentials,
            secret_values=values,
            pull_secrets=(
                self._pull_secrets.for_run(pulls, rendered.objects, cluster_id)
                if self._pull_secrets and pulls
                else None
            ),
        )
        recorder = RunRecorder(
            run,
            store=self._store,
            clock=self._clock,
            bus=self._executor.bus,
            max_log_lines=self._executor.max_log_lines,
        )
        self._tasks.spawn(f"run-{run.id}", self._executor.execute(recorder, plan))
        return run

    async def cancel(self, principal: Principal, run_id: str) -> Run:
        async with self._auditor.action(
            "run.cancel", actor_id=principal.user_id, target_type="run", target_id=run_id
        ) as record:
            run = await self.get(principal, run_id)
            record.workspace_id = run.workspace_id
            principal.require_write(run.workspace_id)
            if run.status.finished:
                raise errors.Conflict(
                    f"the run has already ended ({run.status.value})", {"status": run.status.value}
                )
            stored = await self._store.request_cancel(principal.scope, run_id)
            if not self._executor.cancel(run_id) and self._flows is not None:
                await self._flows.cancel(run)
            return stored or run

    async def retry_step(self, principal: Principal, run_id: str, node_id: str) -> Run:
        """``retryStep``: a failed step of a finished flow run, and what follows it, run again."""
        async with self._auditor.action(
            "run.retryStep", actor_id=principal.user_id, target_type="run", target_id=run_id
        ) as record:
            run = await self.get(principal, run_id)
            record.workspace_id = run.workspace_id
            principal.require_write(run.workspace_id)
            if self._flows is None:
                raise errors.Invalid.field("runId", "this server does not run flows")
            record.detail["nodeId"] = node_id
            return await self._flows.retry_step(principal, run, node_id)

    async def step_logs(
        self, principal: Principal, run_id: str, node_id: str, reauthorize: Reauthorize
    ) -> AsyncGenerator[StepLogUpdate, None]:
        """``stepLogs``: the stored lines of one step of a flow run, then new ones, then its end."""
        run = await self.get(principal, run_id)
        if self._flows is None or run.kind is not RunKind.FLOW:
            raise errors.Invalid.field("runId", "only flow runs have step logs")

        async def reread() -> Run:
            return await self.get(await reauthorize(), run_id)

        async with aclosing(self._flows.logs(run, node_id, reread)) as updates:
            async for update in updates:
                yield update

    async def get(self, principal: Principal, run_id: str) -> Run:
        run = await self._store.get_run(principal.scope, run_id)
        if run is None:
            raise errors.NotFound("run", run_id)
        return run

    async def page(
        self, principal: Principal, workflow_id: str, *, first: int | None, after: str | None
    ) -> Page[Run]:
        size = self._paging.size(first)
        key = None
        if after is not None:
            started, ident = decode_cursor(CURSOR_LIST, after)
            try:
                key = (datetime.fromisoformat(str(started)), str(ident))
            except ValueError as exc:
                raise errors.Invalid.field("after", "is not a cursor of this list") from exc
        if await self._store.get_workflow(principal.scope, workflow_id) is None:
            raise errors.NotFound("workflow", workflow_id)
        return await self._store.list_runs(principal.scope, workflow_id, size, key)

    async def sweep(self) -> list[Run]:
        """Mark runs whose server died (stale heartbeat) INTERRUPTED; never leave one stuck RUNNING."""
        now = self._clock.now()
        return await self._store.interrupt_stale_runs(
            heartbeat_before=now - self._timing.lease,
            at=now,
            reason="the server running it stopped; what was applied is recorded per node",
        )
