"""The Git adapter against a real smart-HTTP server: branches, tags and commits; what is left out; auth;
the clone folder removed afterwards, whatever happens."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from app.domain.git import GitAuth
from app.domain.imports import CloneFailed, CloneFailure
from app.git import GitCli
from app.ports import CloneProgress
from tests.git.conftest import LIMITS, command_lines, left_in
from tests.git_server import GitServer


async def test_a_branch_a_tag_and_a_commit_are_checked_out(
    git_server: GitServer, cloner: GitCli, clone_root: Path
) -> None:
    repo = git_server.repository("shop", {"compose.yaml": "services: {web: {image: v1}}\n", "README.md": "x"})
    first = repo.commits[0]
    repo.tag("v1.0")
    second = repo.commit({"compose.yaml": "services: {web: {image: v2}}\n"})
    third = repo.commit({"compose.yaml": "services: {web: {image: next}}\n", "new.txt": "n"}, branch="next")

    seen = {}
    for ref in (None, "main", "v1.0", "refs/tags/v1.0", first, "next"):
        async with cloner.clone(repo.url, ref, auth=None, limits=LIMITS) as checkout:
            seen[ref] = (checkout.commit, checkout.project.read("compose.yaml"), sorted(checkout.files))

    assert (
        seen[None]
        == seen["main"]
        == (second, "services: {web: {image: v2}}\n", ["README.md", "compose.yaml"])
    )
    assert seen["v1.0"] == seen["refs/tags/v1.0"] == seen[first]
    assert seen[first][:2] == (first, "services: {web: {image: v1}}\n")
    assert seen["next"] == (
        third,
        "services: {web: {image: next}}\n",
        ["README.md", "compose.yaml", "new.txt"],
    )
    assert left_in(clone_root) == []


async def test_progress_is_reported_up_to_the_checkout(git_server: GitServer, cloner: GitCli) -> None:
    repo = git_server.repository("big", {f"f{i}.bin": os.urandom(4096) for i in range(40)})
    reports: list[CloneProgress] = []

    async def record(report: CloneProgress) -> None:
        reports.append(report)

    async with cloner.clone(repo.url, None, auth=None, limits=LIMITS, on_progress=record) as checkout:
        assert len(checkout.files) == 40

    percents = [r.percent for r in reports]
    assert percents == sorted(percents)
    assert any(r.phase == "Receiving objects" for r in reports)
    assert reports[-1].percent == 100


async def test_symbolic_links_and_their_targets_are_left_out(
    git_server: GitServer, cloner: GitCli, clone_root: Path
) -> None:
    repo = git_server.repository("links", {"app/compose.yaml": "services: {}\n"})
    os.symlink("/etc/passwd", repo.work / "app" / "passwd")
    os.symlink("compose.yaml", repo.work / "app" / "alias.yaml")
    repo.commit({})

    async with cloner.clone(repo.url, None, auth=None, limits=LIMITS) as checkout:
        assert checkout.files == ("app/compose.yaml",)
        assert sorted(checkout.skipped) == ["app/alias.yaml", "app/passwd"]
        assert checkout.project.read("app/passwd") is None
        assert not checkout.project.exists("app/alias.yaml")
        assert checkout.project.read("app/compose.yaml") == "services: {}\n"
        assert checkout.project.read("../../../etc/passwd") is None
    assert left_in(clone_root) == []


@pytest.mark.parametrize(
    ("ref", "reason", "words"),
    [
        ("no-such-branch", CloneFailure.REF_NOT_FOUND, "'no-such-branch' was not found"),
        ("0" * 40, CloneFailure.REF_NOT_FOUND, "was not found"),
    ],
)
async def test_a_missing_ref_is_named(
    git_server: GitServer, cloner: GitCli, clone_root: Path, ref: str, reason: CloneFailure, words: str
) -> None:
    repo = git_server.repository("refs", {"a.txt": "a"})
    with pytest.raises(CloneFailed) as failed:
        async with cloner.clone(repo.url, ref, auth=None, limits=LIMITS):
            pass
    assert failed.value.reason is reason
    assert words in failed.value.message
    assert left_in(clone_root) == []


async def test_a_missing_repository_is_not_found(git_server: GitServer, cloner: GitCli) -> None:
    with pytest.raises(CloneFailed) as failed:
        async with cloner.clone(f"{git_server.base_url}/nothing.git", None, auth=None, limits=LIMITS):
            pass
    assert failed.value.reason is CloneFailure.NOT_FOUND
    assert "was not found on 127.0.0.1" in failed.value.message


async def test_a_private_repository_needs_the_token(git_server: GitServer, cloner: GitCli) -> None:
    repo = git_server.repository("private", {"a.txt": "secret stuff"})
    git_server.protect("private", "x-access-token", "s3cr3t-token")
    good = GitAuth(host="127.0.0.1", kind="TOKEN", username=None, secret="s3cr3t-token")
    wrong = GitAuth(host="127.0.0.1", kind="TOKEN", username=None, secret="wrong")

    async with cloner.clone(repo.url, None, auth=good, limits=LIMITS) as checkout:
        assert checkout.project.read("a.txt") == "secret stuff"
    with pytest.raises(CloneFailed) as anonymous:
        async with cloner.clone(repo.url, None, auth=None, limits=LIMITS):
            pass
    with pytest.raises(CloneFailed) as refused:
        async with cloner.clone(repo.url, None, auth=wrong, limits=LIMITS):
            pass

    assert anonymous.value.reason is CloneFailure.AUTHENTICATION_FAILED
    assert "add a Git credential for 127.0.0.1" in anonymous.value.message
    assert refused.value.reason is CloneFailure.AUTHENTICATION_FAILED
    assert "refused" in refused.value.message
    assert "wrong" not in refused.value.message


async def test_the_token_never_appears_on_a_command_line(git_server: GitServer, cloner: GitCli) -> None:
    repo = git_server.repository("held", {"a.txt": "a"})
    git_server.protect("held", "x-access-token", "tok-0123456789")
    git_server.hold("held")
    auth = GitAuth(host="127.0.0.1", kind="TOKEN", username=None, secret="tok-0123456789")

    async def clone() -> str:
        async with cloner.clone(repo.url, None, auth=auth, limits=LIMITS) as checkout:
            return checkout.commit

    task = asyncio.ensure_future(clone())
    await git_server.held_request("held")  # git is now waiting for the server's answer
    seen = command_lines()
    git_server.release("held")
    assert await task == repo.commits[0]
    assert any(b"fetch" in line and repo.url.encode() in line for line in seen)
    assert not any(b"tok-0123456789" in line for line in seen)


async def test_a_key_for_another_scheme_is_refused_clearly(git_server: GitServer, cloner: GitCli) -> None:
    repo = git_server.repository("scheme", {"a.txt": "a"})
    key = GitAuth(
        host="127.0.0.1", kind="SSH_KEY", username=None, secret="-----BEGIN OPENSSH PRIVATE KEY-----"
    )
    with pytest.raises(CloneFailed) as failed:
        async with cloner.clone(repo.url, None, auth=key, limits=LIMITS):
            pass
    assert failed.value.reason is CloneFailure.AUTHENTICATION_FAILED
    assert "works with ssh:// addresses only" in failed.value.message


async def test_plain_http_is_refused_unless_allowed(git_server: GitServer, clone_root: Path) -> None:
    repo = git_server.repository("plain", {"a.txt": "a"})
    strict = GitCli(work_dir=clone_root, allow_http=False)
    with pytest.raises(CloneFailed) as failed:
        async with strict.clone(repo.url, None, auth=None, limits=LIMITS):
            pass
    assert "transport 'http' not allowed" in failed.value.message
    assert git_server.requests == []
    assert left_in(clone_root) == []


async def test_a_cancelled_clone_is_removed(git_server: GitServer, cloner: GitCli, clone_root: Path) -> None:
    repo = git_server.repository("cancelled", {"a.txt": "a"})
    git_server.stall("cancelled")

    async def clone() -> None:
        async with cloner.clone(repo.url, None, auth=None, limits=LIMITS):
            pass

    task = asyncio.ensure_future(clone())
    await git_server.held_request("cancelled")
    assert len(left_in(clone_root)) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert left_in(clone_root) == []
