"""The files of a compose project besides the compose files themselves: ``.env`` and ``env_file`` files,
``configs`` and ``secrets`` given by ``file``, ``include``d and ``extends``-ed compose files, bind-mounted
files and folders, and build contexts.

Pasted projects hand them over as a mapping (:class:`FilesInMemory`); a cloned repository supplies its own
reader (the Git adapter). Paths are POSIX, relative to the project root; nothing may escape the root.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

MAX_PROJECT_FILE_BYTES = 1024 * 1024
"""The largest project file read (an env file, a config, a bind-mounted file)."""

MAX_LISTED_ENTRIES = 256
"""The most entries (files and sub-folders, at every depth) a folder may hold to be listed."""


class ProjectFiles(Protocol):
    """Read access to a project's files. ``read`` gives None for a file that is missing, too large, not
    text, or outside the root; ``exists`` and ``is_dir`` tell what is there without reading it;
    ``list_dir`` gives the files under a folder (paths relative to it, sorted, sub-folders walked), or
    None when it is not a folder inside the root or holds more than :data:`MAX_LISTED_ENTRIES` entries."""

    @property
    def from_repository(self) -> bool:
        """True for a cloned repository (a missing file is an error of the project), False for pasted
        files (a missing file was simply not supplied)."""
        ...

    def read(self, path: str) -> str | None: ...

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str] | None: ...


def resolve(base_dir: str, path: str) -> str | None:
    """``path`` (as written in a compose file in ``base_dir``) as a normalised path relative to the
    project root, or None when it is absolute, starts from a home directory, or climbs out of the root."""
    if not path or path.startswith(("/", "~")) or "\x00" in path:
        return None
    joined = posixpath.normpath(posixpath.join(base_dir or ".", path))
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


@dataclass(frozen=True, slots=True)
class FilesInMemory:
    """Files handed over with a request (path → content). Paths are normalised (``./a/../b.env`` is
    ``b.env``); those that are absolute or climb out of the root are dropped."""

    files: Mapping[str, str] = field(default_factory=dict)
    from_repository: bool = False

    def __post_init__(self) -> None:
        normal = {key: text for path, text in self.files.items() if (key := resolve("", path))}
        object.__setattr__(self, "files", normal)

    def _key(self, path: str) -> str | None:
        normal = resolve("", path)
        return normal if normal else None

    def read(self, path: str) -> str | None:
        key = self._key(path)
        if key is None:
            return None
        text = self.files.get(key)
        if text is None or len(text.encode()) > MAX_PROJECT_FILE_BYTES:
            return None
        return text

    def exists(self, path: str) -> bool:
        key = self._key(path)
        return key is not None and (key in self.files or self.is_dir(key))

    def is_dir(self, path: str) -> bool:
        key = self._key(path)
        if key is None:
            return path in ("", ".")
        prefix = key.rstrip("/") + "/"
        return any(name.startswith(prefix) for name in self.files)

    def list_dir(self, path: str) -> list[str] | None:
        if not self.is_dir(path):
            return None
        key = self._key(path)
        prefix = key + "/" if key else ""
        found = sorted(name[len(prefix) :] for name in self.files if name.startswith(prefix))
        folders = {posixpath.dirname(name) for name in found}
        for folder in list(folders):
            while folder:
                folders.add(folder)
                folder = posixpath.dirname(folder)
        folders.discard("")
        return found if len(found) + len(folders) <= MAX_LISTED_ENTRIES else None


NO_FILES = FilesInMemory()
"""A pasted project with nothing beside its compose files."""
