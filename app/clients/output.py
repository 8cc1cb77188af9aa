"""What the API commands print and the exit codes they end with: JSON for scripts on stdout (messages on
stderr), a table or plain text for people, and a progress line on stderr only when stderr is a terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from app.clients.trellis_api import UNREACHABLE, ApiError


class Exit(IntEnum):
    """The exit codes of every API command (listed in `trellis --help` and the README)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_SIGNED_IN = 3
    NOT_ALLOWED = 4
    UNREACHABLE = 5
    BAD_INPUT = 6
    INTERRUPTED = 130


EXIT_CODES_HELP = """exit codes:
  0    ok
  1    the operation failed (a run or build FAILED, another API error)
  2    usage error
  3    not signed in, or the token was refused (UNAUTHENTICATED)
  4    FORBIDDEN or NOT_FOUND
  5    the server cannot be reached
  6    BAD_INPUT (the field errors are printed)
  130  interrupted (Ctrl-C)"""

_BY_CODE = {
    "UNAUTHENTICATED": Exit.NOT_SIGNED_IN,
    "FORBIDDEN": Exit.NOT_ALLOWED,
    "NOT_FOUND": Exit.NOT_ALLOWED,
    UNREACHABLE: Exit.UNREACHABLE,
    "BAD_INPUT": Exit.BAD_INPUT,
}


def exit_code(error: ApiError) -> Exit:
    return _BY_CODE.get(error.code, Exit.FAILED)


class Output:
    """Where a command writes: ``json`` mode prints one JSON document (or one per line for a stream)."""

    def __init__(self, mode: str) -> None:
        self.json = mode == "json"
        self._progress_shown = False

    def data(self, value: Any, text: str | None = None) -> None:
        """``value`` as JSON in json mode, else ``text`` (if any)."""
        self.clear_progress()
        if self.json:
            print(json.dumps(value, sort_keys=True), flush=True)
        elif text is not None:
            print(text, flush=True)

    def message(self, text: str) -> None:
        self.clear_progress()
        print(text, file=sys.stderr, flush=True)

    def error(self, error: ApiError) -> Exit:
        """Print an API error (each field error of a BAD_INPUT on its own line); its exit code."""
        self.message(f"error: {error.code}: {error.message}")
        for field in error.fields:
            self.message(f"  {field.get('path')}: {field.get('message')}")
        return exit_code(error)

    def progress(self, text: str) -> None:
        """A one-line progress indication, rewritten in place; nothing unless stderr is a terminal."""
        if sys.stderr.isatty():
            sys.stderr.write(f"\r\x1b[2K{text}")
            sys.stderr.flush()
            self._progress_shown = True

    def clear_progress(self) -> None:
        if self._progress_shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self._progress_shown = False


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """Rows as left-aligned columns under upper-case headers."""
    cells = [[str(h).upper() for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
