"""Finding what to import in a repository, and the one-service analysis of a project without compose.

:func:`discover` looks at the list of a repository's files (POSIX paths relative to its root) and finds
the compose project to analyse — ``compose.yaml``, ``compose.yml``, ``docker-compose.yml`` or
``docker-compose.yaml`` with its override file, in that order of preference, as Docker Compose picks
them — in the chosen folder or, when none is chosen, anywhere in the repository (several folders: the
user picks). Without a compose file, a Dockerfile or a language project (``package.json``,
``requirements.txt``, ``go.mod`` …) is one service built from source: :func:`project_analysis` makes its
canvas, a Deployment (and a Service when the Dockerfile exposes a port) carrying a build configuration.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.compose import ComposeAnalysis, ComposeProblem
from app.domain.canvas_check import check_canvas
from app.domain.names import slugify_dns1123
from app.domain.workflows import Canvas, Edge, Node, Position

COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILE_NAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
DOCKERFILE = "Dockerfile"
ENV_FILE = ".env"

SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        "node_modules",
        "vendor",
        "bower_components",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".terraform",
        ".idea",
        ".vscode",
    }
)
"""Folders never searched: dependencies and tool state, not the project's own files."""


@dataclass(frozen=True, slots=True)
class Language:
    name: str
    markers: tuple[str, ...]
    port: int  # the port its usual frameworks listen on


LANGUAGES = (
    Language("Node.js", ("package.json",), 3000),
    Language("Python", ("requirements.txt", "pyproject.toml", "setup.py", "Pipfile"), 8000),
    Language("Go", ("go.mod",), 8080),
    Language("Ruby", ("Gemfile",), 3000),
    Language("Java", ("pom.xml", "build.gradle", "build.gradle.kts"), 8080),
    Language("Rust", ("Cargo.toml",), 8080),
    Language("PHP", ("composer.json",), 80),
    Language("Elixir", ("mix.exs",), 4000),
    Language("Deno", ("deno.json", "deno.jsonc"), 8000),
)


@dataclass(frozen=True, slots=True)
class ComposeProject:
    """Compose files to analyse together (the first, then its override), all in ``folder``."""

    folder: str
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceProject:
    """A service built from source in ``folder``: from its ``dockerfile`` (a path in the repository) or,
    without one, by Nixpacks from the detected ``language``."""

    folder: str
    dockerfile: str | None
    language: Language | None


@dataclass(frozen=True, slots=True)
class Discovery:
    """One of: a compose project, a source project, several ``candidates`` (folders, ``.`` for the root;
    compose projects unless ``compose_candidates`` is False) to choose from, or a ``problem`` saying why
    nothing can be imported."""

    compose: ComposeProject | None = None
    project: SourceProject | None = None
    candidates: tuple[str, ...] = ()
    compose_candidates: bool = True
    problem: str | None = None


def _folder(path: str) -> str:
    return posixpath.dirname(path)


def _skipped(path: str) -> bool:
    return any(part in SKIPPED_FOLDERS for part in path.split("/")[:-1])


def _shown(folder: str) -> str:
    return folder or "."


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _compose_in(folder: str, files: frozenset[str]) -> ComposeProject | None:
    main = next((_join(folder, n) for n in COMPOSE_FILE_NAMES if _join(folder, n) in files), None)
    if main is None:
        return None
    override = next((_join(folder, n) for n in OVERRIDE_FILE_NAMES if _join(folder, n) in files), None)
    return ComposeProject(folder, (main, override) if override else (main,))


def _source_in(folder: str, files: frozenset[str]) -> SourceProject | None:
    dockerfile = _join(folder, DOCKERFILE)
    language = next(
        (lang for lang in LANGUAGES if any(_join(folder, m) in files for m in lang.markers)), None
    )
    if dockerfile in files:
        return SourceProject(folder, dockerfile, language)
    if language is not None:
        return SourceProject(folder, None, language)
    return None


def _is_source_marker(name: str) -> bool:
    return name == DOCKERFILE or any(name in lang.markers for lang in LANGUAGES)


