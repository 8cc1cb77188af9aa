"""Fixtures of the Git adapter tests: a real smart-HTTP Git server on loopback, a cloner, a clone root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.git import GitCli
from app.ports import CloneLimits
from tests.git_server import GitServer, serving_git

LIMITS = CloneLimits(timeout_seconds=30, max_bytes=5 * 1024 * 1024, max_files=100)


@pytest.fixture
async def git_server(tmp_path: Path) -> AsyncIterator[GitServer]:
    async with serving_git(tmp_path / "git-server") as server:
        yield server


@pytest.fixture
def clone_root(tmp_path: Path) -> Path:
    """Where clones are made; every test checks it is left empty."""
    return tmp_path / "clones"


@pytest.fixture
def cloner(clone_root: Path) -> GitCli:
    return GitCli(work_dir=clone_root, allow_http=True)


def left_in(folder: Path) -> list[str]:
    """What is left in a clone root (nothing, once every clone has ended)."""
    return sorted(entry.name for entry in folder.iterdir()) if folder.exists() else []


def command_lines() -> list[bytes]:
    """The command line of every process (what ``ps`` shows to anyone)."""
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes())
            except OSError:
                continue
    return lines
