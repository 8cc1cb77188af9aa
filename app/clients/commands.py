"""The API-client commands of `trellis` (each in its own module), added to the main parser; each sets
``handler``, called with the parsed arguments and returning the exit code."""

from __future__ import annotations

from typing import Any

from app.clients import build_commands, import_commands, session_commands, workflow_commands
from app.clients.output import EXIT_CODES_HELP

__all__ = ["EXIT_CODES_HELP", "add_api_commands"]


def add_api_commands(commands: Any) -> None:
    """Add `login`, `logout`, `workflows`, `import` and `builds` to the ``trellis`` sub-commands."""
    for module in (session_commands, workflow_commands, import_commands, build_commands):
        module.register(commands)
