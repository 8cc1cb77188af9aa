"""Problems found in a user's input: one shape for errors and warnings, and how their paths are written."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem: ``path`` points into the input (``nodes[3].data.replicas``), ``message`` what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(slots=True)
class ProblemLog:
    """Collects problems while a check runs.

    ``errors`` make the input unacceptable; ``warnings`` are fixed silently (a dropped field);
    ``incomplete`` lists what a canvas still lacks (a missing required field): fine while it is being
    drawn, an error when it is deployed.
    """

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    incomplete: list[Problem] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        """Record an error at ``path``."""
        self.errors.append(Problem(path, message))

    def warn(self, path: str, message: str) -> None:
        """Record a warning at ``path``."""
        self.warnings.append(Problem(path, message))

    def lack(self, path: str, message: str) -> None:
        """Record something the canvas still lacks at ``path``."""
        self.incomplete.append(Problem(path, message))

    @property
    def has_errors(self) -> bool:
        """Whether any error was recorded."""
        return bool(self.errors)


def key_path(path: str, key: str) -> str:
    """``path`` extended by a mapping key: ``a.b`` for identifiers, else ``a["app.kubernetes.io/name"]``."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def index_path(path: str, index: int) -> str:
    """``path`` extended by a list index: ``a[3]``."""
    return f"{path}[{index}]"


def show(value: Any, limit: int = 40) -> str:
    """A short, readable rendering of a user's value for a message: ``'abc'``, ``12``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return repr(text)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"