def discover(paths: Iterable[str], path: str | None = None) -> Discovery:
    """What to import from a repository holding the files ``paths``.

    ``path`` is a folder (``""``: the root only) or a file (a compose file or a Dockerfile) chosen by
    the user; ``None`` searches the whole repository, outside :data:`SKIPPED_FOLDERS`."""
    files = frozenset(paths)
    if path is not None:
        return _discover_at(path, files)
    compose_folders = sorted(
        {_folder(f) for f in files if posixpath.basename(f) in COMPOSE_FILE_NAMES and not _skipped(f)}
    )
    if len(compose_folders) == 1:
        compose = _compose_in(compose_folders[0], files)
        assert compose is not None
        return Discovery(compose=compose)
    if compose_folders:
        return Discovery(candidates=tuple(_shown(f) for f in compose_folders))
    root = _source_in("", files)
    if root is not None:
        return Discovery(project=root)
    source_folders = sorted(
        {_folder(f) for f in files if _is_source_marker(posixpath.basename(f)) and not _skipped(f)}
    )
    if len(source_folders) == 1:
        return Discovery(project=_source_in(source_folders[0], files))
    if source_folders:
        return Discovery(candidates=tuple(_shown(f) for f in source_folders), compose_candidates=False)
    return Discovery(
        problem="no compose file, Dockerfile or language project (package.json, requirements.txt, go.mod…) "
        "was found in the repository"
    )


def _discover_at(path: str, files: frozenset[str]) -> Discovery:
    if path in files:
        name = posixpath.basename(path)
        folder = _folder(path)
        if name.endswith((".yml", ".yaml")):
            override = None
            if name in COMPOSE_FILE_NAMES:
                override = next(
                    (_join(folder, n) for n in OVERRIDE_FILE_NAMES if _join(folder, n) in files), None
                )
            return Discovery(compose=ComposeProject(folder, (path, override) if override else (path,)))
        if (
            name == DOCKERFILE
            or name.endswith((".Dockerfile", ".dockerfile"))
            or name.startswith("Dockerfile.")
        ):
            language = _source_in(folder, files)
            return Discovery(project=SourceProject(folder, path, language.language if language else None))
        return Discovery(problem=f"{path} is neither a compose file (.yml, .yaml) nor a Dockerfile")
    prefix = f"{path}/" if path else ""
    if path and not any(f.startswith(prefix) for f in files):
        return Discovery(problem=f"{path} was not found in the repository")
    compose = _compose_in(path, files)
    if compose is not None:
        return Discovery(compose=compose)
    source = _source_in(path, files)
    if source is not None:
        return Discovery(project=source)
    return Discovery(
        problem=f"no compose file ({', '.join(COMPOSE_FILE_NAMES)}), Dockerfile or language project "
        f"was found in {_shown(path)}"
    )


# --- Dockerfiles ----------------------------------------------------------------------------------------

_EXPOSED = re.compile(r"^(?:\$\{\w+:-)?(\d{1,5})\}?(?:-\d{1,5})?(?:/(?:tcp|udp|sctp))?$", re.IGNORECASE)


def exposed_ports(dockerfile: str) -> list[int]:
    """The ports the final stage of ``dockerfile`` EXPOSEs (``${PORT:-8080}`` counts as 8080), in order."""
    ports: list[int] = []
    logical = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        words = logical.split()
        logical = ""
        if not words:
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            ports = []  # only the final stage's ports matter
        elif instruction == "EXPOSE":
            for word in words[1:]:
                match = _EXPOSED.match(word)
                if match and 1 <= int(match.group(1)) <= 65535 and int(match.group(1)) not in ports:
                    ports.append(int(match.group(1)))
    return ports


# --- The one-service analysis ---------------------------------------------------------------------------


def build_configuration(project: SourceProject, *, repo_url: str, ref: str | None) -> dict[str, Any]:
    """The build configuration a node carries for the build feature, as the compose translation writes
    it: the context relative to the repository root (``""`` is the root), the Dockerfile relative to the
    context; plus where the source is (``repoUrl``, ``ref``)."""
    dockerfile = (
        posixpath.relpath(project.dockerfile, project.folder or ".") if project.dockerfile else DOCKERFILE
    )
    return {
        "context": project.folder,
        "dockerfile": dockerfile,
        "target": None,
        "args": {},
        "useNixpacks": project.dockerfile is None,
        "repoUrl": repo_url,
        "ref": ref,
    }


