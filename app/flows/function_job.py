"""Function steps as Kubernetes Jobs: the executor that runs one attempt in the flow's cluster.

An attempt is one Job (and its Secret) in the flow's namespace of the flow's cluster, named from the run,
the step and the attempt (:func:`~app.domain.flows.function_jobs.attempt_name`). The executor creates
them — the namespace first when it is missing — then reads the Job and its pod every ``poll_seconds``,
follows the container's log into the step's log from the moment it starts (a reader that breaks is
replaced at the next look, skipping the lines already copied), and maps how the attempt
ended (:func:`~app.domain.flows.function_jobs.read_attempt`) to a :class:`StepResult`: the runner's
envelope (an inline output, an output posted back to Trellis, or the code's error), OOM, TIMEOUT (the
Job's ``activeDeadlineSeconds``), or why the pod could not start. Then it deletes the Job (its pods go
with it) and the Secret.

The cluster running on without Trellis is the point: when the server stops, the call is cancelled with
``run_cancelled()`` false and the Job is left to run; calling :meth:`execute` again for the same attempt
finds the Job and follows it (its log from the start again). A cancelled run deletes what it started.
While following, an unreachable cluster is retried (the Job runs on); past the Job's own deadline plus
half of :data:`~app.domain.flows.steps.TIMEOUT_GRACE_SECONDS` the executor stops waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from app import errors
from app.domain.build_jobs import namespace_manifest
from app.domain.flows.function_jobs import (
    FIELD_MANAGER,
    OWNER_FIELD_MANAGER,
    RESULT_PATH,
    RUNNING,
    STEP_DIR,
    SUCCEEDED,
    WAITING,
    Attempt,
    AttemptReading,
    FunctionJobSettings,
    StepProgram,
    attempt_selector,
    job_manifest,
    owned_secret_patch,
    read_attempt,
    reserved_env,
    secret_manifest,
    step_resources,
)
from app.domain.flows.steps import (
    ERROR,
    REFUSED,
    TIMEOUT,
    TIMEOUT_GRACE_SECONDS,
    StepInvocation,
    StepResult,
)
from app.flows.function_code import PreparedFunction, prepare
from app.flows.runtimes import (
    DATA_URL_ENV,
    ENTRYPOINT_ENV,
    INLINE_MAX_IN_POD,
    OUTPUT_MAX_ENV,
    OUTPUT_URL_ENV,
    RESULT_INLINE_MAX_ENV,
    RESULT_PATH_ENV,
    STEP_DIR_ENV,
    STEP_TOKEN_ENV,
    EnvelopeError,
    failed_result,
    read_envelope,
)
from app.flows.step_secrets import listed_secrets, masked, masked_result, masking_logs, reveal
from app.ports import (
    Clock,
    FileStore,
    LiveClusterSession,
    Manifest,
    StepOutputStore,
    StepTokenIssuer,
    WorkspaceSecretReader,
)

__all__ = ["ClusterSessions", "FunctionJobSettings", "KubernetesFunctionExecutor"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 300.0  # the Function kind's timeoutSeconds default, when the step gives none
REATTACHED = "following the attempt's Job again after a restart; earlier log lines may repeat"


@dataclass
class _LogCopy:
    """How far the container's log was copied into the step's log: ``seen`` lines (a new reader skips
    them); ``broken`` when the last reader failed (read again while the container runs); ``warned`` once
    a failure was told; ``abandoned`` after an unexpected error (not read again)."""

    seen: int = 0
    broken: bool = False
    warned: bool = False
    abandoned: bool = False

    def again(self, stopped: bool, running: bool) -> bool:
        """Whether a reader that ``stopped`` is followed by another (the container ``running`` or not)."""
        return stopped and not self.abandoned and (self.broken or running)


class ClusterSessions(Protocol):
    def open(self, workspace_id: str, cluster_id: str) -> AbstractAsyncContextManager[LiveClusterSession]:
        """A session to the cluster ``cluster_id`` of the workspace. Raises ``NotFound`` (no such cluster in
        the workspace), ``Invalid`` (its credentials cannot be used) or ``Unavailable`` (it cannot be
        reached), each with a message for a person."""
        ...


JOB_SETTLE_POLLS = 10
"""Looks at a failed pod's Job before the attempt's failure is read from the pod alone: the Job
controller marks the Job Failed (DeadlineExceeded, BackoffLimitExceeded) a moment after the pod ends."""


def _job_over(job: Manifest | None) -> bool:
    """Whether the Job controller has marked the Job Complete or Failed."""
    conditions = ((job or {}).get("status") or {}).get("conditions") or []
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in conditions
        if isinstance(c, dict)
    )


class KubernetesFunctionExecutor:
    """The :class:`~app.ports.StepExecutor` of Function steps (see the module's description)."""

    enforces_timeout = True  # the Job's activeDeadlineSeconds ends an attempt; the engine waits longer

    def __init__(
        self,
        *,
        sessions: ClusterSessions,
        files: FileStore,
        outputs: StepOutputStore,
        tokens: StepTokenIssuer,
        clock: Clock,
        settings: FunctionJobSettings,
        secrets: WorkspaceSecretReader | None = None,
    ) -> None:
        self._secrets = secrets
        self._sessions = sessions
        self._files = files
        self._outputs = outputs
        self._tokens = tokens
        self._clock = clock
        self._settings = settings

    @property
    def settings(self) -> FunctionJobSettings:
        return self._settings

    async def execute(self, invocation: StepInvocation) -> StepResult:
        prepared = await prepare(self._files, invocation)
        if isinstance(prepared, StepResult):
            return prepared
        if not invocation.cluster_id:
            return StepResult.failed(
                REFUSED,
                "start",
                "the flow has no cluster: choose the cluster its Function steps run in (the workflow's "
                "cluster)",
            )
        if not invocation.namespace:
            return StepResult.failed(REFUSED, "start", "the flow has no namespace for its steps' pods")
        names = listed_secrets(invocation)
        clash = sorted(set(names) & reserved_env(self._program(prepared)))
        if clash:
            return StepResult.failed(
                REFUSED, "start", f"the secret {clash[0]} has the name of a variable the runner sets"
            )
        values = await reveal(self._secrets, invocation, names)
        if isinstance(values, StepResult):
            return values
        attempt = Attempt(
            run_id=invocation.run_id,
            node_id=invocation.step.id,
            attempt=invocation.attempt,
            namespace=invocation.namespace,
            timeout_seconds=invocation.timeout_seconds or DEFAULT_TIMEOUT_SECONDS,
            workflow_id=invocation.workflow_id,
        )
        try:
            async with self._sessions.open(invocation.workspace_id, invocation.cluster_id) as session:
                with masking_logs(values.values()):
                    result = await self._attempt(
                        session, masked(invocation, values), attempt, prepared, values
                    )
                return masked_result(result, values)
        except errors.Unavailable as exc:
            return StepResult.failed(ERROR, "start", f"the flow's cluster cannot be reached: {exc.message}")
        except (errors.NotFound, errors.Invalid, errors.Forbidden) as exc:
            return StepResult.failed(REFUSED, "start", f"the flow's cluster cannot be used: {exc.message}")

    # --- one attempt ------------------------------------------------------------------------------------

    async def _attempt(
        self,
        session: LiveClusterSession,
        invocation: StepInvocation,
        attempt: Attempt,
        prepared: PreparedFunction,
        values: Mapping[str, str],
    ) -> StepResult:
        """Start the attempt (or find it started), follow it to its end, then delete what it left. When
        cancelled, the Job and Secret are deleted only if the run was cancelled. ``values``: the workspace
        secrets the step reads (into the attempt's Secret)."""
        try:
            result = await self._start_and_follow(session, invocation, attempt, prepared, values)
        except asyncio.CancelledError:
            if invocation.run_cancelled():
                await asyncio.shield(self._remove(session, attempt))
            raise
        except Exception:
            await self._remove(session, attempt)
            raise
        await self._remove(session, attempt)
        return result

    async def _start_and_follow(
        self,
        session: LiveClusterSession,
        invocation: StepInvocation,
        attempt: Attempt,
        prepared: PreparedFunction,
        values: Mapping[str, str],
    ) -> StepResult:
        try:
            job = await session.get("batch/v1", "Job", attempt.name, attempt.namespace)
            if job is None:
                await self._create(session, invocation, attempt, prepared, values)
            else:
                await invocation.log(REATTACHED)
        except errors.Unavailable as exc:
            return StepResult.failed(ERROR, "start", f"the flow's cluster cannot be reached: {exc.message}")
        except errors.TrellisError as exc:
            return StepResult.failed(ERROR, "start", f"the step's Job could not be created: {exc.message}")
        return await self._follow(session, invocation, attempt)

    def _program(self, prepared: PreparedFunction, values: Mapping[str, str] | None = None) -> StepProgram:
        env = {
            STEP_DIR_ENV: STEP_DIR,
            ENTRYPOINT_ENV: prepared.entrypoint,
            RESULT_PATH_ENV: RESULT_PATH,
            RESULT_INLINE_MAX_ENV: str(INLINE_MAX_IN_POD),
            OUTPUT_MAX_ENV: str(self._settings.max_output_bytes),
        }
        if self._settings.output_url:
            env[OUTPUT_URL_ENV] = self._settings.output_url
        if self._settings.data_url:
            env[DATA_URL_ENV] = self._settings.data_url
        runtime = prepared.runtime
        return StepProgram(
            runtime=runtime.name,
            interpreter=runtime.interpreter,
            runner_file=runtime.runner_file,
            files=prepared.step_files(),
            env=env,
            token_env=STEP_TOKEN_ENV,
            secret_env=dict(values or {}),
        )

    async def _create(
        self,
        session: LiveClusterSession,
        invocation: StepInvocation,
        attempt: Attempt,
        prepared: PreparedFunction,
        values: Mapping[str, str],
    ) -> None:
        namespace = attempt.namespace
        if await session.get("v1", "Namespace", namespace, None) is None:
            await session.apply(namespace_manifest(namespace), field_manager=FIELD_MANAGER)
        if await session.get("v1", "Secret", attempt.name, namespace) is not None:
            # Left by a start the server did not finish; it is immutable, and its token is not known.
            await session.delete("v1", "Secret", attempt.name, namespace)
        deadline = invocation.deadline or self._clock.now() + timedelta(seconds=attempt.timeout_seconds)
        token = self._tokens.issue(
            workspace_id=invocation.workspace_id,
            run_id=attempt.run_id,
            node_id=attempt.node_id,
            attempt=attempt.attempt,
            expires_at=deadline + timedelta(seconds=TIMEOUT_GRACE_SECONDS),
        )
        program = self._program(prepared, values)
        manifest = job_manifest(
            attempt, program, self._settings, resources=step_resources(invocation.step.data)
        )
        await session.apply(secret_manifest(attempt, program, token), field_manager=FIELD_MANAGER)
        job = await session.apply(manifest, field_manager=FIELD_MANAGER)
        await session.apply(owned_secret_patch(attempt, job), field_manager=OWNER_FIELD_MANAGER)
        image = manifest["spec"]["template"]["spec"]["containers"][0]["image"]
        await invocation.log(f"created Job {attempt.name} in {namespace} (image {image})")

    async def _follow(
        self, session: LiveClusterSession, invocation: StepInvocation, attempt: Attempt
    ) -> StepResult:
        """Read the Job and its pod until the attempt ends; its result."""
        selector = attempt_selector(attempt.run_id, attempt.node_id, attempt.attempt)
        started = invocation.started_at or self._clock.now()
        give_up = started + timedelta(seconds=attempt.deadline_seconds + TIMEOUT_GRACE_SECONDS / 2)
        seen_waits: set[str] = set()
        unreachable = False
        follower: asyncio.Task[None] | None = None
        copy = _LogCopy()
        settling = JOB_SETTLE_POLLS
        try:
            while True:
                try:
                    job, pods = await self._look(session, attempt, selector)
                except errors.Unavailable as exc:
                    if not unreachable:
                        await invocation.log(
                            f"the cluster cannot be reached ({exc.message}); the Job runs on, still trying",
                            "WARNING",
                        )
                        unreachable = True
                    job = None
                    pods = None
                except errors.TrellisError as exc:
                    failed = StepResult.failed(ERROR, "run", f"the step's Job cannot be read: {exc.message}")
                    return await self._ended(invocation, attempt, failed)
                if pods is not None:
                    if unreachable:
                        await invocation.log("the cluster can be reached again")
                        unreachable = False
                    if job is None:
                        return await self._ended(
                            invocation,
                            attempt,
                            StepResult.failed(ERROR, "run", "the step's Job was deleted outside Trellis"),
                        )
                    reading = read_attempt(job, pods)
                    if (
                        reading.started
                        and reading.pod is not None
                        and (follower is None or copy.again(follower.done(), reading.state == RUNNING))
                    ):  # the log is read from its start; a reader after one that broke skips what was seen
                        follower = asyncio.get_running_loop().create_task(
                            self._follow_log(session, invocation, attempt, reading.pod, copy),
                            name=f"flow-step-log-{attempt.name}",
                        )
                    if reading.ended and reading.state != SUCCEEDED and not _job_over(job) and settling:
                        settling -= 1  # the pod failed: let the Job controller say why (its deadline?)
                    elif reading.ended:
                        await self._drain(follower)
                        return await self._ended(invocation, attempt, await self._result(attempt, reading))
                    if reading.state == WAITING:
                        await self._note_wait(invocation, reading, seen_waits)
                if self._clock.now() > give_up:
                    return await self._ended(
                        invocation,
                        attempt,
                        StepResult.failed(
                            TIMEOUT,
                            "run",
                            f"ran longer than its timeoutSeconds ({attempt.deadline_seconds} s), and its Job "
                            "did not end by itself",
                        ),
                    )
                await asyncio.sleep(self._settings.poll_seconds)
        finally:
            if follower is not None and not follower.done():
                follower.cancel()
                await asyncio.gather(follower, return_exceptions=True)

    @staticmethod
    async def _look(
        session: LiveClusterSession, attempt: Attempt, selector: str
    ) -> tuple[Manifest | None, list[Manifest] | None]:
        """The attempt's Job (None: it is gone) and its pods."""
        job = await session.get("batch/v1", "Job", attempt.name, attempt.namespace)
        if job is None:
            return None, []
        return job, await session.list("v1", "Pod", label_selector=selector, namespace=attempt.namespace)

    async def _note_wait(self, invocation: StepInvocation, reading: AttemptReading, seen: set[str]) -> None:
        """Tell the step's log why the pod waits, once for each reason."""
        reason = reading.reason or ""
        if reason in seen or reason in ("", "NoPod", "Pending"):
            return
        seen.add(reason)
        if reason == "Unschedulable":
            await invocation.log(f"waiting for a node: {reading.message}", "WARNING")
            return
        detail = f": {reading.message}" if reading.message else ""
        await invocation.log(f"pod {reading.pod} is waiting ({reason}){detail}")

    async def _result(self, attempt: Attempt, reading: AttemptReading) -> StepResult:
        """What an ended attempt returns: its envelope's output or error, or the reading's failure."""
        if reading.state != SUCCEEDED:
            if reading.termination_message:
                with contextlib.suppress(EnvelopeError):
                    envelope = read_envelope(reading.termination_message)
                    if envelope.failed:
                        return failed_result(envelope)
            return StepResult.failed(
                reading.kind or ERROR, reading.stage or "run", reading.message or "failed"
            )
        try:
            envelope = read_envelope(reading.message or "")
        except EnvelopeError as exc:
            return StepResult.failed(ERROR, "output", str(exc))
        if envelope.failed:
            return failed_result(envelope)
        if envelope.posted is None:
            return StepResult(output=envelope.output)
        record = await self._outputs.get_step_output(attempt.run_id, attempt.node_id, attempt.attempt)
        if record is None:
            return StepResult.failed(
                ERROR,
                "output",
                f"the step reported posting its output ({envelope.posted} bytes), but Trellis did not "
                "receive it",
            )
        return StepResult(output=record.output)

    async def _ended(self, invocation: StepInvocation, attempt: Attempt, result: StepResult) -> StepResult:
        if result.ok:
            await invocation.log(f"Job {attempt.name} completed")
        else:
            await invocation.log(f"Job {attempt.name} failed: {result.message}", "ERROR")
        return result

    async def _follow_log(
        self,
        session: LiveClusterSession,
        invocation: StepInvocation,
        attempt: Attempt,
        pod: str,
        copy: _LogCopy,
    ) -> None:
        """Copy the container's log into the step's log until it ends (the container stopped) or breaks."""
        copy.broken = False
        read = 0
        try:
            lines = session.pod_logs(attempt.namespace, pod, container="step", tail_lines=None, follow=True)
            try:
                async for line in lines:
                    read += 1
                    if read > copy.seen:
                        copy.seen = read
                        await invocation.log(line)
            finally:
                close = getattr(lines, "aclose", None)
                if close is not None:
                    await close()  # the HTTP response goes at once, also when cancelled
        except errors.TrellisError as exc:
            copy.broken = True
            if not copy.warned:
                copy.warned = True
                await invocation.log(
                    f"the step's log cannot be read now ({exc.message}); trying again", "WARNING"
                )
        except Exception:  # a reader never dies silently
            log.exception("step %s of run %s: reading its log failed", attempt.node_id, attempt.run_id)
            copy.abandoned = True
            await invocation.log("the step's log could not be read to its end", "WARNING")

    async def _drain(self, follower: asyncio.Task[None] | None) -> None:
        """Let the end of the log arrive (at most ``drain_seconds``), then stop reading."""
        if follower is None or follower.done():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(follower), timeout=self._settings.drain_seconds)

    async def _remove(self, session: LiveClusterSession, attempt: Attempt) -> None:
        """Delete the attempt's Job (its pods go with it) and Secret; a failure is logged, never raised
        (``ttlSecondsAfterFinished`` and the Secret's owner reference are the backstop)."""
        for api_version, kind in (("batch/v1", "Job"), ("v1", "Secret")):
            try:
                await session.delete(api_version, kind, attempt.name, attempt.namespace)
            except errors.TrellisError as exc:
                log.warning(
                    "step %s of run %s: deleting %s %s/%s failed: %s",
                    attempt.node_id,
                    attempt.run_id,
                    kind,
                    attempt.namespace,
                    attempt.name,
                    exc.message,
                )
