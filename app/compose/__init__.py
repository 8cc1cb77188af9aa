"""Docker Compose import, the pure part: compose files (text) → an analysis with a suggested canvas.

No I/O here: callers pass the file contents, an optional ``.env`` text and user values, and store the
result (Secret values encrypted) themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.compose.interpolation import InterpolationError, interpolate_tree, parse_env_text
from app.compose.loading import MAX_BYTES, load_yaml
from app.compose.merging import merge_documents, resolve_extends, strip_extensions
from app.compose.problems import ComposeError, ComposeProblem, Problems
from app.compose.project import NO_FILES, FilesInMemory, ProjectFiles
from app.compose.translating import build_canvas, translate
from app.domain.canvas_check import check_canvas
from app.domain.workflows import Canvas

TOP_LEVEL_KEYS = frozenset(
    {"version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models"}
)
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
    profiles: Sequence[str] | None = None,  # noqa: ARG001 (issue 9: profiles are being added)
    project: ProjectFiles = NO_FILES,
    base_dir: str = "",
    max_bytes: int = MAX_BYTES,
) -> ComposeAnalysis:
    """Analyse the compose ``files`` (contents, later ones overriding earlier ones) without writing.

    ``profiles`` are the compose profiles to enable (services without profiles are always in);
    ``project`` reads the other files of the project (``env_file``, ``configs``/``secrets`` files,
    ``include``, ``extends.file``, single-file bind mounts), with paths relative to ``base_dir``, the
    folder of the compose files inside the project."""
    problems = Problems()
    if service_type not in SERVICE_TYPES:
        problems.error("INVALID_SERVICE_TYPE", f"service_type must be one of {', '.join(SERVICE_TYPES)}")
        return _failed(problems)
    if not files:
        problems.error("NO_COMPOSE_FILE", "no compose file was given")
        return _failed(problems)
    try:
        variables = parse_env_text(env_text, values) if env_text else {}
        variables.update(values or {})
        documents = [
            _document(text, index, max_bytes, variables, problems) for index, text in enumerate(files)
        ]
    except ComposeError as exc:
        problems.errors.append(exc.problem)
        return _failed(problems)
    except InterpolationError as exc:
        problems.error("INTERPOLATION_FAILED", str(exc))
        return _failed(problems)
    if problems.errors:
        return _failed(problems)
    model = merge_documents(documents)
    services = model.get("services")
    if not isinstance(services, dict) or not services:
        problems.error("NO_SERVICES", "the project defines no services", None, "services")
        return _failed(problems)
    if model.get("include"):
        problems.warn(
            "INCLUDE_NOT_SUPPORTED", "include is not resolved: pass the included files too", None, "include"
        )
    for key in ("configs", "secrets"):
        if model.get(key):
            problems.warn("TOP_LEVEL_NOT_TRANSLATED", f"top-level {key} are not translated yet", None, key)
    services = resolve_extends(services, problems)
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


def _document(
    text: str, index: int, max_bytes: int, variables: dict[str, str], problems: Problems
) -> dict[str, Any]:
    loaded = load_yaml(text, max_bytes=max_bytes)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ComposeError(
            ComposeProblem("INVALID_COMPOSE", f"file {index + 1}: the top level must be a mapping")
        )
    document = strip_extensions(loaded)
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            problems.error(
                "UNKNOWN_TOP_LEVEL_KEY", f"file {index + 1}: unknown top-level key {key!r}", None, str(key)
            )
    name = document.get("name")
    if isinstance(name, str) and "$" not in name:
        variables.setdefault("COMPOSE_PROJECT_NAME", name)
    reported: set[str] = set()

    def missing(variable: str, path: str) -> None:
        if variable not in reported:
            reported.add(variable)
            problems.warn(
                "VARIABLE_NOT_SET", f"the variable {variable} is not set; it is read as empty", None, path
            )

    result = interpolate_tree(document, variables, missing)
    assert isinstance(result, dict)
    return result


def _failed(problems: Problems) -> ComposeAnalysis:
    return ComposeAnalysis(warnings=tuple(problems.warnings), errors=tuple(problems.errors))
