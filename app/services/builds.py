"""Image builds: start one (checked first, then queued), cancel, read, list, and stream progress and logs.

:meth:`BuildService.start` checks everything it can at once — the registry belongs to a workspace the
caller may write, the workflow and node (when given) are there and the node is a workload, the cluster
is the workspace's, the repository address is one a clone may use (``https://`` or ``ssh://``) and the
egress guard lets it through, the paths, ref, image name, tag and build arguments are sane — and only
then records a ``PENDING`` build. Nothing is written when it refuses.

Builds wait in a queue with a limit of running builds per workspace and per cluster
(``TRELLIS_BUILD_CONCURRENCY_PER_*``); :meth:`dispatch` claims, in the store, the queued builds that fit
(oldest first) and runs each as a named, guarded background task (:mod:`app.services.build_executor`).
It is called when a build is queued, when one ends and periodically, so builds queued by another
server process start too. Queued builds show their position (1: next in line in their workspace).

A build's events go to ``build:<id>``: NODE_UPDATE when it changed (the new log lines and whether its
status changed), COMPLETE when it ended. ``buildLogs`` replays the stored lines, then follows, then ends
with the final status; ``buildProgress`` sends METADATA, then PROGRESS at each visible change, then
COMPLETE.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from app import errors
from app.domain.builds import (
    DEFAULT_DOCKERFILE,
    DEFAULT_TAG,
    Build,
    BuildFilter,
    BuildLogLine,
    BuildStatus,
    LogSource,
    build_topic,
    check_build_args,
    check_image_name,
    check_image_tag,
    check_target,
    line_from_payload,
    progress_payload,
    trim_marker,
)
from app.domain.events import Event, EventType
from app.domain.ids import new_ordered_id
from app.domain.imports import RepositoryUrlError, check_path, check_ref, parse_repository_url
from app.domain.kinds import WORKLOAD_KINDS
from app.domain.paging import Page
from app.domain.registries import canonical_host
from app.domain.workflows import Node, Workflow
from app.net import EgressGuard
from app.ports import BuildStore, Clock, ClusterStore, EventBus, RegistryStore, WorkflowStore
from app.services.auditing import Auditor
from app.services.build_executor import BuildExecutor
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal
from app.services.tasks import TaskSupervisor

log = logging.getLogger(__name__)

CURSOR_LIST = "builds"
CLEAN_BATCH = 50

Reauthorize = Callable[[], Awaitable[Principal]]


class BuildServiceStore(BuildStore, ClusterStore, RegistryStore, WorkflowStore, Protocol):
    pass


def build_cursor(build: Build) -> str:
    return encode_cursor(CURSOR_LIST, [build.created_at.isoformat(), build.id])


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What ``startBuild`` asks for; None leaves a part to the node's build configuration (when a node is
    given) or to the default."""

    repo_url: str
    registry_id: str
    image_name: str
    ref: str | None = None
    context_path: str | None = None
    dockerfile_path: str | None = None
    use_nixpacks: bool | None = None
    target: str | None = None
    build_args: Sequence[tuple[str, str]] | None = None
    image_tag: str | None = None
    workflow_id: str | None = None
    node_id: str | None = None
    cluster_id: str | None = None


@dataclass(frozen=True, slots=True)
class BuildQueueSettings:
    per_workspace: int
    per_cluster: int
    lease_seconds: float  # a started build whose heartbeat is older belongs to a stopped server
    allow_http: bool  # plain http:// repositories
    nixpacks: bool  # a Nixpacks image is configured
    recheck_seconds: float  # how often an open stream re-checks the caller's access


class BuildEvent(StrEnum):
    METADATA = "METADATA"
    PROGRESS = "PROGRESS"
    COMPLETE = "COMPLETE"


@dataclass(frozen=True, slots=True)
class BuildUpdate:
    """One message of ``buildProgress``: what happened and the build as it is now."""

    type: BuildEvent
    build: Build


