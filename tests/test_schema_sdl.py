"""The committed SDL matches the code, and nothing breaks the released schema unannounced."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import build_schema as build_sdl
from graphql import find_breaking_changes

import schema
from app.cli import sdl

ROOT = Path(__file__).resolve().parents[1]


def test_the_imported_schema_package_is_ours() -> None:
    # `schema` is also an unrelated PyPI package; ours must win.
    assert Path(schema.__file__).resolve().parent == ROOT / "schema"


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text()
    assert committed == sdl(), "schema/schema.graphql is stale: run `.venv/bin/trellis export-schema`"


def test_breaking_changes_against_the_released_schema_are_listed_in_the_changelog() -> None:
    released = build_sdl((ROOT / "schema" / "released.graphql").read_text())
    current = build_sdl(sdl())
    changelog = (ROOT / "CHANGELOG.md").read_text()
    unlisted = [
        f"{change.type.name}: {change.description}"
        for change in find_breaking_changes(released, current)
        if change.description not in changelog
    ]
    assert not unlisted, "breaking schema changes missing from CHANGELOG.md:\n" + "\n".join(unlisted)


def test_every_type_field_and_argument_is_described() -> None:
    current = build_sdl(sdl())
    missing = []
    for name, named in current.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not named.description:
            missing.append(name)
        for field_name, field in getattr(named, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description and not re.fullmatch(
                    r"input|id|workflowId|runId|nodeId|v1|v2|number|nodes|edges", arg_name
                ):
                    missing.append(f"{name}.{field_name}({arg_name})")
    assert not missing, f"undocumented: {missing}"
