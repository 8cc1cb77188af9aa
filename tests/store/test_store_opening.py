"""Choosing and opening a backend from a URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from app.errors import Unavailable
from app.store import open_store
from app.store.opening import sqlite_path
from tests.store.builders import Make


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite:///trellis.db", "trellis.db"),
        ("sqlite:///data/trellis.db", "data/trellis.db"),
        ("sqlite:////var/lib/trellis/trellis.db", "/var/lib/trellis/trellis.db"),
        ("SQLITE:///a%20b.db", "a b.db"),
    ],
)
def test_sqlite_urls_name_a_path(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/x.db", "sqlite:///x.db?mode=ro"])
def test_malformed_sqlite_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SQLite URL"):
        sqlite_path(url)


@pytest.mark.parametrize("url", ["postgres://localhost/trellis", "redis://localhost", "trellis.db", ""])
async def test_unknown_schemes_are_refused_clearly(url: str) -> None:
    with pytest.raises(ValueError, match="store URL") as caught:
        await open_store(url)
    assert "sqlite:///" in str(caught.value) or "scheme://" in str(caught.value)


async def test_a_relative_sqlite_url_opens_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Make
) -> None:
    monkeypatch.chdir(tmp_path)
    store = await open_store("sqlite:///data/trellis.db")
    try:
        user, _ = await make.register(store)
        await store.ping()
    finally:
        await store.close()

    assert (tmp_path / "data" / "trellis.db").is_file()
    reopened = await open_store(f"sqlite:///{tmp_path / 'data' / 'trellis.db'}")
    try:
        assert await reopened.get_user(user.id) == user
    finally:
        await reopened.close()


async def test_an_unreachable_mongodb_is_unavailable(tmp_path: Path) -> None:
    # A Unix socket nobody listens on: connecting fails at once, so no connection attempt is still
    # in flight when the client closes (pymongo leaks a TCP socket whose connect is cancelled).
    socket_path = quote(str(tmp_path / "mongodb-27017.sock"), safe="")

    with pytest.raises(Unavailable, match="MongoDB"):
        await open_store(f"mongodb://{socket_path}/trellis?serverSelectionTimeoutMS=200")


async def test_a_malformed_mongodb_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="MongoDB URL"):
        await open_store("mongodb://127.0.0.1:notaport/trellis")
