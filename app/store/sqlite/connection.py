"""The SQLite connection: one aiosqlite connection, one lock, explicit transactions, error translation.

aiosqlite runs every statement of a connection on one worker thread, in order, so statements never
run at the same time; but two coroutines awaiting between their statements could still interleave
their transactions on the shared connection. :class:`Database` therefore holds an ``asyncio.Lock``
for the whole of every unit of work (a transaction or a read), so each one sees only committed data
and no other coroutine's statements run inside it. Across processes, ``BEGIN IMMEDIATE`` takes
SQLite's write lock at the start of every writing transaction (waiting up to the busy timeout), so
read-then-write steps such as "max + 1" cannot race either.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from app.errors import Conflict, Unavailable

# Primary result codes (the low byte of an extended code) that mean "the store cannot be used now",
# as opposed to a bug in a statement: busy, locked, read-only, I/O error, corrupt, full, cannot open,
# not a database.
_UNAVAILABLE_CODES = frozenset({5, 6, 8, 10, 11, 13, 14, 26})

_DUPLICATE_NAMES = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})

# What aiosqlite's ValueError says when its connection is closed.
_CLOSED_MESSAGES = frozenset({"Connection closed", "no active connection"})

MEMORY = ":memory:"


def _is_unavailable(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _UNAVAILABLE_CODES


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn "the database cannot be used" failures into ``Unavailable``; let other errors through."""
    try:
        yield
    except sqlite3.Error as exc:
        if _is_unavailable(exc):
            raise Unavailable(f"the SQLite store is unavailable: {exc}") from exc
        raise
    except ValueError as exc:
        # aiosqlite raises ValueError once its connection is closed.
        if str(exc) in _CLOSED_MESSAGES:
            raise Unavailable("the SQLite store is closed") from exc
        raise


@contextlib.contextmanager
def duplicate_is_conflict(message: str) -> Iterator[None]:
    """Turn a UNIQUE or PRIMARY KEY violation into ``Conflict(message)``."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if getattr(exc, "sqlite_errorname", "") in _DUPLICATE_NAMES:
            raise Conflict(message) from exc
        raise


class Tx:
    """The statements of one unit of work; only valid inside :meth:`Database.transaction`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def row(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.rows(sql, params)
        return rows[0] if rows else None

    async def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (``None`` without rows)."""
        row = await self.row(sql, params)
        return None if row is None else row[0]

    async def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """``INSERT`` one row; ``table`` and the keys of ``row`` come from code, never from input."""
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        await self.run(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))  # noqa: S608

    async def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a write and return how many rows it changed."""
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount


class Database:
    """An open SQLite database. Every unit of work goes through :meth:`transaction`."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @contextlib.asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[Tx]:
        """One transaction under the lock: ``BEGIN IMMEDIATE`` for writes, a deferred ``BEGIN`` (a
        consistent snapshot in WAL mode) for reads. Any exception, cancellation included, rolls
        it back; otherwise it commits."""
        async with self._lock:
            with translate_errors():
                if self._conn.in_transaction:  # left open by a rollback that was itself cancelled
                    await self._conn.rollback()
                await self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield Tx(self._conn)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await _rollback(self._conn)
                    raise

    async def ping(self) -> None:
        async with self.transaction(write=False) as tx:
            await tx.value("SELECT count(*) FROM schema_migrations")

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()


async def _rollback(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(sqlite3.Error, ValueError):
        if conn.in_transaction:
            await conn.rollback()


async def connect(path: str, *, busy_timeout_ms: int = 5000) -> Database:
    """Open ``path`` (or ``:memory:``) with WAL, foreign keys and a busy timeout.

    The parent directory of a file is created when missing. Statements run in autocommit mode;
    :meth:`Database.transaction` issues ``BEGIN``/``COMMIT`` itself.
    """
    if path != MEMORY:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with translate_errors():
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        with translate_errors():
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA foreign_keys = ON")
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                mode = await cursor.fetchone()
            if path != MEMORY and (mode is None or str(mode[0]).lower() != "wal"):
                raise Unavailable(f"SQLite could not switch {path!r} to WAL mode (got {mode!r})")
            await conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await conn.close()
        raise
    return Database(conn, path)
