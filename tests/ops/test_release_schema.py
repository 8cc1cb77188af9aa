"""`trellis release-schema --version X.Y.Z` on temporary copies of the project's files (never the real ones):
schema/schema.graphql becomes schema/released.graphql and CHANGELOG.md gets the release's section, with the
Unreleased notes, graphql-core's breaking and dangerous changes and a summary of what was added; a stale SDL,
a bad or old version and breaking changes within a major version are refused with nothing written."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import pytest

from app.cli import main, sdl
from app.ops.release import add_release_command, compare

ROOT = Path(__file__).resolve().parents[2]
NOTES = "- Builds (additive): `startBuild`, `buildLogs`.\n"
CHANGELOG = f"# Changelog\n\nIntro.\n\n## Unreleased\n\n{NOTES}\n## 0.1.0 — 2025-01-01\n\n- First.\n"


@pytest.fixture(scope="module")
def code_sdl() -> str:
    return sdl()


@pytest.fixture
def project(tmp_path: Path, code_sdl: str) -> Path:
    """A copy of the files the command touches: the current SDL, and a released one that had a Query field
    since removed (breaking) and lacked WorkflowStatus.ARCHIVED (a dangerous addition)."""
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "schema.graphql").write_text(code_sdl)
    released = (ROOT / "schema" / "released.graphql").read_text()
    released = released.replace(
        "type Query {\n", 'type Query {\n  """Gone."""\n  retiredField: String\n\n', 1
    )
    released = released.replace(
        "enum WorkflowStatus {\n  DRAFT\n  PUBLISHED\n  ARCHIVED\n}",
        "enum WorkflowStatus {\n  DRAFT\n  PUBLISHED\n}",
    )
    assert "retiredField" in released and "ARCHIVED\n}" not in released.split("enum WorkflowStatus")[1][:60]
    (tmp_path / "schema" / "released.graphql").write_text(released)
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    return tmp_path


def _files(root: Path) -> dict[str, str]:
    return {
        p: (root / p).read_text()
        for p in ("schema/schema.graphql", "schema/released.graphql", "CHANGELOG.md")
    }


def _release(root: Path, *args: str) -> int:
    return main(["release-schema", "--root", str(root), *args])


def test_release_promotes_the_schema_and_writes_the_changelog_section(
    project: Path, code_sdl: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _release(project, "--version", "0.2.0", "--date", "2026-03-14") == 0
    assert (project / "schema" / "released.graphql").read_text() == code_sdl
    changelog = (project / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog\n\nIntro.\n\n## Unreleased\n\n## 0.2.0 — 2026-03-14\n\n" + NOTES)
    section = changelog.split("## 0.2.0 — 2026-03-14")[1].split("## 0.1.0")[0]
    assert "- FIELD_REMOVED: Field Query.retiredField was removed." in section
    assert "- VALUE_ADDED_TO_ENUM: Enum value WorkflowStatus.ARCHIVED was added." in section
    assert "`WorkflowStatus.ARCHIVED`" in section  # in the summary of additions, too
    assert changelog.endswith("## 0.1.0 — 2025-01-01\n\n- First.\n")
    assert "released schema 0.2.0 (2026-03-14): " in capsys.readouterr().out

    # The repository's own check now passes against the new baseline: nothing breaks it any more.
    assert compare((project / "schema" / "released.graphql").read_text(), code_sdl).breaking == []


def test_a_stale_sdl_export_is_refused_and_nothing_is_written(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema_file = project / "schema" / "schema.graphql"
    schema_file.write_text(schema_file.read_text().replace("type Query {", "type Query {\n  stale: Int", 1))
    before = _files(project)
    assert _release(project, "--version", "0.2.0", "--date", "2026-03-14") == 1
    assert _files(project) == before
    assert "run `trellis export-schema`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("version", "why"),
    [
        ("1.0", "is not X.Y.Z"),
        ("v1.0.0", "is not X.Y.Z"),
        ("0.1.0", "already has a section for 0.1.0"),
        ("0.0.9", "not above the last release, 0.1.0"),
    ],
)
def test_bad_versions_are_refused_and_nothing_is_written(
    project: Path, version: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(project)
    assert _release(project, "--version", version) == 1
    assert _files(project) == before
    assert why in capsys.readouterr().err


def test_breaking_changes_need_a_new_major_version_from_1_0_0_on(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changelog = project / "CHANGELOG.md"
    changelog.write_text(CHANGELOG.replace("## 0.1.0 — 2025-01-01", "## 1.2.0 — 2025-01-01"))
    before = _files(project)
    assert _release(project, "--version", "1.3.0") == 1
    assert _files(project) == before
    assert "need a new major version" in capsys.readouterr().err
    assert _release(project, "--version", "2.0.0", "--date", "2026-03-14") == 0
    assert "## 2.0.0 — 2026-03-14" in changelog.read_text()


def test_the_day_comes_from_an_injected_clock_by_default(project: Path) -> None:
    parser = argparse.ArgumentParser()
    add_release_command(parser.add_subparsers(dest="command"), today=lambda: date(2031, 5, 6))
    args = parser.parse_args(["release-schema", "--version", "0.3.0", "--root", str(project)])
    assert args.handler(args) == 0
    assert "## 0.3.0 — 2031-05-06" in (project / "CHANGELOG.md").read_text()


def test_compare_summarises_additions() -> None:
    old = "type Query { a: Int }\nenum Colour { RED }\ninput In { x: Int }"
    new = (
        "type Query { a: Int b(n: Int): Int }\ntype Mutation { go: Int }\nenum Colour { RED GREEN }\n"
        "input In { x: Int y: Int }\ntype Thing { id: ID! }"
    )
    changes = compare(old, new)
    assert changes.added_operations == ["Query.b", "Mutation.go"]
    assert changes.added_types == ["Mutation", "Thing"]
    assert changes.added_fields == ["In.y"]
    assert changes.added_enum_values == ["Colour.GREEN"]
    assert changes.breaking == []
    assert changes.dangerous == [
        "VALUE_ADDED_TO_ENUM: Enum value Colour.GREEN was added.",
        "OPTIONAL_INPUT_FIELD_ADDED: An optional field In.y was added.",
    ]
    first = compare(None, old)
    assert (first.added_operations, first.added_types) == (["Query.a"], ["Colour", "In", "Query"])
