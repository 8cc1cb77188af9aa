"""Builds in MongoDB: one document per build (build arguments, log and line counts nested).

Atomicity, per operation:

- ``claim_queued_builds``, ``claim_stale_builds``: one transaction each (read the queue and the running
  builds, then update each chosen build with a filter that still requires it queued, or stale). Two
  concurrent claims write the same documents, so one gets a write conflict and is retried after the
  other commits, and then sees its claims.
- ``release_builds``: one transaction (read the ids, then clear the owner of the same set).
- ``save_build``, ``cancel_build``, ``mark_build_cleaned``: single-document updates guarded by "still
  unfinished" (and, for ``save_build``, "still this owner's").
- ``set_node_image``: read the workflow, change the node, compare-and-set on the revision read (one
  ``find_one_and_update``); when another write got there first, read again and retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.domain.builds import Build, BuildFilter
from app.domain.paging import Page
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.errors import Conflict, NotFound
from app.ports import BuildKey
from app.store.builds import (
    BUILD_ID_TAKEN,
    CAS_ATTEMPTS,
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
from app.store.codec import encode_datetime
from app.store.common import check_page_size
from app.store.mongo.connection import MongoDatabase, translate_errors
from app.store.mongo.documents import Doc, from_mongo, to_mongo, workflow_from_mongo
from app.store.mongo.scoping import in_scope
from app.store.mongo.workflows import compare_and_set

COLLECTION = "builds"
UNFINISHED: dict[str, Any] = {"status": {"$in": list(UNFINISHED_BUILD_STATUSES)}}
QUEUED: dict[str, Any] = {"status": "PENDING", "started_at": None}
RUNNING: dict[str, Any] = {**UNFINISHED, "started_at": {"$ne": None}}
NEWEST_FIRST = [("created_at", -1), ("_id", -1)]
OLDEST_FIRST = [("created_at", 1), ("_id", 1)]


def _collection(m: MongoDatabase) -> AsyncCollection[Doc]:
    return m.db[COLLECTION]


def build_to_mongo(build: Build) -> Doc:
    return to_mongo(build_to_doc(build))


def build_from_mongo(doc: Doc) -> Build:
    return build_from_doc(from_mongo(doc))


def _saved(build: Build) -> Doc:
    doc = build_to_mongo(build)
    return {field: doc[field] for field in SAVED_BUILD_FIELDS}


class MongoBuilds:
    """The ``BuildStore`` part of the MongoDB store."""

    _m: MongoDatabase

    async def insert_build(self, build: Build) -> None:
        with translate_errors():
            if (
                await self._m.workspaces.find_one({"_id": build.workspace_id}, projection={"_id": True})
                is None
            ):
                raise NotFound("workspace", build.workspace_id)
            try:
                await _collection(self._m).insert_one(build_to_mongo(build))
            except DuplicateKeyError as exc:
                raise Conflict(BUILD_ID_TAKEN) from exc

    async def get_build(self, scope: Scope, build_id: str) -> Build | None:
        with translate_errors():
            doc = await _collection(self._m).find_one(in_scope(scope, {"_id": build_id}))
        return None if doc is None else build_from_mongo(doc)

    async def list_builds(
        self, scope: Scope, workspace_id: str, filter: BuildFilter, first: int, after: BuildKey | None
    ) -> Page[Build]:
        check_page_size(first)
        conditions: dict[str, Any] = {"workspace_id": workspace_id}
        if filter.status is not None:
            conditions["status"] = filter.status.value
        if filter.workflow_id is not None:
            conditions["workflow_id"] = filter.workflow_id
        matching = in_scope(scope, conditions)
        page = matching
        if after is not None:
            at = encode_datetime(after[0])
            keyset = {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": after[1]}}]}
            page = {"$and": [matching, keyset]}
        with translate_errors():
            total = await _collection(self._m).count_documents(matching)
            docs = await _collection(self._m).find(page, sort=NEWEST_FIRST, limit=first + 1).to_list()
        items = [build_from_mongo(doc) for doc in docs[:first]]
        return Page(items=items, has_next=len(docs) > first, total=total)

    async def queued_builds(self, workspace_id: str) -> list[Build]:
        with translate_errors():
            docs = (
                await _collection(self._m)
                .find({**QUEUED, "workspace_id": workspace_id}, sort=OLDEST_FIRST)
                .to_list()
            )
        return [build_from_mongo(doc) for doc in docs]

    async def claim_queued_builds(
        self, *, owner: str, at: datetime, per_workspace: int, per_cluster: int
    ) -> list[Build]:
        builds = _collection(self._m)

        async def write(session: AsyncClientSession) -> list[Build]:
            queued = [
                build_from_mongo(doc)
                for doc in await builds.find(QUEUED, sort=OLDEST_FIRST, session=session).to_list()
            ]
            if not queued:
                return []
            running = [build_from_mongo(doc) for doc in await builds.find(RUNNING, session=session).to_list()]
            claimed = []
            for build in choose_to_start(queued, running, Limits(per_workspace, per_cluster)):
                mine = started(build, owner=owner, at=at)
                result = await builds.update_one(
                    {"_id": build.id, **QUEUED}, {"$set": _saved(mine)}, session=session
                )
                if result.modified_count:
                    claimed.append(mine)
            return claimed

        return await self._m.transaction(write)

    async def claim_stale_builds(
        self, *, owner: str, at: datetime, heartbeat_before: datetime
    ) -> list[Build]:
        builds = _collection(self._m)
        stale = {
            **RUNNING,
            "$or": [{"heartbeat_at": {"$lt": encode_datetime(heartbeat_before)}}, {"owner": None}],
        }

        async def write(session: AsyncClientSession) -> list[Build]:
            claimed = []
            for doc in await builds.find(stale, sort=OLDEST_FIRST, session=session).to_list():
                mine = started(build_from_mongo(doc), owner=owner, at=at)
                result = await builds.update_one(
                    {"$and": [{"_id": mine.id}, stale]}, {"$set": _saved(mine)}, session=session
                )
                if result.modified_count:
                    claimed.append(mine)
            return claimed

        return await self._m.transaction(write)

    async def release_builds(self, *, owner: str) -> list[str]:
        builds = _collection(self._m)
        mine = {**RUNNING, "owner": owner}

        async def write(session: AsyncClientSession) -> list[str]:
            found = await builds.find(mine, projection={"_id": True}, session=session).to_list()
            await builds.update_many(mine, {"$set": {"owner": None}}, session=session)
            return sorted(str(doc["_id"]) for doc in found)

        return await self._m.transaction(write)

    async def save_build(self, build: Build) -> None:
        with translate_errors():
            result = await _collection(self._m).update_one(
                {"$and": [{"_id": build.id, "owner": build.owner}, UNFINISHED]}, {"$set": _saved(build)}
            )
            if result.matched_count:
                return
            stored = await _collection(self._m).find_one(
                {"_id": build.id}, projection={"status": True, "owner": True}
            )
        if stored is None:
            raise NotFound("build", build.id)
        if stored["status"] not in UNFINISHED_BUILD_STATUSES:
            raise finished_build_conflict(build.id, str(stored["status"]))
        raise taken_over_conflict(build.id, stored.get("owner"))

    async def cancel_build(self, scope: Scope, build_id: str, *, at: datetime, message: str) -> Build:
        with translate_errors():
            for _ in range(CAS_ATTEMPTS):
                doc = await _collection(self._m).find_one(in_scope(scope, {"_id": build_id}))
                if doc is None:
                    raise NotFound("build", build_id)
                build = build_from_mongo(doc)
                if build.status.finished:
                    raise finished_build_conflict(build_id, build.status.value)
                ended = cancelled(build, at=at, message=message)
                result = await _collection(self._m).update_one(
                    {"$and": [{"_id": build_id, "revision": build.revision}, UNFINISHED]},
                    {"$set": _saved(ended)},
                )
                if result.modified_count:
                    return ended
        raise Conflict(f"build {build_id!r} kept changing; try again", details={"buildId": build_id})

    async def builds_to_clean(self, limit: int) -> list[Build]:
        finished = {"status": {"$nin": list(UNFINISHED_BUILD_STATUSES)}, "secret_deleted": False}
        with translate_errors():
            docs = (
                await _collection(self._m)
                .find(finished, sort=[("finished_at", 1), ("_id", 1)], limit=limit)
                .to_list()
            )
        return [build_from_mongo(doc) for doc in docs]

    async def mark_build_cleaned(self, build_id: str) -> None:
        with translate_errors():
            await _collection(self._m).update_one({"_id": build_id}, {"$set": {"secret_deleted": True}})

    async def set_node_image(
        self, workspace_id: str, workflow_id: str, node_id: str, image: str, at: datetime
    ) -> Workflow | None:
        scope = Scope.of([workspace_id])
        with translate_errors():
            for _ in range(CAS_ATTEMPTS):
                doc = await self._m.workflows.find_one(in_scope(scope, {"_id": workflow_id}))
                if doc is None:
                    return None
                current = workflow_from_mongo(doc)
                changed = with_node_image(current, node_id, image, at)
                if changed is None:
                    return None
                try:
                    stored = await compare_and_set(self._m, scope, changed, current.revision)
                except Conflict:
                    continue  # another write came first: read it and change the node again
                return workflow_from_mongo(stored)
        raise Conflict(
            f"workflow {workflow_id!r} kept changing; its node {node_id!r} keeps its image",
            details={"workflowId": workflow_id},
        )
