"""Imports from a Git repository: a background job that clones, finds the compose project, analyses it.

:meth:`GitImportService.start` checks everything it can at once — the caller may write the workspace,
the address is one a clone may use (``https://``, ``ssh://``, ``http://`` only when allowed) and the egress
guard lets it through, the ref and path are sane — and only then records a ``PENDING`` import and runs
the job as a named, guarded background task. The job moves the import through ``CLONING`` (shallow,
bounded clone, with the workspace's Git credential for the host), ``ANALYZING`` (discovery, then the
compose analysis in a worker thread while the clone exists) to ``COMPLETED`` or ``FAILED``, saving the
record and publishing an event on ``import:<id>`` at each step. The clone is removed when the job ends,
whatever ends it; a server that stops fails its running imports ("the server stopped").

The stored analysis never holds a secret value: Secret nodes keep their key names only. The values found
(in env files, ``.env``, the compose files) are kept beside it, encrypted with the keyring as one
ciphertext of ``{node id: {key: value}}`` (:func:`seal_secret_values`), which no query returns;
``importCompose`` with ``gitImportId`` makes a workflow of a completed import (:func:`usable_analysis`)
and those values (:func:`open_secret_values`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import posixpath
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring, KeyringError
from app.compose import ComposeAnalysis, ComposeProblem, analyze
from app.compose.discovery import ENV_FILE, Discovery, discover, project_analysis, with_repository
from app.domain.events import Event, EventType
from app.domain.git import GitAuth
from app.domain.ids import new_id
from app.domain.imports import (
    CloneFailed,
    GitImport,
    ImportAnalysis,
    ImportLogLine,
    ImportOptions,
    ImportProblem,
    ImportSource,
    ImportStatus,
    RepositoryUrl,
    RepositoryUrlError,
    apply_progress,
    check_path,
    check_ref,
    import_topic,
    parse_repository_url,
    progress_payload,
)
from app.domain.names import namespace_problem
from app.net import EgressGuard
from app.ports import Checkout, Clock, CloneLimits, CloneProgress, EventBus, GitCloner, ImportStore
from app.services.auditing import Auditor
from app.services.principals import Principal
from app.services.tasks import TaskSupervisor

log = logging.getLogger(__name__)

MAX_PROFILES = 20
_PROFILE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")
SERVER_STOPPED = "the server stopped before the import finished; start it again"
# How long an unfinished import may go without a save before it counts as abandoned (a server died
# under it): the clone's time limit plus this much for the analysis.
STALE_MARGIN = timedelta(minutes=5)

# Overall percentages of the steps; the clone's own progress fills CLONE_START..CLONE_END.
PENDING_PERCENT = 0
CLONE_START = 5
CLONE_END = 75
ANALYZING_PERCENT = 80
DONE_PERCENT = 100
PROGRESS_STEP = 5  # a clone's progress is saved (and published) in steps of at least this


SecretValues = Mapping[str, Mapping[str, str]]
"""Secret node id → key → value."""


class CredentialSource(Protocol):
    async def auth_for(self, workspace_id: str, url: str) -> GitAuth | None: ...


class ImportEvent(StrEnum):
    METADATA = "METADATA"  # first: the import as it is now (with its log so far)
    PROGRESS = "PROGRESS"  # it changed (status, percent, log)
    COMPLETE = "COMPLETE"  # it finished (COMPLETED or FAILED); the stream ends


@dataclass(frozen=True, slots=True)
class ImportUpdate:
    """One message of ``importProgress``: what happened and the whole import as it is now."""

    type: ImportEvent
    job: GitImport


@dataclass(frozen=True, slots=True)
class GitImportRequest:
    workspace_id: str
    url: str
    ref: str | None = None
    path: str | None = None
    profiles: Sequence[str] = ()
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class GitImportSettings:
    limits: CloneLimits
    allow_http: bool
    recheck_seconds: float  # how often an open stream re-checks the caller's access


def _checked_options(request: GitImportRequest) -> tuple[str | None, str | None, ImportOptions]:
    ref = request.ref.strip() if request.ref is not None else None
    if ref:
        try:
            check_ref(ref)
        except ValueError as exc:
            raise errors.Invalid.field("ref", str(exc)) from None
    path = None
    if request.path is not None and request.path.strip() not in ("", "."):
        try:
            path = check_path(request.path.strip())
        except ValueError as exc:
            raise errors.Invalid.field("path", str(exc)) from None
    elif request.path is not None:
        path = ""  # the root, and only the root
    if len(request.profiles) > MAX_PROFILES:
        raise errors.Invalid.field("profiles", f"at most {MAX_PROFILES} profiles")
    for index, profile in enumerate(request.profiles):
        if not _PROFILE.match(profile):
            raise errors.Invalid.field(f"profiles[{index}]", "not a compose profile name")
    namespace = request.namespace.strip() if request.namespace else None
    if namespace:
        problem = namespace_problem(namespace)
        if problem:
            raise errors.Invalid.field("namespace", problem)
    return ref or None, path, ImportOptions(tuple(request.profiles), namespace or None)


def stored_analysis(
    analysis: ComposeAnalysis, source: ImportSource, folder: str, files: Sequence[str]
) -> ImportAnalysis:
    """What is kept of an analysis: everything but the Secret values (their key names stay)."""

    def problems(found: Sequence[ComposeProblem]) -> tuple[ImportProblem, ...]:
        return tuple(ImportProblem(p.code, p.message, p.service, p.field) for p in found)

    return ImportAnalysis(
        source=source,
        folder=folder,
        files=tuple(files),
        services=analysis.services,
        volumes=analysis.volumes,
        networks=analysis.networks,
        configs=analysis.configs,
        secrets=analysis.secrets,
        canvas=analysis.canvas,
        secret_keys={node: tuple(sorted(values)) for node, values in analysis.secret_values.items()},
        warnings=problems(analysis.warnings),
        errors=problems(analysis.errors),
    )


def seal_secret_values(keyring: Keyring, values: SecretValues) -> str | None:
    """The ciphertext kept with an import: JSON of ``{node id: {key: value}}`` encrypted with the keyring's
    first key (None when no Secret node has a value)."""
    kept = {node: dict(pairs) for node, pairs in values.items() if pairs}
    return keyring.encrypt(json.dumps(kept, sort_keys=True)) if kept else None


def open_secret_values(keyring: Keyring, ciphertext: str | None) -> dict[str, dict[str, str]]:
    """The values :func:`seal_secret_values` sealed (``{}`` for None); ``Unavailable`` when no key of the
    keyring decrypts them."""
    if ciphertext is None:
        return {}
    try:
        opened = json.loads(keyring.decrypt(ciphertext))
    except KeyringError as exc:
        raise errors.Unavailable(
            "the import's secret values cannot be decrypted with the keys in TRELLIS_ENCRYPTION_KEYS"
        ) from exc
    return {str(node): {str(k): str(v) for k, v in pairs.items()} for node, pairs in opened.items()}


class GitImportNotUsable(errors.Invalid):
    """A Git import that cannot become a workflow (yet): a ``BAD_INPUT`` on ``gitImportId`` whose
    ``extensions`` carry ``importStatus`` and ``reason`` (``RUNNING``, ``FAILED``, ``SEVERAL_PROJECTS``,
    ``VALUES_MISSING``)."""

    def __init__(self, job: GitImport, reason: str, message: str) -> None:
        super().__init__(f"gitImportId: {message}", [errors.FieldError("gitImportId", message)])
        self.status = job.status
        self.reason = reason

    def extensions(self) -> dict[str, Any]:
        return {**super().extensions(), "importStatus": self.status.value, "reason": self.reason}


def usable_analysis(job: GitImport, *, has_values: bool) -> ImportAnalysis:
    """The analysis of ``job`` to make a workflow of; :class:`GitImportNotUsable` says why there is none.
    ``has_values``: whether the import's Secret values were kept (an analysis with Secret keys and no
    kept values was made before they were kept: import again)."""
    if not job.status.finished:
        raise GitImportNotUsable(
            job, "RUNNING", f"the import is still {job.status.value}: wait until it has COMPLETED"
        )
    if job.status is ImportStatus.FAILED:
        raise GitImportNotUsable(job, "FAILED", f"the import FAILED ({job.error}): fix it and import again")
    analysis = job.analysis
    if analysis is None or job.candidates:
        where = f" ({', '.join(job.candidates)})" if job.candidates else ""
        raise GitImportNotUsable(
            job,
            "SEVERAL_PROJECTS",
            f"the repository holds several projects{where}: import again with path set to the one you want",
        )
    if analysis.errors:  # such an import FAILED; kept as a guard
        raise GitImportNotUsable(job, "FAILED", f"the analysis has errors: {analysis.errors[0].message}")
    if any(analysis.secret_keys.values()) and not has_values:
        raise GitImportNotUsable(
            job, "VALUES_MISSING", "the import's secret values were not kept: import the repository again"
        )
    return analysis


class GitImportService:
    def __init__(
        self,
        *,
        store: ImportStore,
        cloner: GitCloner,
        guard: EgressGuard,
        credentials: CredentialSource,
        bus: EventBus,
        tasks: TaskSupervisor,
        clock: Clock,
        auditor: Auditor,
        keyring: Keyring,
        settings: GitImportSettings,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._cloner = cloner
        self._guard = guard
        self._credentials = credentials
        self._bus = bus
        self._tasks = tasks
        self._clock = clock
        self._auditor = auditor
        self._settings = settings
        self._stale_after = timedelta(seconds=settings.limits.timeout_seconds) + STALE_MARGIN

    # --- Starting and reading ---------------------------------------------------------------------------

    async def start(self, principal: Principal, request: GitImportRequest) -> GitImport:
        """Check the request (nothing is written when it is refused), record a PENDING import and start
        its job in the background; the import as recorded."""
        async with self._auditor.action(
            "import.git", actor_id=principal.user_id, target_type="import", workspace_id=request.workspace_id
        ) as record:
            if request.workspace_id not in principal.scope:
                raise errors.NotFound("workspace", request.workspace_id)
            principal.require_write(request.workspace_id)
            try:
                repository = parse_repository_url(request.url, allow_http=self._settings.allow_http)
            except RepositoryUrlError as exc:
                raise errors.Invalid.field("url", str(exc)) from None
            ref, path, options = _checked_options(request)
            target = await self._guard.check_url(repository.url, schemes=self._schemes())
            now = self._clock.now()
            job = GitImport(
                id=new_id(),
                workspace_id=request.workspace_id,
                created_by=principal.user_id,
                url=repository.url,
                ref=ref,
                path=path,
                options=options,
                status=ImportStatus.PENDING,
                created_at=now,
                updated_at=now,
                percent=PENDING_PERCENT,
            ).logged(ImportLogLine(now, "INFO", f"queued: {repository.url}{_at(ref)}{_in(path)}"))
            await self._store.insert_import(job)
            record.target_id = job.id
            record.detail = {"url": repository.url}
        tools = _JobTools(
            store=self._store,
            cloner=self._cloner,
            credentials=self._credentials,
            clock=self._clock,
            keyring=self._keyring,
            limits=self._settings.limits,
            publish=self.publish,
        )
        self._tasks.spawn(f"git-import-{job.id}", _Job(tools, job, repository, target.addresses).run())
        return job

    async def get(self, principal: Principal, import_id: str) -> GitImport:
        """The import (``NOT_FOUND`` outside the caller's workspaces). One left unfinished by a server
        that died is reported FAILED."""
        job = await self._store.get_import(principal.scope, import_id)
        if job is None:
            raise errors.NotFound("import", import_id)
        if not job.status.finished and job.updated_at < self._clock.now() - self._stale_after:
            await self.sweep()
            job = await self._store.get_import(principal.scope, import_id) or job
        return job

    async def sweep(self) -> list[GitImport]:
        """Fail the imports left unfinished by servers that stopped without finishing them."""
        now = self._clock.now()
        failed = await self._store.fail_stale_imports(
            updated_before=now - self._stale_after, at=now, reason=SERVER_STOPPED
        )
        for job in failed:
            await self.publish(job, EventType.COMPLETE, 1)
        return failed

    async def updates(
        self, principal: Principal, import_id: str, reauthorize: Callable[[], Awaitable[Principal]]
    ) -> AsyncGenerator[ImportUpdate, None]:
        """``importProgress``: METADATA (the import so far, its log included), a PROGRESS for every
        change, in order, COMPLETE when it has finished (at once for a finished import).

        Each event carries the change itself (:func:`progress_payload`), so no step is skipped however
        fast the next one follows; an event missed (a dropped queue, a bus reconnect) makes the stream
        read the import again. Access is re-checked at least every ``recheck_seconds``."""
        async with self._bus.subscribe(import_topic(import_id)) as subscription:  # first: miss nothing
            job = await self.get(principal, import_id)
            yield ImportUpdate(ImportEvent.METADATA, job)
            if job.status.finished:
                yield ImportUpdate(ImportEvent.COMPLETE, job)
                return
            events = subscription.__aiter__()
            while True:
                try:
                    event: Event | None = await asyncio.wait_for(
                        events.__anext__(), timeout=self._settings.recheck_seconds
                    )
                except TimeoutError:
                    event = None
                except StopAsyncIteration:
                    return
                if event is None or event.type not in (EventType.NODE_UPDATE, EventType.COMPLETE):
                    current = await self.get(await reauthorize(), import_id)  # a re-check or a resync
                else:
                    seen = event.payload.get("revision")
                    if isinstance(seen, int) and seen <= job.revision:
                        continue  # a change the METADATA already held
                    current = apply_progress(job, event.payload) or await self.get(
                        await reauthorize(), import_id
                    )
                if current.revision <= job.revision:
                    continue
                job = current
                if job.status.finished:
                    # The analysis travels in no event: the import as stored has it.
                    yield ImportUpdate(ImportEvent.COMPLETE, await self.get(await reauthorize(), import_id))
                    return
                yield ImportUpdate(ImportEvent.PROGRESS, job)

    # --- What the job uses -------------------------------------------------------------------------------

    def _schemes(self) -> tuple[str, ...]:
        return ("https", "ssh", "http") if self._settings.allow_http else ("https", "ssh")

    async def publish(self, job: GitImport, kind: EventType, new_lines: int) -> None:
        """Tell the subscribers of ``import:<id>`` what changed: NODE_UPDATE (the import is the one node
        of its stream) or COMPLETE (it finished), with :func:`progress_payload`."""
        event = Event(kind, import_topic(job.id), self._clock.now(), progress_payload(job, new_lines))
        try:
            await self._bus.publish(event)
        except Exception:  # a lost live update never fails the import; the stored import is the truth
            log.exception("publishing %s for import %s failed", kind.value, job.id)


def _at(ref: str | None) -> str:
    return f" at {ref}" if ref else " (default branch)"


def _in(path: str | None) -> str:
    if path is None:
        return ""
    return f", in {path or 'the root folder'}"


@dataclass(frozen=True, slots=True)
class _JobTools:
    """What a job works with (the service's collaborators)."""

    store: ImportStore
    cloner: GitCloner
    credentials: CredentialSource
    clock: Clock
    keyring: Keyring
    limits: CloneLimits
    publish: Callable[[GitImport, EventType, int], Awaitable[None]]


class _Job:
    """One import's run: it owns the record while the import is unfinished."""

    def __init__(
        self, tools: _JobTools, job: GitImport, repository: RepositoryUrl, addresses: Sequence[str]
    ) -> None:
        self._tools = tools
        self._job = job
        self._repository = repository
        self._addresses = tuple(addresses)

    async def _update(
        self,
        *,
        line: str | None = None,
        level: str = "INFO",
        kind: EventType = EventType.NODE_UPDATE,
        secret_values: str | None = None,
        **changes: object,
    ) -> None:
        """Save the import with ``changes`` (and a log ``line``, and the ciphertext of its Secret values),
        then publish it. NODE_UPDATE on the bus means "the import changed" (an import is the one node of
        its stream), COMPLETE "it finished"."""
        now = self._tools.clock.now()
        revision = self._job.revision + 1
        job = replace(self._job, updated_at=now, revision=revision, **changes)  # type: ignore[arg-type]
        if line:
            job = job.logged(ImportLogLine(now, level, line))
        await self._tools.store.save_import(job, secret_values=secret_values)
        self._job = job
        await self._tools.publish(job, kind, 1 if line else 0)

    async def _end(
        self, status: ImportStatus, line: str, *, secret_values: str | None = None, **changes: object
    ) -> None:
        failed = status is ImportStatus.FAILED
        await self._update(
            status=status,
            line=line,
            level="ERROR" if failed else "INFO",
            kind=EventType.COMPLETE,
            secret_values=secret_values,
            **({"error": line} if failed else {"percent": DONE_PERCENT}),
            **changes,
        )

    async def run(self) -> None:
        try:
            await self._clone_and_analyse()
        except asyncio.CancelledError:
            await self._fail(SERVER_STOPPED)
            raise
        except (CloneFailed, errors.TrellisError) as exc:
            await self._fail(exc.message)
        except Exception:
            log.exception("import %s failed unexpectedly", self._job.id)
            await self._fail("the import failed unexpectedly; the server log has the details")

    async def _fail(self, reason: str) -> None:
        if self._job.status.finished:
            return
        try:
            await self._end(ImportStatus.FAILED, reason)
        except errors.Conflict:
            pass  # already finished (a sweep got there first)
        except Exception:
            log.exception("import %s could not be marked FAILED (%s)", self._job.id, reason)

    async def _clone_and_analyse(self) -> None:
        tools = self._tools
        job = self._job
        auth = await tools.credentials.auth_for(job.workspace_id, job.url)
        using = f" with the workspace's Git credential for {self._repository.host}" if auth else ""
        await self._update(
            status=ImportStatus.CLONING, percent=CLONE_START, line=f"cloning {job.url}{_at(job.ref)}{using}"
        )
        reported = CLONE_START

        async def progress(report: CloneProgress) -> None:
            nonlocal reported
            percent = CLONE_START + (CLONE_END - CLONE_START) * report.percent // 100
            if percent >= reported + PROGRESS_STEP:
                reported = percent
                await self._update(percent=percent)

        async with tools.cloner.clone(
            job.url, job.ref, auth=auth, limits=tools.limits, addresses=self._addresses, on_progress=progress
        ) as checkout:
            left_out = len(checkout.skipped)
            skipped = f"; left out {left_out} symbolic links or submodules" if left_out else ""
            await self._update(
                status=ImportStatus.ANALYZING,
                percent=ANALYZING_PERCENT,
                commit=checkout.commit,
                line=f"checked out {len(checkout.files)} files at {checkout.commit[:12]}{skipped}",
            )
            found = discover(checkout.files, job.path)
            if found.problem is not None:
                await self._end(ImportStatus.FAILED, found.problem)
                return
            if found.candidates:
                what = "compose projects" if found.compose_candidates else "projects to build"
                advice = (
                    f"several {what} were found ({', '.join(found.candidates)}): import again with path "
                    "set to the one you want"
                )
                await self._end(ImportStatus.COMPLETED, advice, candidates=found.candidates, message=advice)
                return
            analysis, secret_values = await asyncio.to_thread(self._analyse, found, checkout)
        await self._finish(analysis, secret_values)

    def _analyse(self, found: Discovery, checkout: Checkout) -> tuple[ImportAnalysis, SecretValues]:
        """Read the project's files and analyse them (in a worker thread: CPU work and file reads); the
        analysis as stored and the Secret values found."""
        job = self._job
        project = checkout.project
        if found.compose is not None:
            compose = found.compose
            texts = []
            for path in compose.files:
                text = project.read(path)
                if text is None:
                    raise errors.Invalid(
                        f"{path} could not be read: it is larger than 1 MiB or not UTF-8 text"
                    )
                texts.append(text)
            analysis = analyze(
                texts,
                env_text=project.read(posixpath.join(compose.folder, ENV_FILE)),
                namespace=job.options.namespace,
                profiles=job.options.profiles or None,
                project=project,
                base_dir=compose.folder,
            )
            canvas = with_repository(analysis.canvas, repo_url=job.url, ref=job.ref or checkout.commit)
            stored = stored_analysis(
                replace(analysis, canvas=canvas), ImportSource.COMPOSE, compose.folder, compose.files
            )
            return stored, analysis.secret_values
        source = found.project
        assert source is not None
        analysis = project_analysis(
            source,
            dockerfile_text=project.read(source.dockerfile) if source.dockerfile else None,
            name=posixpath.basename(source.folder) if source.folder else self._repository.name,
            namespace=job.options.namespace,
            repo_url=job.url,
            ref=job.ref or checkout.commit,
        )
        marker = source.dockerfile or (f"{source.language.name} project" if source.language else "project")
        return stored_analysis(
            analysis, ImportSource.PROJECT, source.folder, (marker,)
        ), analysis.secret_values

    async def _finish(self, analysis: ImportAnalysis, secret_values: SecretValues) -> None:
        where = analysis.folder or "the root folder"
        if analysis.errors:
            reason = (
                f"the project in {where} cannot be imported: {len(analysis.errors)} error(s), the first: "
                f"{analysis.errors[0].message}"
            )
            await self._end(ImportStatus.FAILED, reason, analysis=analysis)
            return
        if analysis.source is ImportSource.COMPOSE:
            summary = f"analysed {', '.join(analysis.files)}"
        else:
            summary = f"no compose file in {where}: one service built from source ({analysis.files[0]})"
        summary += (
            f": {len(analysis.services)} service(s), {len(analysis.canvas.nodes)} node(s), "
            f"{len(analysis.warnings)} warning(s)"
        )
        sealed = seal_secret_values(self._tools.keyring, secret_values)
        await self._end(
            ImportStatus.COMPLETED, summary, analysis=analysis, message=summary, secret_values=sealed
        )
