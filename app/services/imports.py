"""Compose import: analysis (nothing written). The import itself comes with the rest of issue 9."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app import errors
from app.compose import ComposeAnalysis, FilesInMemory, analyze
from app.services.principals import Principal

MAX_FILES = 10
MAX_PROJECT_FILES = 200


@dataclass(frozen=True, slots=True)
class ComposeSource:
    """A pasted compose project: the compose files (first, then overrides) and what goes with them."""

    files: Sequence[str]
    env_text: str | None = None
    values: Mapping[str, str] | None = None
    namespace: str | None = None
    service_type: str = "ClusterIP"
    profiles: Sequence[str] = ()
    project_files: Mapping[str, str] = field(default_factory=dict)


def check_source(source: ComposeSource) -> None:
    if not source.files:
        raise errors.Invalid.field("files", "give the content of at least one compose file")
    if len(source.files) > MAX_FILES:
        raise errors.Invalid.field("files", f"at most {MAX_FILES} files (the first, then overrides)")
    if len(source.project_files) > MAX_PROJECT_FILES:
        raise errors.Invalid.field("projectFiles", f"at most {MAX_PROJECT_FILES} files")


def analyze_source(source: ComposeSource) -> ComposeAnalysis:
    return analyze(
        source.files,
        env_text=source.env_text,
        values=source.values,
        namespace=source.namespace,
        service_type=source.service_type,
        profiles=source.profiles,
        project=FilesInMemory(source.project_files),
    )


class ImportService:
    async def analyze(
        self,
        principal: Principal,  # noqa: ARG002 (signed-in users only; nothing is read or written for them)
        source: ComposeSource,
    ) -> ComposeAnalysis:
        check_source(source)
        # Parsing and translating is CPU work: keep it off the event loop.
        return await asyncio.to_thread(analyze_source, source)
