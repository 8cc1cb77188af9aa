"""Registration of the operator commands in ``trellis``: ``backup``, ``restore`` and ``docs``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any


def add_ops_commands(commands: Any) -> None:
    """Add the commands to ``trellis``'s sub-parsers; each sets ``handler`` (called with the parsed args)."""
    backup = commands.add_parser(
        "backup", help="write a consistent export of the store (encrypted fields stay encrypted)"
    )
    backup.add_argument("--output", type=Path, required=True, help="the backup file to write (JSON Lines)")
    backup.set_defaults(handler=_backup)
    restore = commands.add_parser("restore", help="load a backup into an empty store (all or nothing)")
    restore.add_argument("--input", type=Path, required=True, help="a file written by `trellis backup`")
    restore.set_defaults(handler=_restore)
    docs = commands.add_parser(
        "docs", help="write docs/graphql-operations.md and docs/events.md from the schema"
    )
    docs.add_argument("--output-dir", type=Path, default=Path("docs"), help="folder to write (default docs)")
    docs.add_argument("--check", action="store_true", help="exit 1 if the files differ from the schema")
    docs.set_defaults(handler=_docs)


def _backup(args: argparse.Namespace) -> int:
    from app.ops.backup import backup

    return asyncio.run(backup(args.output))


def _restore(args: argparse.Namespace) -> int:
    from app.ops.backup import restore

    return asyncio.run(restore(args.input))


def _docs(args: argparse.Namespace) -> int:
    from app.ops.docs import write_docs

    return write_docs(args.output_dir, check=args.check)
