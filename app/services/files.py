"""Workspace files: list, read, upload (a taken path is replaced with a revision bump) and delete (refused
while a flow's Function node uses the file, unless forced)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from app import errors
from app.domain.files import (
    WorkspaceFile,
    content_type_problem,
    guess_content_type,
    nodes_using_file,
    path_problem,
)
from app.domain.ids import new_id
from app.domain.workflows import Workflow, WorkflowFilter, WorkflowType
from app.ports import Clock, FileStore, WorkflowStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.principals import Principal

_SCAN_PAGE = 100  # flows read per page when looking for the users of a file


class FileServiceStore(FileStore, WorkflowStore, WorkspaceStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class FileUpload:
    """What ``uploadFile`` sends; ``content_type`` None: guessed from the path's suffix."""

    workspace_id: str
    path: str
    content: str
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class FileUser:
    """A flow whose Function nodes (``node_ids``) take their source from a file."""

    workflow: Workflow
    node_ids: tuple[str, ...]


class FileService:
    def __init__(self, *, store: FileServiceStore, clock: Clock, auditor: Auditor, max_bytes: int) -> None:
        self._store = store
        self._clock = clock
        self._auditor = auditor
        self._max_bytes = max_bytes

    async def visible(self, principal: Principal, workspace_id: str) -> list[WorkspaceFile]:
        """The workspace's files by path (``NOT_FOUND`` for a workspace the caller cannot see)."""
        if await self._store.get_workspace(principal.scope, workspace_id) is None:
            raise errors.NotFound("workspace", workspace_id)
        return await self._store.list_files(principal.scope, workspace_id)

    async def get(self, principal: Principal, file_id: str) -> WorkspaceFile:
        file = await self._store.get_file(principal.scope, file_id)
        if file is None:
            raise errors.NotFound("file", file_id)
        return file

    async def upload(self, principal: Principal, upload: FileUpload) -> WorkspaceFile:
        """Check the path, size and content type, then store the file (replacing the one at its path)."""
        async with self._auditor.action(
            "file.upload", actor_id=principal.user_id, target_type="file", workspace_id=upload.workspace_id
        ) as record:
            if await self._store.get_workspace(principal.scope, upload.workspace_id) is None:
                raise errors.NotFound("workspace", upload.workspace_id)
            principal.require_write(upload.workspace_id)
            problem = path_problem(upload.path)
            if problem:
                raise errors.Invalid.field("path", problem)
            content_type = upload.content_type or guess_content_type(upload.path)
            problem = content_type_problem(content_type)
            if problem:
                raise errors.Invalid.field("contentType", problem)
            try:
                encoded = upload.content.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise errors.Invalid.field("content", "is not valid Unicode text") from exc
            if len(encoded) > self._max_bytes:
                raise errors.Invalid.field(
                    "content",
                    f"is {len(encoded)} bytes; a file holds at most {self._max_bytes} "
                    "(TRELLIS_FILES_MAX_BYTES)",
                )
            now = self._clock.now()
            stored = await self._store.put_file(
                WorkspaceFile(
                    id=new_id(),
                    workspace_id=upload.workspace_id,
                    path=upload.path,
                    content=upload.content,
                    content_type=content_type,
                    size=len(encoded),
                    sha256=hashlib.sha256(encoded).hexdigest(),
                    revision=1,
                    created_by=principal.user_id,
                    created_at=now,
                    updated_by=principal.user_id,
                    updated_at=now,
                )
            )
            record.target_id = stored.id
            record.detail = {"path": stored.path, "size": str(stored.size), "revision": str(stored.revision)}
            return stored

    async def delete(self, principal: Principal, file_id: str, *, force: bool) -> WorkspaceFile:
        """Delete the file; ``CONFLICT`` naming the flows whose Function nodes use it, unless ``force``."""
        async with self._auditor.action(
            "file.delete", actor_id=principal.user_id, target_type="file", target_id=file_id
        ) as record:
            file = await self.get(principal, file_id)
            record.workspace_id = file.workspace_id
            principal.require_write(file.workspace_id)
            users = await self.users(principal, file)
            if users and not force:
                named = ", ".join(f"{user.workflow.name!r} ({', '.join(user.node_ids)})" for user in users)
                raise errors.Conflict(
                    f"the file {file.path!r} is the source of Function nodes in {len(users)} flow(s): "
                    f"{named}; point them elsewhere first, or delete with force: true",
                    {"workflowIds": [user.workflow.id for user in users]},
                )
            record.detail = {"path": file.path, "usedBy": str(len(users))}
            await self._store.delete_file(principal.scope, file_id)
            return file

    async def users(self, principal: Principal, file: WorkspaceFile) -> list[FileUser]:
        """The flows of the file's workspace whose Function nodes take their source from it."""
        found: list[FileUser] = []
        query = WorkflowFilter(type=WorkflowType.FLOW, workspace_id=file.workspace_id)
        after = None
        while True:
            page = await self._store.list_workflows(principal.scope, query, _SCAN_PAGE, after)
            for workflow in page.items:
                node_ids = nodes_using_file(workflow.canvas, file.id)
                if node_ids:
                    found.append(FileUser(workflow, node_ids))
            if not page.has_next or not page.items:
                return found
            after = (page.items[-1].created_at, page.items[-1].id)
