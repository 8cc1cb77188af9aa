"""A clone stops at its limits — time, bytes, files — with the limit named, and leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.domain.imports import CloneFailed, CloneFailure
from app.git import GitCli
from app.ports import CloneLimits
from tests.git.conftest import left_in
from tests.git_server import GitServer


async def clone_fails(cloner: GitCli, url: str, limits: CloneLimits) -> CloneFailed:
    with pytest.raises(CloneFailed) as failed:
        async with cloner.clone(url, None, auth=None, limits=limits):
            pass
    return failed.value


async def test_too_many_files(git_server: GitServer, cloner: GitCli, clone_root: Path) -> None:
    repo = git_server.repository("many", {f"dir/{i}.txt": str(i) for i in range(30)})
    failed = await clone_fails(cloner, repo.url, CloneLimits(30, 10_000_000, max_files=29))
    assert failed.reason is CloneFailure.TOO_MANY_FILES
    assert "more than 29 files, over the file limit" in failed.message
    assert left_in(clone_root) == []


async def test_files_adding_up_to_too_much(git_server: GitServer, cloner: GitCli, clone_root: Path) -> None:
    # Compressible content: the download stays small, the checkout would not.
    repo = git_server.repository("wide", {f"{i}.txt": "a" * 400_000 for i in range(5)})
    failed = await clone_fails(cloner, repo.url, CloneLimits(30, 1_000_000, max_files=100))
    assert failed.reason is CloneFailure.TOO_LARGE
    assert "over the size limit of 1.0 MiB" in failed.message
    assert left_in(clone_root) == []


async def test_a_download_larger_than_the_limit(
    git_server: GitServer, cloner: GitCli, clone_root: Path
) -> None:
    repo = git_server.repository("heavy", {"blob.bin": os.urandom(3_000_000)})
    failed = await clone_fails(cloner, repo.url, CloneLimits(30, 1_000_000, max_files=100))
    assert failed.reason is CloneFailure.TOO_LARGE
    assert "size limit of 1.0 MiB" in failed.message
    assert left_in(clone_root) == []


async def test_a_server_that_stalls_times_out(
    git_server: GitServer, cloner: GitCli, clone_root: Path
) -> None:
    repo = git_server.repository("stalled", {"a.txt": "a"})
    git_server.stall("stalled")
    failed = await clone_fails(cloner, repo.url, CloneLimits(0.3, 10_000_000, max_files=100))
    assert failed.reason is CloneFailure.TIMEOUT
    assert "longer than the time limit of 0.3 s" in failed.message
    assert left_in(clone_root) == []
