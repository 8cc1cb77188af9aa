"""Runs in SQLite: started together with their version, saved whole by their owner; deploy runs swept
when stale, flow runs claimed by another process instead (and reopened to retry a step).

A run's nested parts (``node_states``, ``logs``, ``pruned``, ``warnings``, ``trigger_data``) are JSON
text columns. At most one run of a workflow is unfinished (``PENDING`` or ``RUNNING``): ``start_run`` and
``reopen_run`` check it inside their ``BEGIN IMMEDIATE`` transaction, and the partial unique index
``runs_one_unfinished`` holds it whatever writes the table. Every claim and release is one ``UPDATE …
RETURNING`` in one such transaction: concurrent claimers (of this or another process) are serialised by
SQLite's write lock, so a run is returned to exactly one of them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from typing import Any

from app.domain.paging import Page
from app.domain.runs import NodeRunState, Run, RunKind, RunStatus
from app.domain.versions import Version, VersionDraft
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.ports import RunKey
from app.store.codec import dumps, encode_datetime, loads, node_state_to_doc, run_from_doc, run_to_doc
from app.store.common import (
    UNFINISHED_RUN_STATUSES,
    active_run_conflict,
    check_claim_times,
    check_page_size,
    finished_run_conflict,
    not_reopenable_conflict,
    taken_over_run_conflict,
)
from app.store.sqlite.connection import Database, duplicate_is_conflict
from app.store.sqlite.scoping import in_scope
from app.store.sqlite.versions import append_version

_JSON_COLUMNS = ("node_states", "logs", "pruned", "warnings")

# The columns save_run rewrites: what an executor changes while it works. The identity of a run (id,
# workflow, workspace, cluster, version, trigger, who started it and when) never changes.
_SAVED = (
    "status",
    "owner",
    "heartbeat_at",
    "completed_at",
    "node_states",
    "logs",
    "pruned",
    "error",
    "warnings",
)

_UNFINISHED = f"status IN ({', '.join('?' for _ in UNFINISHED_RUN_STATUSES)})"
_FLOW = f"kind = '{RunKind.FLOW.value}'"
_DEPLOY = f"kind = '{RunKind.DEPLOY.value}'"


def run_row(run: Run) -> dict[str, Any]:
    """The row of ``run``. ``kind`` is written only for a FLOW run and ``trigger_data`` only when given:
    the columns default to DEPLOY and NULL (migration 14), so a deploy run's row is the same as before."""
    row = run_to_doc(run)
    for column in _JSON_COLUMNS:
        row[column] = dumps(row[column])
    if run.kind is RunKind.DEPLOY:
        del row["kind"]
    if run.trigger_id is None:
        del row["trigger_id"]  # the column defaults to NULL (migration 16)
    if run.trigger_data is None:
        del row["trigger_data"]
    else:
        row["trigger_data"] = dumps(run.trigger_data)
    return row


def run_from_row(row: sqlite3.Row) -> Run:
    doc = dict(row)
    for column in _JSON_COLUMNS:
        doc[column] = loads(doc[column])
    if doc.get("trigger_data") is not None:
        doc["trigger_data"] = loads(doc["trigger_data"])
    return run_from_doc(doc)


def _oldest_first(rows: list[sqlite3.Row]) -> list[Run]:
    return sorted((run_from_row(row) for row in rows), key=lambda run: (run.started_at, run.id))


