"""DirectoryProjectFiles reads text files inside its root, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from app.compose.project import MAX_PROJECT_FILE_BYTES
from app.git import DirectoryProjectFiles


def project(tmp_path: Path) -> DirectoryProjectFiles:
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "web.env").write_text("A=1\n")
    (root / "deploy" / "grüße.txt").write_text("grüß dich ✓")
    (root / "binary.bin").write_bytes(b"\x00\x01\x02")
    (root / "latin1.txt").write_bytes("é".encode("latin-1"))
    (root / "huge.txt").write_text("a" * (MAX_PROJECT_FILE_BYTES + 1))
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink(tmp_path / "outside.txt", root / "escape.txt")
    os.symlink("/etc", root / "etc")
    os.symlink("web.env", root / "deploy" / "inside.env")
    return DirectoryProjectFiles(root)


def test_text_files_inside_are_read(tmp_path: Path) -> None:
    files = project(tmp_path)
    assert files.from_repository is True
    assert files.read("deploy/web.env") == "A=1\n"
    assert files.read("./deploy/../deploy/web.env") == "A=1\n"
    assert files.read("deploy/grüße.txt") == "grüß dich ✓"
    assert files.read("deploy/inside.env") == "A=1\n"  # a link that stays inside
    assert files.is_dir("deploy")
    assert files.is_dir("")
    assert files.exists("deploy/web.env")
    assert not files.is_dir("deploy/web.env")


def test_nothing_outside_the_root_is_read(tmp_path: Path) -> None:
    files = project(tmp_path)
    for path in (
        "../outside.txt",
        "/etc/passwd",
        "~/x",
        "escape.txt",
        "etc/passwd",
        "deploy/../../outside.txt",
    ):
        assert files.read(path) is None, path
        assert not files.exists(path), path
    assert not files.is_dir("etc")


def test_binary_undecodable_large_and_missing_files_read_as_none(tmp_path: Path) -> None:
    files = project(tmp_path)
    assert files.read("binary.bin") is None
    assert files.read("latin1.txt") is None
    assert files.read("huge.txt") is None
    assert files.read("missing.txt") is None
    assert files.read("deploy") is None
    assert not files.exists("missing.txt")
