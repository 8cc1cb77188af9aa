"""``trellis backup --output FILE`` and ``trellis restore --input FILE``.

A backup is JSON Lines: a header, one line per record, a trailer::

    {"format": "trellis-backup", "formatVersion": 1, "backend": "sqlite", "migration": 12,
     "createdAt": "2026-01-15T09:00:00+00:00", "tables": {"users": 2, "workflows": 5, ...}}
    {"table": "users", "row": {...}}
    ...
    {"end": true, "rows": 42}

The rows are the store's own (``Store.export_all``: one consistent snapshot); encrypted fields are
their ciphertexts, so a restored store needs the same ``TRELLIS_ENCRYPTION_KEYS`` (in development, the
``encryption-key`` file of the data directory) and the same ``TRELLIS_JWT_SECRET`` for sessions to
stay valid. Password hashes and token hashes are in the file: keep it as safe as the database.

A restore reads and checks the whole file first (format, counts, the trailer: a truncated file is
refused), then ``Store.import_all`` writes it in one transaction into an empty store at the same
migration level, or writes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.errors import TrellisError
from app.ports import StoreSnapshot
from app.settings import Settings, with_development_secrets
from app.store.opening import open_store

FORMAT = "trellis-backup"
FORMAT_VERSION = 1


class BackupFileError(ValueError):
    """The file is not a complete Trellis backup this version can read."""


def backup_lines(snapshot: StoreSnapshot, *, created_at: datetime) -> Iterator[str]:
    """The lines of a backup file (each without its newline)."""
    header = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "backend": snapshot.backend,
        "migration": snapshot.migration,
        "createdAt": created_at.isoformat(),
        "tables": {name: len(rows) for name, rows in sorted(snapshot.tables.items())},
    }
    yield json.dumps(header, sort_keys=True)
    total = 0
    for name, rows in sorted(snapshot.tables.items()):
        for row in rows:
            yield json.dumps({"table": name, "row": row}, sort_keys=True, ensure_ascii=False)
            total += 1
    yield json.dumps({"end": True, "rows": total})


def _json(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise BackupFileError(f"line {number} is not JSON: {exc}") from exc


def _header(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise BackupFileError("this is not a Trellis backup (its first line is no trellis-backup header)")
    version = value.get("formatVersion")
    if version != FORMAT_VERSION:
        raise BackupFileError(
            f"backup format {version!r} is not the one this Trellis reads ({FORMAT_VERSION})"
        )
    if not isinstance(value.get("backend"), str) or not isinstance(value.get("migration"), int):
        raise BackupFileError("the header lacks its backend or migration level")
    if not isinstance(value.get("tables"), dict):
        raise BackupFileError("the header lacks its table counts")
    return value


def read_backup(lines: Iterator[str]) -> StoreSnapshot:
    """Parse and check a whole backup; ``BackupFileError`` for anything incomplete or malformed."""
    header: Mapping[str, Any] | None = None
    tables: dict[str, list[Mapping[str, Any]]] = {}
    ended = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if ended:
            raise BackupFileError(f"line {number} follows the end of the backup")
        value = _json(line, number)
        if header is None:
            header = _header(value)
            tables = {str(name): [] for name in header["tables"]}
            continue
        if isinstance(value, dict) and value.get("end") is True:
            if value.get("rows") != sum(len(rows) for rows in tables.values()):
                raise BackupFileError("the trailer's row count does not match the rows read")
            ended = True
            continue
        if not isinstance(value, dict) or not isinstance(value.get("row"), dict):
            raise BackupFileError(f"line {number} is not a record")
        rows = tables.get(value.get("table"))  # type: ignore[arg-type]
        if rows is None:
            raise BackupFileError(f"line {number} names a table the header does not: {value.get('table')!r}")
        rows.append(value["row"])
    if header is None:
        raise BackupFileError("the file is empty")
    if not ended:
        raise BackupFileError("the backup is truncated (it has no end line)")
    for name, rows in tables.items():
        if len(rows) != header["tables"][name]:
            raise BackupFileError(
                f"{name}: the header counts {header['tables'][name]} rows, the file holds {len(rows)}"
            )
    return StoreSnapshot(str(header["backend"]), int(header["migration"]), tables)


def _settings() -> Settings:
    return with_development_secrets(Settings())


async def backup(output: Path) -> int:
    settings = _settings()
    store = await open_store(settings.resolved_store_url)
    try:
        snapshot = await store.export_all()
    finally:
        await store.close()
    partial = output.with_name(output.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes and ciphertexts inside
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for line in backup_lines(snapshot, created_at=datetime.now(UTC)):
            handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(output)  # a reader never sees half a backup
    rows = sum(len(rows) for rows in snapshot.tables.values())
    print(
        f"backed up {rows} record(s) of {len(snapshot.tables)} table(s) at migration {snapshot.migration} "
        f"to {output}"
    )
    if not os.environ.get("TRELLIS_ENCRYPTION_KEYS"):
        print(
            "note: encrypted values need the same keys to be read: keep "
            f"{settings.data_dir / 'encryption-key'} (or set TRELLIS_ENCRYPTION_KEYS) with the backup",
            file=sys.stderr,
        )
    return 0


async def restore(input_path: Path) -> int:
    try:
        with input_path.open(encoding="utf-8") as handle:
            snapshot = read_backup(line.rstrip("\n") for line in handle)
    except (OSError, BackupFileError) as exc:
        print(f"nothing restored: {exc}", file=sys.stderr)
        return 1
    settings = _settings()
    store = await open_store(settings.resolved_store_url)
    try:
        rows = await store.import_all(snapshot)
    except TrellisError as exc:
        print(f"nothing restored: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    print(f"restored {rows} record(s) of {len(snapshot.tables)} table(s) from {input_path}")
    return 0
