"""Open the store a URL names.

=================================  ==========================================================
``sqlite:///:memory:``             a private in-memory SQLite database (gone at close)
``sqlite:///relative/path.db``     a SQLite file relative to the working directory
``sqlite:////absolute/path.db``    a SQLite file at an absolute path (four slashes in all)
``mongodb://…``, ``mongodb+srv://…``  MongoDB (a replica set), database from the URL's path
                                   or ``trellis``
=================================  ==========================================================

Migrations run at open. The backends are imported only when chosen, so a SQLite deployment never
loads pymongo.
"""

from __future__ import annotations

from urllib.parse import unquote

from app.ports import Store

SQLITE_PREFIX = "sqlite:///"
MONGO_SCHEMES = ("mongodb", "mongodb+srv")


def sqlite_path(url: str) -> str:
    """The file path (or ``:memory:``) of a ``sqlite:///`` URL; ``ValueError`` if it names none."""
    if not url.lower().startswith(SQLITE_PREFIX):
        raise ValueError(
            f"invalid SQLite URL {url!r}: use sqlite:///relative/path.db, sqlite:////absolute/path.db "
            "or sqlite:///:memory:"
        )
    path = url[len(SQLITE_PREFIX) :]
    if "?" in path or "#" in path:
        raise ValueError(f"invalid SQLite URL {url!r}: query strings and fragments are not supported")
    path = unquote(path)
    if not path:
        raise ValueError(f"invalid SQLite URL {url!r}: it names no file (use sqlite:///:memory: for memory)")
    return path


def scheme_of(url: str) -> str:
    scheme, separator, _ = url.partition("://")
    if not separator or not scheme:
        raise ValueError(f"invalid store URL {url!r}: expected scheme://…")
    return scheme.lower()


async def open_store(url: str) -> Store:
    """Open, migrate and return the store named by ``url``; ``ValueError`` for an unknown scheme."""
    scheme = scheme_of(url)
    if scheme == "sqlite":
        from app.store.sqlite import open_sqlite  # imported when chosen

        return await open_sqlite(sqlite_path(url))
    if scheme in MONGO_SCHEMES:
        from app.store.mongo import open_mongo  # pymongo is loaded only when used

        return await open_mongo(url)
    raise ValueError(
        f"unknown store URL scheme {scheme!r} in {url!r}: "
        "use sqlite:///path.db, sqlite:///:memory:, mongodb://… or mongodb+srv://…"
    )
