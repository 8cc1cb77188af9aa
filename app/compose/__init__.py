"""Docker Compose import, the pure part: compose files (text) → an analysis with a suggested canvas.

The project is loaded as Docker Compose v2 loads it: each file parsed with limits, interpolated, checked
against the compose-spec schema, its ``include``s and ``extends`` resolved (:mod:`app.compose.reading`);
the files merged as overrides; the services chosen by profiles; their ``env_file``s read into their
environment. Then it is translated into nodes and edges (:mod:`app.compose.translating`).

No I/O here: callers pass the file contents, an optional ``.env`` text, user values and a reader of the
project's other files, and store the result (Secret values encrypted) themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.compose.env_files import apply_env_files
from app.compose.interpolation import EnvFileError, InterpolationError, interpolate, parse_env_text
from app.compose.loading import MAX_BYTES
from app.compose.merging import merge_documents
from app.compose.problems import ComposeError, ComposeProblem, Problems
from app.compose.profiles import enabled_profiles, select_services
from app.compose.project import NO_FILES, FilesInMemory, ProjectFiles
from app.compose.reading import ProjectReader
from app.compose.sources import Source
from app.compose.translating import build_canvas, translate
from app.domain.canvas_check import check_canvas
from app.domain.workflows import Canvas

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")

__all__ = ["ComposeAnalysis", "ComposeProblem", "FilesInMemory", "ProjectFiles", "analyze"]


@dataclass(frozen=True, slots=True)
class ComposeAnalysis:
    """What a compose project becomes. With ``errors`` the canvas is empty and nothing should be written.

    ``secret_values`` maps a Secret node id to its values (store them encrypted; node data holds only
    the key names)."""

    services: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    canvas: Canvas = field(default_factory=Canvas)
    secret_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    warnings: tuple[ComposeProblem, ...] = ()
    errors: tuple[ComposeProblem, ...] = ()


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(k) for k in value) if isinstance(value, dict) else ()


def analyze(
    files: Sequence[str],
    *,
    env_text: str | None = None,
    values: Mapping[str, str] | None = None,
    namespace: str | None = None,
    service_type: str = "ClusterIP",
    profiles: Sequence[str] | None = None,
    project: ProjectFiles = NO_FILES,
    base_dir: str = "",
    max_bytes: int = MAX_BYTES,
) -> ComposeAnalysis:
    """Analyse the compose ``files`` (contents, later ones overriding earlier ones) without writing.

    ``profiles`` are the compose profiles to enable (else those of ``COMPOSE_PROFILES``; services without
    profiles are always in); ``project`` reads the other files of the project (``env_file``,
    ``configs``/``secrets`` files, ``include``, ``extends.file``, single-file bind mounts), with paths
    relative to ``base_dir``, the folder of the compose files inside the project. ``max_bytes`` bounds
    each compose file, and the included and extended files together."""
    problems = Problems()
    if service_type not in SERVICE_TYPES:
        problems.error("INVALID_SERVICE_TYPE", f"service_type must be one of {', '.join(SERVICE_TYPES)}")
        return _failed(problems)
    if not files:
        problems.error("NO_COMPOSE_FILE", "no compose file was given")
        return _failed(problems)
    if env_text and len(env_text.encode("utf-8", "surrogatepass")) > max_bytes:
        problems.error("DOCUMENT_TOO_LARGE", f"the .env content is larger than {max_bytes} bytes")
        return _failed(problems)
    try:
        variables = parse_env_text(env_text, values) if env_text else {}
    except EnvFileError as exc:
        problems.error("ENV_INVALID", f"the .env content cannot be read: {exc}")
        return _failed(problems)
    variables.update(values or {})
    reader = ProjectReader(project, base_dir, problems, max_bytes)
    documents: list[dict[str, Any]] = []
    try:
        sources = [
            Source(f"compose file {i + 1}" if len(files) > 1 else "", None, base_dir)
            for i in range(len(files))
        ]
        parsed = [reader.parse_text(text, source) for text, source in zip(files, sources, strict=True)]
        _project_name(parsed, variables)
        for loaded, source in zip(parsed, sources, strict=True):
            document = reader.load(loaded, source, variables)
            if document is not None:
                documents.append(document)
    except ComposeError as exc:
        problems.errors.append(exc.problem)
        return _failed(problems)
    if problems.errors:
        return _failed(problems)
    model = merge_documents(documents)
    services = model.get("services")
    if not isinstance(services, dict) or not services:
        problems.error("NO_SERVICES", "the project defines no services", None, "services")
        return _failed(problems)
    services = select_services(services, enabled_profiles(profiles, variables), problems)
    if not services:
        problems.error(
            "NO_SERVICES",
            "no service is left with the enabled profiles: enable one in profiles",
            None,
            "services",
        )
    services = apply_env_files(services, project, base_dir, variables, problems)
    if problems.errors:
        return _failed(problems)
    top_volumes = model.get("volumes") if isinstance(model.get("volumes"), dict) else {}
    assert isinstance(top_volumes, dict)
    out = translate(
        services,
        top_volumes,
        variables,
        problems,
        namespace=namespace,
        service_type=service_type,
        project=project,
        base_dir=base_dir,
        configs=_mapping(model.get("configs")),
        secrets=_mapping(model.get("secrets")),
    )
    if problems.errors:
        return _failed(problems)
    checked = check_canvas(build_canvas(out))
    for problem in checked.warnings:
        problems.warn("CANVAS_INCOMPLETE", problem.message, None, problem.path)
    for problem in checked.errors:
        problems.error("CANVAS_INVALID", problem.message, None, problem.path)
    if problems.errors:
        return _failed(problems)
    return ComposeAnalysis(
        services=tuple(str(name) for name in services),
        volumes=_names(model.get("volumes")),
        networks=_names(model.get("networks")),
        configs=_names(model.get("configs")),
        secrets=_names(model.get("secrets")),
        canvas=checked.canvas,
        secret_values=out.secret_values,
        warnings=tuple(problems.warnings),
        errors=(),
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _project_name(parsed: Sequence[Any], variables: dict[str, str]) -> None:
    """``COMPOSE_PROJECT_NAME`` from the files' ``name`` (the last one given), interpolated and normalised
    as Compose does, unless the variables set it already."""
    names = [d["name"] for d in parsed if isinstance(d, dict) and isinstance(d.get("name"), str)]
    if not names or "COMPOSE_PROJECT_NAME" in variables:
        return
    try:
        name = interpolate(names[-1], variables)
    except InterpolationError:
        return  # reported when the file itself is interpolated
    normal = "".join(re.findall(r"[a-z0-9_-]", name.lower())).lstrip("_-")
    if normal:
        variables["COMPOSE_PROJECT_NAME"] = normal


def _failed(problems: Problems) -> ComposeAnalysis:
    return ComposeAnalysis(warnings=tuple(problems.warnings), errors=tuple(problems.errors))