def with_repository(canvas: Canvas, *, repo_url: str, ref: str | None) -> Canvas:
    """``canvas`` whose build configurations (``data.build`` objects) say where the source is."""
    return Canvas(
        tuple(
            Node(
                n.id,
                n.kind,
                n.position,
                {**n.data, "build": {**n.data["build"], "repoUrl": repo_url, "ref": ref}},
            )
            if isinstance(n.data.get("build"), dict)
            else n
            for n in canvas.nodes
        ),
        canvas.edges,
    )


def project_analysis(
    project: SourceProject,
    *,
    dockerfile_text: str | None,
    name: str,
    namespace: str | None,
    repo_url: str,
    ref: str | None,
) -> ComposeAnalysis:
    """One service built from source: a Deployment named after the project (image ``<name>:latest``,
    to be built) carrying the build configuration, and a Service when the Dockerfile EXPOSEs a port."""
    slug = slugify_dns1123(name)
    warnings: list[ComposeProblem] = []
    ports = exposed_ports(dockerfile_text) if dockerfile_text else []
    data: dict[str, Any] = {"name": slug, "image": f"{slug}:latest", "replicas": 1}
    if namespace:
        data["namespace"] = namespace
    if ports:
        data["port"] = ports[0]
    elif project.dockerfile is None and project.language is not None:
        data["port"] = project.language.port
        warnings.append(
            ComposeProblem(
                "PORT_ASSUMED",
                f"no Dockerfile: the {project.language.name} app is assumed to listen on "
                f"{project.language.port}; change the port if it does not, and add a Service if it serves "
                "traffic",
                slug,
            )
        )
    elif project.dockerfile is not None:
        warnings.append(
            ComposeProblem(
                "NO_EXPOSED_PORT",
                "the Dockerfile exposes no port, so no Service was made; add one if the app serves traffic",
                slug,
                project.dockerfile,
            )
        )
    build = build_configuration(project, repo_url=repo_url, ref=ref)
    if project.dockerfile:
        how = f"from {project.dockerfile}"
    else:
        how = f"with Nixpacks ({project.language.name})" if project.language else "with Nixpacks"
    warnings.append(
        ComposeProblem(
            "IMAGE_TO_BUILD",
            f"the image {slug}:latest is built from source {how}; build and push it, then set the image",
            slug,
        )
    )
    nodes = [Node(slug, "Deployment", Position(700.0, 100.0), data)]
    edges: list[Edge] = []
    if ports:
        service: dict[str, Any] = {"name": slug, "serviceType": "ClusterIP", "port": ports[0]}
        if namespace:
            service["namespace"] = namespace
        if len(ports) > 1:
            service["ports"] = [
                {"name": f"tcp-{port}", "protocol": "TCP", "port": port, "targetPort": port} for port in ports
            ]
        nodes.insert(0, Node(f"{slug}-svc", "Service", Position(400.0, 100.0), service))
        edges.append(Edge(f"e-{slug}-svc-{slug}", f"{slug}-svc", slug))
    checked = check_canvas(Canvas(tuple(nodes), tuple(edges)))
    errors = tuple(ComposeProblem("CANVAS_INVALID", p.message, slug, p.path) for p in checked.errors)
    if errors:
        return ComposeAnalysis(warnings=tuple(warnings), errors=errors)
    # The build configuration travels with the node even where the node kinds do not declare it (yet).
    canvas = Canvas(
        tuple(
            Node(n.id, n.kind, n.position, {**n.data, "build": build}) if n.id == slug else n
            for n in checked.canvas.nodes
        ),
        checked.canvas.edges,
    )
    warnings.extend(ComposeProblem("CANVAS_INCOMPLETE", p.message, slug, p.path) for p in checked.warnings)
    return ComposeAnalysis(
        services=(slug,),
        canvas=canvas,
        warnings=tuple(warnings),
    )
