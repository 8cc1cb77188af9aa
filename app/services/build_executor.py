"""Running one build: create its short-lived Secret and its Job, follow the Job's pod, record the outcome.

The executor reads the pod every ``poll_seconds`` (through the cluster session: list by the build's
label) and maps what it sees to the build's status — the ``clone`` init container running: CLONING; the
``dockerfile`` init container or ``buildkit`` running: BUILDING; BuildKit printing "exporting to image" or
"pushing …": PUSHING; ``buildkit`` terminated with exit code 0: COMPLETED with the digest from its
termination message. A container that ends with another exit code fails the build at its stage (CLONE,
DOCKERFILE, BUILD, or PUSH once pushing began) with its last log lines as the message. Each container's
log is followed from the moment it starts, and its lines stored with the build (bounded) and published
on ``build:<id>``. The Secret is deleted when the build ends; the Job (and its pods) stays for the
retention period (``ttlSecondsAfterFinished``) unless the build was cancelled or ran out of time.

A server that stops leaves its builds as they are (their Jobs run on in the cluster): another process —
or this one after a restart — takes them over, finds the Job and follows it on, skipping the log lines
already stored (``lines_seen``). After a graceful stop that is at the other process's next queue round
(the stopping server clears its builds' owner: :meth:`~app.services.builds.BuildService.release`);
after a crash, once their heartbeat is older than the lease. Builds have no
INTERRUPTED state because nothing is interrupted: the cluster keeps building while nobody watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain.build_jobs import (
    BUILDKIT,
    CONTAINERS,
    FIELD_MANAGER,
    STAGE_OF,
    BuildJobSettings,
    ContainerView,
    build_selector,
    containers_of,
    job_failure,
    job_manifest,
    job_name,
    namespace_manifest,
    newest_pod,
    owned_secret_patch,
    read_pod,
    secret_manifest,
    secret_name,
)
from app.domain.builds import (
    BUILD_START,
    CLONE_PERCENT,
    DIGEST,
    DOCKERFILE_PERCENT,
    DONE_PERCENT,
    Build,
    BuildStage,
    BuildStatus,
    LogSource,
    short_message,
)
from app.domain.events import Event, EventType, workflow_topic
from app.domain.git import GitAuth
from app.domain.registries import PullAuth, Registry, auth_key, docker_config_json
from app.domain.workspaces import Scope
from app.ports import (
    BuildStore,
    Clock,
    ClusterGateway,
    ClusterStore,
    EventBus,
    LiveClusterSession,
    RegistryStore,
)
from app.services.build_recording import BuildEnded, BuildRecorder
from app.services.clusters import unseal

log = logging.getLogger(__name__)

OWNER_FIELD_MANAGER = (
    "trellis-builds-owner"  # only the Secret's ownerReferences (so the first apply stays whole)
)
DEADLINE_GRACE = timedelta(seconds=60)  # past the Job's own deadline, the executor gives up itself
LOG_ATTEMPTS = 5
_ERROR_LINE = re.compile(r"(^error\b|^fatal:|^ERROR:|\berror:|failed to)", re.IGNORECASE)
_AUTH_CLONE = (
    "authentication failed",
    "could not read username",
    "terminal prompts disabled",
    "permission denied (publickey",
    "invalid username or password",
)
_AUTH_PUSH = ("401 unauthorized", "403 forbidden", "unauthorized", "denied", "authentication required")
_WHAT = {
    BuildStage.CLONE: "cloning the repository",
    BuildStage.DOCKERFILE: "preparing the Dockerfile",
    BuildStage.BUILD: "building the image",
    BuildStage.PUSH: "pushing the image",
}


class RegistryLogins(Protocol):
    async def auth_for(self, registry: Registry) -> PullAuth | None:
        """The user name and password to push with (None: anonymous); ``Unavailable`` with the reason."""
        ...


class GitAuthSource(Protocol):
    async def auth_for(self, workspace_id: str, url: str) -> GitAuth | None: ...


class BuildExecutorStore(BuildStore, ClusterStore, RegistryStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class BuildRunSettings:
    job: BuildJobSettings
    cluster_timeout_seconds: float
    poll_seconds: float
    drain_seconds: float
    heartbeat_seconds: float
    max_log_lines: int


class _Failure(Exception):
    """The build cannot go on: it fails at ``stage`` with ``message`` (for a person)."""

    def __init__(self, stage: BuildStage | None, message: str) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message


class BuildExecutor:
    def __init__(
        self,
        *,
        store: BuildExecutorStore,
        gateway: ClusterGateway,
        keyring: Keyring,
        logins: RegistryLogins,
        git: GitAuthSource,
        bus: EventBus,
        clock: Clock,
        settings: BuildRunSettings,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._keyring = keyring
        self._logins = logins
        self._git = git
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._wakes: dict[str, asyncio.Event] = {}

    @property
    def settings(self) -> BuildRunSettings:
        return self._settings

    def running(self, build_id: str) -> bool:
        """Whether this process follows the build now."""
        return build_id in self._wakes

    def wake(self, build_id: str) -> bool:
        """Have a build followed in this process look at its state now (e.g. it was cancelled)."""
        event = self._wakes.get(build_id)
        if event is None:
            return False
        event.set()
        return True

    def recorder(self, build: Build) -> BuildRecorder:
        return BuildRecorder(
            build, store=self._store, bus=self._bus, clock=self._clock, max_lines=self._settings.max_log_lines
        )

    async def run(self, build: Build) -> None:
        """Run ``build`` (started and owned by this process) to its end. On cancellation (the server
        stops) the build is left as it is, for a server to take over."""
        recorder = self.recorder(build)
        wake = self._wakes.setdefault(build.id, asyncio.Event())
        try:
            await self._run(recorder, wake)
        except asyncio.CancelledError:
            log.info("build %s: left to its Job while the server stops; it will be taken over", build.id)
            raise
        except BuildEnded as ended:
            log.info("build %s: no longer followed here (%s)", build.id, ended.reason)
            await self._cleanup_if_cancelled(build)
        except errors.TrellisError as exc:
            await self._fail_late(recorder, exc.message)
        except Exception:
            log.exception("build %s failed unexpectedly", build.id)
            await self._fail_late(recorder, "the build failed unexpectedly; the server log has the details")
        finally:
            self._wakes.pop(build.id, None)

    async def _fail_late(self, recorder: BuildRecorder, message: str) -> None:
        """Fail a build outside its cluster session (the Secret is left to the clean-up)."""
        try:
            await recorder.finish(BuildStatus.FAILED, short_message(message))
        except BuildEnded:
            pass
        except Exception:
            log.exception("build %s could not be marked FAILED (%s)", recorder.build.id, message)

    # --- one build --------------------------------------------------------------------------------------

    async def _run(self, recorder: BuildRecorder, wake: asyncio.Event) -> None:
        build = recorder.build
        scope = Scope.of([build.workspace_id])
        cluster = await self._store.get_cluster(scope, build.cluster_id)
        if cluster is None:
            await recorder.finish(BuildStatus.FAILED, "the build's cluster was removed from the workspace")
            return
        credentials = unseal(self._keyring, cluster.credentials_ciphertext)
        async with self._gateway.open(
            credentials, timeout_seconds=self._settings.cluster_timeout_seconds
        ) as session:
            try:
                namespace = self._settings.job.namespace
                job = await session.get("batch/v1", "Job", job_name(build.id), namespace)
                if job is None:
                    if build.status is not BuildStatus.PENDING:
                        raise _Failure(
                            None,
                            "the build's Job is gone (deleted outside Trellis, or removed after the "
                            "retention period) while no server was following it",
                        )
                    await self._create(session, recorder, cluster.name)
                else:
                    recorder.note(LogSource.TRELLIS, f"following the build Job {job_name(build.id)} again")
                await self._follow(session, recorder, wake)
            except _Failure as failure:
                await self._end_failed(session, recorder, failure.stage, failure.message)

    async def _create(self, session: LiveClusterSession, recorder: BuildRecorder, cluster_name: str) -> None:
        build = recorder.build
        namespace = self._settings.job.namespace
        version = await session.server_version()
        recorder.note(
            LogSource.TRELLIS,
            f"starting the build Job {job_name(build.id)} in namespace {namespace} of cluster {cluster_name} "
            f"(Kubernetes {version})",
        )
        await recorder.flush()
        registry = await self._store.get_registry(Scope.of([build.workspace_id]), build.registry_id)
        if registry is None:
            raise _Failure(BuildStage.PUSH, "the build's registry was removed from the workspace")
        try:
            login = await self._logins.auth_for(registry)
        except errors.TrellisError as exc:
            raise _Failure(
                BuildStage.PUSH, f"no login for the registry {registry.name}: {exc.message}"
            ) from exc
        config = docker_config_json({auth_key(registry): login} if login else {})
        git = await self._git.auth_for(build.workspace_id, build.repo_url)
        git = self._fitting(recorder, git)
        if await session.get("v1", "Namespace", namespace, None) is None:
            await session.apply(namespace_manifest(namespace), field_manager=FIELD_MANAGER)
        await session.apply(
            secret_manifest(build, namespace, git=git, docker_config=config), field_manager=FIELD_MANAGER
        )
        job = await session.apply(
            job_manifest(
                build, self._settings.job, git_auth=git is not None, insecure_registry=registry.insecure
            ),
            field_manager=FIELD_MANAGER,
        )
        await session.apply(owned_secret_patch(build, namespace, job), field_manager=OWNER_FIELD_MANAGER)
        recorder.note(
            LogSource.TRELLIS, f"the Job is created; waiting for its pod (pushing to {build.image})"
        )
        await recorder.flush()

    def _fitting(self, recorder: BuildRecorder, auth: GitAuth | None) -> GitAuth | None:
        """The Git credential if its kind fits the address (a token for https://, a key for ssh://)."""
        if auth is None:
            return None
        ssh = recorder.build.repo_url.startswith("ssh://")
        if (auth.kind == "SSH_KEY") == ssh:
            recorder.note(LogSource.TRELLIS, f"cloning with the workspace's Git credential for {auth.host}")
            return auth
        kind = (
            "an SSH key (for ssh:// addresses)"
            if auth.kind == "SSH_KEY"
            else "a token (for https:// addresses)"
        )
        recorder.note(
            LogSource.TRELLIS,
            f"the workspace's Git credential for {auth.host} is {kind}; cloning without it",
        )
        return None

    async def _follow(
        self, session: LiveClusterSession, recorder: BuildRecorder, wake: asyncio.Event
    ) -> None:
        build = recorder.build
        scope = Scope.of([build.workspace_id])
        namespace = self._settings.job.namespace
        deadline = (
            (build.started_at or self._clock.now())
            + timedelta(seconds=self._settings.job.timeout_seconds)
            + DEADLINE_GRACE
        )
        followers: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                wake.clear()
                stored = await self._store.get_build(scope, build.id)
                if stored is None or stored.status.finished or stored.owner != recorder.build.owner:
                    raise BuildEnded("it was cancelled or taken over")
                try:
                    job = await session.get("batch/v1", "Job", job_name(build.id), namespace)
                    if job is None:
                        raise _Failure(
                            self._stage_now(recorder), "the build's Job was deleted outside Trellis"
                        )
                    pods = await session.list(
                        "v1", "Pod", label_selector=build_selector(build.id), namespace=namespace
                    )
                    pod = newest_pod(pods)
                    if pod is not None and await self._look(session, recorder, pod, followers):
                        return
                except errors.Unavailable as exc:
                    # The Job runs on in the cluster: keep trying (up to the deadline) rather than fail it.
                    lost = f"the cluster cannot be reached ({exc.message}); trying again"
                    if recorder.build.message != lost:
                        recorder.change(message=lost)
                        log.warning("build %s: %s", build.id, lost)
                    job = None
                failure = job_failure(job) if job is not None else None
                if failure is not None:
                    await self._drain(list(followers.values()))
                    raise _Failure(self._stage_now(recorder), failure)
                if self._clock.now() > deadline:
                    await self._delete(session, "batch/v1", "Job", job_name(build.id))
                    raise _Failure(
                        self._stage_now(recorder),
                        "the build took longer than its time limit (TRELLIS_BUILD_TIMEOUT_SECONDS); its Job "
                        "was deleted",
                    )
                await recorder.flush(heartbeat_seconds=self._settings.heartbeat_seconds)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self._settings.poll_seconds)
        finally:
            for task in followers.values():
                task.cancel()
            await asyncio.gather(*followers.values(), return_exceptions=True)

    async def _look(
        self,
        session: LiveClusterSession,
        recorder: BuildRecorder,
        pod: Mapping[str, Any],
        followers: dict[str, asyncio.Task[None]],
    ) -> bool:
        """Follow the logs of the containers that started and move the status along; True when the
        build ended (the outcome is recorded)."""
        name = str((pod.get("metadata") or {}).get("name"))
        containers = containers_of(pod)
        for container in CONTAINERS:
            if containers[container].started and container not in followers:
                followers[container] = asyncio.get_running_loop().create_task(
                    self._follow_log(session, recorder, name, container),
                    name=f"build-{recorder.build.id}-log-{container}",
                )
        reading = read_pod(pod)
        if reading.failed is not None:
            failed = reading.failed
            await self._drain([followers[failed.name]] if failed.name in followers else [])
            stage = self._stage_of(recorder, failed.name)
            raise _Failure(stage, failure_message(stage, failed, self._lines_of(recorder, failed.name)))
        if reading.stuck is not None:
            raise _Failure(self._stage_now(recorder), reading.stuck)
        if reading.succeeded is not None:
            await self._drain([task for task in followers.values()])
            await self._complete(session, recorder, reading.succeeded)
            return True
        if reading.status is BuildStatus.CLONING:
            recorder.advance(BuildStatus.CLONING, CLONE_PERCENT)
        elif reading.status is BuildStatus.BUILDING:
            started_build = containers[BUILDKIT].started
            recorder.advance(BuildStatus.BUILDING, BUILD_START if started_build else DOCKERFILE_PERCENT)
        elif reading.waiting and recorder.build.message != reading.waiting:
            recorder.change(message=reading.waiting)
        return False

    def _stage_of(self, recorder: BuildRecorder, container: str) -> BuildStage:
        if container != BUILDKIT:
            return STAGE_OF[container]
        pushing = recorder.build.status is BuildStatus.PUSHING or any(
            "failed to push" in line.lower() for line in self._lines_of(recorder, BUILDKIT)
        )
        return BuildStage.PUSH if pushing else BuildStage.BUILD

    def _stage_now(self, recorder: BuildRecorder) -> BuildStage | None:
        """The stage a build stops at when the Job as a whole fails (from how far it got)."""
        return {
            BuildStatus.CLONING: BuildStage.CLONE,
            BuildStatus.BUILDING: BuildStage.BUILD,
            BuildStatus.PUSHING: BuildStage.PUSH,
        }.get(recorder.build.status)

    @staticmethod
    def _lines_of(recorder: BuildRecorder, container: str) -> list[str]:
        source = LogSource(container.upper())
        return [line.message for line in recorder.build.logs if line.source is source]

    async def _follow_log(
        self, session: LiveClusterSession, recorder: BuildRecorder, pod: str, container: str
    ) -> None:
        """Store the lines of one container's log as they come, until it ends (the container stopped)."""
        source = LogSource(container.upper())
        for attempt in range(1, LOG_ATTEMPTS + 1):
            skip = recorder.build.lines_seen.get(container, 0)  # already stored (by this or another process)
            read = 0
            try:
                lines = session.pod_logs(
                    self._settings.job.namespace, pod, container=container, tail_lines=None, follow=True
                )
                try:
                    async for line in lines:
                        read += 1
                        if read <= skip:
                            continue
                        recorder.seen(container)
                        recorder.note(source, line)
                finally:
                    close = getattr(lines, "aclose", None)
                    if close is not None:
                        await close()  # the HTTP response goes at once, also when cancelled
                return
            except errors.TrellisError as exc:
                if attempt == LOG_ATTEMPTS:
                    recorder.note(LogSource.TRELLIS, f"the {container} log cannot be read: {exc.message}")
                    return
                await asyncio.sleep(self._settings.poll_seconds)
            except Exception:  # a follower never dies silently
                log.exception("build %s: reading the %s log failed", recorder.build.id, container)
                recorder.note(LogSource.TRELLIS, f"the {container} log could not be read to its end")
                return

    async def _drain(self, tasks: Sequence[asyncio.Task[None]]) -> None:
        """Let the logs of containers that ended arrive (at most ``drain_seconds``), then stop reading."""
        pending = [task for task in tasks if not task.done()]
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=self._settings.drain_seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    # --- the end ----------------------------------------------------------------------------------------

    async def _complete(
        self, session: LiveClusterSession, recorder: BuildRecorder, view: ContainerView
    ) -> None:
        build = recorder.build
        digest = (view.message or "").strip()
        if not DIGEST.match(digest):
            raise _Failure(
                BuildStage.PUSH,
                "BuildKit ended without reporting the pushed image's digest in its termination message",
            )
        recorder.change(digest=digest, percent=DONE_PERCENT)
        if build.workflow_id and build.node_id:
            await self._set_node_image(recorder, f"{build.image_repository}@{digest}")
        deleted = await self._delete(session, "v1", "Secret", secret_name(build.id))
        await recorder.finish(
            BuildStatus.COMPLETED,
            f"pushed {build.image} as {digest}",
            percent=DONE_PERCENT,
            secret_deleted=deleted,
        )

    async def _set_node_image(self, recorder: BuildRecorder, reference: str) -> None:
        build = recorder.build
        assert build.workflow_id is not None
        assert build.node_id is not None
        try:
            workflow = await self._store.set_node_image(
                build.workspace_id, build.workflow_id, build.node_id, reference, self._clock.now()
            )
        except errors.TrellisError as exc:
            recorder.note(
                LogSource.TRELLIS, f"the image of node {build.node_id} was not changed: {exc.message}"
            )
            return
        if workflow is None:
            recorder.note(
                LogSource.TRELLIS,
                f"the workflow or its node {build.node_id} is gone: no node image was changed",
            )
            return
        recorder.note(
            LogSource.TRELLIS,
            f"node {build.node_id} of workflow {workflow.name} now uses {reference} "
            f"(revision {workflow.revision})",
        )
        event = Event(
            EventType.WORKFLOW_SYNC,
            workflow_topic(workflow.id),
            self._clock.now(),
            {"reason": "build", "buildId": build.id, "nodeId": build.node_id, "revision": workflow.revision},
        )
        try:
            await self._bus.publish(event)
        except Exception:
            log.exception("publishing the node image of build %s failed", build.id)

    async def _end_failed(
        self, session: LiveClusterSession, recorder: BuildRecorder, stage: BuildStage | None, message: str
    ) -> None:
        deleted = await self._delete(session, "v1", "Secret", secret_name(recorder.build.id))
        await recorder.finish(
            BuildStatus.FAILED, short_message(message), error_stage=stage, secret_deleted=deleted
        )

    async def _delete(self, session: LiveClusterSession, api_version: str, kind: str, name: str) -> bool:
        """Delete one object of the build (pods go with a Job); True when it is gone."""
        try:
            await session.delete(api_version, kind, name, self._settings.job.namespace)
        except errors.TrellisError as exc:
            log.warning("deleting %s %s failed: %s", kind, name, exc.message)
            return False
        return True

    async def remove(self, build: Build, *, job: bool) -> bool:
        """Delete a build's Secret (and its Job with its pods, when ``job``) in its cluster; True when
        the Secret is gone (or its cluster is)."""
        scope = Scope.of([build.workspace_id])
        cluster = await self._store.get_cluster(scope, build.cluster_id)
        if cluster is None:
            return True  # nothing can be reached any more; the Job's retention removes it there
        try:
            credentials = unseal(self._keyring, cluster.credentials_ciphertext)
            async with self._gateway.open(
                credentials, timeout_seconds=self._settings.cluster_timeout_seconds
            ) as session:
                if job:
                    await self._delete(session, "batch/v1", "Job", job_name(build.id))
                return await self._delete(session, "v1", "Secret", secret_name(build.id))
        except errors.TrellisError as exc:
            log.warning("build %s: its Secret could not be deleted now: %s", build.id, exc.message)
            return False

    async def _cleanup_if_cancelled(self, build: Build) -> None:
        stored = await self._store.get_build(Scope.of([build.workspace_id]), build.id)
        if stored is None or stored.status is not BuildStatus.CANCELLED:
            return
        if await self.remove(stored, job=True):
            await self._store.mark_build_cleaned(stored.id)


