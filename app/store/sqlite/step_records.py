"""What flow steps leave beside their run in SQLite: outputs posted back, and bounded step logs.

``step_outputs`` holds one row per (run, step, attempt) — the primary key makes the first post the only
one — with the output as JSON text. ``step_log_lines`` holds one row per line, keyed by (run, step,
``seq``). Both reference ``runs`` with ``ON DELETE CASCADE``, so deleting a run (or its workflow, or its
workspace, which cascade to runs) deletes them too.

``append_step_logs`` runs in one ``BEGIN IMMEDIATE`` transaction: it reads the step's highest ``seq``,
inserts the new lines after it and trims, under SQLite's write lock, so two appenders never number lines
alike. Trimming deletes lines by position in ``seq`` order (the oldest after the first ``keep // 4``),
never the newest, so the highest ``seq`` survives every trim and numbering goes on after it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from app.domain.runs import StepLogLine, StepOutputRecord
from app.errors import NotFound
from app.store.codec import (
    dumps,
    loads,
    step_log_line_from_doc,
    step_log_line_to_doc,
    step_output_from_doc,
    step_output_to_doc,
)
from app.store.common import STEP_OUTPUT_TAKEN, check_keep, trim_range
from app.store.sqlite.connection import Database, Tx, duplicate_is_conflict


def _output_from_row(row: sqlite3.Row) -> StepOutputRecord:
    doc = dict(row)
    doc["output"] = loads(doc["output"])
    return step_output_from_doc(doc)


async def _require_run(tx: Tx, run_id: str) -> None:
    if await tx.value("SELECT 1 FROM runs WHERE id = ?", (run_id,)) is None:
        raise NotFound("run", run_id)


class SqliteStepRecords:
    """The ``StepOutputStore`` and ``StepLogStore`` parts of the SQLite store. Not scoped: the callers
    reach these by ids they already checked (the step's token, a run found in scope)."""

    _db: Database

    async def put_step_output(self, record: StepOutputRecord) -> None:
        """``NotFound`` for an unknown run; ``Conflict`` when this attempt already posted one."""
        row = step_output_to_doc(record)
        row["output"] = dumps(row["output"])
        async with self._db.transaction() as tx:
            await _require_run(tx, record.run_id)
            with duplicate_is_conflict(STEP_OUTPUT_TAKEN):
                await tx.insert("step_outputs", row)

    async def get_step_output(self, run_id: str, node_id: str, attempt: int) -> StepOutputRecord | None:
        async with self._db.transaction(write=False) as tx:
            row = await tx.row(
                "SELECT * FROM step_outputs WHERE run_id = ? AND node_id = ? AND attempt = ?",
                (run_id, node_id, attempt),
            )
        return None if row is None else _output_from_row(row)

    async def append_step_logs(
        self,
        run_id: str,
        node_id: str,
        lines: Sequence[tuple[datetime, int, str, str]],
        *,
        keep: int,
    ) -> list[StepLogLine]:
        """Number the lines after the step's highest ``seq``, insert them and trim, in one transaction.
        Returns the new lines still stored after the trim (all of them unless one append brings more
        than the trim keeps). ``NotFound`` for an unknown run; ``ValueError`` when ``keep`` < 1."""
        check_keep(keep)
        if not lines:
            return []
        key = (run_id, node_id)
        async with self._db.transaction() as tx:
            await _require_run(tx, run_id)
            last = int(
                await tx.value(
                    "SELECT coalesce(max(seq), 0) FROM step_log_lines WHERE run_id = ? AND node_id = ?", key
                )
            )
            for offset, (at, attempt, level, message) in enumerate(lines, start=1):
                line = StepLogLine(seq=last + offset, at=at, attempt=attempt, level=level, message=message)
                await tx.insert("step_log_lines", step_log_line_to_doc(run_id, node_id, line))
            count = int(
                await tx.value("SELECT count(*) FROM step_log_lines WHERE run_id = ? AND node_id = ?", key)
            )
            trim = trim_range(count, keep)
            if trim is not None:
                start, excess = trim
                await tx.run(
                    "DELETE FROM step_log_lines WHERE run_id = ? AND node_id = ? AND seq IN ("
                    "SELECT seq FROM step_log_lines WHERE run_id = ? AND node_id = ? "
                    "ORDER BY seq LIMIT ? OFFSET ?)",
                    (*key, *key, excess, start),
                )
            rows = await tx.rows(
                "SELECT * FROM step_log_lines WHERE run_id = ? AND node_id = ? AND seq > ? ORDER BY seq",
                (*key, last),
            )
        return [step_log_line_from_doc(dict(row)) for row in rows]

    async def step_logs(self, run_id: str, node_id: str, *, after_seq: int = 0) -> list[StepLogLine]:
        async with self._db.transaction(write=False) as tx:
            rows = await tx.rows(
                "SELECT * FROM step_log_lines WHERE run_id = ? AND node_id = ? AND seq > ? ORDER BY seq",
                (run_id, node_id, after_seq),
            )
        return [step_log_line_from_doc(dict(row)) for row in rows]