class BuildLogEvent(StrEnum):
    LINE = "LINE"
    COMPLETE = "COMPLETE"


@dataclass(frozen=True, slots=True)
class BuildLogUpdate:
    """One message of ``buildLogs``: a line, or the end (with the build's final state)."""

    type: BuildLogEvent
    build: Build
    line: BuildLogLine | None = None


def _visible(build: Build) -> tuple[Any, ...]:
    """What a progress subscriber sees change."""
    return (
        build.status,
        build.percent,
        build.message,
        build.error_stage,
        build.digest,
        build.queue_position,
        build.started_at,
        build.commit,
    )


class BuildService:
    def __init__(
        self,
        *,
        store: BuildServiceStore,
        executor: BuildExecutor,
        guard: EgressGuard,
        bus: EventBus,
        tasks: TaskSupervisor,
        clock: Clock,
        auditor: Auditor,
        paging: PageRules,
        settings: BuildQueueSettings,
        owner: str,
    ) -> None:
        self._store = store
        self._executor = executor
        self._guard = guard
        self._bus = bus
        self._tasks = tasks
        self._clock = clock
        self._auditor = auditor
        self._paging = paging
        self._settings = settings
        self._owner = owner
        self._dispatching = asyncio.Lock()

    # --- Starting, cancelling, reading --------------------------------------------------------------------

    async def start(self, principal: Principal, request: BuildRequest) -> Build:
        """Check the request (nothing is written when it is refused), queue the build and start what the
        queue allows; the build as it is then (with its queue position)."""
        async with self._auditor.action(
            "build.start", actor_id=principal.user_id, target_type="build"
        ) as record:
            registry = await self._store.get_registry(principal.scope, request.registry_id)
            if registry is None:
                raise errors.NotFound("registry", request.registry_id)
            workspace_id = registry.workspace_id
            record.workspace_id = workspace_id
            principal.require_write(workspace_id)
            workflow, node = await self._node(principal, workspace_id, request)
            cluster_id = await self._cluster(principal, workspace_id, request, workflow)
            source = _BuildSource.of(request, node)
            try:
                repository = parse_repository_url(request.repo_url, allow_http=self._settings.allow_http)
            except RepositoryUrlError as exc:
                raise errors.Invalid.field("repoUrl", str(exc)) from None
            checked = self._checked(request, source)
            schemes = ("https", "ssh", "http") if self._settings.allow_http else ("https", "ssh")
            await self._guard.check_url(repository.url, schemes=schemes, field="repoUrl")
            now = self._clock.now()
            build = Build(
                id=new_ordered_id(),  # builds queued in the same instant keep their order
                workspace_id=workspace_id,
                created_by=principal.user_id,
                cluster_id=cluster_id,
                registry_id=registry.id,
                repo_url=repository.url,
                ref=checked.ref,
                context_path=checked.context,
                dockerfile_path=checked.dockerfile,
                use_nixpacks=source.use_nixpacks,
                target=checked.target,
                build_args=checked.args,
                image_repository=f"{canonical_host(registry.host)}/{checked.image_name}",
                image_name=checked.image_name,
                image_tag=checked.image_tag,
                workflow_id=workflow.id if workflow else None,
                node_id=node.id if node else None,
                status=BuildStatus.PENDING,
                created_at=now,
                updated_at=now,
                message="queued",
            )
            build = build.logged(
                [
                    (
                        now,
                        LogSource.TRELLIS,
                        f"queued: {repository.url} at {checked.ref or 'the default branch'} → {build.image}",
                    )
                ],
                max_lines=self._executor.settings.max_log_lines,
            )
            await self._store.insert_build(build)
            record.target_id = build.id
            record.detail = {"repoUrl": repository.url, "image": build.image}
        try:
            await self.dispatch()
        except Exception:  # it is queued: the periodic round starts it
            log.exception("starting queued builds after build %s was queued failed", build.id)
        return await self.get(principal, build.id)

    async def _node(
        self, principal: Principal, workspace_id: str, request: BuildRequest
    ) -> tuple[Workflow | None, Node | None]:
        if request.workflow_id is None:
            if request.node_id is not None:
                raise errors.Invalid.field("workflowId", "give the workflow of the node")
            return None, None
        workflow = await self._store.get_workflow(principal.scope, request.workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", request.workflow_id)
        if workflow.workspace_id != workspace_id:
            raise errors.Invalid.field(
                "workflowId", "the workflow belongs to another workspace than the registry"
            )
        if request.node_id is None:
            return workflow, None
        node = next((n for n in workflow.canvas.nodes if n.id == request.node_id), None)
        if node is None:
            raise errors.Invalid.field("nodeId", f"the workflow has no node {request.node_id!r}")
        if node.kind not in WORKLOAD_KINDS:
            raise errors.Invalid.field(
                "nodeId",
                f"the node is a {node.kind}; only workloads ({', '.join(WORKLOAD_KINDS)}) run an image",
            )
        return workflow, node

    async def _cluster(
        self, principal: Principal, workspace_id: str, request: BuildRequest, workflow: Workflow | None
    ) -> str:
        cluster_id = request.cluster_id or (workflow.cluster_id if workflow else None)
        if cluster_id is None:
            raise errors.Invalid.field(
                "clusterId", "choose the cluster to build in (or a workflow that has one)"
            )
        cluster = await self._store.get_cluster(principal.scope, cluster_id)
        if cluster is None:
            if request.cluster_id is None:
                raise errors.Invalid.field("workflowId", "the workflow's cluster is not registered any more")
            raise errors.NotFound("cluster", cluster_id)
        if cluster.workspace_id != workspace_id:
            raise errors.Invalid.field(
                "clusterId", "the cluster belongs to another workspace than the registry"
            )
        return cluster.id

    def _checked(self, request: BuildRequest, source: _BuildSource) -> _Checked:
        problems: list[errors.FieldError] = []

        def check(path: str, value: str, fn: Callable[[str], str]) -> str:
            try:
                return fn(value)
            except ValueError as exc:
                problems.append(errors.FieldError(path, str(exc)))
                return value

        ref = request.ref.strip() if request.ref else None
        if ref:
            check("ref", ref, check_ref)
        context = check("contextPath", source.context.strip(), check_path) if source.context.strip() else ""
        dockerfile = check("dockerfilePath", source.dockerfile.strip() or DEFAULT_DOCKERFILE, check_path)
        if not dockerfile:
            problems.append(errors.FieldError("dockerfilePath", "name a file, e.g. Dockerfile"))
        target = source.target.strip() if source.target else None
        if target:
            check("target", target, check_target)
        image_name = check("imageName", request.image_name.strip(), check_image_name)
        image_tag = check("imageTag", (request.image_tag or DEFAULT_TAG).strip(), check_image_tag)
        for suffix, message in check_build_args(source.args):
            problems.append(errors.FieldError(f"buildArgs{suffix}", message or ""))
        if source.use_nixpacks and not self._settings.nixpacks:
            problems.append(
                errors.FieldError(
                    "useNixpacks", "Nixpacks is not available on this server (TRELLIS_BUILD_NIXPACKS_IMAGE)"
                )
            )
        if problems:
            raise errors.Invalid("; ".join(f"{p.path}: {p.message}" for p in problems), problems)
        return _Checked(
            ref or None, context, dockerfile, target or None, tuple(source.args), image_name, image_tag
        )

    async def cancel(self, principal: Principal, build_id: str) -> Build:
        """Stop a build: a queued one simply ends; a started one ends CANCELLED and its Job (with its pods)
        and Secret are deleted."""
        async with self._auditor.action(
            "build.cancel", actor_id=principal.user_id, target_type="build", target_id=build_id
        ) as record:
            build = await self._get(principal, build_id)
            record.workspace_id = build.workspace_id
            principal.require_write(build.workspace_id)
            if build.status.finished:
                raise errors.Conflict(
                    f"the build has already ended ({build.status.value})", {"status": build.status.value}
                )
            who = principal.user.email or principal.user_id
            ended = await self._store.cancel_build(
                principal.scope, build_id, at=self._clock.now(), message=f"cancelled by {who}"
            )
        await self._publish(ended, EventType.COMPLETE, changed=True)
        if ended.started_at is not None:
            if await self._executor.remove(ended, job=True):
                await self._store.mark_build_cleaned(ended.id)
                ended = replace(ended, secret_deleted=True)
            self._executor.wake(ended.id)
        await self.dispatch()
        await self._queue_moved(ended.workspace_id)
        return ended

    async def get(self, principal: Principal, build_id: str) -> Build:
        """The build with its queue position (``NOT_FOUND`` outside the caller's workspaces)."""
        return (await self._positioned([await self._get(principal, build_id)]))[0]

    async def _get(self, principal: Principal, build_id: str) -> Build:
        build = await self._store.get_build(principal.scope, build_id)
        if build is None:
            raise errors.NotFound("build", build_id)
        return build

    async def page(
        self,
        principal: Principal,
        workspace_id: str,
        filter: BuildFilter,
        *,
        first: int | None,
        after: str | None,
    ) -> Page[Build]:
        size = self._paging.size(first)
        key = None
        if after is not None:
            created, ident = decode_cursor(CURSOR_LIST, after)
            try:
                key = (datetime.fromisoformat(str(created)), str(ident))
            except ValueError as exc:
                raise errors.Invalid.field("after", "is not a cursor of this list") from exc
        if workspace_id not in principal.scope:
            raise errors.NotFound("workspace", workspace_id)
        page = await self._store.list_builds(principal.scope, workspace_id, filter, size, key)
        return replace(page, items=await self._positioned(page.items))

    async def _positioned(self, builds: Sequence[Build]) -> list[Build]:
        queues: dict[str, dict[str, int]] = {}
        placed = []
        for build in builds:
            if not build.queued:
                placed.append(build)
                continue
            if build.workspace_id not in queues:
                waiting = await self._store.queued_builds(build.workspace_id)
                queues[build.workspace_id] = {b.id: index + 1 for index, b in enumerate(waiting)}
            placed.append(replace(build, queue_position=queues[build.workspace_id].get(build.id)))
        return placed

    # --- The queue ------------------------------------------------------------------------------------------

    async def dispatch(self) -> list[Build]:
        """Start the queued builds the limits allow (claimed in the store, so each starts once)."""
        async with self._dispatching:
            claimed = await self._store.claim_queued_builds(
                owner=self._owner,
                at=self._clock.now(),
                per_workspace=self._settings.per_workspace,
                per_cluster=self._settings.per_cluster,
            )
            for build in claimed:
                self._launch(build)
        for build in claimed:
            await self._publish(build, EventType.NODE_UPDATE, changed=True)
        for workspace_id in {build.workspace_id for build in claimed}:
            await self._queue_moved(workspace_id)
        return claimed

    async def resume(self) -> list[Build]:
        """Take over the builds whose server stopped (stale heartbeat) or let them go (no owner), and
        follow their Jobs on."""
        now = self._clock.now()
        claimed = await self._store.claim_stale_builds(
            owner=self._owner, at=now, heartbeat_before=now - timedelta(seconds=self._settings.lease_seconds)
        )
        for build in claimed:
            if self._executor.running(build.id):
                continue  # still followed here (the clock jumped): not twice
            log.warning("build %s was left by a stopped server: following its Job on", build.id)
            self._launch(build)
        return claimed

    async def release(self) -> list[str]:
        """Let go of the builds this process runs, once their tasks have stopped (a graceful shutdown):
        their owner is cleared in one write, so another server process takes them over at its next queue
        round instead of after the lease. Their Jobs run on meanwhile. The ids released."""
        released = await self._store.release_builds(owner=self._owner)
        for build_id in released:
            log.info(
                "build %s: let go while the server stops; another server process takes it over", build_id
            )
        return released

    async def clean(self) -> int:
        """Delete the Secrets of finished builds that could not be deleted when they ended; how many."""
        cleaned = 0
        for build in await self._store.builds_to_clean(CLEAN_BATCH):
            if await self._executor.remove(build, job=build.status is BuildStatus.CANCELLED):
                await self._store.mark_build_cleaned(build.id)
                cleaned += 1
        return cleaned

    async def maintain(self) -> None:
        """One round of the background work: take over orphaned builds, start queued ones, clean up."""
        for step in (self.resume, self.dispatch, self.clean):
            try:
                await step()
            except Exception:
                log.exception("builds: %s failed; trying again at the next round", step.__name__)

    def _launch(self, build: Build) -> None:
        self._tasks.spawn(f"build-{build.id}", self._execute(build))

    async def _execute(self, build: Build) -> None:
        await self._executor.run(build)
        try:
            await self.dispatch()  # its slot is free
        except Exception:
            log.exception("after build %s: starting queued builds failed", build.id)

    async def _queue_moved(self, workspace_id: str) -> None:
        """The queued builds of a workspace moved up: their subscribers see the new positions."""
        for build in await self._store.queued_builds(workspace_id):
            await self._publish(build, EventType.NODE_UPDATE, changed=True)

    async def _publish(self, build: Build, kind: EventType, *, changed: bool) -> None:
        event = Event(
            kind, build_topic(build.id), self._clock.now(), progress_payload(build, (), changed=changed)
        )
        try:
            await self._bus.publish(event)
        except Exception:
            log.exception("publishing %s for build %s failed", kind.value, build.id)

    # --- Streams ------------------------------------------------------------------------------------------

    async def _events(
        self, subscription: Any, reauthorize: Reauthorize, build_id: str
    ) -> AsyncGenerator[tuple[Event | None, Build | None], None]:
        """Bus events of the build; ``(None, build)`` after a quiet ``recheck_seconds`` (access checked
        again, the build read again)."""
        iterator = subscription.__aiter__()
        while True:
            try:
                event = await asyncio.wait_for(iterator.__anext__(), timeout=self._settings.recheck_seconds)
            except TimeoutError:
                yield None, await self.get(await reauthorize(), build_id)
                continue
            except StopAsyncIteration:
                return
            yield event, None

    async def progress(
        self, principal: Principal, build_id: str, reauthorize: Reauthorize
    ) -> AsyncGenerator[BuildUpdate, None]:
        """``buildProgress``: METADATA (the build now), PROGRESS at each visible change, COMPLETE at the
        end."""
        async with self._bus.subscribe(build_topic(build_id)) as subscription:  # first: miss nothing
            build = await self.get(principal, build_id)
            yield BuildUpdate(BuildEvent.METADATA, build)
            if build.status.finished:
                yield BuildUpdate(BuildEvent.COMPLETE, build)
                return
            async for event, current in self._events(subscription, reauthorize, build_id):
                if event is not None:
                    if event.type is EventType.NODE_UPDATE and not event.payload.get("changed"):
                        continue
                    current = await self.get(await reauthorize(), build_id)
                assert current is not None
                if current.status.finished:
                    yield BuildUpdate(BuildEvent.COMPLETE, current)
                    return
                if _visible(current) != _visible(build):
                    build = current
                    yield BuildUpdate(BuildEvent.PROGRESS, build)

    async def logs(
        self, principal: Principal, build_id: str, reauthorize: Reauthorize
    ) -> AsyncGenerator[BuildLogUpdate, None]:
        """``buildLogs``: every stored line from the first (after a marker when older ones were trimmed),
        then new lines as they come, then COMPLETE with the final status."""
        async with self._bus.subscribe(build_topic(build_id)) as subscription:
            build = await self.get(principal, build_id)
            last = 0
            for line in build.log_lines():
                yield BuildLogUpdate(BuildLogEvent.LINE, build, line)
                last = max(last, line.seq)
            if build.status.finished:
                yield BuildLogUpdate(BuildLogEvent.COMPLETE, build)
                return
            async for event, current in self._events(subscription, reauthorize, build_id):
                lines = _lines_of(event)
                finished = event is not None and (
                    event.type is EventType.COMPLETE or event.payload.get("status") in _FINISHED
                )
                if current is None and lines is not None and not finished and _continues(lines, last):
                    fresh = [line for line in lines if line.seq > last]
                else:
                    current = current or await self.get(await reauthorize(), build_id)
                    build = current
                    fresh = _since(current, last)
                    finished = current.status.finished
                for line in fresh:
                    yield BuildLogUpdate(BuildLogEvent.LINE, build, line)
                    last = max(last, line.seq)
                if finished:
                    yield BuildLogUpdate(BuildLogEvent.COMPLETE, build)
                    return


_FINISHED = {status.value for status in BuildStatus if status.finished}


def _lines_of(event: Event | None) -> list[BuildLogLine] | None:
    """The lines an event carries (None when it carries none that can be read)."""
    if event is None or event.type not in (EventType.NODE_UPDATE, EventType.COMPLETE):
        return None
    try:
        return [line_from_payload(item) for item in event.payload.get("lines") or ()]
    except (KeyError, TypeError, ValueError):
        return None


def _continues(lines: Sequence[BuildLogLine], last: int) -> bool:
    """Whether the event's lines follow the last one sent (else some were missed: read the build)."""
    fresh = [line.seq for line in lines if line.seq > last]
    return not fresh or fresh[0] == last + 1


def _since(build: Build, last: int) -> list[BuildLogLine]:
    """The stored lines after ``last``; a marker first when lines after it were trimmed meanwhile."""
    lines = [line for line in build.logs if line.seq > last]
    if lines and lines[0].seq > last + 1:
        return [trim_marker(lines[0].seq - last - 1, lines[0].at), *lines]
    return lines


@dataclass(frozen=True, slots=True)
class _BuildSource:
    """The build configuration: from the request, else from the node's ``build`` field, else defaults."""

    context: str
    dockerfile: str
    target: str | None
    args: tuple[tuple[str, str], ...]
    use_nixpacks: bool

    @classmethod
    def of(cls, request: BuildRequest, node: Node | None) -> _BuildSource:
        config = node.data.get("build") if node is not None else None
        config = config if isinstance(config, Mapping) else {}
        node_args = config.get("args")
        args = (
            tuple(request.build_args)
            if request.build_args is not None
            else tuple((str(k), str(v)) for k, v in node_args.items())
            if isinstance(node_args, Mapping)
            else ()
        )
        return cls(
            context=_text(request.context_path, config.get("context"), ""),
            dockerfile=_text(request.dockerfile_path, config.get("dockerfile"), DEFAULT_DOCKERFILE),
            target=_text(request.target, config.get("target"), "") or None,
            args=args,
            use_nixpacks=(
                request.use_nixpacks
                if request.use_nixpacks is not None
                else bool(config.get("useNixpacks", False))
            ),
        )


def _text(given: str | None, configured: object, default: str) -> str:
    if given is not None:
        return given
    return configured if isinstance(configured, str) else default


@dataclass(frozen=True, slots=True)
class _Checked:
    ref: str | None
    context: str
    dockerfile: str
    target: str | None
    args: tuple[tuple[str, str], ...]
    image_name: str
    image_tag: str
