"""The Git adapter: shallow, bounded clones with the ``git`` binary, and the checked-out files."""

from __future__ import annotations

from app.git.cloner import CheckedOut, GitCli
from app.git.project_files import DirectoryProjectFiles

__all__ = ["CheckedOut", "DirectoryProjectFiles", "GitCli"]
