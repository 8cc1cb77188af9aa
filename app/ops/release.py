"""``trellis release-schema --version X.Y.Z``: promote ``schema/schema.graphql`` to
``schema/released.graphql`` (the baseline of the breaking-change test) and write the CHANGELOG.md
section of that release.

The section takes the notes gathered under ``## Unreleased`` (a fresh, empty ``## Unreleased`` stays on
top) and adds what changed in the schema since the last release, as graphql-core sees it: breaking changes
(``find_breaking_changes``), dangerous changes (``find_dangerous_changes``) and a summary of what was added
(operations, types, fields, enum values). It refuses, changing nothing, when the exported SDL is stale (it
differs from the code), when the version is not ``X.Y.Z`` or not above the last release, when the
CHANGELOG already has it, or when breaking changes come in a release that keeps the major version (from
1.0.0 on).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

SCHEMA_FILE = Path("schema/schema.graphql")
RELEASED_FILE = Path("schema/released.graphql")
CHANGELOG_FILE = Path("CHANGELOG.md")
UNRELEASED = "## Unreleased"
VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
RELEASE_HEADING = re.compile(r"^## (\d+\.\d+\.\d+)\b", re.MULTILINE)
ROOT_TYPES = ("Query", "Mutation", "Subscription")


class ReleaseRefused(Exception):
    """The release cannot be made as asked; nothing was written. The message says why."""


@dataclass(frozen=True)
class SchemaChanges:
    """What changed between two SDL texts: each list holds one readable line per change."""

    breaking: list[str]  # "FIELD_REMOVED: Query.foo was removed."
    dangerous: list[str]
    added_operations: list[str]  # "Query.workflows", "Mutation.saveWorkflow", …
    added_types: list[str]
    added_fields: list[str]  # fields of object, interface and input types that existed before
    added_enum_values: list[str]  # "HealthStatus.SUSPENDED"


@dataclass(frozen=True)
class Release:
    """A release written: its version, day and the schema changes its section lists."""

    version: str
    day: date
    changes: SchemaChanges


def compare(old_sdl: str | None, new_sdl: str) -> SchemaChanges:
    """The changes from ``old_sdl`` (None: nothing released yet) to ``new_sdl``."""
    new = build_schema(new_sdl)
    if old_sdl is None:
        return SchemaChanges([], [], _fields(new, ROOT_TYPES), sorted(_named(new)), [], [])
    old = build_schema(old_sdl)
    old_types, new_types = _named(old), _named(new)
    added_fields: list[str] = []
    for name in sorted(old_types.keys() & new_types.keys()):
        if name in ROOT_TYPES:
            continue
        before, after = old_types[name], new_types[name]
        if isinstance(after, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            added_fields += [f"{name}.{f}" for f in after.fields if f not in getattr(before, "fields", {})]
    added_values = [
        f"{name}.{value}"
        for name in sorted(old_types.keys() & new_types.keys())
        if isinstance(new_types[name], GraphQLEnumType) and isinstance(old_types[name], GraphQLEnumType)
        for value in new_types[name].values
        if value not in old_types[name].values
    ]
    old_operations = set(_fields(old, ROOT_TYPES))
    return SchemaChanges(
        breaking=[f"{c.type.name}: {c.description}" for c in find_breaking_changes(old, new)],
        dangerous=[f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old, new)],
        added_operations=[f for f in _fields(new, ROOT_TYPES) if f not in old_operations],
        added_types=sorted(new_types.keys() - old_types.keys()),
        added_fields=added_fields,
        added_enum_values=added_values,
    )


def _named(schema: GraphQLSchema) -> dict[str, Any]:
    return {
        name: named
        for name, named in schema.type_map.items()
        if not name.startswith("__") and name not in {"String", "Int", "Float", "Boolean", "ID"}
    }


def _fields(schema: GraphQLSchema, type_names: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for name in type_names:
        named = schema.get_type(name)
        if isinstance(named, GraphQLObjectType):
            found += [f"{name}.{field}" for field in named.fields]
    return found


def changelog_section(version: str, day: date, notes: str, changes: SchemaChanges) -> str:
    """The CHANGELOG.md section of a release: the gathered notes, then the schema's changes."""
    lines = [f"## {version} — {day.isoformat()}", ""]
    if notes.strip():
        lines += [notes.strip(), ""]
    lines += ["### Schema changes", "", "Breaking (graphql-core's `find_breaking_changes`):", ""]
    lines += [f"- {change}" for change in changes.breaking] or ["- none"]
    lines += ["", "Dangerous (`find_dangerous_changes`):", ""]
    lines += [f"- {change}" for change in changes.dangerous] or ["- none"]
    lines += ["", "Added:", ""]
    summary = [
        ("operations", changes.added_operations),
        ("types", changes.added_types),
        ("fields", changes.added_fields),
        ("enum values", changes.added_enum_values),
    ]
    added = [
        f"- {len(items)} {what}: " + ", ".join(f"`{item}`" for item in items)
        for what, items in summary
        if items
    ]
    lines += added or ["- nothing"]
    return "\n".join(lines) + "\n"


