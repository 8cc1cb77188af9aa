"""Reading a compose project the way Docker Compose v2 loads it: each file parsed (with limits),
interpolated, checked against the schema, its ``x-`` keys dropped, its ``include``s and ``extends``
resolved through the project's files; then the top-level files merged as overrides.

Every path in every document this returns is relative to ``base_dir``, the folder of the top-level compose
files (included and extended files have theirs rewritten, see :mod:`app.compose.paths`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.compose.extending import apply_extends
from app.compose.including import apply_include
from app.compose.interpolation import InterpolationError, interpolate_tree
from app.compose.loading import load_yaml
from app.compose.merging import strip_extensions
from app.compose.paths import rebase
from app.compose.problems import ComposeError, ComposeProblem, Problems, in_file
from app.compose.project import ProjectFiles, resolve
from app.compose.sources import MAX_PROJECT_DOCUMENTS, Source
from app.compose.validating import check_keys, validate


@dataclass(slots=True)
class ProjectReader:
    """Reads the compose documents of one analysis, within its limits: ``max_bytes`` for each top-level
    file and for the included and extended files together."""

    project: ProjectFiles
    base_dir: str
    problems: Problems
    max_bytes: int
    read_bytes: int = 0
    documents: int = 0
    unset_variables: set[str] = field(default_factory=set)
    extended_files: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any] | None] = field(
        default_factory=dict
    )

    def resolve(self, path: Any) -> str | None:
        """A path as written in a loaded document (relative to ``base_dir``) → its path in the project,
        or None when it is not a string, is absolute or remote, or leaves the project."""
        if not isinstance(path, str) or "://" in path:
            return None
        return resolve(self.base_dir, path)

    def read_project_file(self, path: str, what: str, missing: Callable[[str], None]) -> str | None:
        """The text of the compose file ``path`` (in the project), counted against the limits; when it is
        not there, ``missing(message)`` is called with a sentence saying so and what to do."""
        self.documents += 1
        if self.documents > MAX_PROJECT_DOCUMENTS:
            raise ComposeError(
                ComposeProblem(
                    "PROJECT_TOO_LARGE",
                    f"the project includes or extends more than {MAX_PROJECT_DOCUMENTS} files",
                )
            )
        text = self.project.read(path)
        if text is None:
            if self.project.exists(path) and not self.project.is_dir(path):
                missing(f"the {what} {path!r} could not be read: it is too large or not text")
            elif self.project.from_repository:
                missing(f"the {what} {path!r} is not in the repository")
            else:
                missing(f"the {what} {path!r} was not supplied: add it in projectFiles (path {path!r})")
            return None
        self.read_bytes += len(text.encode("utf-8", "surrogatepass"))
        if self.read_bytes > self.max_bytes:
            raise ComposeError(
                ComposeProblem(
                    "PROJECT_TOO_LARGE",
                    f"the included and extended files together are larger than {self.max_bytes} bytes",
                )
            )
        return text

    def parse_text(self, text: str, source: Source) -> Any:
        """The YAML value of one file (None when empty); raises :class:`ComposeError` naming the file."""
        try:
            return load_yaml(text, max_bytes=self.max_bytes)
        except ComposeError as exc:
            raise ComposeError(replace(exc.problem, message=_in(source, exc.problem.message))) from None

    def prepare(self, loaded: Any, source: Source, variables: Mapping[str, str]) -> dict[str, Any] | None:
        """One parsed file as a document: interpolated, validated, ``x-`` keys dropped, paths relative to
        ``base_dir``; None (with the errors reported) when it is not a valid compose file."""
        if loaded is None:
            return {}
        if not isinstance(loaded, dict):
            self.problems.error("INVALID_COMPOSE", _in(source, "the top level must be a mapping"))
            return None
        if not check_keys(loaded, source.label, self.problems):
            return None
        try:
            document = interpolate_tree(loaded, variables, self._unset)
        except InterpolationError as exc:
            self.problems.error("INTERPOLATION_FAILED", _in(source, str(exc)))
            return None
        if not validate(document, source.label, self.problems):
            return None
        if "version" in document:
            self.problems.warn(
                "VERSION_OBSOLETE",
                _in(source, "the top-level version is obsolete: Compose ignores it, and so does Trellis"),
                None,
                "version",
            )
            del document["version"]
        document = strip_extensions(document)
        assert isinstance(document, dict)
        return rebase(document, source.working_dir, self.base_dir)

    def load(
        self,
        loaded: Any,
        source: Source,
        variables: Mapping[str, str],
        chain: tuple[str, ...] = (),
    ) -> dict[str, Any] | None:
        """One parsed file with its ``include``s and ``extends`` resolved; ``chain`` holds the files
        including it (to refuse cycles)."""
        document = self.prepare(loaded, source, variables)
        if document is None:
            return None
        if document.get("include"):
            inner = (*chain, source.path) if source.path else chain
            apply_include(self, document, source, variables, inner)
        document.pop("include", None)
        apply_extends(self, document, source, variables)
        return document

    def extended_file(
        self, path: str, variables: Mapping[str, str], missing: Callable[[str], None]
    ) -> dict[str, Any] | None:
        """The services of the compose file ``path`` that an ``extends.file`` names (read once per set of
        variables), or None when it cannot be read or is not valid."""
        key = (path, tuple(sorted(variables.items())))
        if key in self.extended_files:
            return self.extended_files[key]
        text = self.read_project_file(path, "extended file", missing)
        services: dict[str, Any] | None = None
        if text is not None:
            source = Source(repr(path), path, posixpath.dirname(path))
            document = self.prepare(self.parse_text(text, source), source, variables)
            if document is not None:
                found = document.get("services")
                services = found if isinstance(found, dict) else {}
        self.extended_files[key] = services
        return services

    def _unset(self, variable: str, path: str) -> None:
        if variable not in self.unset_variables:
            self.unset_variables.add(variable)
            self.problems.warn(
                "VARIABLE_NOT_SET", f"the variable {variable} is not set; it is read as empty", None, path
            )


def _in(source: Source, message: str) -> str:
    return in_file(source.label, message)
