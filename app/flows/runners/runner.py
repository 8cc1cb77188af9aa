"""Trellis's Python runner: calls the entry point of ``main.py`` with the step's input and writes one result
envelope (the contract is in Trellis's ``app/flows/runtimes.py``).

Standard library only: it runs in a stock ``python`` image (3.11 or later), as a non-root user, on a
read-only root filesystem. Everything the user's code prints is the step's log; the envelope goes only to
the result path. Exit code 0 with an ``output`` or ``posted`` envelope, 1 with an ``error`` one.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import sys
import traceback
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

SOURCE_FILE = "main.py"
INPUT_FILE = "input.json"
POST_TIMEOUT_SECONDS = 60


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default


STEP_DIR = os.environ.get("TRELLIS_STEP_DIR") or os.path.dirname(os.path.abspath(__file__))
ENTRYPOINT = os.environ.get("TRELLIS_ENTRYPOINT") or "main"
RESULT_PATH = os.environ.get("TRELLIS_RESULT_PATH") or "/dev/termination-log"
INLINE_MAX = _int_env("TRELLIS_RESULT_INLINE_MAX", 4000)
OUTPUT_MAX = _int_env("TRELLIS_OUTPUT_MAX", 1_048_576)
OUTPUT_URL = os.environ.get("TRELLIS_OUTPUT_URL") or ""
STEP_TOKEN = os.environ.get("TRELLIS_STEP_TOKEN") or ""


class StepFailed(Exception):
    """A failure reported as an error envelope of this type and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def error_envelope(kind: str, message: str) -> bytes:
    """The error envelope (ASCII JSON), its message cut so that it fits in ``INLINE_MAX`` bytes."""
    while True:
        data = json.dumps({"error": {"type": kind, "message": message}}).encode()
        if len(data) <= INLINE_MAX or not message:
            return data
        keep = max(0, len(message) - (len(data) - INLINE_MAX) - 1)
        message = message[:keep] + "…" if keep else ""


def _user_frames(tb: TracebackType | None) -> TracebackType | None:
    """The traceback from the first frame outside this runner (the user's code is what failed)."""
    here = os.path.abspath(__file__)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == here:
        tb = tb.tb_next
    return tb


def load_entrypoint() -> Callable[[Any], Any]:
    """Import the source as the module ``main`` and return its entry point."""
    spec = importlib.util.spec_from_file_location("main", os.path.join(STEP_DIR, SOURCE_FILE))
    if spec is None or spec.loader is None:
        raise StepFailed("EntrypointError", f"{SOURCE_FILE} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules["main"] = module
    spec.loader.exec_module(module)
    function = getattr(module, ENTRYPOINT, None)
    if not callable(function):
        raise StepFailed("EntrypointError", f"{SOURCE_FILE} has no function {ENTRYPOINT}")
    return function  # type: ignore[no-any-return]


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def call(function: Callable[[Any], Any], given: Any) -> Any:
    """``function(given)``, run to completion when it returns a coroutine (or another awaitable)."""
    value = function(given)
    if inspect.isawaitable(value):
        value = asyncio.run(_awaited(value))
    return value


def post(data: bytes) -> bytes:
    """POST the output to ``OUTPUT_URL`` with the step token; the ``posted`` envelope."""
    request = urllib.request.Request(  # noqa: S310 (the URL is Trellis's own, from the step's environment)
        OUTPUT_URL,
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {STEP_TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as answer:  # noqa: S310
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        raise StepFailed(
            "OutputPostError", f"posting the output answered HTTP {exc.code} {exc.reason}"
        ) from exc
    except urllib.error.URLError as exc:
        raise StepFailed("OutputPostError", f"posting the output failed: {exc.reason}") from exc
    except OSError as exc:
        raise StepFailed("OutputPostError", f"posting the output failed: {exc}") from exc
    if not 200 <= status < 300:
        raise StepFailed("OutputPostError", f"posting the output answered HTTP {status}")
    return json.dumps({"posted": len(data)}).encode()


def envelope_of(output: Any) -> bytes:
    """The envelope of the code's output: inline, or posted when larger than the inline limit."""
    try:
        data = json.dumps(output, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise StepFailed("OutputError", f"the output is not JSON: {exc}") from exc
    if len(data) > OUTPUT_MAX:
        raise StepFailed(
            "OutputTooLarge", f"the output is {len(data)} bytes of JSON, more than the limit of {OUTPUT_MAX}"
        )
    envelope = b'{"output":' + data + b"}"
    if len(envelope) <= INLINE_MAX:
        return envelope
    if not OUTPUT_URL:
        raise StepFailed(
            "OutputTooLarge",
            f"the output is {len(data)} bytes of JSON, larger than the inline limit of {INLINE_MAX}, and no "
            "output URL is configured",
        )
    return post(data)


def run() -> bytes:
    """Read the input, call the code, return its envelope; ``StepFailed`` when it failed."""
    try:
        with open(os.path.join(STEP_DIR, INPUT_FILE), "rb") as source:
            given = json.loads(source.read())
    except (OSError, ValueError) as exc:
        raise StepFailed("InputError", f"the step's input cannot be read: {exc}") from exc
    try:
        output = call(load_entrypoint(), given)
    except StepFailed:
        raise
    except SystemExit as exc:
        raise StepFailed("ExitError", f"{SOURCE_FILE} called exit({exc.code})") from exc
    except BaseException as exc:  # the user's code failed, however it did
        traceback.print_exception(type(exc), exc, _user_frames(exc.__traceback__))
        raise StepFailed(type(exc).__name__, str(exc)) from exc
    return envelope_of(output)


def main() -> None:
    try:
        envelope, code = run(), 0
    except StepFailed as exc:
        envelope, code = error_envelope(exc.kind, exc.message), 1
    except BaseException as exc:  # the runner's own bug: still an envelope, never silence
        traceback.print_exc()
        envelope, code = error_envelope("RunnerError", f"{type(exc).__name__}: {exc}"), 1
    sys.stdout.flush()
    sys.stderr.flush()
    with open(RESULT_PATH, "wb") as result:
        result.write(envelope)
    sys.exit(code)


if __name__ == "__main__":
    main()