def failure_message(stage: BuildStage, view: ContainerView, lines: Sequence[str]) -> str:
    """What a person reads when a container of the build failed: what failed, how, its last log lines
    (the error lines first), and what to do when that is clear."""
    what = _WHAT[stage]
    if view.reason == "OOMKilled":
        return f"{what} ran out of memory (OOMKilled): raise TRELLIS_BUILD_MEMORY_LIMIT"
    text = [line.strip() for line in lines if line.strip()]
    if not text and view.message:
        text = [line.strip() for line in view.message.splitlines() if line.strip()]
    errors_found = [line for line in text if _ERROR_LINE.search(line)]
    detail = " | ".join((errors_found or text)[-3:])
    message = f"{what} failed (exit code {view.exit_code})" + (f": {detail}" if detail else "")
    hint = _hint(stage, " ".join(text).lower())
    return message + (f". {hint}" if hint else "")


def _hint(stage: BuildStage, text: str) -> str | None:
    if stage is BuildStage.CLONE:
        if any(word in text for word in _AUTH_CLONE):
            return (
                "The repository refused access: store a Git credential for its host in the workspace "
                "(a token for https://, an SSH key for ssh://)"
            )
        if "couldn't find remote ref" in text:
            return "Check the ref: no such branch, tag or commit"
        if "repository not found" in text or "not found" in text:
            return "Check the repository's address (a private repository also needs a Git credential)"
    if stage is BuildStage.PUSH and any(word in text for word in _AUTH_PUSH):
        return (
            "The registry refused the push: check its credentials (testRegistry) and that they may push there"
        )
    return None
