"""Top-level ``include``: other compose applications loaded through the project's files and their
resources copied into the including file, as Docker Compose v2 does it.

Each entry (``- path`` or ``- path: a.yaml | [a.yaml, override.yaml]``, ``env_file``,
``project_directory``) is loaded as its own application: its first file sets the project directory its
relative paths are read against (unless ``project_directory`` says otherwise), its variables are those of
the including file over its ``env_file``s (or the ``.env`` of its project directory). A resource it
defines that the including file defines differently is an ``INCLUDE_CONFLICT``; cycles, nesting deeper
than :data:`~app.compose.sources.MAX_NESTING` and remote includes are refused.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from app.compose.interpolation import EnvFileError, parse_dotenv
from app.compose.merging import merge_documents
from app.compose.problems import in_file
from app.compose.sources import MAX_NESTING, Source

if TYPE_CHECKING:
    from app.compose.reading import ProjectReader

_RESOURCES = ("services", "volumes", "networks", "secrets", "configs", "models")


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def apply_include(
    reader: ProjectReader,
    document: dict[str, Any],
    source: Source,
    variables: Mapping[str, str],
    chain: tuple[str, ...],
) -> None:
    """Load ``document``'s ``include`` entries and copy their resources into it (``chain``: the files
    that include this one, outermost first)."""
    problems = reader.problems
    for index, entry in enumerate(_listed(document.get("include"))):
        at = f"include[{index}]"
        item = {"path": entry} if isinstance(entry, str) else entry if isinstance(entry, dict) else {}
        written = [str(p) for p in _listed(item.get("path"))]
        if not written:
            problems.error(
                "INCLUDE_INVALID", in_file(source.label, "the include entry names no file"), None, at
            )
            continue
        if len(chain) >= MAX_NESTING:
            problems.error(
                "INCLUDE_TOO_DEEP",
                in_file(source.label, f"includes nest deeper than {MAX_NESTING} levels"),
                None,
                at,
            )
            return
        paths = [reader.resolve(p) for p in written]
        outside = [w for w, p in zip(written, paths, strict=True) if p is None]
        if outside:
            problems.error(
                "INCLUDE_NOT_RESOLVED",
                in_file(
                    source.label,
                    f"cannot include {outside[0]!r}: only files inside the project can be included "
                    "(no absolute paths, home directories or remote resources)",
                ),
                None,
                f"{at}.path",
            )
            continue
        files = [p for p in paths if p is not None]
        if files[0] in chain:
            cycle = " -> ".join((*chain[chain.index(files[0]) :], files[0]))
            problems.error("INCLUDE_CYCLE", in_file(source.label, f"include cycle: {cycle}"), None, at)
            continue
        directory = item.get("project_directory")
        project_dir = reader.resolve(directory) if directory is not None else posixpath.dirname(files[0])
        if project_dir is None:
            problems.error(
                "INCLUDE_NOT_RESOLVED",
                in_file(source.label, f"the project_directory {directory!r} is outside the project"),
                None,
                f"{at}.project_directory",
            )
            continue
        own = _include_variables(reader, item, at, project_dir, variables, source)
        if own is None:
            continue
        included: dict[str, Any] = {}
        loaded = True
        for position, path in enumerate(files):

            def missing(message: str, field: str = f"{at}.path[{position}]") -> None:
                problems.error("INCLUDE_FILE_MISSING", in_file(source.label, message), None, field)

            text = reader.read_project_file(path, "included file", missing)
            if text is None:
                loaded = False
                continue
            part_source = Source(repr(path), path, project_dir)
            part = reader.load(reader.parse_text(text, part_source), part_source, own, chain)
            if part is None:
                loaded = False
                continue
            included = merge_documents([included, part])
        if loaded:
            _import(included, document, files[0], source, reader)


def _include_variables(
    reader: ProjectReader,
    item: Mapping[str, Any],
    at: str,
    project_dir: str,
    variables: Mapping[str, str],
    source: Source,
) -> dict[str, str] | None:
    """The included application's variables: the including file's over those of its env files."""
    problems = reader.problems
    written = [str(p) for p in _listed(item.get("env_file"))]
    default = posixpath.join(project_dir, ".env") if project_dir else ".env"
    candidates: list[tuple[str | None, str, bool]] = (
        [(reader.resolve(w), w, True) for w in written if w != "/dev/null"]
        if written
        else [(default, default, False)]
    )
    own: dict[str, str] = {}
    for index, (path, shown, required) in enumerate(candidates):
        field = f"{at}.env_file[{index}]" if written else at
        text = reader.project.read(path) if path is not None else None
        if text is None:
            if not required:
                continue
            where = (
                "is outside the project"
                if path is None
                else (
                    "is not in the repository"
                    if reader.project.from_repository
                    else f"was not supplied: add it in projectFiles (path {path!r})"
                )
            )
            problems.error(
                "ENV_FILE_MISSING",
                in_file(source.label, f"the include env_file {shown!r} {where}"),
                None,
                field,
            )
            return None
        try:
            parse_dotenv(text, {**variables}, own)
        except EnvFileError as exc:
            problems.error(
                "ENV_FILE_INVALID", in_file(source.label, f"the env_file {shown!r}: {exc}"), None, field
            )
            return None
    return {**own, **variables}


def _import(
    included: dict[str, Any],
    document: dict[str, Any],
    path: str,
    source: Source,
    reader: ProjectReader,
) -> None:
    """Copy the resources of ``included`` into ``document``; a name defined differently on both sides is
    an ``INCLUDE_CONFLICT``."""
    for key in _RESOURCES:
        resources = included.get(key)
        if not isinstance(resources, dict):
            continue
        target = document.get(key)
        target = target if isinstance(target, dict) else {}
        for name, value in resources.items():
            if name in target and target[name] != value:
                reader.problems.error(
                    "INCLUDE_CONFLICT",
                    in_file(
                        source.label,
                        f"{key}.{name} is defined both here and in the included file {path!r}: rename one "
                        "of them, or define it in one place only",
                    ),
                    name if key == "services" else None,
                    f"{key}.{name}",
                )
                continue
            target[name] = value
        document[key] = target
