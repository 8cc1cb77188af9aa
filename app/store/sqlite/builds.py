"""Builds in SQLite: one row per build; build arguments, log and per-container line counts as JSON text.

Every multi-row decision runs in one ``BEGIN IMMEDIATE`` transaction, which holds SQLite's write lock
from its start: a claim of queued builds counts the running ones and starts the chosen ones without
another writer in between, so two server processes never start the same build or go over a limit. A
finished build is final: ``save_build`` only updates a row that is unfinished and still the saver's.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from app.domain.builds import Build, BuildFilter
from app.domain.paging import Page
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.ports import BuildKey
from app.store.builds import (
    BUILD_ID_TAKEN,
    SAVED_BUILD_FIELDS,
    UNFINISHED_BUILD_STATUSES,
    Limits,
    build_from_doc,
    build_to_doc,
    cancelled,
    choose_to_start,
    finished_build_conflict,
    started,
    taken_over_conflict,
    with_node_image,
)
from app.store.codec import dumps, encode_datetime, loads
from app.store.common import check_page_size
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict
from app.store.sqlite.scoping import in_scope
from app.store.sqlite.workflows import compare_and_set, workflow_from_row

_JSON_COLUMNS = ("build_args", "logs", "lines_seen")
_UNFINISHED = f"status IN ({', '.join('?' for _ in UNFINISHED_BUILD_STATUSES)})"
_QUEUED = "status = 'PENDING' AND started_at IS NULL"
_RUNNING = f"{_UNFINISHED} AND started_at IS NOT NULL"


def build_row(build: Build) -> dict[str, Any]:
    row = build_to_doc(build)
    for column in _JSON_COLUMNS:
        row[column] = dumps(row[column])
    row["use_nixpacks"] = int(build.use_nixpacks)
    row["secret_deleted"] = int(build.secret_deleted)
    return row


def build_from_row(row: sqlite3.Row) -> Build:
    doc = dict(row)
    for column in _JSON_COLUMNS:
        doc[column] = loads(doc[column])
    return build_from_doc(doc)


async def _update_saved(tx: Tx, build: Build, where: str, params: tuple[Any, ...]) -> int:
    row = build_row(build)
    assignments = ", ".join(f"{column} = ?" for column in SAVED_BUILD_FIELDS)
    return await tx.run(
        f"UPDATE builds SET {assignments} WHERE id = ? AND {where}",  # noqa: S608
        (*(row[column] for column in SAVED_BUILD_FIELDS), build.id, *params),
    )


class SqliteBuilds:
    """The ``BuildStore`` part of the SQLite store."""

    _db: Database

    async def insert_build(self, build: Build) -> None:
        async with self._db.transaction() as tx:
            if await tx.value("SELECT 1 FROM workspaces WHERE id = ?", (build.workspace_id,)) is None:
                raise NotFound("workspace", build.workspace_id)
            with duplicate_is_conflict(BUILD_ID_TAKEN):
                await tx.insert("builds", build_row(build))

    async def get_build(self, scope: Scope, build_id: str) -> Build | None:
        where = in_scope(scope)
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                f"SELECT * FROM builds WHERE id = ? AND {where.sql}",  # noqa: S608
                (build_id, *where.params),
            )
        return None if row is None else build_from_row(row)

    async def list_builds(
        self, scope: Scope, workspace_id: str, filter: BuildFilter, first: int, after: BuildKey | None
    ) -> Page[Build]:
        """Newest first by ``(created_at, id)``; page and total read in one snapshot."""
        check_page_size(first)
        where = in_scope(scope)
        conditions = ["workspace_id = ?", where.sql]
        params: list[Any] = [workspace_id, *where.params]
        if filter.status is not None:
            conditions.append("status = ?")
            params.append(filter.status.value)
        if filter.workflow_id is not None:
            conditions.append("workflow_id = ?")
            params.append(filter.workflow_id)
        page_conditions, page_params = list(conditions), list(params)
        if after is not None:
            page_conditions.append("(created_at, id) < (?, ?)")
            page_params += [encode_datetime(after[0]), after[1]]
        async with self._db.transaction(write=False) as tx:
            total = await tx.value(
                f"SELECT count(*) FROM builds WHERE {' AND '.join(conditions)}",  # noqa: S608
                params,
            )
            rows = await tx.rows(
                f"SELECT * FROM builds WHERE {' AND '.join(page_conditions)} "  # noqa: S608
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                [*page_params, first + 1],
            )
        items = [build_from_row(row) for row in rows[:first]]
        return Page(items=items, has_next=len(rows) > first, total=int(total))

    async def queued_builds(self, workspace_id: str) -> list[Build]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM builds WHERE workspace_id = ? AND {_QUEUED} ORDER BY created_at, id",  # noqa: S608
                (workspace_id,),
            )
        return [build_from_row(row) for row in rows]

    async def claim_queued_builds(
        self, *, owner: str, at: datetime, per_workspace: int, per_cluster: int
    ) -> list[Build]:
        async with self._db.transaction() as tx:
            queued = [
                build_from_row(row)
                for row in await tx.rows(f"SELECT * FROM builds WHERE {_QUEUED} ORDER BY created_at, id")  # noqa: S608
            ]
            if not queued:
                return []
            running = [
                build_from_row(row)
                for row in await tx.rows(
                    f"SELECT * FROM builds WHERE {_RUNNING}",  # noqa: S608
                    UNFINISHED_BUILD_STATUSES,
                )
            ]
            claimed = []
            for build in choose_to_start(queued, running, Limits(per_workspace, per_cluster)):
                mine = started(build, owner=owner, at=at)
                if await _update_saved(tx, mine, _QUEUED, ()):
                    claimed.append(mine)
        return claimed

    async def claim_stale_builds(
        self, *, owner: str, at: datetime, heartbeat_before: datetime
    ) -> list[Build]:
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                f"SELECT * FROM builds WHERE {_RUNNING} AND (heartbeat_at < ? OR owner IS NULL) "  # noqa: S608
                "ORDER BY created_at, id",
                (*UNFINISHED_BUILD_STATUSES, encode_datetime(heartbeat_before)),
            )
            claimed = []
            for row in rows:
                mine = started(build_from_row(row), owner=owner, at=at)
                await _update_saved(tx, mine, "1 = 1", ())
                claimed.append(mine)
        return claimed

    async def release_builds(self, *, owner: str) -> list[str]:
        async with self._db.transaction() as tx:
            rows = await tx.rows(
                f"UPDATE builds SET owner = NULL WHERE {_RUNNING} AND owner = ? RETURNING id",  # noqa: S608
                (*UNFINISHED_BUILD_STATUSES, owner),
            )
        return sorted(str(row["id"]) for row in rows)

    async def save_build(self, build: Build) -> None:
        async with self._db.transaction() as tx:
            changed = await _update_saved(
                tx, build, f"{_UNFINISHED} AND owner IS ?", (*UNFINISHED_BUILD_STATUSES, build.owner)
            )
            if changed:
                return
            stored = await tx.row("SELECT status, owner FROM builds WHERE id = ?", (build.id,))
        if stored is None:
            raise NotFound("build", build.id)
        if stored["status"] not in UNFINISHED_BUILD_STATUSES:
            raise finished_build_conflict(build.id, str(stored["status"]))
        raise taken_over_conflict(build.id, stored["owner"])

    async def cancel_build(self, scope: Scope, build_id: str, *, at: datetime, message: str) -> Build:
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            row = await tx.row(
                f"SELECT * FROM builds WHERE id = ? AND {where.sql}",  # noqa: S608
                (build_id, *where.params),
            )
            if row is None:
                raise NotFound("build", build_id)
            build = build_from_row(row)
            if build.status.finished:
                raise finished_build_conflict(build_id, build.status.value)
            ended = cancelled(build, at=at, message=message)
            await _update_saved(tx, ended, "1 = 1", ())
        return ended

    async def builds_to_clean(self, limit: int) -> list[Build]:
        finished = f"NOT ({_UNFINISHED})"
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                f"SELECT * FROM builds WHERE {finished} AND secret_deleted = 0 "  # noqa: S608
                "ORDER BY finished_at, id LIMIT ?",
                (*UNFINISHED_BUILD_STATUSES, limit),
            )
        return [build_from_row(row) for row in rows]

    async def mark_build_cleaned(self, build_id: str) -> None:
        async with self._db.transaction() as tx:
            await tx.run("UPDATE builds SET secret_deleted = 1 WHERE id = ?", (build_id,))

    async def set_node_image(
        self, workspace_id: str, workflow_id: str, node_id: str, image: str, at: datetime
    ) -> Workflow | None:
        """One ``BEGIN IMMEDIATE`` transaction: read the workflow, change the node, compare-and-set at
        the revision just read. The write lock is held throughout, so no other write can come between
        the read and the write (the compare-and-set cannot fail here)."""
        scope = Scope.of([workspace_id])
        where = in_scope(scope)
        async with self._db.transaction() as tx:
            row = await tx.row(
                f"SELECT * FROM workflows WHERE id = ? AND {where.sql}",  # noqa: S608
                (workflow_id, *where.params),
            )
            if row is None:
                return None
            current = workflow_from_row(row)
            changed = with_node_image(current, node_id, image, at)
            if changed is None:
                return None
            return await compare_and_set(tx, scope, changed, current.revision)
