"""Runs in MongoDB: started together with their version, saved whole by their owner; deploy runs swept
when stale, flow runs claimed by another process instead (and reopened to retry a step).

Atomicity, per operation:

- ``start_run``: one transaction that first ``$inc``-s the workflow's ``version_seq`` (the workflow
  document is the conflict domain of its versions and runs), then checks for an unfinished run,
  inserts the version and inserts the run. Two concurrent starts both write the workflow document, so
  one gets a write conflict and is retried after the other commits, and then sees its run; a refusal
  raises inside the transaction, so the increment is rolled back and no version is written.
- ``save_run``, ``request_cancel``: one single-document update each, guarded by "still unfinished"
  (and, for ``save_run``, "still this owner's").
- ``interrupt_stale_runs`` (DEPLOY runs only), ``claim_flow_runs``, ``release_flow_runs``: one
  transaction each (find, ``update_many`` with the same filter, read back); a run saved concurrently (a
  fresh heartbeat) makes it conflict and retry, and two concurrent sweeps or claims never both return
  a run.
- ``reopen_run``: one transaction that reads the run, ``$inc``-s its workflow's ``run_seq`` (the
  workflow document is the conflict domain ``start_run`` writes too), checks for another unfinished run
  and updates the run only while it is still finished; a refusal raises inside the transaction, so
  nothing is written.

A run document without ``kind`` (from before flow runs; the migration fills it in) is a DEPLOY run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.paging import Page
from app.domain.runs import NodeRunState, Run, RunKind, RunStatus
from app.domain.versions import Version, VersionDraft
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import RunKey
from app.store.codec import encode_datetime, node_state_to_doc
from app.store.common import (
    UNFINISHED_RUN_STATUSES,
    active_run_conflict,
    check_claim_times,
    check_page_size,
    finished_run_conflict,
    not_reopenable_conflict,
    taken_over_run_conflict,
)
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import run_from_mongo, run_to_mongo, version_to_mongo
from app.store.mongo.scoping import in_scope
from app.store.mongo.versions import draft_to_version

# The fields save_run rewrites: what an executor changes while it works. The identity of a run (_id,
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

UNFINISHED: dict[str, Any] = {"status": {"$in": list(UNFINISHED_RUN_STATUSES)}}
FLOW: dict[str, Any] = {"kind": RunKind.FLOW.value}
DEPLOY: dict[str, Any] = {"kind": {"$ne": RunKind.FLOW.value}}  # also a run written before kinds existed
NEWEST_FIRST = [("started_at", -1), ("_id", -1)]
OLDEST_FIRST = [("started_at", 1), ("_id", 1)]


class MongoRuns:
    """The ``RunStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def start_run(self, scope: Scope, draft: VersionDraft, run: Run) -> tuple[Version, Run]:
        """The stored run takes the version number and the workflow's workspace; it is returned."""

        async def write(session: AsyncClientSession) -> tuple[Version, Run]:
            counter = await self._m.workflows.find_one_and_update(
                in_scope(scope, {"_id": run.workflow_id}),
                {"$inc": {"version_seq": 1}},
                projection={"workspace_id": True, "version_seq": True},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if counter is None:
                raise NotFound("workflow", run.workflow_id)
            active = await self._m.runs.find_one(
                {"workflow_id": run.workflow_id, **UNFINISHED},
                projection={"_id": True},
                sort=OLDEST_FIRST,
                session=session,
            )
            if active is not None:
                raise active_run_conflict(run.workflow_id, str(active["_id"]))
            workspace_id = str(counter["workspace_id"])
            version = draft_to_version(run.workflow_id, workspace_id, int(counter["version_seq"]), draft)
            await self._m.versions.insert_one(version_to_mongo(version), session=session)
            stored = replace(run, workspace_id=workspace_id, version=version.number)
            await self._m.runs.insert_one(run_to_mongo(stored), session=session)
            return version, stored

        try:
            return await self._m.transaction(write)
        except DuplicateKeyError as exc:
            raise Conflict("a run with this id already exists") from exc

    async def get_run(self, scope: Scope, run_id: str) -> Run | None:
        with translate_errors():
            doc = await self._m.runs.find_one(in_scope(scope, {"_id": run_id}))
        return None if doc is None else run_from_mongo(doc)

    async def list_runs(self, scope: Scope, workflow_id: str, first: int, after: RunKey | None) -> Page[Run]:
        """Newest first by ``(started_at, _id)``; an unknown or out-of-scope workflow has an empty list."""
        check_page_size(first)
        matching = in_scope(scope, {"workflow_id": workflow_id})
        page = matching
        if after is not None:
            at = encode_datetime(after[0])
            keyset = {"$or": [{"started_at": {"$lt": at}}, {"started_at": at, "_id": {"$lt": after[1]}}]}
            page = {"$and": [matching, keyset]}
        with translate_errors():
            total = await self._m.runs.count_documents(matching)
            docs = await self._m.runs.find(page, sort=NEWEST_FIRST, limit=first + 1).to_list()
        items = [run_from_mongo(doc) for doc in docs[:first]]
        return Page(items=items, has_next=len(docs) > first, total=total)

    async def latest_runs(self) -> list[Run]:
        """The newest run of every workflow (all workspaces: for the server itself): the run of the
        highest version, as in SQLite."""
        pipeline: list[dict[str, Any]] = [
            {"$sort": {"workflow_id": 1, "version": -1, "started_at": -1, "_id": -1}},
            {"$group": {"_id": "$workflow_id", "latest": {"$first": "$$ROOT"}}},
            {"$replaceRoot": {"newRoot": "$latest"}},
            {"$sort": {"workflow_id": 1}},
        ]
        with translate_errors():
            docs = await (await self._m.runs.aggregate(pipeline)).to_list()
        return [run_from_mongo(doc) for doc in docs]

    async def save_run(self, run: Run) -> None:
        """A finished run is final (``Conflict``), a run another process took over (or that was
        released) is theirs (``Conflict``), a missing one ``NotFound``; ``cancel_requested`` is sticky:
        a save never clears a cancellation requested meanwhile."""
        doc = run_to_mongo(run)
        fields = {field: doc[field] for field in _SAVED}
        if run.cancel_requested:
            fields["cancel_requested"] = True
        with translate_errors():
            result = await self._m.runs.update_one(
                {"_id": run.id, **UNFINISHED, "owner": run.owner}, {"$set": fields}
            )
            if result.matched_count:
                return
            stored = await self._m.runs.find_one({"_id": run.id})
        if stored is None:
            raise NotFound("run", run.id)
        current = run_from_mongo(stored)
        if current.status.finished:
            raise finished_run_conflict(current)
        raise taken_over_run_conflict(run.id)

    async def request_cancel(self, scope: Scope, run_id: str) -> Run | None:
        """A finished run is returned unchanged."""
        with translate_errors():
            doc = await self._m.runs.find_one_and_update(
                in_scope(scope, {"_id": run_id, **UNFINISHED}),
                {"$set": {"cancel_requested": True}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                doc = await self._m.runs.find_one(in_scope(scope, {"_id": run_id}))
        return None if doc is None else run_from_mongo(doc)

    async def interrupt_stale_runs(
        self, *, heartbeat_before: datetime, at: datetime, reason: str
    ) -> list[Run]:
        """DEPLOY runs only; oldest first."""
        stale = {**DEPLOY, **UNFINISHED, "heartbeat_at": {"$lt": encode_datetime(heartbeat_before)}}
        interrupted = {
            "status": RunStatus.INTERRUPTED.value,
            "completed_at": encode_datetime(at),
            "error": reason,
        }

        async def write(session: AsyncClientSession) -> list[Run]:
            found = await self._m.runs.find(stale, projection={"_id": True}, session=session).to_list()
            ids = [doc["_id"] for doc in found]
            if not ids:
                return []
            await self._m.runs.update_many(
                {"_id": {"$in": ids}, **stale}, {"$set": interrupted}, session=session
            )
            docs = await self._m.runs.find(
                {"_id": {"$in": ids}}, sort=OLDEST_FIRST, session=session
            ).to_list()
            return [run_from_mongo(doc) for doc in docs]

        return await self._m.transaction(write)

    # FlowRunStore -----------------------------------------------------------------------------------

    async def claim_flow_runs(self, *, owner: str, at: datetime, heartbeat_before: datetime) -> list[Run]:
        """Oldest first; ``ValueError`` when ``at`` is before ``heartbeat_before``."""
        check_claim_times(at, heartbeat_before)
        claimable = {
            **FLOW,
            **UNFINISHED,
            "$or": [{"owner": ""}, {"heartbeat_at": {"$lt": encode_datetime(heartbeat_before)}}],
        }
        claimed = {"owner": owner, "heartbeat_at": encode_datetime(at)}

        async def write(session: AsyncClientSession) -> list[Run]:
            found = await self._m.runs.find(claimable, projection={"_id": True}, session=session).to_list()
            ids = [doc["_id"] for doc in found]
            if not ids:
                return []
            await self._m.runs.update_many(
                {"$and": [{"_id": {"$in": ids}}, claimable]}, {"$set": claimed}, session=session
            )
            docs = await self._m.runs.find(
                {"_id": {"$in": ids}}, sort=OLDEST_FIRST, session=session
            ).to_list()
            return [run_from_mongo(doc) for doc in docs]

        return await self._m.transaction(write)

    async def release_flow_runs(self, *, owner: str) -> list[str]:
        """The ids released, sorted."""
        mine = {**FLOW, **UNFINISHED, "owner": owner}

        async def write(session: AsyncClientSession) -> list[str]:
            found = await self._m.runs.find(mine, projection={"_id": True}, session=session).to_list()
            ids = [str(doc["_id"]) for doc in found]
            if ids:
                await self._m.runs.update_many(
                    {"$and": [{"_id": {"$in": ids}}, mine]}, {"$set": {"owner": ""}}, session=session
                )
            return sorted(ids)

        return await self._m.transaction(write)

    async def reopen_run(
        self, scope: Scope, run_id: str, *, owner: str, at: datetime, node_states: tuple[NodeRunState, ...]
    ) -> Run:
        """The run as stored is returned."""
        reopened = {
            "status": RunStatus.RUNNING.value,
            "node_states": [node_state_to_doc(state) for state in node_states],
            "owner": owner,
            "heartbeat_at": encode_datetime(at),
            "completed_at": None,
            "error": None,
            "cancel_requested": False,
        }

        async def write(session: AsyncClientSession) -> Run:
            doc = await self._m.runs.find_one(in_scope(scope, {"_id": run_id}), session=session)
            if doc is None:
                raise NotFound("run", run_id)
            run = run_from_mongo(doc)
            if run.kind is not RunKind.FLOW or not run.status.finished:
                raise not_reopenable_conflict(run)
            await self._m.workflows.update_one(
                {"_id": run.workflow_id}, {"$inc": {"run_seq": 1}}, session=session
            )
            active = await self._m.runs.find_one(
                {"workflow_id": run.workflow_id, **UNFINISHED},
                projection={"_id": True},
                sort=OLDEST_FIRST,
                session=session,
            )
            if active is not None:
                raise active_run_conflict(run.workflow_id, str(active["_id"]))
            stored = await self._m.runs.find_one_and_update(
                {"_id": run_id, "status": run.status.value},
                {"$set": reopened},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if stored is None:  # cannot happen inside the snapshot: the run was read above
                raise NotFound("run", run_id)
            return run_from_mongo(stored)

        return await self._m.transaction(write)
