"""`importFromGit`, `composeImport` and `importProgress`."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from app.services.git_imports import GitImportRequest
from schema.context import Info
from schema.git_imports.types import (
    ComposeImport,
    ComposeImportEvent,
    ImportFromGitInput,
    ImportFromGitPayload,
)


@strawberry.type
class GitImportQuery:
    @strawberry.field(description="One import from Git, with its log and, once done, its analysis.")
    async def compose_import(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The import.")]
    ) -> ComposeImport:
        principal = await info.context.principal()
        return ComposeImport.from_domain(await info.context.services.git_imports.get(principal, id))


@strawberry.type
class GitImportMutation:
    @strawberry.mutation(
        description="Import from a Git repository: checked at once (a refused address is an error and "
        "nothing is recorded), then cloned and analysed in the background. Nothing is written to a workflow."
    )
    async def import_from_git(self, info: Info, input: ImportFromGitInput) -> ImportFromGitPayload:
        principal = await info.context.principal()
        job = await info.context.services.git_imports.start(
            principal,
            GitImportRequest(
                workspace_id=input.workspace_id,
                url=input.url,
                ref=input.ref,
                path=input.path,
                profiles=tuple(input.profiles or ()),
                namespace=input.namespace,
            ),
        )
        return ImportFromGitPayload(compose_import=ComposeImport.from_domain(job))


@strawberry.type
class GitImportSubscription:
    @strawberry.subscription(
        description="An import from Git as it happens: METADATA (the import so far) first, PROGRESS at each "
        "change, COMPLETE when it has finished."
    )
    async def import_progress(
        self,
        info: Info,
        import_id: Annotated[strawberry.ID, strawberry.argument(description="The import to follow.")],
    ) -> AsyncGenerator[ComposeImportEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.git_imports.updates(principal, import_id, info.context.reauthorize)
        async with aclosing(updates) as stream:
            async for update in stream:
                yield ComposeImportEvent.from_domain(update)
