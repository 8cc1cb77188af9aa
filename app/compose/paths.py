"""Relative paths of an included or extended compose file, rewritten to be relative to the folder of the
main compose files, so every later step resolves every path the same way.

Compose resolves each file's relative paths against that file's project directory (``include``) or its
own folder (``extends.file``); this module does the same, once, when such a file is loaded. The fields are
those compose-go resolves (``paths.ResolveRelativePaths``): build contexts, ``env_file``, ``label_file``,
``extends.file``, bind-mount sources, ``configs``/``secrets`` files and the ``include`` entries.
"""

from __future__ import annotations

import posixpath
from typing import Any


def _remote(path: str) -> bool:
    return "://" in path or path.startswith(("git@", "github.com/"))


def _moved(path: Any, from_dir: str, to_dir: str) -> Any:
    """``path`` (relative to ``from_dir``) relative to ``to_dir``; absolute, home and remote paths and
    non-strings are kept."""
    if not isinstance(path, str) or not path or path.startswith(("/", "~")) or _remote(path):
        return path
    joined = posixpath.normpath(posixpath.join(from_dir or ".", path))
    return posixpath.relpath(joined, to_dir or ".")


def _bind_source(path: str, from_dir: str, to_dir: str) -> str:
    """A bind-mount source stays recognisable as a path: it starts with ``.`` or ``/``."""
    moved = str(_moved(path, from_dir, to_dir))
    return moved if moved.startswith((".", "/", "~")) else f"./{moved}"


def _paths(value: Any, from_dir: str, to_dir: str) -> Any:
    if isinstance(value, list):
        return [_paths(item, from_dir, to_dir) for item in value]
    if isinstance(value, dict) and "path" in value:
        return {**value, "path": _moved(value["path"], from_dir, to_dir)}
    return _moved(value, from_dir, to_dir)


def _volume(item: Any, from_dir: str, to_dir: str) -> Any:
    if isinstance(item, str):
        source, sep, rest = item.partition(":")
        if sep and source.startswith("."):
            return f"{_bind_source(source, from_dir, to_dir)}:{rest}"
        return item
    if isinstance(item, dict) and item.get("type") == "bind" and isinstance(item.get("source"), str):
        return {**item, "source": _bind_source(item["source"], from_dir, to_dir)}
    return item


def _build(build: Any, from_dir: str, to_dir: str) -> Any:
    if isinstance(build, str):
        return _moved(build, from_dir, to_dir)
    if not isinstance(build, dict):
        return build
    out = {**build, "context": _moved(build.get("context", "."), from_dir, to_dir)}
    contexts = build.get("additional_contexts")
    if isinstance(contexts, dict):
        out["additional_contexts"] = {k: _context(v, from_dir, to_dir) for k, v in contexts.items()}
    elif isinstance(contexts, list):
        out["additional_contexts"] = [
            f"{k}={_context(v, from_dir, to_dir)}" if sep else item
            for item in contexts
            for k, sep, v in [str(item).partition("=")]
        ]
    return out


def _context(value: Any, from_dir: str, to_dir: str) -> Any:
    if isinstance(value, str) and value.startswith(("service:", "docker-image:", "oci-layout:")):
        return value
    return _moved(value, from_dir, to_dir)


def _service(service: dict[str, Any], from_dir: str, to_dir: str) -> dict[str, Any]:
    out = dict(service)
    if "build" in out:
        out["build"] = _build(out["build"], from_dir, to_dir)
    for key in ("env_file", "label_file"):
        if key in out:
            out[key] = _paths(out[key], from_dir, to_dir)
    extends = out.get("extends")
    if isinstance(extends, dict) and "file" in extends:
        out["extends"] = {**extends, "file": _moved(extends["file"], from_dir, to_dir)}
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_volume(item, from_dir, to_dir) for item in out["volumes"]]
    return out


def _include(entry: Any, from_dir: str, to_dir: str) -> Any:
    if isinstance(entry, str):
        return _moved(entry, from_dir, to_dir)
    if not isinstance(entry, dict):
        return entry
    out = dict(entry)
    for key in ("path", "env_file", "project_directory"):
        if key in out:
            out[key] = _paths(out[key], from_dir, to_dir)
    return out


def rebase(document: dict[str, Any], from_dir: str, to_dir: str) -> dict[str, Any]:
    """``document`` (written in the project folder ``from_dir``) with its relative paths rewritten
    relative to ``to_dir``; both folders are relative to the project root."""
    if posixpath.normpath(from_dir or ".") == posixpath.normpath(to_dir or "."):
        return document
    out = dict(document)
    services = out.get("services")
    if isinstance(services, dict):
        out["services"] = {
            name: _service(service, from_dir, to_dir) if isinstance(service, dict) else service
            for name, service in services.items()
        }
    for key in ("configs", "secrets"):
        objects = out.get(key)
        if isinstance(objects, dict):
            out[key] = {
                name: {**item, "file": _moved(item["file"], from_dir, to_dir)}
                if isinstance(item, dict) and "file" in item
                else item
                for name, item in objects.items()
            }
    if isinstance(out.get("include"), list):
        out["include"] = [_include(entry, from_dir, to_dir) for entry in out["include"]]
    return out
