"""Builds: the record, its log, its events, and the inputs and payloads of `startBuild` and `cancelBuild`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.builds import Build as DomainBuild
from app.domain.builds import BuildFilter as DomainBuildFilter
from app.domain.builds import BuildLogLine as DomainBuildLogLine
from app.domain.builds import BuildStatus as DomainBuildStatus
from app.services.builds import BuildLogUpdate, BuildUpdate
from schema.auth.types import User
from schema.context import Info


@strawberry.enum(
    description="Where a build is: PENDING → CLONING → BUILDING → PUSHING → COMPLETED | FAILED | CANCELLED."
)
class BuildStatus(Enum):
    PENDING = strawberry.enum_value(
        "PENDING", description="Queued (see `queuePosition`), or its Job is starting in the cluster."
    )
    CLONING = strawberry.enum_value("CLONING", description="Fetching the repository (shallow, one commit).")
    BUILDING = strawberry.enum_value(
        "BUILDING", description="Preparing the Dockerfile (Nixpacks when asked), then building with BuildKit."
    )
    PUSHING = strawberry.enum_value("PUSHING", description="Exporting and pushing the image to the registry.")
    COMPLETED = strawberry.enum_value(
        "COMPLETED", description="Pushed: `digest` and `imageByDigest` are set."
    )
    FAILED = strawberry.enum_value(
        "FAILED", description="Stopped: `errorStage` and `message` say where and why."
    )
    CANCELLED = strawberry.enum_value(
        "CANCELLED", description="Stopped by `cancelBuild`; its Job was deleted."
    )


@strawberry.enum(description="The step a failed build stopped at.")
class BuildErrorStage(Enum):
    CLONE = strawberry.enum_value("CLONE", description="Cloning the repository.")
    DOCKERFILE = strawberry.enum_value("DOCKERFILE", description="Finding or generating the Dockerfile.")
    BUILD = strawberry.enum_value("BUILD", description="Building the image.")
    PUSH = strawberry.enum_value("PUSH", description="Pushing the image to the registry.")


@strawberry.enum(description="Who wrote a line of a build's log.")
class BuildLogSource(Enum):
    TRELLIS = strawberry.enum_value("TRELLIS", description="Trellis itself (queue, Job, outcome).")
    CLONE = strawberry.enum_value("CLONE", description="The `clone` init container.")
    DOCKERFILE = strawberry.enum_value(
        "DOCKERFILE", description="The `dockerfile` init container (Nixpacks)."
    )
    BUILDKIT = strawberry.enum_value("BUILDKIT", description="The `buildkit` container (build and push).")


@strawberry.enum(description="What an event of `buildProgress` says.")
class BuildProgressEventType(Enum):
    METADATA = strawberry.enum_value("METADATA", description="First: the build as it is now.")
    PROGRESS = strawberry.enum_value(
        "PROGRESS", description="Its status, percent, message or queue position changed."
    )
    COMPLETE = strawberry.enum_value(
        "COMPLETE", description="It ended (COMPLETED, FAILED or CANCELLED); the end."
    )


@strawberry.enum(description="What an event of `buildLogs` carries.")
class BuildLogEventType(Enum):
    LINE = strawberry.enum_value("LINE", description="One log line, in order.")
    COMPLETE = strawberry.enum_value("COMPLETE", description="The build ended; its final status. The end.")


@strawberry.type(description="One line of a build's log.")
class BuildLogLine:
    seq: int = strawberry.field(
        description="Its number among every line the build had (1 first); 0 for the marker of trimmed lines."
    )
    at: datetime = strawberry.field(description="When Trellis received it.")
    source: BuildLogSource = strawberry.field(description="Who wrote it.")
    message: str = strawberry.field(description="The line.")

    @classmethod
    def from_domain(cls, line: DomainBuildLogLine) -> BuildLogLine:
        return cls(seq=line.seq, at=line.at, source=BuildLogSource(line.source.value), message=line.message)


@strawberry.type(description="A build argument (`ARG`) and its value.")
class BuildArg:
    name: str = strawberry.field(description="The ARG name.")
    value: str = strawberry.field(description="Its value.")


@strawberry.type(
    description="An image built in a cluster from a Git repository and pushed to a registry. Runs as a "
    "Kubernetes Job (clone, Dockerfile, rootless BuildKit); follow it with `buildProgress` and `buildLogs`."
)
class Build:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    cluster_id: strawberry.ID = strawberry.field(description="The cluster it runs in.")
    registry_id: strawberry.ID = strawberry.field(description="The registry it pushes to.")
    repo_url: str = strawberry.field(description="The repository (scp-style addresses as `ssh://`).")
    ref: str | None = strawberry.field(description="Branch, tag or commit built (null: the default branch).")
    commit: str | None = strawberry.field(description="The commit cloned (full sha), once known.")
    context_path: str = strawberry.field(description="The build context, relative to the repository root.")
    dockerfile_path: str = strawberry.field(description="The Dockerfile, relative to the context.")
    use_nixpacks: bool = strawberry.field(description="The Dockerfile is generated with Nixpacks.")
    target: str | None = strawberry.field(description="The stage of a multi-stage Dockerfile built.")
    build_args: list[BuildArg] = strawberry.field(description="Build arguments.")
    image_name: str = strawberry.field(description="The image's name (repository path) in the registry.")
    image_tag: str = strawberry.field(description="The tag pushed.")
    image: str = strawberry.field(description="The reference pushed: `host/name:tag`.")
    digest: str | None = strawberry.field(
        description="The pushed image's digest (`sha256:…`), once COMPLETED."
    )
    image_by_digest: str | None = strawberry.field(
        description="`host/name@sha256:…`, once COMPLETED (what the node's image becomes)."
    )
    workflow_id: strawberry.ID | None = strawberry.field(description="The workflow it builds for, if any.")
    node_id: strawberry.ID | None = strawberry.field(
        description="The node whose image becomes the pushed image (by digest) when it completes."
    )
    status: BuildStatus = strawberry.field(description="Where it is.")
    error_stage: BuildErrorStage | None = strawberry.field(
        description="Where a FAILED build stopped (null when it failed before its pod ran)."
    )
    message: str | None = strawberry.field(description="What is happening, or why it failed, for a person.")
    percent: int = strawberry.field(description="How far, 0 to 100.")
    queue_position: int | None = strawberry.field(
        description="While it waits to start: its place in its workspace's queue (1: next)."
    )
    created_at: datetime = strawberry.field(description="When it was asked for.")
    started_at: datetime | None = strawberry.field(description="When it left the queue.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")
    duration_ms: int | None = strawberry.field(description="From start to end, in milliseconds.")
    logs: list[BuildLogLine] = strawberry.field(
        description="Its log, oldest first (bounded: a marker line stands for trimmed older lines)."
    )
    trimmed_lines: int = strawberry.field(description="How many of the oldest lines were trimmed.")
    created_by_id: strawberry.Private[str]

    @strawberry.field(description="Who started it.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, build: DomainBuild) -> Build:
        return cls(
            id=strawberry.ID(build.id),
            workspace_id=strawberry.ID(build.workspace_id),
            cluster_id=strawberry.ID(build.cluster_id),
            registry_id=strawberry.ID(build.registry_id),
            repo_url=build.repo_url,
            ref=build.ref,
            commit=build.commit,
            context_path=build.context_path or ".",
            dockerfile_path=build.dockerfile_path,
            use_nixpacks=build.use_nixpacks,
            target=build.target,
            build_args=[BuildArg(name=name, value=value) for name, value in build.build_args],
            image_name=build.image_name,
            image_tag=build.image_tag,
            image=build.image,
            digest=build.digest,
            image_by_digest=build.image_by_digest,
            workflow_id=strawberry.ID(build.workflow_id) if build.workflow_id else None,
            node_id=strawberry.ID(build.node_id) if build.node_id else None,
            status=BuildStatus(build.status.value),
            error_stage=BuildErrorStage(build.error_stage.value) if build.error_stage else None,
            message=build.message,
            percent=build.percent,
            queue_position=build.queue_position,
            created_at=build.created_at,
            started_at=build.started_at,
            finished_at=build.finished_at,
            duration_ms=build.duration_ms,
            logs=[BuildLogLine.from_domain(line) for line in build.log_lines()],
            trimmed_lines=build.trimmed,
            created_by_id=build.created_by,
        )


@strawberry.type(description="An event of `buildProgress`.")
class BuildProgressEvent:
    type: BuildProgressEventType = strawberry.field(
        description="METADATA first, then PROGRESS…, COMPLETE last."
    )
    at: datetime = strawberry.field(description="When the build was in this state.")
    build: Build = strawberry.field(description="The whole build as it is now.")

    @classmethod
    def from_domain(cls, update: BuildUpdate) -> BuildProgressEvent:
        return cls(
            type=BuildProgressEventType(update.type.value),
            at=update.build.updated_at,
            build=Build.from_domain(update.build),
        )


@strawberry.type(description="An event of `buildLogs`: a line, or the end with the final status.")
class BuildLogEvent:
    type: BuildLogEventType = strawberry.field(description="LINE… (every stored line first), COMPLETE last.")
    line: BuildLogLine | None = strawberry.field(description="The line (LINE).")
    status: BuildStatus = strawberry.field(description="The build's status (final with COMPLETE).")
    error_stage: BuildErrorStage | None = strawberry.field(description="Where it stopped, when it FAILED.")
    message: str | None = strawberry.field(description="Its message (why it failed, with COMPLETE).")
    digest: str | None = strawberry.field(description="The pushed digest, with COMPLETE after COMPLETED.")

    @classmethod
    def from_domain(cls, update: BuildLogUpdate) -> BuildLogEvent:
        build = update.build
        return cls(
            type=BuildLogEventType(update.type.value),
            line=BuildLogLine.from_domain(update.line) if update.line else None,
            status=BuildStatus(build.status.value),
            error_stage=BuildErrorStage(build.error_stage.value) if build.error_stage else None,
            message=build.message,
            digest=build.digest,
        )


@strawberry.input(description="A build argument (`ARG`) and its value.")
class BuildArgInput:
    name: str = strawberry.field(description="The ARG name (letters, digits, _).")
    value: str = strawberry.field(description="Its value (no line breaks; visible in the build record).")


@strawberry.input(
    description="Build an image from a Git repository in a cluster and push it to a registry. The workspace "
    "is the registry's. Omitted build settings come from the node's `build` configuration (when `nodeId` is "
    "given), else the defaults."
)
class StartBuildInput:
    repo_url: str = strawberry.field(
        description="`https://…`, `ssh://…` or `git@host:path`. Credentials never go in the URL: the "
        "workspace's Git credential for the host is used."
    )
    registry_id: strawberry.ID = strawberry.field(description="The registry to push to (editors and owners).")
    image_name: str = strawberry.field(description="The image's name in the registry, e.g. `team/app`.")
    image_tag: str | None = strawberry.field(default=None, description="The tag (default `latest`).")
    ref: str | None = strawberry.field(
        default=None, description="A branch, a tag or a full commit sha; the default branch if omitted."
    )
    context_path: str | None = strawberry.field(
        default=None, description="The build context, relative to the repository root (default: the root)."
    )
    dockerfile_path: str | None = strawberry.field(
        default=None, description="The Dockerfile, relative to the context (default `Dockerfile`)."
    )
    use_nixpacks: bool | None = strawberry.field(
        default=None, description="Generate the Dockerfile with Nixpacks (default: only when there is none)."
    )
    target: str | None = strawberry.field(default=None, description="The stage of a multi-stage Dockerfile.")
    build_args: list[BuildArgInput] | None = strawberry.field(default=None, description="Build arguments.")
    workflow_id: strawberry.ID | None = strawberry.field(
        default=None, description="The workflow it is for (its cluster is used when `clusterId` is omitted)."
    )
    node_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A workload node of the workflow: its image becomes the pushed image (by digest) when "
        "the build completes.",
    )
    cluster_id: strawberry.ID | None = strawberry.field(
        default=None, description="The cluster to build in (default: the workflow's)."
    )


@strawberry.type(description="The result of `startBuild`.")
class StartBuildPayload:
    build: Build = strawberry.field(
        description="The build, PENDING (queued or starting): follow it with `buildProgress` and `buildLogs`."
    )


@strawberry.input(description="Stop a build.")
class CancelBuildInput:
    id: strawberry.ID = strawberry.field(description="The build.")


@strawberry.type(description="The result of `cancelBuild`.")
class CancelBuildPayload:
    build: Build = strawberry.field(description="The build, CANCELLED.")


@strawberry.input(description="Which builds to list.")
class BuildFilter:
    status: BuildStatus | None = strawberry.field(default=None, description="Only builds in this status.")
    workflow_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only builds for this workflow."
    )

    def to_domain(self) -> DomainBuildFilter:
        return DomainBuildFilter(
            status=DomainBuildStatus(self.status.name) if self.status else None,
            workflow_id=str(self.workflow_id) if self.workflow_id else None,
        )