def release_schema(root: Path, version: str, day: date, code_sdl: str) -> Release:
    """Write ``schema/released.graphql`` and the CHANGELOG.md section under ``root``; refuse (raising
    ``ReleaseRefused``, nothing written) when the release cannot be made. ``code_sdl`` is the SDL the code
    exports now; ``schema/schema.graphql`` must equal it."""
    if not VERSION.fullmatch(version):
        raise ReleaseRefused(f"version {version!r} is not X.Y.Z (e.g. 1.4.0)")
    current_file, released_file, changelog_file = (
        root / SCHEMA_FILE,
        root / RELEASED_FILE,
        root / CHANGELOG_FILE,
    )
    current = current_file.read_text()
    if current != code_sdl:
        raise ReleaseRefused(f"{SCHEMA_FILE} differs from the code: run `trellis export-schema` first")
    changelog = changelog_file.read_text() if changelog_file.exists() else "# Changelog\n"
    released = [m.group(1) for m in RELEASE_HEADING.finditer(changelog)]
    if version in released:
        raise ReleaseRefused(f"{CHANGELOG_FILE} already has a section for {version}")
    previous = max(released, key=_version_key, default=None)
    if previous is not None and _version_key(version) <= _version_key(previous):
        raise ReleaseRefused(f"version {version} is not above the last release, {previous}")
    changes = compare(released_file.read_text() if released_file.exists() else None, current)
    if (
        changes.breaking
        and previous is not None
        and 0 < _version_key(previous)[0] == _version_key(version)[0]
    ):
        raise ReleaseRefused(
            f"{len(changes.breaking)} breaking change(s) since {previous} need a new major version:\n"
            + "\n".join(changes.breaking)
        )
    notes, rest = _split_unreleased(changelog)
    section = changelog_section(version, day, notes, changes)
    _write_all({released_file: current, changelog_file: rest[0] + f"{UNRELEASED}\n\n" + section + rest[1]})
    return Release(version, day, changes)


def _version_key(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def _split_unreleased(changelog: str) -> tuple[str, tuple[str, str]]:
    """(the notes under ``## Unreleased``, (the text before that heading, the text after its notes)).
    Without such a heading the new section goes before the first ``## `` heading (or at the end)."""
    start = changelog.find(f"\n{UNRELEASED}\n")
    if start < 0:
        first = changelog.find("\n## ")
        cut = len(changelog) if first < 0 else first + 1
        head = changelog[:cut].rstrip("\n") + "\n\n"
        tail = changelog[cut:]
        return "", (head, "\n" + tail if tail else "")
    body_start = start + len(UNRELEASED) + 2
    following = changelog.find("\n## ", body_start - 1)
    end = len(changelog) if following < 0 else following + 1
    tail = changelog[end:]
    return changelog[body_start:end], (changelog[: start + 1], "\n" + tail if tail else "")


def _write_all(files: dict[Path, str]) -> None:
    """Write every file to a temporary sibling first, then move them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(handle, "w") as out:
                out.write(text)
            staged.append((Path(name), path))
        for temporary, path in staged:
            os.replace(temporary, path)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def add_release_command(commands: Any, today: Callable[[], date] | None = None) -> None:
    """Add ``release-schema`` to ``trellis``'s sub-parsers (it sets ``handler``)."""
    release = commands.add_parser(
        "release-schema",
        help="promote schema/schema.graphql to schema/released.graphql and write the CHANGELOG.md section",
    )
    release.add_argument("--version", required=True, help="the release, X.Y.Z")
    release.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="the release day, YYYY-MM-DD (default: today, UTC)",
    )
    release.add_argument("--root", type=Path, default=Path("."), help="the project folder (default: .)")
    release.set_defaults(handler=lambda args: _release(args, today or _utc_today))


def _utc_today() -> date:
    from app.clock import SystemClock

    return SystemClock().now().date()


def _release(args: argparse.Namespace, today: Callable[[], date]) -> int:
    from app.cli import sdl

    try:
        made = release_schema(args.root, args.version, args.date or today(), sdl())
    except ReleaseRefused as exc:
        print(f"trellis release-schema: nothing changed: {exc}", file=sys.stderr)
        return 1
    changes = made.changes
    print(
        f"released schema {made.version} ({made.day.isoformat()}): {len(changes.breaking)} breaking, "
        f"{len(changes.dangerous)} dangerous, {len(changes.added_operations)} new operation(s); "
        f"wrote {RELEASED_FILE} and {CHANGELOG_FILE}"
    )
    return 0
