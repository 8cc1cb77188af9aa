"""DirectoryProjectFiles reads and lists text files inside its root, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from app.compose.project import MAX_LISTED_ENTRIES, MAX_PROJECT_FILE_BYTES
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


def test_a_folder_lists_its_files_inside_the_root_walking_sub_folders(tmp_path: Path) -> None:
    files = project(tmp_path)
    root = tmp_path / "repo"
    (root / "deploy" / "conf.d").mkdir()
    (root / "deploy" / "conf.d" / "site.conf").write_text("server {}\n")
    os.symlink(tmp_path, root / "deploy" / "up")  # a link to a folder outside: never walked
    os.symlink(root / "deploy" / "conf.d", root / "deploy" / "again")  # a link to a folder: not walked
    assert files.list_dir("deploy") == ["conf.d/site.conf", "grüße.txt", "inside.env", "web.env"]
    assert files.list_dir("./deploy/conf.d/") == ["site.conf"]
    assert files.list_dir("") == [
        "binary.bin",
        "deploy/conf.d/site.conf",
        "deploy/grüße.txt",
        "deploy/inside.env",
        "deploy/web.env",
        "huge.txt",
        "latin1.txt",
    ]  # escape.txt names a file outside the root; etc is a link to a folder


def test_listing_refuses_files_links_outside_and_folders_of_too_many_entries(tmp_path: Path) -> None:
    files = project(tmp_path)
    for path in ("deploy/web.env", "missing", "etc", "../repo", "/etc", "escape.txt"):
        assert files.list_dir(path) is None, path
    crowded = tmp_path / "repo" / "crowded"
    for n in range(MAX_LISTED_ENTRIES // 2):
        (crowded / f"d{n}").mkdir(parents=True)
        (crowded / f"d{n}" / "f").write_text("")
    assert files.list_dir("crowded") is not None
    (crowded / "one-more").write_text("")
    assert files.list_dir("crowded") is None
