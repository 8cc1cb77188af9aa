"""Executing one run: render the version, apply it wave by wave, record every node, prune what is gone.

Apply is server-side apply with the workflow's own field manager (``trellis-<workflowId>``), never
forced. An object that exists labelled with another workflow is a conflict naming that workflow. One
node's failure is recorded on that node and the others carry on; the run ends FAILED if any node failed.
Cancellation stops between waves (and between dependency layers, and while waiting for a dependency);
shutdown marks the run INTERRUPTED with what was applied.

Dependency edges (workload → workload) split a wave into layers. Before a layer is applied, what it
applied so far is tracked (:class:`~app.ports.HealthWaiter`) and each node waits for its dependencies'
conditions, judged from their live health, at most the dependency timeout; a dependency that failed,
or did not meet its condition in time, fails its dependent, and the run carries on with the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app import errors
from app.domain import labels
from app.domain.clusters import ClusterCredentials
from app.domain.deploy_order import CONDITION_WORDS, Verdict, apply_waves, dependency_layers, judge_dependency
from app.domain.edges import Dependency, dependencies_of
from app.domain.health import Health
from app.domain.manifests import RenderedObject, RenderRequest
from app.domain.runs import AppliedObject, NodeRunStatus, ObjectAction, Run, RunStatus
from app.domain.workflows import Canvas, Workflow
from app.domain.workspaces import Scope
from app.ports import Clock, ClusterGateway, ClusterSession, EventBus, HealthWaiter, Renderer, RunStore
from app.services.pruning import Pruner
from app.services.run_state import RunRecorder

if TYPE_CHECKING:
    from app.services.pull_secrets import RunPullSecrets

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """Everything a run needs, resolved before it starts (so a bad input never starts a run)."""

    workflow: Workflow
    canvas: Canvas
    credentials: ClusterCredentials
    secret_values: Mapping[str, Mapping[str, str]]
    delete_volumes: bool = False
    pull_secrets: RunPullSecrets | None = None  # image pull Secrets, applied before the first workloads


def field_manager(workflow_id: str) -> str:
    return f"trellis-{workflow_id}"


class _Outcome(StrEnum):
    MET = "MET"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class _Waited:
    """How one wait for a dependency ended: its outcome, the dependent's failure message when it did not
    meet its condition, and how long it took (seconds)."""

    outcome: _Outcome
    message: str = ""
    took: float = 0.0


@dataclass(slots=True)
class _Wave:
    """One wave being applied in dependency layers: its objects by node, and the ``metadata.generation``
    each applied object had (to judge its health only once the watch saw that generation)."""

    plan: RunPlan
    objects: dict[str, RenderedObject]
    generations: dict[str, int | None]
    cancel: asyncio.Event
    tracking_problem: str | None = None


def _seconds(value: float) -> str:
    """``300``, ``0.5``, ``12``: seconds as the run log says them."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"


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
        waiter: HealthWaiter,
        dependency_timeout_seconds: float,
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
        self._waiter = waiter  # the live health of what a run applied, for its dependencies
        self._dependency_timeout = dependency_timeout_seconds
        self._on_finished = on_finished  # e.g. start watching what the run deployed
        self._cancels: dict[str, asyncio.Event] = {}

    def cancel(self, run_id: str) -> bool:
        """Ask a run executing in this process to stop before its next wave (or dependency layer), and
        to stop waiting for a dependency."""
        event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    async def execute(self, recorder: RunRecorder, plan: RunPlan) -> None:
        run_id = recorder.run.id
        cancel = self._cancels.setdefault(run_id, asyncio.Event())
        beat = asyncio.get_running_loop().create_task(
            self._beat(recorder, cancel), name=f"run-heartbeat-{run_id}"
        )
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

    async def _beat(self, recorder: RunRecorder, cancel: asyncio.Event) -> None:
        """Prove the run's server alive; a cancel asked of another server process reaches a run waiting
        for a dependency here (the waves check the store themselves)."""
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await recorder.heartbeat()
                if not cancel.is_set() and await self._cancel_requested(recorder):
                    cancel.set()
            except Exception:
                log.exception("run %s: the heartbeat failed; trying again", recorder.run.id)

    async def _execute(self, recorder: RunRecorder, plan: RunPlan, cancel: asyncio.Event) -> None:
        workflow = plan.workflow
        bundle = self._renderer.render(
            RenderRequest(
                workflow_id=workflow.id,
                namespace=workflow.namespace,
                canvas=plan.canvas,
                secret_values=plan.secret_values,
                mask_secrets=False,
                pull_secrets=plan.pull_secrets.by_node if plan.pull_secrets else {},
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
            dependencies = dependencies_of(plan.canvas)
            for wave in apply_waves(bundle.objects, kind_of=lambda obj: obj.kind):
                if cancel.is_set() or await self._cancel_requested(recorder):
                    await recorder.finish(RunStatus.CANCELLED, error=None)
                    return
                if plan.pull_secrets is not None:
                    await plan.pull_secrets.before_wave(session, recorder, wave[0].kind)
                layers = dependency_layers(wave, lambda obj: obj.node_id, _pairs(dependencies))
                if len(layers) > 1:
                    state = _Wave(plan, {obj.node_id: obj for obj in wave}, {}, cancel)
                    if not await self._apply_layers(session, recorder, state, layers, dependencies):
                        await recorder.finish(RunStatus.CANCELLED, error=None)
                        return
                    continue
                await asyncio.gather(*(self._apply(session, recorder, workflow.id, obj) for obj in wave))
            failed = [s.node_id for s in recorder.run.node_states if s.status is NodeRunStatus.FAILED]
            if failed:
                await recorder.log("prune skipped: some nodes failed", level="WARNING")
                await recorder.finish(
                    RunStatus.FAILED, error=f"{len(failed)} node(s) failed: {', '.join(failed)}"
                )
                return
            pruner = Pruner(session=session, recorder=recorder)
            if plan.pull_secrets is not None:  # image pull Secrets no longer needed here go first
                await plan.pull_secrets.before_prune(session, recorder)
            await pruner.prune(
                workflow.id, keep_nodes={n.id for n in plan.canvas.nodes}, delete_volumes=plan.delete_volumes
            )
        await recorder.finish(RunStatus.COMPLETED)

    async def _cancel_requested(self, recorder: RunRecorder) -> bool:
        """A cancel asked of another server process reaches this one through the store."""
        stored = await self._store.get_run(Scope.of([recorder.run.workspace_id]), recorder.run.id)
        return bool(stored and stored.cancel_requested)

    # --- dependency layers ----------------------------------------------------------------------------

    async def _apply_layers(
        self,
        session: ClusterSession,
        recorder: RunRecorder,
        wave: _Wave,
        layers: Sequence[Sequence[RenderedObject]],
        dependencies: Sequence[Dependency],
    ) -> bool:
        """Apply ``layers`` in order, each node once its dependencies met their conditions; False when
        the run was cancelled meanwhile."""
        for index, layer in enumerate(layers):
            if index:
                if wave.cancel.is_set() or await self._cancel_requested(recorder):
                    return False
                wave.tracking_problem = await self._track(recorder, wave.plan)
            needs = {
                obj.node_id: [
                    d for d in dependencies if d.dependent == obj.node_id and d.dependency in wave.objects
                ]
                for obj in layer
            }
            await asyncio.gather(
                *(self._apply_when_ready(session, recorder, wave, obj, needs[obj.node_id]) for obj in layer)
            )
            if wave.cancel.is_set():
                return False
        return True

    async def _track(self, recorder: RunRecorder, plan: RunPlan) -> str | None:
        """Have what the run applied so far tracked; why it cannot be, if so."""
        try:
            await self._waiter.track_run(recorder.run, plan.credentials)
        except errors.TrellisError as exc:
            reason = exc.message
        except Exception as exc:
            log.exception("run %s: tracking what it applied failed", recorder.run.id)
            reason = f"{type(exc).__name__}: {exc}"
        else:
            return None
        await recorder.log(f"the live health of what was applied cannot be followed: {reason}", level="ERROR")
        return reason

    async def _apply_when_ready(
        self,
        session: ClusterSession,
        recorder: RunRecorder,
        wave: _Wave,
        obj: RenderedObject,
        needs: Sequence[Dependency],
    ) -> None:
        workflow_id = wave.plan.workflow.id
        if needs:
            problem = self._unmet(recorder, wave, needs)
            if problem is None:
                problem = await self._wait_for(recorder, wave, obj, needs)
                if problem is None and wave.cancel.is_set():
                    return
            if problem is not None:
                await recorder.node(
                    obj.node_id, NodeRunStatus.FAILED, problem, level="ERROR", log=f"{obj.name}: {problem}"
                )
                return
        wave.generations[obj.node_id] = await self._apply(session, recorder, workflow_id, obj)

    def _unmet(self, recorder: RunRecorder, wave: _Wave, needs: Sequence[Dependency]) -> str | None:
        """Why the dependent cannot even wait: a dependency not applied, or health that cannot be followed."""
        status = {s.node_id: s.status for s in recorder.run.node_states}
        for dependency in needs:
            name = wave.objects[dependency.dependency].name
            state = status.get(dependency.dependency)
            if state is NodeRunStatus.FAILED:
                return f"not applied: its dependency {name} failed"
            if state is not NodeRunStatus.APPLIED:
                return f"not applied: its dependency {name} was not applied"
        if wave.tracking_problem is not None:
            return f"not applied: the health of its dependencies cannot be followed ({wave.tracking_problem})"
        return None

    async def _wait_for(
        self, recorder: RunRecorder, wave: _Wave, obj: RenderedObject, needs: Sequence[Dependency]
    ) -> str | None:
        """Wait for every dependency of ``obj`` at once; why it must not be applied, if so (None also when
        cancelled: the caller checks)."""
        loop = asyncio.get_running_loop()
        waiting = ", ".join(
            f"{wave.objects[d.dependency].name} {CONDITION_WORDS[d.condition].waiting}" for d in needs
        )
        await recorder.node(obj.node_id, NodeRunStatus.PENDING, f"waiting for {waiting}")
        of = {
            loop.create_task(
                self._wait_one(recorder, wave, obj, d), name=f"run-{recorder.run.id}-wait-{d.edge_id}"
            ): d
            for d in needs
        }
        pending, left = set(of), len(of)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    waited = task.result()
                    if waited.outcome is not _Outcome.MET:
                        return waited.message or None
                    dependency = of[task]
                    said = (
                        f"{wave.objects[dependency.dependency].name} "
                        f"{CONDITION_WORDS[dependency.condition].met} after {_seconds(waited.took)} s"
                    )
                    left -= 1
                    await recorder.log(said + ("" if left else f"; applying {obj.name}"), node_id=obj.node_id)
            return None
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _wait_one(
        self, recorder: RunRecorder, wave: _Wave, obj: RenderedObject, dependency: Dependency
    ) -> _Waited:
        """Wait for one dependency's condition, at most the dependency timeout, stopping on cancel."""
        target = wave.objects[dependency.dependency]
        timeout = self._dependency_timeout
        await recorder.log(
            f"{obj.name} waits for {target.name} {CONDITION_WORDS[dependency.condition].waiting} "
            f"(timeout {_seconds(timeout)} s)",
            node_id=obj.node_id,
        )
        generation = wave.generations.get(dependency.dependency)
        seen: list[Health] = []

        def verdict(health: Health) -> Verdict:
            return judge_dependency(dependency.condition, target.kind, health, generation=generation)

        def settled(health: Health) -> bool:
            seen[:] = [health]
            return verdict(health) is not Verdict.WAIT

        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = loop.create_task(
            self._waiter.wait_for_health(wave.plan.workflow.id, dependency.dependency, settled),
            name=f"run-{recorder.run.id}-health-{dependency.dependency}",
        )
        stopping = loop.create_task(
            wave.cancel.wait(), name=f"run-{recorder.run.id}-cancel-{dependency.edge_id}"
        )
        try:
            await asyncio.wait({waiting, stopping}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, stopping):
                task.cancel()
            await asyncio.gather(waiting, stopping, return_exceptions=True)
        took = loop.time() - started
        if waiting.done() and not waiting.cancelled():
            failure = waiting.exception()
            if failure is not None:
                reason = failure.message if isinstance(failure, errors.TrellisError) else repr(failure)
                return _Waited(
                    _Outcome.FAILED, f"not applied: the health of {target.name} cannot be followed ({reason})"
                )
            health = waiting.result()
            if verdict(health) is Verdict.MET:
                return _Waited(_Outcome.MET, took=took)
            why = f" ({health.message})" if health.message else ""
            return _Waited(_Outcome.FAILED, f"not applied: its dependency {target.name} failed{why}")
        if wave.cancel.is_set():
            return _Waited(_Outcome.CANCELLED)
        missed = f"{target.name} {CONDITION_WORDS[dependency.condition].missed} within {_seconds(timeout)} s"
        if not seen:
            return _Waited(_Outcome.FAILED, f"{missed} (no health was reported for it)")
        last = seen[-1]
        return _Waited(
            _Outcome.FAILED,
            f"{missed} (it was {last.status.value}" + (f": {last.message})" if last.message else ")"),
        )

    # --- applying one object ------------------------------------------------------------------------

    async def _apply(
        self, session: ClusterSession, recorder: RunRecorder, workflow_id: str, obj: RenderedObject
    ) -> int | None:
        """Apply one object and record it on its node; the ``metadata.generation`` the server gave it
        (None when it has none, or the apply failed)."""
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
            return None
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
        generation = metadata.get("generation")
        return generation if isinstance(generation, int) and not isinstance(generation, bool) else None


def _pairs(dependencies: Sequence[Dependency]) -> list[tuple[str, str]]:
    return [(d.dependency, d.dependent) for d in dependencies]
