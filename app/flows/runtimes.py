"""The languages a Function step runs in, and the contract between Trellis and the runner in its process.

A Function attempt runs ``<interpreter> <dir>/<runner_file>`` (in a pod of the runtime's image, or as a
local subprocess) with the step's directory holding three files: ``input.json`` (the step's input),
the user's source as ``source_file`` and the runner itself. The runner reads its settings from the
environment (the ``*_ENV`` names below), calls the user's code and writes one JSON *envelope* to the
result path (a pod's termination message, ``/dev/termination-log``):

- ``{"output": <JSON>}`` — the step's output, when the envelope fits in ``TRELLIS_RESULT_INLINE_MAX`` bytes;
- ``{"posted": <bytes>}`` — the output was larger and was POSTed as the request body (JSON) to
  ``TRELLIS_OUTPUT_URL`` with ``Authorization: Bearer <TRELLIS_STEP_TOKEN>`` (Trellis keeps it);
- ``{"error": {"type": <name>, "message": <text>}}`` — the code failed (exit code 1): an exception, output
  that is not JSON, output over ``TRELLIS_OUTPUT_MAX`` bytes, no way to post a large output.

Everything else the code prints (stdout and stderr; for bash, stderr) is the step's log.

An error's ``type`` is the exception's type name (python, node), or one of the runners' own:
``EntrypointError`` (no such function), ``InputError``, ``ExitError`` (bash's non-zero exit, ``exit()``
called by the code), ``OutputError`` (not JSON), ``OutputTooLarge``, ``OutputPostError``, ``RunnerError``.
An error envelope always fits in ``TRELLIS_RESULT_INLINE_MAX`` (its message is cut). Bash's output cannot be
checked by its runner: its envelope is ``{"output":`` + stdout + ``}``, and Trellis refuses one that is not
JSON (:func:`read_envelope`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from app.domain.flows.steps import ERROR, OOM, StepResult

STEP_DIR_ENV = "TRELLIS_STEP_DIR"  # the directory holding input.json, the source and the runner
ENTRYPOINT_ENV = "TRELLIS_ENTRYPOINT"  # python/node: the function to call (default ``main``)
RESULT_PATH_ENV = "TRELLIS_RESULT_PATH"  # where the envelope is written
RESULT_INLINE_MAX_ENV = "TRELLIS_RESULT_INLINE_MAX"  # the largest envelope written there, in bytes
OUTPUT_MAX_ENV = "TRELLIS_OUTPUT_MAX"  # the largest output accepted at all, in bytes of JSON
DATA_URL_ENV = "TRELLIS_DATA_URL"  # the data collections of the step's workspace (/v1/data), same token
OUTPUT_URL_ENV = "TRELLIS_OUTPUT_URL"  # where a larger output is POSTed (absent: it is an error)
STEP_TOKEN_ENV = "TRELLIS_STEP_TOKEN"  # the bearer token of that POST

INPUT_FILE = "input.json"
TERMINATION_MESSAGE_MAX = 4096  # bytes Kubernetes keeps of a container's termination message
INLINE_MAX_IN_POD = 4000  # an envelope a little under it


@dataclass(frozen=True, slots=True)
class Runtime:
    """A language: the file names in the step's directory and the interpreter that runs the runner."""

    name: str
    source_file: str
    runner_file: str
    interpreter: str

    def runner_text(self) -> str:
        """The runner's source, shipped in this package (``app/flows/runners/``)."""
        return resources.files("app.flows.runners").joinpath(self.runner_file).read_text(encoding="utf-8")


RUNTIMES: Mapping[str, Runtime] = MappingProxyType(
    {
        "python": Runtime("python", "main.py", "runner.py", "python3"),
        "node": Runtime("node", "main.js", "runner.js", "node"),
        "bash": Runtime("bash", "main.sh", "runner.sh", "bash"),
    }
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the runner reported: an inline ``output``, a ``posted`` output of that many bytes, or an
    ``error`` (type and message)."""

    output: Any = None
    posted: int | None = None
    error_type: str | None = None
    error_message: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_type is not None


class EnvelopeError(ValueError):
    """The result path did not hold an envelope (the process died before writing one, or wrote junk)."""


def read_envelope(text: str) -> Envelope:
    """Parse what the runner wrote; ``EnvelopeError`` (with a message for a person) when it is not an
    envelope."""
    if not text.strip():
        raise EnvelopeError("the step ended without reporting a result")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"the step's output is not JSON ({exc.msg})") from exc
    if not isinstance(doc, dict) or len(doc) != 1:
        raise EnvelopeError("the step's result is not one of output, posted or error")
    if "output" in doc:
        return Envelope(output=doc["output"])
    if "posted" in doc and isinstance(doc["posted"], int) and not isinstance(doc["posted"], bool):
        return Envelope(posted=doc["posted"])
    error = doc.get("error")
    if isinstance(error, dict):
        return Envelope(
            error_type=str(error.get("type") or "Error"), error_message=str(error.get("message") or "")
        )
    raise EnvelopeError("the step's result is not one of output, posted or error")


OUTPUT_ERRORS = frozenset({"OutputError", "OutputTooLarge", "OutputPostError"})
"""Error types the runners report about the output (not JSON, too large, not posted): stage ``output``."""


def failed_result(envelope: Envelope) -> StepResult:
    """The StepResult of an ``error`` envelope: the code failed (stage ``code``; ``output`` for the
    :data:`OUTPUT_ERRORS`); a Python ``MemoryError`` is an OOM."""
    text = (
        f"{envelope.error_type}: {envelope.error_message}" if envelope.error_message else envelope.error_type
    )
    if envelope.error_type == "MemoryError":
        return StepResult.failed(OOM, "code", str(text))
    stage = "output" if envelope.error_type in OUTPUT_ERRORS else "code"
    return StepResult.failed(ERROR, stage, str(text))
