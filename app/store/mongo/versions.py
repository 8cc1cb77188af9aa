"""Versions in MongoDB: numbers from a per-workflow counter.

Each workflow document carries ``version_seq``. Appending a version increments it with
``find_one_and_update`` (atomic on that one document, so concurrent appends never share a number)
and inserts the version, both in one transaction, so a failed insert leaves no gap. Restoring folds
the compare-and-set and the increment into the same ``find_one_and_update``.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from app.domain.paging import Page
from app.domain.versions import Version, VersionDraft
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import NotFound
from app.store.common import check_page_size, new_id
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import version_from_mongo, version_to_mongo, workflow_from_mongo
from app.store.mongo.scoping import in_scope
from app.store.mongo.workflows import compare_and_set


def draft_to_version(workflow_id: str, workspace_id: str, number: int, draft: VersionDraft) -> Version:
    return Version(
        id=new_id(),
        workflow_id=workflow_id,
        workspace_id=workspace_id,
        number=number,
        canvas=draft.canvas,
        tag=draft.tag,
        description=draft.description,
        created_by=draft.created_by,
        created_at=draft.created_at,
        restored_from=draft.restored_from,
    )


class MongoVersions:
    """The ``VersionStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def create_version(self, scope: Scope, workflow_id: str, draft: VersionDraft) -> Version:
        async def write(session: AsyncClientSession) -> Version:
            counter = await self._m.workflows.find_one_and_update(
                in_scope(scope, {"_id": workflow_id}),
                {"$inc": {"version_seq": 1}},
                projection={"workspace_id": True, "version_seq": True},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if counter is None:
                raise NotFound("workflow", workflow_id)
            version = draft_to_version(
                workflow_id, counter["workspace_id"], int(counter["version_seq"]), draft
            )
            await self._m.versions.insert_one(version_to_mongo(version), session=session)
            return version

        return await self._m.transaction(write)

    async def restore_version(
        self, scope: Scope, workflow_id: str, draft: VersionDraft, workflow: Workflow
    ) -> tuple[Version, Workflow]:
        """Compare-and-set (with the counter increment) and insert in one transaction: a failed
        compare-and-set raises inside it, so nothing is written."""
        if workflow.id != workflow_id:
            raise ValueError(f"restoring workflow {workflow_id!r} with the body of {workflow.id!r}")

        async def write(session: AsyncClientSession) -> tuple[Version, Workflow]:
            stored = await compare_and_set(
                self._m, scope, workflow, workflow.revision - 1, inc={"version_seq": 1}, session=session
            )
            version = draft_to_version(workflow_id, stored["workspace_id"], int(stored["version_seq"]), draft)
            await self._m.versions.insert_one(version_to_mongo(version), session=session)
            return version, workflow_from_mongo(stored)

        return await self._m.transaction(write)

    async def get_version(self, scope: Scope, workflow_id: str, number: int) -> Version | None:
        with translate_errors():
            doc = await self._m.versions.find_one(
                in_scope(scope, {"workflow_id": workflow_id, "number": number})
            )
        return None if doc is None else version_from_mongo(doc)

    async def list_versions(
        self, scope: Scope, workflow_id: str, first: int, after: int | None
    ) -> Page[Version]:
        """Newest first by number; an unknown or out-of-scope workflow has an empty list."""
        check_page_size(first)
        matching = in_scope(scope, {"workflow_id": workflow_id})
        page: dict[str, Any] = matching
        if after is not None:
            page = {"$and": [matching, {"number": {"$lt": after}}]}
        with translate_errors():
            total = await self._m.versions.count_documents(matching)
            docs = await self._m.versions.find(page, sort=[("number", -1)], limit=first + 1).to_list()
        items = [version_from_mongo(doc) for doc in docs[:first]]
        return Page(items=items, has_next=len(docs) > first, total=total)
