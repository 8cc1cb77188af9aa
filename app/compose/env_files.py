"""``env_file``: the variables of a service's env files, read through the project's files, merged into
its ``environment`` the way Docker Compose v2 does it (compose-go ``WithServicesEnvironmentResolved``).

Forms: a path, a list of paths, or items ``{path, required (default true), format}``; paths are relative to
the compose files' folder. Later files win over earlier ones and ``environment`` wins over them all. A file
is parsed as Compose's dotenv (``format: raw`` as ``docker run --env-file``); its ``${…}`` are interpolated
from the project's variables, then the service's ``environment``, then the variables read before it — never
from the compose file's own interpolation.

A missing file: nothing when ``required: false``; else for a repository an error (``ENV_FILE_MISSING``), and
for pasted files a warning (``ENV_FILE_NOT_RESOLVED``) saying to add it in ``projectFiles``.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from app.compose.interpolation import EnvFileError, parse_dotenv, parse_raw_env
from app.compose.merging import as_map
from app.compose.problems import Problems
from app.compose.project import ProjectFiles, resolve

_DOTENV_FORMATS = (None, "", ".env")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _required(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "n", "off")
    return value is not False


def apply_env_files(
    services: Mapping[str, Any],
    project: ProjectFiles,
    base_dir: str,
    variables: Mapping[str, str],
    problems: Problems,
) -> dict[str, Any]:
    """``services`` with every ``env_file`` read into ``environment`` and removed."""
    out: dict[str, Any] = {}
    for name, service in services.items():
        if not isinstance(service, dict) or "env_file" not in service:
            out[name] = service
            continue
        rest = {k: v for k, v in service.items() if k != "env_file"}
        explicit = as_map(service.get("environment"))
        read = _read(name, service["env_file"], explicit, project, base_dir, variables, problems)
        if read or "environment" in service:
            rest["environment"] = {**read, **explicit}
        out[name] = rest
    return out


def _read(
    name: str,
    env_files: Any,
    explicit: Mapping[str, Any],
    project: ProjectFiles,
    base_dir: str,
    variables: Mapping[str, str],
    problems: Problems,
) -> dict[str, str]:
    given = {key: _text(value) for key, value in explicit.items() if value is not None}
    read: dict[str, str] = dict(given)
    lookup = ChainMap(dict(variables), given)
    listed = env_files if isinstance(env_files, list) else [env_files]
    for index, item in enumerate(listed):
        field = f"services.{name}.env_file[{index}]"
        written = item.get("path") if isinstance(item, dict) else item
        required = _required(item.get("required", True)) if isinstance(item, dict) else True
        file_format = item.get("format") if isinstance(item, dict) else None
        if file_format not in _DOTENV_FORMATS and file_format != "raw":
            problems.error(
                "ENV_FILE_FORMAT_UNSUPPORTED",
                f"the env_file format {file_format!r} is not supported: leave it out (dotenv) or use raw",
                name,
                f"{field}.format",
            )
            continue
        path = resolve(base_dir, written) if isinstance(written, str) else None
        text = project.read(path) if path is not None else None
        if text is None:
            if required:
                _missing(name, str(written), path, project, field, problems)
            continue
        try:
            if file_format == "raw":
                read.update(parse_raw_env(text, lookup))
            else:
                parse_dotenv(text, lookup, read)
        except EnvFileError as exc:
            problems.error("ENV_FILE_INVALID", f"the env_file {path!r} cannot be read: {exc}", name, field)
    return read


def _missing(
    name: str, written: str, path: str | None, project: ProjectFiles, field: str, problems: Problems
) -> None:
    if path is None:
        where = f"the env_file {written!r} is outside the project"
    elif project.exists(path) and not project.is_dir(path):
        where = f"the env_file {path!r} could not be read: it is too large or not text"
    elif project.from_repository:
        where = f"the env_file {path!r} is not in the repository"
    else:
        where = f"the env_file {path!r} was not supplied"
    if project.from_repository:
        problems.error(
            "ENV_FILE_MISSING",
            f"{where}: add it, or mark it required: false in the compose file",
            name,
            field,
        )
        return
    hint = "add it in projectFiles" if path is not None else "put its variables in environment instead"
    problems.warn(
        "ENV_FILE_NOT_RESOLVED",
        f"{where}, so its variables are missing: {hint}" + (f" (path {path!r})" if path is not None else ""),
        name,
        field,
    )
