"""Rules both backends share: id allocation, argument checks and the messages of the errors they raise."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from app.domain.runs import Run, RunKind, RunStatus
from app.domain.workflows import Workflow
from app.errors import Conflict

EMAIL_TAKEN = "a user with this e-mail already exists"
LAST_OWNER = "the workspace would be left without an owner"
CLUSTER_NAME_TAKEN = "the workspace already has a cluster of this name"
EXEC_TICKET_TAKEN = "an exec ticket with this id already exists"

# The statuses of a run that is not finished: at most one run of a workflow is in one of them.
UNFINISHED_RUN_STATUSES: tuple[str, ...] = tuple(status.value for status in RunStatus if not status.finished)


def new_id() -> str:
    """A fresh opaque id for records whose id the store allocates (versions)."""
    return str(uuid.uuid4())


def normalise_email(email: str) -> str:
    """E-mail addresses are stored and looked up lower-cased, so uniqueness is case-insensitive."""
    return email.lower()


def check_page_size(first: int) -> None:
    """A page asks for zero or more items; a negative size is a programming error."""
    if first < 0:
        raise ValueError(f"first must be >= 0, not {first}")


def check_next_revision(workflow: Workflow, expected_revision: int) -> None:
    """A compare-and-set writes the revision right after the expected one, never another."""
    if workflow.revision != expected_revision + 1:
        raise ValueError(
            f"workflow {workflow.id!r} carries revision {workflow.revision}, "
            f"expected {expected_revision + 1} (expected_revision + 1)"
        )


def cluster_name_key(name: str) -> str:
    """Cluster names are unique per workspace case-insensitively: this (Unicode-aware) lower-cased form
    is stored beside the name and carries the unique index in both backends."""
    return name.lower()


def check_lease_ttl(ttl: timedelta) -> None:
    """A lease is held for some time; a zero or negative TTL would hand out leases already expired."""
    if ttl <= timedelta(0):
        raise ValueError(f"a lease TTL must be positive, not {ttl}")


def node_id_list(node_ids: Sequence[str]) -> list[str]:
    """The node ids of ``delete_node_healths`` as a list; a bare string (a sequence of characters) is a
    programming error, not the ids of one-letter nodes."""
    if isinstance(node_ids, str):
        raise TypeError("node_ids must be a sequence of node ids, not a string")
    return list(node_ids)


def active_run_conflict(workflow_id: str, run_id: str) -> Conflict:
    """``start_run`` found another unfinished run of the workflow."""
    return Conflict(
        f"workflow {workflow_id!r} already has an unfinished run {run_id!r}", details={"runId": run_id}
    )


def finished_run_conflict(run: Run) -> Conflict:
    """``save_run`` met a run that the store already holds as finished (a finished run is final)."""
    return Conflict(
        f"run {run.id!r} is already {run.status.value} and cannot be changed",
        details={"runId": run.id, "status": run.status.value},
    )


RUN_TAKEN_OVER = "the run is driven by another server process"
STEP_OUTPUT_TAKEN = "this attempt of the step has already posted its output"


def taken_over_run_conflict(run_id: str) -> Conflict:
    """``save_run`` met a run whose stored ``owner`` is another process (it lost its lease on the run)."""
    return Conflict(RUN_TAKEN_OVER, details={"runId": run_id})


def not_reopenable_conflict(run: Run) -> Conflict:
    """``reopen_run`` met a run that is still unfinished, or a deploy run (only flow runs are retried)."""
    if run.kind is not RunKind.FLOW:
        return Conflict(f"run {run.id!r} is a deploy run: only a flow run can be reopened", {"runId": run.id})
    return Conflict(
        f"run {run.id!r} is still {run.status.value}: only a finished run can be reopened",
        details={"runId": run.id, "status": run.status.value},
    )


def check_claim_times(at: datetime, heartbeat_before: datetime) -> None:
    """A claim stamps ``heartbeat_at = at``; an ``at`` before ``heartbeat_before`` would leave the claimed
    runs stale at once, for any other process to take again."""
    if at < heartbeat_before:
        raise ValueError(f"at ({at.isoformat()}) is before heartbeat_before ({heartbeat_before.isoformat()})")


def check_keep(keep: int) -> None:
    """A step keeps at least its newest log line (which carries its last ``seq``)."""
    if keep < 1:
        raise ValueError(f"keep must be >= 1, not {keep}")


def trim_range(count: int, keep: int) -> tuple[int, int] | None:
    """Which lines of a step's log (0-based positions in ``seq`` order) a trim deletes: ``(offset, how
    many)`` — the oldest ones after the first ``keep // 4`` so that ``keep`` remain; None when ``count``
    is within ``keep``."""
    if count <= keep:
        return None
    return keep // 4, count - keep


class MigrationStep(Protocol):
    """What the migration runners of both backends know of a step."""

    @property
    def number(self) -> int: ...

    @property
    def name(self) -> str: ...


class SchemaTooNewError(RuntimeError):
    """The database has migration steps applied that this code does not know: a newer Trellis wrote it."""


def check_order(steps: Sequence[MigrationStep]) -> None:
    """Step numbers are positive and strictly increasing."""
    previous = 0
    for step in steps:
        if step.number <= previous:
            raise ValueError(f"migration {step.number} ({step.name!r}) is out of order after {previous}")
        previous = step.number


def check_known(applied: set[int], steps: Sequence[MigrationStep], where: str) -> None:
    """Refuse a database that records steps missing from ``steps``."""
    unknown = sorted(applied - {step.number for step in steps})
    if unknown:
        raise SchemaTooNewError(
            f"{where} has schema migrations {unknown} that this version of Trellis does not know; "
            "it was written by a newer version"
        )
