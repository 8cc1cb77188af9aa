"""Git imports: the job, its log, its events, and the input and payload of `importFromGit`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.compose import ComposeAnalysis, ComposeProblem
from app.domain.imports import GitImport, ImportAnalysis, ImportProblem
from app.services.git_imports import ImportUpdate
from schema.auth.types import User
from schema.context import Info
from schema.imports import ComposeAnalysisResult


@strawberry.enum(description="Where an import from Git is.")
class ComposeImportStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Recorded; the job is about to start.")
    CLONING = strawberry.enum_value("CLONING", description="Fetching the repository (shallow, bounded).")
    ANALYZING = strawberry.enum_value("ANALYZING", description="Finding and analysing the project.")
    COMPLETED = strawberry.enum_value(
        "COMPLETED", description="Done: an analysis, or `candidates` to choose from."
    )
    FAILED = strawberry.enum_value("FAILED", description="Stopped; `error` says why.")


@strawberry.enum(description="What an import was made from.")
class ComposeImportSource(Enum):
    COMPOSE = strawberry.enum_value("COMPOSE", description="Compose files (and their override).")
    PROJECT = strawberry.enum_value(
        "PROJECT",
        description="No compose file: a Dockerfile or a language project, one service built from source.",
    )


@strawberry.enum(description="What an event of `importProgress` says.")
class ComposeImportEventType(Enum):
    METADATA = strawberry.enum_value("METADATA", description="First: the import as it is now, log included.")
    PROGRESS = strawberry.enum_value("PROGRESS", description="It changed: status, percent or log.")
    COMPLETE = strawberry.enum_value("COMPLETE", description="It finished (COMPLETED or FAILED); the end.")


@strawberry.type(description="One line of an import's log.")
class ComposeImportLogLine:
    at: datetime = strawberry.field(description="When.")
    level: str = strawberry.field(description="INFO, WARNING or ERROR.")
    message: str = strawberry.field(description="What happened.")


def _compose_problems(problems: tuple[ImportProblem, ...]) -> tuple[ComposeProblem, ...]:
    return tuple(ComposeProblem(p.code, p.message, p.service, p.field) for p in problems)


def analysis_result(analysis: ImportAnalysis) -> ComposeAnalysisResult:
    """The stored analysis as `analyzeCompose` shows one (Secret key names only: values are not kept)."""
    return ComposeAnalysisResult.from_domain(
        ComposeAnalysis(
            services=analysis.services,
            volumes=analysis.volumes,
            networks=analysis.networks,
            configs=analysis.configs,
            secrets=analysis.secrets,
            canvas=analysis.canvas,
            secret_values={node: dict.fromkeys(keys, "") for node, keys in analysis.secret_keys.items()},
            warnings=_compose_problems(analysis.warnings),
            errors=_compose_problems(analysis.errors),
        )
    )


@strawberry.type(
    description="An import from a Git repository: PENDING → CLONING → ANALYZING → COMPLETED | FAILED. "
    "Follow it with `importProgress`; the clone itself is removed when the job ends."
)
class ComposeImport:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    url: str = strawberry.field(description="The repository (scp-style addresses as `ssh://`).")
    ref: str | None = strawberry.field(description="Branch, tag or commit asked for (null: default branch).")
    path: str | None = strawberry.field(
        description="Folder or file asked for (null: searched everywhere; empty: the root only)."
    )
    profiles: list[str] = strawberry.field(description="Compose profiles enabled.")
    namespace: str | None = strawberry.field(description="Namespace given to the nodes.")
    status: ComposeImportStatus = strawberry.field(description="Where it is.")
    percent: int = strawberry.field(description="How far, 0 to 100.")
    log: list[ComposeImportLogLine] = strawberry.field(description="What happened, in order (bounded).")
    error: str | None = strawberry.field(description="Why it FAILED.")
    message: str | None = strawberry.field(description="What to do next, or a summary of the analysis.")
    candidates: list[str] = strawberry.field(
        description="Folders holding a project (`.` for the root) when several were found: import again "
        "with `path` set to one of them. No analysis is made then."
    )
    commit: str | None = strawberry.field(description="The commit imported (full sha).")
    source: ComposeImportSource | None = strawberry.field(description="What the analysis was made from.")
    folder: str | None = strawberry.field(
        description="The folder of the project analysed (`.` for the root)."
    )
    files: list[str] = strawberry.field(
        description="Compose files read (first, then override), or the Dockerfile or project found."
    )
    analysis: ComposeAnalysisResult | None = strawberry.field(
        description="The suggested nodes and edges, warnings and errors. Secret values found in the "
        "repository are not kept: Secret nodes list their key names only."
    )
    created_at: datetime = strawberry.field(description="When it was started.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    created_by_id: strawberry.Private[str]

    @strawberry.field(description="Who started it.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, job: GitImport) -> ComposeImport:
        analysis = job.analysis
        return cls(
            id=strawberry.ID(job.id),
            workspace_id=strawberry.ID(job.workspace_id),
            url=job.url,
            ref=job.ref,
            path=job.path,
            profiles=list(job.options.profiles),
            namespace=job.options.namespace,
            status=ComposeImportStatus(job.status.value),
            percent=job.percent,
            log=[
                ComposeImportLogLine(at=line.at, level=line.level, message=line.message) for line in job.logs
            ],
            error=job.error,
            message=job.message,
            candidates=list(job.candidates),
            commit=job.commit,
            source=ComposeImportSource(analysis.source.value) if analysis else None,
            folder=(analysis.folder or ".") if analysis else None,
            files=list(analysis.files) if analysis else [],
            analysis=analysis_result(analysis) if analysis else None,
            created_at=job.created_at,
            updated_at=job.updated_at,
            created_by_id=job.created_by,
        )


@strawberry.type(description="An event of `importProgress`.")
class ComposeImportEvent:
    type: ComposeImportEventType = strawberry.field(
        description="METADATA first, then PROGRESS…, COMPLETE last."
    )
    at: datetime = strawberry.field(description="When the import was in this state.")
    compose_import: ComposeImport = strawberry.field(description="The whole import as it is now.")

    @classmethod
    def from_domain(cls, update: ImportUpdate) -> ComposeImportEvent:
        return cls(
            type=ComposeImportEventType(update.type.value),
            at=update.job.updated_at,
            compose_import=ComposeImport.from_domain(update.job),
        )


@strawberry.input(description="A repository to import a compose project (or a buildable project) from.")
class ImportFromGitInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace (editors and owners).")
    url: str = strawberry.field(
        description="`https://…`, `ssh://…` or `git@host:path` (and `http://…` where the operator allows "
        "it). Credentials never go in the URL: store a Git credential for the host."
    )
    ref: str | None = strawberry.field(
        default=None, description="A branch, a tag or a full commit sha; the default branch if omitted."
    )
    path: str | None = strawberry.field(
        default=None,
        description="The folder (or compose file) to import; omitted: the whole repository is searched; "
        "`.`: the root only.",
    )
    profiles: list[str] | None = strawberry.field(default=None, description="Compose profiles to enable.")
    namespace: str | None = strawberry.field(default=None, description="Namespace for the nodes.")


@strawberry.type(description="The result of `importFromGit`.")
class ImportFromGitPayload:
    compose_import: ComposeImport = strawberry.field(
        description="The import, PENDING: follow it with `importProgress` or read it with `composeImport`."
    )
