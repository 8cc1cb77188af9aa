"""Versions: snapshot the canvas, list, compare and restore (restoring appends a new version)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from app import errors
from app.domain.diffs import CanvasDiff, diff_canvases
from app.domain.paging import Page
from app.domain.versions import Version, VersionDraft
from app.domain.workflows import Canvas, Workflow, WorkflowStatus
from app.ports import Clock, VersionStore, WorkflowStore
from app.services.auditing import Auditor
from app.services.paging import PageRules, decode_cursor, encode_cursor
from app.services.principals import Principal
from app.services.workflows import SavedHook

MAX_TAG = 100
MAX_DESCRIPTION = 2000
CURSOR_LIST = "versions"


class VersionServiceStore(VersionStore, WorkflowStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class Comparison:
    from_version: int
    to_version: int
    diff: CanvasDiff


def version_cursor(version: Version) -> str:
    return encode_cursor(CURSOR_LIST, [version.number])


class VersionService:
    def __init__(
        self,
        *,
        store: VersionServiceStore,
        clock: Clock,
        auditor: Auditor,
        paging: PageRules,
        on_saved: SavedHook | None = None,
    ) -> None:
        self._on_saved = on_saved
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._paging = paging

    async def create(
        self, principal: Principal, workflow_id: str, *, tag: str | None, description: str
    ) -> Version:
        tag, description = _clean(tag, description)
        async with self._auditor.action(
            "version.create", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            workflow = await self._workflow(principal, workflow_id)
            principal.require_write(workflow.workspace_id)
            record.workspace_id = workflow.workspace_id
            draft = VersionDraft(
                canvas=workflow.canvas,
                tag=tag,
                description=description,
                created_by=principal.user_id,
                created_at=self._clock.now(),
            )
            version = await self._store.create_version(principal.scope, workflow.id, draft)
            record.detail = {"version": str(version.number)}
            return version

    async def page(
        self, principal: Principal, workflow_id: str, *, first: int | None, after: str | None
    ) -> Page[Version]:
        size = self._paging.size(first)
        key = None
        if after is not None:
            (number,) = decode_cursor(CURSOR_LIST, after) or [None]
            if not isinstance(number, int):
                raise errors.Invalid.field("after", "is not a cursor of this list")
            key = number
        await self._workflow(principal, workflow_id)
        return await self._store.list_versions(principal.scope, workflow_id, size, key)

    async def get(self, principal: Principal, workflow_id: str, number: int) -> Version:
        version = await self._store.get_version(principal.scope, workflow_id, number)
        if version is None:
            await self._workflow(principal, workflow_id)  # a missing workflow is reported as such
            raise errors.NotFound("version", f"{workflow_id}@{number}")
        return version

    async def compare(
        self, principal: Principal, workflow_id: str, v1: int, v2: int, *, ignore_layout: bool
    ) -> Comparison:
        old = await self.get(principal, workflow_id, v1)
        new = await self.get(principal, workflow_id, v2)
        return Comparison(v1, v2, diff_canvases(old.canvas, new.canvas, ignore_layout=ignore_layout))

    async def restore(
        self, principal: Principal, workflow_id: str, number: int, *, expected_revision: int | None
    ) -> tuple[Version, Workflow]:
        async with self._auditor.action(
            "version.restore", actor_id=principal.user_id, target_type="workflow", target_id=workflow_id
        ) as record:
            workflow = await self._workflow(principal, workflow_id)
            principal.require_write(workflow.workspace_id)
            record.workspace_id = workflow.workspace_id
            if workflow.status is WorkflowStatus.ARCHIVED:
                raise errors.Invalid.field(
                    "workflowId", "an archived workflow is read-only; move it back to DRAFT first"
                )
            if expected_revision is not None and expected_revision != workflow.revision:
                raise errors.Conflict(
                    f"the workflow changed since revision {expected_revision}; it is now at revision "
                    f"{workflow.revision}",
                    {"currentRevision": workflow.revision},
                )
            source = await self.get(principal, workflow_id, number)
            now = self._clock.now()
            draft = VersionDraft(
                canvas=source.canvas,
                tag=None,
                description=f"Restored from version {number}",
                created_by=principal.user_id,
                created_at=now,
                restored_from=number,
            )
            restored = replace(
                workflow,
                canvas=Canvas(source.canvas.nodes, source.canvas.edges),
                revision=workflow.revision + 1,
                updated_at=now,
            )
            version, saved = await self._store.restore_version(principal.scope, workflow.id, draft, restored)
            if self._on_saved is not None:
                await self._on_saved(principal, saved)
            record.detail = {"restoredFrom": str(number), "version": str(version.number)}
            return version, saved

    async def _workflow(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        return workflow


def _clean(tag: str | None, description: str) -> tuple[str | None, str]:
    if tag is not None:
        tag = tag.strip() or None
    if tag is not None and len(tag) > MAX_TAG:
        raise errors.Invalid.field("tag", f"must be at most {MAX_TAG} characters")
    if len(description) > MAX_DESCRIPTION:
        raise errors.Invalid.field("description", f"must be at most {MAX_DESCRIPTION} characters")
    return tag, description
