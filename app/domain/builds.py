"""Image builds: the record of one build, its log, and the rules for what a user may ask for.

A :class:`Build` moves ``PENDING → CLONING → BUILDING → PUSHING → COMPLETED | FAILED | CANCELLED``. It
waits in the queue while ``PENDING`` and not yet ``started_at`` (its ``queue_position`` is then shown);
once started (dispatched) it is owned by one server process (``owner``, proving itself alive with
``heartbeat_at``), which runs its Kubernetes Job and follows the Job's pod.

The log keeps at most a configured number of lines: the oldest go first, counted in ``trimmed``, and a
reader sees a marker line in their place (:meth:`Build.log_lines`). Each line has a ``seq`` that counts
every line the build ever had, so a stream can tell the lines it has sent from the new ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

MAX_IMAGE_NAME = 200
MAX_IMAGE_TAG = 128
MAX_BUILD_ARGS = 100
MAX_BUILD_ARG_VALUE = 4096
MAX_TARGET = 128
MAX_MESSAGE = 2000
DEFAULT_TAG = "latest"
DEFAULT_DOCKERFILE = "Dockerfile"

# Overall percentages of the steps; BuildKit's "[k/n]" steps fill BUILD_START..BUILD_END.
QUEUED_PERCENT = 0
CLONE_PERCENT = 5
DOCKERFILE_PERCENT = 15
BUILD_START = 25
BUILD_END = 70
PUSH_PERCENT = 75
DONE_PERCENT = 100

_NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = re.compile(rf"^{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class BuildStatus(StrEnum):
    PENDING = "PENDING"  # queued, or its Job is starting
    CLONING = "CLONING"
    BUILDING = "BUILDING"  # generating the Dockerfile, or building
    PUSHING = "PUSHING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (BuildStatus.COMPLETED, BuildStatus.FAILED, BuildStatus.CANCELLED)


class BuildStage(StrEnum):
    """Where a failed build stopped."""

    CLONE = "CLONE"
    DOCKERFILE = "DOCKERFILE"
    BUILD = "BUILD"
    PUSH = "PUSH"


class LogSource(StrEnum):
    """Who wrote a log line: Trellis itself, or one of the build pod's containers."""

    TRELLIS = "TRELLIS"
    CLONE = "CLONE"
    DOCKERFILE = "DOCKERFILE"
    BUILDKIT = "BUILDKIT"


@dataclass(frozen=True, slots=True)
class BuildLogLine:
    seq: int  # 1 for the build's first line ever; the trim marker has 0
    at: datetime
    source: LogSource
    message: str


@dataclass(frozen=True, slots=True)
class Build:
    """One build. ``image_repository`` is ``<registry host>/<image name>`` as pushed (fixed at start);
    ``context_path`` is relative to the repository root (``""``: the root) and ``dockerfile_path``
    relative to the context. ``lines_seen`` counts the lines read from each container's log (so a
    server that takes a build over does not store them twice). ``revision`` counts the saves."""

    id: str
    workspace_id: str
    created_by: str
    cluster_id: str
    registry_id: str
    repo_url: str
    ref: str | None
    context_path: str
    dockerfile_path: str
    use_nixpacks: bool
    target: str | None
    build_args: tuple[tuple[str, str], ...]
    image_repository: str
    image_name: str
    image_tag: str
    status: BuildStatus
    created_at: datetime
    updated_at: datetime
    workflow_id: str | None = None
    node_id: str | None = None
    error_stage: BuildStage | None = None
    message: str | None = None
    percent: int = QUEUED_PERCENT
    digest: str | None = None
    commit: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    logs: tuple[BuildLogLine, ...] = ()
    trimmed: int = 0
    lines_seen: Mapping[str, int] = field(default_factory=dict)
    owner: str | None = None
    heartbeat_at: datetime | None = None
    revision: int = 0
    secret_deleted: bool = False  # the short-lived Secret is gone (or was never made)
    queue_position: int | None = None  # computed when read: 1 is next in line; not stored

    @property
    def image(self) -> str:
        """The reference pushed: ``host/name:tag``."""
        return f"{self.image_repository}:{self.image_tag}"

    @property
    def image_by_digest(self) -> str | None:
        """``host/name@sha256:…`` once pushed."""
        return f"{self.image_repository}@{self.digest}" if self.digest else None

    @property
    def queued(self) -> bool:
        return self.status is BuildStatus.PENDING and self.started_at is None

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0, int((self.finished_at - self.started_at).total_seconds() * 1000))

    @property
    def next_seq(self) -> int:
        return (self.logs[-1].seq if self.logs else self.trimmed) + 1

    def log_lines(self) -> tuple[BuildLogLine, ...]:
        """The stored lines, after a marker line when older ones were trimmed."""
        if not self.trimmed:
            return self.logs
        at = self.logs[0].at if self.logs else self.updated_at
        return (trim_marker(self.trimmed, at), *self.logs)

    def logged(self, lines: Iterable[tuple[datetime, LogSource, str]], max_lines: int) -> Build:
        """This build with ``lines`` appended (numbered on), the oldest trimmed beyond ``max_lines``."""
        seq = self.next_seq
        added = []
        for at, source, message in lines:
            added.append(BuildLogLine(seq, at, source, message))
            seq += 1
        logs = (*self.logs, *added)
        trimmed = self.trimmed
        if len(logs) > max_lines:
            trimmed += len(logs) - max_lines
            logs = logs[len(logs) - max_lines :]
        return replace(self, logs=logs, trimmed=trimmed)


