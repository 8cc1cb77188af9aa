"""Executing one run: render the version, apply it wave by wave, record every node, prune what is gone.

Apply is server-side apply with the workflow's own field manager (``trellis-<workflowId>``), never
forced. An object that exists labelled with another workflow is a conflict naming that workflow. One
node's failure is recorded on that node and the others carry on; the run ends FAILED if any node failed.
Cancellation stops between waves; shutdown marks the run INTERRUPTED with what was applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from app import errors
from app.domain import labels
from app.domain.clusters import ClusterCredentials
from app.domain.deploy_order import apply_waves
from app.domain.manifests import RenderedObject, RenderRequest
from app.domain.runs import AppliedObject, NodeRunStatus, ObjectAction, Run, RunStatus
from app.domain.workflows import Canvas, Workflow
from app.domain.workspaces import Scope
from app.ports import Clock, ClusterGateway, ClusterSession, EventBus, Renderer, RunStore
from app.services.pruning import Pruner
from app.services.run_state import RunRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Everything a run needs, resolved before it starts (so a bad input never starts a run)."""

    workflow: Workflow
    canvas: Canvas
    credentials: ClusterCredentials
    secret_values: Mapping[str, Mapping[str, str]]
    delete_volumes: bool = False


def field_manager(workflow_id: str) -> str:
    return f"trellis-{workflow_id}"


class RunExecutor:
    def __init__(
        self,
        *,
        store: RunStore,
        gateway: ClusterGateway,
        renderer: Renderer,
        clock: Clock,
        timeout_seconds: float,
        heartbeat_seconds: float,
        max_log_lines: int,
        bus: EventBus | None,
        on_finished: Callable[[Run], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._renderer = renderer
        self._clock = clock
        self._timeout = timeout_seconds
        self._heartbeat = heartbeat_seconds
        self.max_log_lines = max_log_lines
        self.bus = bus  # live updates of runs
        self._on_finished = on_finished  # e.g. start watching what the run deployed
        self._cancels: dict[str, asyncio.Event] = {}

    def cancel(self, run_id: str) -> bool:
        """Ask a run executing in this process to stop before its next wave."""
        event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    async def execute(self, recorder: RunRecorder, plan: RunPlan) -> None:
        run_id = recorder.run.id
        cancel = self._cancels.setdefault(run_id, asyncio.Event())
        beat = asyncio.get_running_loop().create_task(self._beat(recorder), name=f"run-heartbeat-{run_id}")
        try:
            await self._execute(recorder, plan, cancel)
        except asyncio.CancelledError:
            await asyncio.shield(
                recorder.finish(RunStatus.INTERRUPTED, error="the server stopped during the run")
            )
            raise
        except errors.TrellisError as exc:
            await recorder.finish(RunStatus.FAILED, error=exc.message)
        finally:
            beat.cancel()
            self._cancels.pop(run_id, None)
        if self._on_finished is not None:
            try:
                await self._on_finished(recorder.run)
            except Exception:
                log.exception("after run %s: following its objects failed", run_id)

    async def _beat(self, recorder: RunRecorder) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            await recorder.heartbeat()

    async def _execute(self, recorder: RunRecorder, plan: RunPlan, cancel: asyncio.Event) -> None:
        workflow = plan.workflow
        bundle = self._renderer.render(
            RenderRequest(
                workflow_id=workflow.id,
                namespace=workflow.namespace,
                canvas=plan.canvas,
                secret_values=plan.secret_values,
                mask_secrets=False,
            )
        )
        for node_id, reason in bundle.skipped:
            await recorder.node(
                node_id, NodeRunStatus.SKIPPED, reason, level="WARNING", log=f"skipped: {reason}"
            )
            await recorder.log(f"node {node_id} was not applied: {reason}", level="WARNING", warning=True)
        async with self._gateway.open(plan.credentials, timeout_seconds=self._timeout) as session:
            version = await session.server_version()  # an unreachable cluster fails the run here, with why
            await recorder.log(
                f"applying version {recorder.run.version} to {workflow.namespace} on Kubernetes {version}"
            )
            for wave in apply_waves(bundle.objects, kind_of=lambda obj: obj.kind):
                if cancel.is_set() or await self._cancel_requested(recorder):
                    await recorder.finish(RunStatus.CANCELLED, error=None)
                    return
                await asyncio.gather(*(self._apply(session, recorder, workflow.id, obj) for obj in wave))
            failed = [s.node_id for s in recorder.run.node_states if s.status is NodeRunStatus.FAILED]
            if failed:
                await recorder.log("prune skipped: some nodes failed", level="WARNING")
                await recorder.finish(
                    RunStatus.FAILED, error=f"{len(failed)} node(s) failed: {', '.join(failed)}"
                )
                return
            pruner = Pruner(session=session, recorder=recorder)
            await pruner.prune(
                workflow.id, keep_nodes={n.id for n in plan.canvas.nodes}, delete_volumes=plan.delete_volumes
            )
        await recorder.finish(RunStatus.COMPLETED)

    async def _cancel_requested(self, recorder: RunRecorder) -> bool:
        """A cancel asked of another server process reaches this one through the store."""
        stored = await self._store.get_run(Scope.of([recorder.run.workspace_id]), recorder.run.id)
        return bool(stored and stored.cancel_requested)

    async def _apply(
        self, session: ClusterSession, recorder: RunRecorder, workflow_id: str, obj: RenderedObject
    ) -> None:
        where = f"{obj.kind} {obj.namespace + '/' if obj.namespace else ''}{obj.name}"
        await recorder.node(obj.node_id, NodeRunStatus.APPLYING, log=f"applying {where}")
        try:
            existing = await session.get(obj.api_version, obj.kind, obj.name, obj.namespace)
            owner = labels.workflow_of(existing) if existing else None
            if existing is not None and owner is not None and owner != workflow_id:
                raise errors.Conflict(f"{where} belongs to workflow {owner}; Trellis does not take it over")
            applied = await session.apply(obj.manifest, field_manager=field_manager(workflow_id))
        except errors.TrellisError as exc:
            await recorder.node(
                obj.node_id, NodeRunStatus.FAILED, exc.message, level="ERROR", log=f"{where}: {exc.message}"
            )
            return
        metadata = applied.get("metadata") or {}
        before = (existing or {}).get("metadata", {}).get("resourceVersion")
        after = metadata.get("resourceVersion")
        action = (
            ObjectAction.CREATED
            if existing is None
            else (ObjectAction.UNCHANGED if before == after else ObjectAction.CONFIGURED)
        )
        record = AppliedObject(
            obj.api_version, obj.kind, obj.name, obj.namespace, action, metadata.get("uid"), after
        )
        await recorder.node(
            obj.node_id,
            NodeRunStatus.APPLIED,
            action.value.lower(),
            objects=(record,),
            log=f"{where} {action.value.lower()}",
        )
