"""What flow steps leave beside their run in MongoDB: outputs posted back, and bounded step logs.

Collections:

- ``step_outputs``: one document per (run, step, attempt) under the unique index ``step_outputs_key``
  (the first post is the only one); the output is stored as JSON text (it is free-form, see
  :mod:`app.store.mongo.documents`).
- ``step_log_lines``: one document per line under the unique index ``step_log_lines_key`` on (run,
  step, ``seq``).
- ``step_log_counters``: one document per (run, step) holding the highest ``seq`` handed out.

Atomicity: ``put_step_output`` and ``append_step_logs`` run in one transaction each that first
``$inc``-s the run's ``step_seq``. The run document is the conflict domain shared with the deletion of
runs (``delete_workflow`` and workspace deletion delete it, and the records of its steps, in their own
transaction through :func:`delete_step_records`): a record written concurrently with the deletion either
lands before it (and is deleted with it) or finds the run gone (``NotFound``), so none outlives its run.
Two appends to one run are serialised the same way. An append then takes its range of ``seq`` with one
``$inc`` of the step's counter, inserts the lines with ``insert_many`` and trims with one
``delete_many`` on a ``seq`` range (the oldest lines after the first ``keep // 4``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.runs import StepLogLine, StepOutputRecord
from app.errors import Conflict, NotFound
from app.store.codec import (
    dumps,
    loads,
    step_log_line_from_doc,
    step_log_line_to_doc,
    step_output_from_doc,
    step_output_to_doc,
)
from app.store.common import STEP_OUTPUT_TAKEN, check_keep, trim_range
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc

OUTPUTS = "step_outputs"
LOG_LINES = "step_log_lines"
LOG_COUNTERS = "step_log_counters"
# Every collection whose documents belong to a run (by ``run_id``).
STEP_COLLECTIONS = (OUTPUTS, LOG_LINES, LOG_COUNTERS)


async def delete_step_records(m: MongoDatabase, runs: Mapping[str, Any], session: AsyncClientSession) -> None:
    """Inside the caller's transaction, delete the step records of the runs matching ``runs`` (a filter
    on the ``runs`` collection); call it before deleting those runs."""
    run_ids = [doc["_id"] async for doc in m.runs.find(dict(runs), projection={"_id": True}, session=session)]
    if not run_ids:
        return
    for name in STEP_COLLECTIONS:
        await m.db[name].delete_many({"run_id": {"$in": run_ids}}, session=session)


async def _touch_run(m: MongoDatabase, run_id: str, session: AsyncClientSession) -> None:
    """Write the run document (its ``step_seq``) so a concurrent deletion of the run conflicts with the
    caller's transaction; ``NotFound`` when the run is gone."""
    touched = await m.runs.update_one({"_id": run_id}, {"$inc": {"step_seq": 1}}, session=session)
    if touched.matched_count == 0:
        raise NotFound("run", run_id)


def _output_from_mongo(doc: Doc) -> StepOutputRecord:
    loaded = dict(doc)
    loaded["output"] = loads(loaded["output"])
    return step_output_from_doc(loaded)


class MongoStepRecords:
    """The ``StepOutputStore`` and ``StepLogStore`` parts of the MongoDB store. Not scoped: the callers
    reach these by ids they already checked (the step's token, a run found in scope)."""

    _m: MongoDatabase

    def _collection(self, name: str) -> AsyncCollection[Doc]:
        return self._m.db[name]

    async def put_step_output(self, record: StepOutputRecord) -> None:
        """``NotFound`` for an unknown run; ``Conflict`` when this attempt already posted one."""
        doc = step_output_to_doc(record)
        doc["output"] = dumps(doc["output"])

        async def write(session: AsyncClientSession) -> None:
            await _touch_run(self._m, record.run_id, session)
            await self._collection(OUTPUTS).insert_one(doc, session=session)

        try:
            await self._m.transaction(write)
        except DuplicateKeyError as exc:
            raise Conflict(STEP_OUTPUT_TAKEN) from exc

    async def get_step_output(self, run_id: str, node_id: str, attempt: int) -> StepOutputRecord | None:
        with translate_errors():
            doc = await self._collection(OUTPUTS).find_one(
                {"run_id": run_id, "node_id": node_id, "attempt": attempt}
            )
        return None if doc is None else _output_from_mongo(doc)

    async def append_step_logs(
        self,
        run_id: str,
        node_id: str,
        lines: Sequence[tuple[datetime, int, str, str]],
        *,
        keep: int,
    ) -> list[StepLogLine]:
        """Returns the new lines still stored after the trim (all of them unless one append brings more
        than the trim keeps). ``NotFound`` for an unknown run; ``ValueError`` when ``keep`` < 1."""
        check_keep(keep)
        if not lines:
            return []
        step = {"run_id": run_id, "node_id": node_id}
        log = self._collection(LOG_LINES)

        async def write(session: AsyncClientSession) -> list[StepLogLine]:
            await _touch_run(self._m, run_id, session)
            counter = await self._collection(LOG_COUNTERS).find_one_and_update(
                step,
                {"$inc": {"seq": len(lines)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if counter is None:  # an upsert returning the document after it always finds one
                raise RuntimeError(f"no log counter for step {node_id!r} of run {run_id!r}")
            last = int(counter["seq"]) - len(lines)
            docs = [
                step_log_line_to_doc(
                    run_id,
                    node_id,
                    StepLogLine(seq=last + offset, at=at, attempt=attempt, level=level, message=message),
                )
                for offset, (at, attempt, level, message) in enumerate(lines, start=1)
            ]
            await log.insert_many(docs, session=session)
            trim = trim_range(await log.count_documents(step, session=session), keep)
            if trim is not None:
                start, excess = trim
                first = await log.find_one(step, sort=[("seq", 1)], skip=start, session=session)
                final = await log.find_one(step, sort=[("seq", 1)], skip=start + excess - 1, session=session)
                if first is not None and final is not None:
                    await log.delete_many(
                        {**step, "seq": {"$gte": first["seq"], "$lte": final["seq"]}}, session=session
                    )
            stored = await log.find(
                {**step, "seq": {"$gt": last}}, sort=[("seq", 1)], session=session
            ).to_list()
            return [step_log_line_from_doc(doc) for doc in stored]

        return await self._m.transaction(write)

    async def step_logs(self, run_id: str, node_id: str, *, after_seq: int = 0) -> list[StepLogLine]:
        with translate_errors():
            docs = (
                await self._collection(LOG_LINES)
                .find({"run_id": run_id, "node_id": node_id, "seq": {"$gt": after_seq}}, sort=[("seq", 1)])
                .to_list()
            )
        return [step_log_line_from_doc(doc) for doc in docs]
