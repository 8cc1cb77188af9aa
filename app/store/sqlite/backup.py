"""``export_all``/``import_all`` of the SQLite store.

An export reads every table in one read transaction, so it is one consistent snapshot (WAL mode: writers
of other processes go on meanwhile and are not seen). A restore writes every row in one ``BEGIN
IMMEDIATE`` transaction after checking that the store is empty and at the backup's migration level;
foreign keys are checked at the commit (``defer_foreign_keys``), so the order of the tables does not
matter. Table and column names from the file are checked against the database's own before any
statement names them. Values are copied as stored: ciphertexts stay ciphertexts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import Invalid
from app.ports import StoreSnapshot
from app.store.backup import backed_up, check_columns, check_empty, check_snapshot
from app.store.sqlite.connection import Database, Tx

BACKEND = "sqlite"


async def _tables(tx: Tx) -> list[str]:
    rows = await tx.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return backed_up(str(row[0]) for row in rows)


async def _migration(tx: Tx) -> int:
    return int(await tx.value("SELECT coalesce(max(number), 0) FROM schema_migrations"))


def _value(table: str, column: str, value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{table}.{column} holds a BLOB, which a JSON backup cannot carry")
    return value


def _plain(table: str, row: Mapping[str, Any]) -> Mapping[str, Any]:
    """A JSON value from the file must be one SQLite stores: text, a number or NULL."""
    for column, value in row.items():
        if value is not None and not isinstance(value, str | int | float):
            raise Invalid(f"the backup's {table}.{column} is not a text, a number or null")
    return row


class SqliteBackup:
    _db: Database

    async def export_all(self) -> StoreSnapshot:
        async with self._db.transaction(write=False) as tx:
            migration = await _migration(tx)
            tables: dict[str, list[dict[str, Any]]] = {}
            for table in await _tables(tx):
                rows = await tx.rows(f"SELECT * FROM {table}")  # noqa: S608 (a name from sqlite_master)
                tables[table] = [{k: _value(table, k, row[k]) for k in row.keys()} for row in rows]  # noqa: SIM118
        return StoreSnapshot(BACKEND, migration, tables)

    async def import_all(self, snapshot: StoreSnapshot) -> int:
        count = 0
        async with self._db.transaction() as tx:
            await tx.run("PRAGMA defer_foreign_keys = ON")  # checked at the commit; reset by it
            tables = await _tables(tx)
            check_snapshot(snapshot, backend=BACKEND, migration=await _migration(tx), tables=tables)
            check_empty(
                {t: int(await tx.value(f"SELECT count(*) FROM {t}")) for t in tables}  # noqa: S608
            )
            for table, rows in snapshot.tables.items():
                columns = [str(row[1]) for row in await tx.rows(f"PRAGMA table_info({table})")]
                for row in rows:
                    check_columns(table, row, columns)
                    await tx.insert(table, _plain(table, row))
                    count += 1
            dangling = await tx.rows("PRAGMA foreign_key_check")
            if dangling:
                names = sorted({f"{row[0]} → {row[2]}" for row in dangling})
                raise Invalid(f"the backup's rows refer to records it does not hold: {', '.join(names)}")
        return count
