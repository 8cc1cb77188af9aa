"""Problems found while analysing a compose project: a stable code, the service and field, a message."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ComposeProblem:
    """One warning or error. ``service`` and ``field`` (a compose path such as ``services.web.ports[0]``)
    are ``None`` when the problem concerns the whole project."""

    code: str
    message: str
    service: str | None = None
    field: str | None = None


def in_file(label: str, message: str) -> str:
    """``message`` naming the file it concerns (``label``: "" for the only compose file, else e.g.
    ``compose file 2`` or ``'dir/other.yaml'``)."""
    return f"{message} (in {label})" if label else message


class ComposeError(Exception):
    """A problem that stops the analysis (nothing is produced)."""

    def __init__(self, problem: ComposeProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass(slots=True)
class Problems:
    """Collects warnings and errors in the order they are found."""

    warnings: list[ComposeProblem] = field(default_factory=list)
    errors: list[ComposeProblem] = field(default_factory=list)

    def warn(self, code: str, message: str, service: str | None = None, path: str | None = None) -> None:
        self.warnings.append(ComposeProblem(code, message, service, path))

    def error(self, code: str, message: str, service: str | None = None, path: str | None = None) -> None:
        self.errors.append(ComposeProblem(code, message, service, path))
