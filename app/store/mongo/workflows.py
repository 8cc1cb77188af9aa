"""Workflows in MongoDB: keyset-paginated lists and compare-and-set replacement.

A workflow document also carries ``version_seq``, the last version number handed out for it (see
:mod:`app.store.mongo.versions`), and ``secret_seq`` and ``health_seq``, counters written by
``put_secret_values`` and ``put_node_health`` only to share the workflow's conflict domain (see
:mod:`app.store.mongo.secrets` and :mod:`app.store.mongo.live`); the codec ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from app.domain.paging import Page
from app.domain.workflows import Workflow, WorkflowFilter
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import WorkflowKey
from app.store.codec import encode_datetime
from app.store.common import check_next_revision, check_page_size
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, workflow_from_mongo, workflow_to_mongo
from app.store.mongo.scoping import in_scope
from app.store.mongo.step_records import delete_step_records
from app.store.mongo.triggers import delete_triggers_of

# The fields a compare-and-set rewrites; _id, workspace_id, type, created_by and created_at never change.
_MUTABLE = ("name", "description", "status", "namespace", "cluster_id", "canvas", "revision", "updated_at")

NEWEST_FIRST = [("created_at", -1), ("_id", -1)]


async def compare_and_set(
    m: MongoDatabase,
    scope: Scope,
    workflow: Workflow,
    expected_revision: int,
    *,
    inc: Mapping[str, int] | None = None,
    session: AsyncClientSession | None = None,
) -> Doc:
    """Rewrite the workflow only if it is in scope and still at ``expected_revision``: one
    ``find_one_and_update`` (atomic on one document), also applying ``inc``. Returns the stored
    document after the update; ``NotFound`` or ``Conflict(details={"currentRevision": n})`` if none."""
    check_next_revision(workflow, expected_revision)
    doc = workflow_to_mongo(workflow)
    update: dict[str, Any] = {"$set": {field: doc[field] for field in _MUTABLE}}
    if inc:
        update["$inc"] = dict(inc)
    stored = await m.workflows.find_one_and_update(
        in_scope(scope, {"_id": workflow.id, "revision": expected_revision}),
        update,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if stored is not None:
        return stored
    current = await m.workflows.find_one(
        in_scope(scope, {"_id": workflow.id}), projection={"revision": True}, session=session
    )
    if current is None:
        raise NotFound("workflow", workflow.id)
    raise Conflict(
        f"workflow {workflow.id!r} is at revision {current['revision']}, not {expected_revision}",
        details={"currentRevision": int(current["revision"])},
    )


def workflow_conditions(filter: WorkflowFilter) -> dict[str, Any]:
    """The filter's conditions; the name is matched as an escaped, case-insensitive substring."""
    conditions: dict[str, Any] = {}
    if filter.status is not None:
        conditions["status"] = filter.status.value
    if filter.type is not None:
        conditions["type"] = filter.type.value
    if filter.workspace_id is not None:
        conditions["workspace_id"] = filter.workspace_id
    if filter.name_contains:
        conditions["name"] = {"$regex": re.escape(filter.name_contains), "$options": "i"}
    return conditions


class MongoWorkflows:
    """The ``WorkflowStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_workflow(self, workflow: Workflow) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` if the id is taken. One document."""
        with translate_errors():
            if (
                await self._m.workspaces.find_one({"_id": workflow.workspace_id}, projection={"_id": True})
                is None
            ):
                raise NotFound("workspace", workflow.workspace_id)
            try:
                await self._m.workflows.insert_one({**workflow_to_mongo(workflow), "version_seq": 0})
            except DuplicateKeyError as exc:
                raise Conflict("a workflow with this id already exists") from exc

    async def get_workflow(self, scope: Scope, workflow_id: str) -> Workflow | None:
        with translate_errors():
            doc = await self._m.workflows.find_one(in_scope(scope, {"_id": workflow_id}))
        return None if doc is None else workflow_from_mongo(doc)

    async def list_workflows(
        self, scope: Scope, filter: WorkflowFilter, first: int, after: WorkflowKey | None
    ) -> Page[Workflow]:
        """Newest first by ``(created_at, _id)``; ``total`` counts the filtered set, whatever the page."""
        check_page_size(first)
        matching = in_scope(scope, workflow_conditions(filter))
        page = matching
        if after is not None:
            at = encode_datetime(after[0])
            keyset = {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": after[1]}}]}
            page = {"$and": [matching, keyset]}
        with translate_errors():
            total = await self._m.workflows.count_documents(matching)
            docs = await self._m.workflows.find(page, sort=NEWEST_FIRST, limit=first + 1).to_list()
        items = [workflow_from_mongo(doc) for doc in docs[:first]]
        return Page(items=items, has_next=len(docs) > first, total=total)

    async def replace_workflow(self, scope: Scope, workflow: Workflow, expected_revision: int) -> Workflow:
        """A single-document compare-and-set; no transaction needed."""
        with translate_errors():
            stored = await compare_and_set(self._m, scope, workflow, expected_revision)
        return workflow_from_mongo(stored)

    async def delete_workflow(self, scope: Scope, workflow_id: str) -> None:
        """The workflow, its versions, its Secret node values, its runs (with their step outputs and
        logs) and its node healths in one transaction; the clusters it deployed to are not touched.
        Deleting the workflow document conflicts with every concurrent transaction that writes it
        (``start_run``, ``put_secret_values``, ``put_node_health``, ``create_version``), so none of them
        can leave a record behind for a deleted workflow."""

        async def write(session: AsyncClientSession) -> None:
            deleted = await self._m.workflows.delete_one(
                in_scope(scope, {"_id": workflow_id}), session=session
            )
            if deleted.deleted_count == 0:
                raise NotFound("workflow", workflow_id)
            await self._m.versions.delete_many(in_scope(scope, {"workflow_id": workflow_id}), session=session)
            await delete_step_records(self._m, in_scope(scope, {"workflow_id": workflow_id}), session)
            await self._m.runs.delete_many(in_scope(scope, {"workflow_id": workflow_id}), session=session)
            await self._m.secret_values.delete_many({"workflow_id": workflow_id}, session=session)
            await self._m.node_healths.delete_many({"workflow_id": workflow_id}, session=session)
            await delete_triggers_of(self._m, workflow_id, session)

        await self._m.transaction(write)