class SqliteRuns:
    """The ``RunStore`` part of the SQLite store."""

    _db: Database

    async def start_run(self, scope: Scope, draft: VersionDraft, run: Run) -> tuple[Version, Run]:
        """One ``BEGIN IMMEDIATE`` transaction: find the workflow in scope, refuse if it has an
        unfinished run, append the version (max + 1, as ``create_version``) and insert the run with
        that number. The write lock is held from ``BEGIN`` on, so two concurrent starts are serialised
        and the second sees the first's run; any failure rolls back the version too.

        The stored run takes the version number and the workflow's workspace; it is returned."""
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            workspace_id = await tx.value(
                f"SELECT workspace_id FROM workflows WHERE id = ? AND {where.sql}",  # noqa: S608
                (run.workflow_id, *where.params),
            )
            if workspace_id is None:
                raise NotFound("workflow", run.workflow_id)
            active = await tx.value(
                f"SELECT id FROM runs WHERE workflow_id = ? AND {_UNFINISHED} "  # noqa: S608
                "ORDER BY started_at, id LIMIT 1",
                (run.workflow_id, *UNFINISHED_RUN_STATUSES),
            )
            if active is not None:
                raise active_run_conflict(run.workflow_id, str(active))
            version = await append_version(tx, run.workflow_id, str(workspace_id), draft)
            stored = replace(run, workspace_id=str(workspace_id), version=version.number)
            with duplicate_is_conflict("a run with this id already exists"):
                await tx.insert("runs", run_row(stored))
        return version, stored

    async def get_run(self, scope: Scope, run_id: str) -> Run | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM runs WHERE id = ? AND {where.sql}",  # noqa: S608
                (run_id, *where.params),
            )
        return None if row is None else run_from_row(row)

    async def list_runs(self, scope: Scope, workflow_id: str, first: int, after: RunKey | None) -> Page[Run]:
        """Newest first by ``(started_at, id)``; page and total read in one snapshot. An unknown or
        out-of-scope workflow has an empty list."""
        check_page_size(first)
        where = in_scope(scope)
        params: list[Any] = [workflow_id, *where.params]
        keyset, keyset_params = "", []
        if after is not None:
            keyset, keyset_params = "AND (started_at, id) < (?, ?)", [encode_datetime(after[0]), after[1]]
        async with self._db.transaction(write=False) as tx:
            total = await tx.value(
                f"SELECT count(*) FROM runs WHERE workflow_id = ? AND {where.sql}",  # noqa: S608
                params,
            )
            rows = await tx.rows(
                f"SELECT * FROM runs WHERE workflow_id = ? AND {where.sql} {keyset} "  # noqa: S608
                "ORDER BY started_at DESC, id DESC LIMIT ?",
                [*params, *keyset_params, first + 1],
            )
        items = [run_from_row(row) for row in rows[:first]]
        return Page(items=items, has_next=len(rows) > first, total=int(total))

    async def latest_runs(self) -> list[Run]:
        """The newest run of every workflow (all workspaces: for the server itself). Newest is the run of
        the highest version (every run snapshots a new one), so clocks that disagree cannot reorder them."""
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT r.* FROM runs r WHERE r.id = ("
                "SELECT r2.id FROM runs r2 WHERE r2.workflow_id = r.workflow_id "
                "ORDER BY r2.version DESC, r2.started_at DESC, r2.id DESC LIMIT 1) ORDER BY r.workflow_id"
            )
        return [run_from_row(row) for row in rows]

    async def save_run(self, run: Run) -> None:
        """One ``UPDATE`` of the saved columns, only while the stored run is unfinished and still
        ``run.owner``'s: a finished run is final (``Conflict``, e.g. when a sweep interrupted it), a run
        another process took over (or that was released) is theirs (``Conflict``), a missing one
        ``NotFound``. ``cancel_requested`` is sticky: a save never clears a cancellation requested
        meanwhile."""
        row = run_row(run)
        assignments = ", ".join(f"{column} = ?" for column in _SAVED)
        async with self._db.transaction() as tx:
            changed = await tx.run(
                f"UPDATE runs SET {assignments}, cancel_requested = (cancel_requested OR ?) "  # noqa: S608
                f"WHERE id = ? AND {_UNFINISHED} AND owner = ?",
                (
                    *(row[column] for column in _SAVED),
                    run.cancel_requested,
                    run.id,
                    *UNFINISHED_RUN_STATUSES,
                    run.owner,
                ),
            )
            if changed == 0:
                stored = await tx.row("SELECT * FROM runs WHERE id = ?", (run.id,))
                if stored is None:
                    raise NotFound("run", run.id)
                current = run_from_row(stored)
                if current.status.finished:
                    raise finished_run_conflict(current)
                raise taken_over_run_conflict(run.id)

    async def request_cancel(self, scope: Scope, run_id: str) -> Run | None:
        """Set the flag on an unfinished run in scope and read it back, in one transaction; a
        finished run is returned unchanged."""
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            await tx.run(
                f"UPDATE runs SET cancel_requested = 1 WHERE id = ? AND {where.sql} AND {_UNFINISHED}",  # noqa: S608
                (run_id, *where.params, *UNFINISHED_RUN_STATUSES),
            )
            row = await tx.row(
                f"SELECT * FROM runs WHERE id = ? AND {where.sql}",  # noqa: S608
                (run_id, *where.params),
            )
        return None if row is None else run_from_row(row)

    async def interrupt_stale_runs(
        self, *, heartbeat_before: datetime, at: datetime, reason: str
    ) -> list[Run]:
        """One ``UPDATE … RETURNING`` in one transaction: every unfinished DEPLOY run whose heartbeat is
        older than ``heartbeat_before`` becomes ``INTERRUPTED``; oldest first. Concurrent sweeps are
        serialised, so a run is returned by exactly one of them."""
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                "UPDATE runs SET status = ?, completed_at = ?, error = ? "  # noqa: S608
                f"WHERE {_DEPLOY} AND {_UNFINISHED} AND heartbeat_at < ? RETURNING *",
                (
                    RunStatus.INTERRUPTED.value,
                    encode_datetime(at),
                    reason,
                    *UNFINISHED_RUN_STATUSES,
                    encode_datetime(heartbeat_before),
                ),
            )
        return _oldest_first(rows)

    # FlowRunStore -----------------------------------------------------------------------------------

    async def claim_flow_runs(self, *, owner: str, at: datetime, heartbeat_before: datetime) -> list[Run]:
        """One ``UPDATE … RETURNING`` in one transaction: every unfinished FLOW run released (owner
        ``""``) or with a heartbeat older than ``heartbeat_before`` gets ``owner`` and ``heartbeat_at =
        at``; oldest first. ``ValueError`` when ``at`` is before ``heartbeat_before``."""
        check_claim_times(at, heartbeat_before)
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                "UPDATE runs SET owner = ?, heartbeat_at = ? "  # noqa: S608
                f"WHERE {_FLOW} AND {_UNFINISHED} AND (owner = '' OR heartbeat_at < ?) RETURNING *",
                (owner, encode_datetime(at), *UNFINISHED_RUN_STATUSES, encode_datetime(heartbeat_before)),
            )
        return _oldest_first(rows)

    async def release_flow_runs(self, *, owner: str) -> list[str]:
        """One ``UPDATE … RETURNING``: the owner of ``owner``'s unfinished FLOW runs becomes ``""``; their
        ids, sorted."""
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                f"UPDATE runs SET owner = '' WHERE {_FLOW} AND {_UNFINISHED} AND owner = ? RETURNING id",  # noqa: S608
                (*UNFINISHED_RUN_STATUSES, owner),
            )
        return sorted(str(row["id"]) for row in rows)

    async def reopen_run(
        self, scope: Scope, run_id: str, *, owner: str, at: datetime, node_states: tuple[NodeRunState, ...]
    ) -> Run:
        """One ``BEGIN IMMEDIATE`` transaction: find the run in scope, refuse a deploy run or an unfinished
        one, refuse while another run of its workflow is unfinished, then make it RUNNING again. The
        run as stored is returned."""
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            row = await tx.row(
                f"SELECT * FROM runs WHERE id = ? AND {where.sql}",  # noqa: S608
                (run_id, *where.params),
            )
            if row is None:
                raise NotFound("run", run_id)
            run = run_from_row(row)
            if run.kind is not RunKind.FLOW or not run.status.finished:
                raise not_reopenable_conflict(run)
            active = await tx.value(
                f"SELECT id FROM runs WHERE workflow_id = ? AND {_UNFINISHED} "  # noqa: S608
                "ORDER BY started_at, id LIMIT 1",
                (run.workflow_id, *UNFINISHED_RUN_STATUSES),
            )
            if active is not None:
                raise active_run_conflict(run.workflow_id, str(active))
            stored = await tx.row(
                "UPDATE runs SET status = ?, node_states = ?, owner = ?, heartbeat_at = ?, "
                "completed_at = NULL, error = NULL, cancel_requested = 0 WHERE id = ? RETURNING *",
                (
                    RunStatus.RUNNING.value,
                    dumps([node_state_to_doc(state) for state in node_states]),
                    owner,
                    encode_datetime(at),
                    run_id,
                ),
            )
        assert stored is not None  # the row was read in this transaction
        return run_from_row(stored)
