"""Workspace file queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.services.files import FileUpload
from schema.context import Info
from schema.files.types import (
    DeleteFileInput,
    DeleteFilePayload,
    UploadFileInput,
    UploadFilePayload,
    WorkspaceFile,
)


@strawberry.type
class FileQuery:
    @strawberry.field(description="A workspace's files, by path.")
    async def files(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="The workspace.")],
    ) -> list[WorkspaceFile]:
        principal = await info.context.principal()
        files = await info.context.services.files.visible(principal, workspace_id)
        return [WorkspaceFile.from_domain(f) for f in files]

    @strawberry.field(description="One workspace file, with its content.")
    async def file(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The file.")]
    ) -> WorkspaceFile:
        principal = await info.context.principal()
        return WorkspaceFile.from_domain(await info.context.services.files.get(principal, id))


@strawberry.type
class FileMutation:
    @strawberry.mutation(
        description="Store a text file in a workspace (a file at the same path is replaced)."
    )
    async def upload_file(self, info: Info, input: UploadFileInput) -> UploadFilePayload:
        principal = await info.context.principal()
        file = await info.context.services.files.upload(
            principal,
            FileUpload(
                workspace_id=input.workspace_id,
                path=input.path,
                content=input.content,
                content_type=input.content_type,
            ),
        )
        return UploadFilePayload(file=WorkspaceFile.from_domain(file))

    @strawberry.mutation(description="Delete a workspace file; refused while flows use it, unless forced.")
    async def delete_file(self, info: Info, input: DeleteFileInput) -> DeleteFilePayload:
        principal = await info.context.principal()
        await info.context.services.files.delete(principal, input.id, force=input.force)
        return DeleteFilePayload(deleted_file_id=input.id)
