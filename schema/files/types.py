"""Workspace files: small text files (scripts) that flow steps take their source from."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.domain.files import WorkspaceFile as DomainFile
from schema.auth.types import User
from schema.context import Info


@strawberry.type(description="A text file of a workspace, e.g. a script a flow's Function nodes run.")
class WorkspaceFile:
    id: strawberry.ID = strawberry.field(description="Opaque id; a Function node's `fileId`.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    path: str = strawberry.field(
        description="Relative path, unique in the workspace, e.g. `lib/invoices.py`."
    )
    content_type: str = strawberry.field(description="Media type, e.g. `text/x-python`.")
    size: int = strawberry.field(description="Size of the content in UTF-8 bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the content (hex), to tell revisions apart.")
    revision: int = strawberry.field(
        description="1 when created; grows each time the path is uploaded again."
    )
    created_at: datetime = strawberry.field(description="When it was first uploaded.")
    updated_at: datetime = strawberry.field(description="When it was last uploaded.")
    created_by_id: strawberry.Private[str]
    updated_by_id: strawberry.Private[str]
    text: strawberry.Private[str]

    @strawberry.field(description="The file's text.")
    def content(self) -> str:
        return self.text

    @strawberry.field(description="Who uploaded it first.")
    async def created_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.created_by_id)
        return User.from_domain(user) if user else None

    @strawberry.field(description="Who uploaded the current revision.")
    async def updated_by(self, info: Info) -> User | None:
        user = await info.context.loaders.users.load(self.updated_by_id)
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, file: DomainFile) -> WorkspaceFile:
        return cls(
            id=strawberry.ID(file.id),
            workspace_id=strawberry.ID(file.workspace_id),
            path=file.path,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            revision=file.revision,
            created_at=file.created_at,
            updated_at=file.updated_at,
            created_by_id=file.created_by,
            updated_by_id=file.updated_by,
            text=file.content,
        )


@strawberry.input(description="Store a text file in a workspace; a file already at `path` is replaced.")
class UploadFileInput:
    workspace_id: strawberry.ID = strawberry.field(description="The workspace.")
    path: str = strawberry.field(
        description="Relative path (`/` between folders; no leading `/`, no `..`), at most 255 characters."
    )
    content: str = strawberry.field(description="The text; at most TRELLIS_FILES_MAX_BYTES in UTF-8.")
    content_type: str | None = strawberry.field(
        default=None,
        description="Media type; guessed from the path's suffix by default (`.py`, `.js`, `.sh`…).",
    )


@strawberry.type(description="The result of `uploadFile`.")
class UploadFilePayload:
    file: WorkspaceFile = strawberry.field(
        description="The file as stored (its revision bumped on a replace)."
    )


@strawberry.input(description="Delete a workspace file.")
class DeleteFileInput:
    id: strawberry.ID = strawberry.field(description="The file.")
    force: bool = strawberry.field(
        default=False,
        description="Delete it even while Function nodes of flows use it (CONFLICT, naming them, otherwise).",
    )


@strawberry.type(description="The result of `deleteFile`.")
class DeleteFilePayload:
    deleted_file_id: strawberry.ID = strawberry.field(description="The id of the deleted file.")
