"""Which repository addresses an import may clone, and how refs and paths are checked."""

from __future__ import annotations

import pytest

from app.domain.imports import (
    RepositoryUrlError,
    check_path,
    check_ref,
    is_commit_sha,
    parse_repository_url,
)


@pytest.mark.parametrize(
    ("given", "url", "scheme", "host", "name"),
    [
        (
            "https://github.com/acme/shop.git",
            "https://github.com/acme/shop.git",
            "https",
            "github.com",
            "shop",
        ),
        (
            " https://GitLab.example.com:8443/a/b/c ",
            "https://GitLab.example.com:8443/a/b/c",
            "https",
            "gitlab.example.com",
            "c",
        ),
        ("git@github.com:acme/shop.git", "ssh://git@github.com/acme/shop.git", "ssh", "github.com", "shop"),
        (
            "ssh://git@git.example.com:2222/srv/repo.git",
            "ssh://git@git.example.com:2222/srv/repo.git",
            "ssh",
            "git.example.com",
            "repo",
        ),
        ("github.com:acme/shop", "ssh://github.com/acme/shop", "ssh", "github.com", "shop"),
    ],
)
def test_https_ssh_and_scp_style_addresses_are_accepted(
    given: str, url: str, scheme: str, host: str, name: str
) -> None:
    parsed = parse_repository_url(given, allow_http=False)
    assert (parsed.url, parsed.scheme, parsed.host, parsed.name) == (url, scheme, host, name)


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("file:///etc/passwd", "file:// addresses are not allowed"),
        ("/srv/git/repo.git", "local paths cannot be cloned"),
        ("./repo", "local paths cannot be cloned"),
        ("~/repo", "local paths cannot be cloned"),
        ("ext::sh -c touch% /tmp/pwned", "spaces"),
        ("ext::ssh", "transports"),
        ("fd::7", "transports"),
        ("http://git.example.com/x.git", "TRELLIS_GIT_ALLOW_HTTP"),
        ("git://git.example.com/x.git", "git:// addresses are not allowed"),
        ("https://user:pass@github.com/a/b.git", "credentials"),
        ("https://token@github.com/a/b.git", "credentials"),
        ("https://github.com", "names no repository"),
        ("https://github.com/a/b.git?x=1", "query"),
        ("ssh://-oProxyCommand=x/repo", "cannot start with '-'"),
        ("-upload-pack=x", "cannot start with '-'"),
        ("", "give the repository's address"),
    ],
)
def test_other_addresses_are_refused(given: str, words: str) -> None:
    with pytest.raises(RepositoryUrlError) as refused:
        parse_repository_url(given, allow_http=False)
    assert words in str(refused.value)


def test_plain_http_only_when_allowed() -> None:
    assert parse_repository_url("http://127.0.0.1:8080/x.git", allow_http=True).scheme == "http"


@pytest.mark.parametrize("ref", ["main", "feature/x-1", "v1.2.3", "refs/tags/v1", "a" * 40, "release@2024"])
def test_branch_tag_and_commit_names_are_accepted(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize(
    "ref", ["-b", "a..b", "x.lock", "x/", "/x", "a b", "a~1", "x^{}", "a:b", "@{-1}", "x" * 300]
)
def test_odd_refs_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        check_ref(ref)


def test_only_full_shas_are_commits() -> None:
    assert is_commit_sha("0123456789abcdef0123456789abcdef01234567")
    assert not is_commit_sha("0123456789ab")


@pytest.mark.parametrize(
    ("path", "normal"), [("deploy", "deploy"), ("./a/b/", "a/b"), (".", ""), ("a/../b", "b")]
)
def test_paths_are_normalised(path: str, normal: str) -> None:
    assert check_path(path) == normal


@pytest.mark.parametrize("path", ["../x", "/etc", "a/../../x", ".git", ".git/config", "a\\b", "~/x"])
def test_paths_out_of_the_repository_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        check_path(path)