@dataclass(frozen=True, slots=True)
class BuildFilter:
    status: BuildStatus | None = None
    workflow_id: str | None = None


def trim_marker(trimmed: int, at: datetime) -> BuildLogLine:
    word = "line" if trimmed == 1 else "lines"
    return BuildLogLine(0, at, LogSource.TRELLIS, f"… {trimmed} earlier {word} trimmed")


def build_topic(build_id: str) -> str:
    """The event-bus topic of one build's progress and log."""
    return f"build:{build_id}"


# --- What a user may ask for ----------------------------------------------------------------------------


def check_image_name(name: str) -> str:
    """A repository path as the OCI distribution spec allows it (``team/app``), without host or tag;
    ``ValueError`` saying why not."""
    if not name:
        raise ValueError("give the image's name, e.g. team/app")
    if len(name) > MAX_IMAGE_NAME:
        raise ValueError(f"at most {MAX_IMAGE_NAME} characters")
    if ":" in name or "@" in name:
        raise ValueError("give the name without a tag or digest (the tag goes in imageTag)")
    if not _IMAGE_NAME.match(name):
        raise ValueError(
            "lower-case letters, digits and separators (. _ __ -) in path components joined by /, "
            "e.g. team/app"
        )
    return name


def check_image_tag(tag: str) -> str:
    if not _IMAGE_TAG.match(tag):
        raise ValueError(
            f"1 to {MAX_IMAGE_TAG} letters, digits, _ . or -, not starting with . or -, e.g. v1.2.0"
        )
    return tag


def check_target(target: str) -> str:
    if len(target) > MAX_TARGET or not _TARGET.match(target):
        raise ValueError("the name of a stage of the Dockerfile (letters, digits, _ . -)")
    return target


def check_build_args(args: Sequence[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Problems of the build arguments as ``(path suffix, message)``; empty when all is well."""
    problems: list[tuple[str, str | None]] = []
    if len(args) > MAX_BUILD_ARGS:
        problems.append(("", f"at most {MAX_BUILD_ARGS} build arguments"))
    seen: set[str] = set()
    for index, (name, value) in enumerate(args):
        if not _ARG_NAME.match(name):
            problems.append(
                (f"[{index}].name", "an ARG name: letters, digits and _, not starting with a digit")
            )
        elif name in seen:
            problems.append((f"[{index}].name", f"{name} is given twice"))
        seen.add(name)
        if len(value) > MAX_BUILD_ARG_VALUE:
            problems.append((f"[{index}].value", f"at most {MAX_BUILD_ARG_VALUE} characters"))
        elif any(ord(ch) < 0x20 and ch not in "\t" for ch in value) or "\x7f" in value:
            problems.append((f"[{index}].value", "no control characters or line breaks"))
    return problems


def short_message(text: str) -> str:
    """A message cut to what a record keeps."""
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


# --- Progress events ------------------------------------------------------------------------------------


def line_to_payload(line: BuildLogLine) -> dict[str, Any]:
    return {"seq": line.seq, "at": line.at.isoformat(), "source": line.source.value, "message": line.message}


def line_from_payload(payload: Mapping[str, Any]) -> BuildLogLine:
    return BuildLogLine(
        int(payload["seq"]),
        datetime.fromisoformat(str(payload["at"])),
        LogSource(payload["source"]),
        str(payload["message"]),
    )


def progress_payload(build: Build, new_lines: Sequence[BuildLogLine], *, changed: bool) -> dict[str, Any]:
    """What an event says about a save of ``build`` (JSON-safe): its revision, whether its status,
    percent or message ``changed``, its status, and the lines added by the save."""
    return {
        "revision": build.revision,
        "changed": changed,
        "status": build.status.value,
        "lines": [line_to_payload(line) for line in new_lines],
    }
