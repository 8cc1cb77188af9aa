"""Compose import: analysis (nothing written). The import itself comes with the rest of issue 9."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from app import errors
from app.compose import ComposeAnalysis, analyze
from app.services.principals import Principal

MAX_FILES = 10


class ImportService:
    async def analyze(
        self,
        principal: Principal,  # noqa: ARG002 (signed-in users only; nothing is read or written for them)
        files: Sequence[str],
        *,
        env_text: str | None,
        values: Mapping[str, str] | None,
        namespace: str | None,
        service_type: str,
    ) -> ComposeAnalysis:
        if not files:
            raise errors.Invalid.field("files", "give the content of at least one compose file")
        if len(files) > MAX_FILES:
            raise errors.Invalid.field("files", f"at most {MAX_FILES} files (the first, then overrides)")
        # Parsing and translating is CPU work: keep it off the event loop.
        return await asyncio.to_thread(
            analyze, files, env_text=env_text, values=values, namespace=namespace, service_type=service_type
        )
