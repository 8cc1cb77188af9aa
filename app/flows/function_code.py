"""What a Function attempt runs, whoever runs it (a Kubernetes Job, a local subprocess): the runtime, the
user's source (inline or a workspace file), the input as JSON bytes and the entry point.

:func:`prepare` builds it from a :class:`StepInvocation`, or answers the failed :class:`StepResult`
(REFUSED, stage ``start``: nothing ran) when the runtime is unknown, the source is missing, the input
mapping does not evaluate or the input is not JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.flows.function_input import InputMappingError, function_input
from app.domain.flows.steps import REFUSED, StepInvocation, StepResult
from app.domain.workspaces import Scope
from app.flows.runtimes import INPUT_FILE, RUNTIMES, Runtime
from app.ports import FileStore

DEFAULT_RUNTIME = "python"
DEFAULT_ENTRYPOINT = "main"


class SourceMissing(ValueError):
    """The step has no source to run: neither inline ``code`` nor a ``fileId``, or the file is gone."""


@dataclass(frozen=True, slots=True)
class PreparedFunction:
    """One attempt's code: its runtime, the user's source text, the input (compact UTF-8 JSON) and the
    entry point (python/node: the function called; bash ignores it)."""

    runtime: Runtime
    source: str
    input_json: bytes
    entrypoint: str

    def step_files(self) -> dict[str, bytes]:
        """The step directory's files by name: ``input.json``, the source and the runner."""
        return {
            INPUT_FILE: self.input_json,
            self.runtime.source_file: self.source.encode(),
            self.runtime.runner_file: self.runtime.runner_text().encode(),
        }


async def source_of(files: FileStore, workspace_id: str, data: Mapping[str, Any]) -> str:
    """The step's source: its inline ``code`` (exactly as given) or the content of the workspace file
    ``fileId``. ``SourceMissing`` (with a message for a person) when it has neither, or the file is gone."""
    code = data.get("code")
    if isinstance(code, str) and code.strip():
        return code
    file_id = data.get("fileId")
    if file_id:
        found = await files.get_file(Scope.of([workspace_id]), str(file_id))
        if found is None:
            raise SourceMissing(
                f"the step's source file {str(file_id)!r} is no longer in the workspace; upload it again "
                "or choose another file"
            )
        return found.content
    raise SourceMissing("the step has no source: give its code inline or choose a workspace file (fileId)")


async def prepare(files: FileStore, invocation: StepInvocation) -> PreparedFunction | StepResult:
    """What ``invocation`` runs, or a REFUSED result at stage ``start`` saying why it cannot run."""
    data = invocation.step.data
    name = str(data.get("runtime") or DEFAULT_RUNTIME)
    runtime = RUNTIMES.get(name)
    if runtime is None:
        known = ", ".join(RUNTIMES)
        return StepResult.failed(REFUSED, "start", f"unknown runtime {name!r}; it is one of {known}")
    try:
        source = await source_of(files, invocation.workspace_id, data)
    except SourceMissing as exc:
        return StepResult.failed(REFUSED, "start", str(exc))
    try:
        given = function_input(data, invocation.input, invocation.scope)
    except InputMappingError as exc:
        return StepResult.failed(REFUSED, "start", str(exc))
    try:
        input_json = json.dumps(given, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        return StepResult.failed(REFUSED, "start", f"the step's input is not JSON: {exc}")
    entrypoint = str(data.get("entrypoint") or DEFAULT_ENTRYPOINT)
    return PreparedFunction(runtime=runtime, source=source, input_json=input_json, entrypoint=entrypoint)
