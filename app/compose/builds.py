"""A service's ``build`` (short or long syntax) → the build configuration a workload node carries for the
Build feature: ``{"context", "dockerfile", "target", "args", "useNixpacks"}`` with the context relative to
the project root (``""`` is the root) and the Dockerfile relative to the context."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from app.compose.merging import as_map
from app.compose.problems import Problems
from app.compose.project import ProjectFiles, resolve

DEFAULT_DOCKERFILE = "Dockerfile"
_READ = frozenset({"context", "dockerfile", "dockerfile_inline", "target", "args"})
_REMOTE = ("http://", "https://", "git://", "ssh://", "git@", "github.com/")


def build_config(
    name: str,
    build: Any,
    variables: Mapping[str, str],
    project: ProjectFiles,
    base_dir: str,
    problems: Problems,
) -> dict[str, Any] | None:
    """The build configuration of service ``name``'s ``build``, or None (with the reason warned) when it
    cannot be built from the project."""
    at = f"services.{name}.build"
    spec: Mapping[str, Any] = build if isinstance(build, dict) else {"context": build}
    context = str(spec.get("context") or ".")
    if context.startswith(_REMOTE) or "://" in context:
        problems.warn(
            "BUILD_CONTEXT_REMOTE",
            f"the build context {context!r} is a remote URL: import that repository to build it",
            name,
            f"{at}.context",
        )
        return None
    folder = resolve(base_dir, context)
    if folder is None:
        problems.warn(
            "BUILD_CONTEXT_OUTSIDE",
            f"the build context {context!r} lies outside the project, so it cannot be built from it",
            name,
            f"{at}.context",
        )
        return None
    if project.from_repository and not project.is_dir(folder):
        problems.warn(
            "BUILD_CONTEXT_MISSING",
            f"the build context {folder or '.'!r} is not a folder of the repository",
            name,
            f"{at}.context",
        )
    config: dict[str, Any] = {
        "context": folder,
        "dockerfile": _dockerfile(name, spec, folder, problems),
        "target": str(spec["target"]) if spec.get("target") else None,
        "args": _args(spec.get("args"), variables),
        "useNixpacks": False,
    }
    ignored = sorted(str(key) for key in spec if key not in _READ)
    if ignored:
        problems.warn(
            "BUILD_OPTION_NOT_TRANSLATED",
            f"build options {', '.join(ignored)} are not kept in the build configuration",
            name,
            at,
        )
    return config


def _dockerfile(name: str, spec: Mapping[str, Any], folder: str, problems: Problems) -> str:
    at = f"services.{name}.build"
    if spec.get("dockerfile_inline"):
        problems.warn(
            "BUILD_INLINE_DOCKERFILE",
            f"an inline Dockerfile is not kept: add it to the context as {DEFAULT_DOCKERFILE}",
            name,
            f"{at}.dockerfile_inline",
        )
    written = spec.get("dockerfile")
    if not isinstance(written, str) or not written:
        return DEFAULT_DOCKERFILE
    normal = posixpath.normpath(written)
    if resolve(folder, normal) is None or normal.startswith("/"):
        problems.warn(
            "BUILD_DOCKERFILE_OUTSIDE",
            f"the Dockerfile {written!r} lies outside the project; {DEFAULT_DOCKERFILE} is used",
            name,
            f"{at}.dockerfile",
        )
        return DEFAULT_DOCKERFILE
    return normal


def _args(raw: Any, variables: Mapping[str, str]) -> dict[str, str]:
    """Build arguments; one given without a value takes it from the variables, else is left out."""
    args: dict[str, str] = {}
    for key, value in as_map(raw).items():
        if not key.strip():
            continue
        if value is None:
            if key in variables:
                args[key] = variables[key]
            continue
        args[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return args
