"""What both backends share about builds: the document form, the queue's rules and the targeted update of
one node's image.

A build document keys the domain fields by name; ``build_args`` is a list of ``[name, value]`` pairs,
``logs`` a list of line documents and ``lines_seen`` an object (SQLite keeps these three as JSON text).
``queue_position`` is computed when read and never stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.domain.builds import Build, BuildLogLine, BuildStage, BuildStatus, LogSource
from app.domain.workflows import Workflow
from app.errors import Conflict
from app.store.codec import Document, decode_datetime, decode_optional_datetime, encode_datetime
from app.store.codec import encode_optional_datetime as encode_optional

BUILD_ID_TAKEN = "a build with this id already exists"
UNFINISHED_BUILD_STATUSES: tuple[str, ...] = tuple(s.value for s in BuildStatus if not s.finished)
CAS_ATTEMPTS = 20  # compare-and-set retries of a node's image before giving up (a hot workflow)

# The fields save_build rewrites: what an executor changes while it works. The request (repository,
# paths, image, workflow, node…), the workspace, who and when never change.
SAVED_BUILD_FIELDS = (
    "status",
    "error_stage",
    "message",
    "percent",
    "digest",
    "commit_sha",
    "started_at",
    "finished_at",
    "updated_at",
    "logs",
    "trimmed",
    "lines_seen",
    "owner",
    "heartbeat_at",
    "revision",
    "secret_deleted",
)


def build_to_doc(build: Build) -> Document:
    return {
        "id": build.id,
        "workspace_id": build.workspace_id,
        "created_by": build.created_by,
        "cluster_id": build.cluster_id,
        "registry_id": build.registry_id,
        "repo_url": build.repo_url,
        "ref": build.ref,
        "context_path": build.context_path,
        "dockerfile_path": build.dockerfile_path,
        "use_nixpacks": build.use_nixpacks,
        "target": build.target,
        "build_args": [[name, value] for name, value in build.build_args],
        "image_repository": build.image_repository,
        "image_name": build.image_name,
        "image_tag": build.image_tag,
        "workflow_id": build.workflow_id,
        "node_id": build.node_id,
        "status": build.status.value,
        "error_stage": build.error_stage.value if build.error_stage else None,
        "message": build.message,
        "percent": build.percent,
        "digest": build.digest,
        "commit_sha": build.commit,
        "created_at": encode_datetime(build.created_at),
        "updated_at": encode_datetime(build.updated_at),
        "started_at": encode_optional(build.started_at),
        "finished_at": encode_optional(build.finished_at),
        "logs": [
            {
                "seq": line.seq,
                "at": encode_datetime(line.at),
                "source": line.source.value,
                "message": line.message,
            }
            for line in build.logs
        ],
        "trimmed": build.trimmed,
        "lines_seen": dict(build.lines_seen),
        "owner": build.owner,
        "heartbeat_at": encode_optional(build.heartbeat_at),
        "revision": build.revision,
        "secret_deleted": build.secret_deleted,
    }


def build_from_doc(doc: Mapping[str, Any]) -> Build:
    stage = doc.get("error_stage")
    return Build(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        created_by=doc["created_by"],
        cluster_id=doc["cluster_id"],
        registry_id=doc["registry_id"],
        repo_url=doc["repo_url"],
        ref=doc.get("ref"),
        context_path=doc.get("context_path") or "",
        dockerfile_path=doc["dockerfile_path"],
        use_nixpacks=bool(doc.get("use_nixpacks")),
        target=doc.get("target"),
        build_args=tuple((str(pair[0]), str(pair[1])) for pair in doc.get("build_args") or ()),
        image_repository=doc["image_repository"],
        image_name=doc["image_name"],
        image_tag=doc["image_tag"],
        workflow_id=doc.get("workflow_id"),
        node_id=doc.get("node_id"),
        status=BuildStatus(doc["status"]),
        error_stage=BuildStage(stage) if stage else None,
        message=doc.get("message"),
        percent=int(doc.get("percent") or 0),
        digest=doc.get("digest"),
        commit=doc.get("commit_sha"),
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
        started_at=decode_optional_datetime(doc.get("started_at")),
        finished_at=decode_optional_datetime(doc.get("finished_at")),
        logs=tuple(
            BuildLogLine(
                int(line["seq"]), decode_datetime(line["at"]), LogSource(line["source"]), line["message"]
            )
            for line in doc.get("logs") or ()
        ),
        trimmed=int(doc.get("trimmed") or 0),
        lines_seen={str(k): int(v) for k, v in (doc.get("lines_seen") or {}).items()},
        owner=doc.get("owner"),
        heartbeat_at=decode_optional_datetime(doc.get("heartbeat_at")),
        revision=int(doc.get("revision") or 0),
        secret_deleted=bool(doc.get("secret_deleted")),
    )


def finished_build_conflict(build_id: str, status: str) -> Conflict:
    return Conflict(
        f"build {build_id!r} is already {status} and cannot be changed",
        details={"buildId": build_id, "status": status},
    )


def taken_over_conflict(build_id: str, owner: str | None) -> Conflict:
    return Conflict(
        f"build {build_id!r} is now run by another server process",
        details={"buildId": build_id, "owner": owner or ""},
    )


def cancelled(build: Build, *, at: datetime, message: str) -> Build:
    """``build`` as ``cancel_build`` leaves it: CANCELLED with ``message``, logged."""
    logged = build.logged([(at, LogSource.TRELLIS, message)], max_lines=max(len(build.logs) + 1, 1))
    return replace(
        logged,
        status=BuildStatus.CANCELLED,
        message=message,
        finished_at=at,
        updated_at=at,
        revision=build.revision + 1,
        secret_deleted=build.secret_deleted or build.started_at is None,  # a queued build made none
    )


@dataclass(frozen=True, slots=True)
class Limits:
    per_workspace: int
    per_cluster: int


def choose_to_start(queued: Sequence[Build], running: Sequence[Build], limits: Limits) -> list[Build]:
    """Which queued builds (oldest first) may start now without going over a workspace's or a cluster's
    limit of running builds; a blocked build does not hold back later ones that are not blocked."""
    per_workspace: dict[str, int] = {}
    per_cluster: dict[str, int] = {}
    for build in running:
        per_workspace[build.workspace_id] = per_workspace.get(build.workspace_id, 0) + 1
        per_cluster[build.cluster_id] = per_cluster.get(build.cluster_id, 0) + 1
    chosen = []
    for build in queued:
        if per_workspace.get(build.workspace_id, 0) >= limits.per_workspace:
            continue
        if per_cluster.get(build.cluster_id, 0) >= limits.per_cluster:
            continue
        per_workspace[build.workspace_id] = per_workspace.get(build.workspace_id, 0) + 1
        per_cluster[build.cluster_id] = per_cluster.get(build.cluster_id, 0) + 1
        chosen.append(build)
    return chosen


def started(build: Build, *, owner: str, at: datetime) -> Build:
    """``build`` as a claim leaves it: dispatched to ``owner``."""
    return replace(
        build,
        started_at=build.started_at or at,
        owner=owner,
        heartbeat_at=at,
        updated_at=at,
        revision=build.revision + 1,
    )


def with_node_image(workflow: Workflow, node_id: str, image: str, at: datetime) -> Workflow | None:
    """The workflow with one node's ``image`` set, at the next revision; None when the node is gone."""
    nodes = workflow.canvas.nodes
    if not any(node.id == node_id for node in nodes):
        return None
    changed = tuple(
        replace(node, data={**node.data, "image": image}) if node.id == node_id else node for node in nodes
    )
    return replace(
        workflow,
        canvas=replace(workflow.canvas, nodes=changed),
        revision=workflow.revision + 1,
        updated_at=at,
    )
