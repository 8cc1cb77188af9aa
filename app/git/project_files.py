"""The files of a checked-out repository as a compose project sees them (``ProjectFiles``).

Paths are POSIX and relative to the repository root. Nothing outside the root is ever read: a path
that climbs out is refused before touching the disk, and a path whose real location (symbolic links
followed) lies outside the root reads as missing. Files larger than the limit, or not UTF-8 text, read
as None too. Listing a folder walks it without following links to folders; a link to a file is listed
only when the file it names is inside the root; the walk stops (and lists nothing) past
``MAX_LISTED_ENTRIES`` entries.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.compose.project import MAX_LISTED_ENTRIES, MAX_PROJECT_FILE_BYTES, resolve


class DirectoryProjectFiles:
    """Read access to the files under ``root`` (a cloned repository, so ``from_repository`` is True)."""

    from_repository = True

    def __init__(self, root: Path, *, max_bytes: int = MAX_PROJECT_FILE_BYTES) -> None:
        self._root = root.resolve()
        self._max_bytes = max_bytes

    def _inside(self, path: str) -> Path | None:
        """The real location of ``path`` if it is inside the root, else None."""
        relative = "" if path in ("", ".") else resolve("", path)
        if relative is None:
            return None
        candidate = self._root / relative if relative else self._root
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symbolic link loop
            return None
        if real != self._root and not real.is_relative_to(self._root):
            return None
        return real

    def read(self, path: str) -> str | None:
        real = self._inside(path)
        if real is None:
            return None
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > self._max_bytes:
            os.close(fd)
            return None
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(self._max_bytes + 1)
        if len(data) > self._max_bytes or b"\x00" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def exists(self, path: str) -> bool:
        return self._inside(path) is not None

    def is_dir(self, path: str) -> bool:
        real = self._inside(path)
        return real is not None and real.is_dir()

    def list_dir(self, path: str) -> list[str] | None:
        real = self._inside(path)
        if real is None or not real.is_dir():
            return None
        found: list[str] = []
        pending = [(real, "")]
        seen = 0
        while pending:
            folder, prefix = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if seen > MAX_LISTED_ENTRIES:
                    return None
                name = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), name + "/"))
                elif entry.is_file(follow_symlinks=False) or self._linked_file(entry):
                    found.append(name)
        return sorted(found)

    def _linked_file(self, entry: os.DirEntry[str]) -> bool:
        """Whether ``entry`` is a symbolic link to a regular file inside the root."""
        if not entry.is_symlink():
            return False
        try:
            target = Path(entry.path).resolve(strict=True)
        except (OSError, RuntimeError):
            return False
        return target.is_relative_to(self._root) and target.is_file()
