"""`docs/` is generated from the schema: the committed pages match the code (run `trellis docs` after a
schema change), and they cover every operation and every subscription's event type."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from graphql import build_schema

from app.cli import main, sdl
from app.ops.docs import EVENTS, OPERATIONS, render_docs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return render_docs()


def test_the_committed_docs_match_the_schema(pages: dict[str, str]) -> None:
    for name, text in pages.items():
        committed = (ROOT / "docs" / name).read_text()
        assert committed == text, f"docs/{name} is stale: run `.venv/bin/trellis docs`"


def test_every_operation_and_event_type_is_documented(pages: dict[str, str]) -> None:
    schema = build_schema(sdl())
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        for name in root.fields:
            assert f"### `{name}`" in pages[OPERATIONS], name
    assert schema.subscription_type is not None
    for name, field in schema.subscription_type.fields.items():
        assert f"## `{name}`" in pages[EVENTS]
        assert f"Each event is a `{str(field.type).rstrip('!')}`" in pages[EVENTS]
    for value in ("METADATA", "NODE_UPDATE", "WORKFLOW_SYNC", "ERROR", "COMPLETE"):
        assert f"| `{value}` |" in pages[EVENTS]
    assert "| 1012 |" in pages[EVENTS]


async def test_the_command_writes_the_pages_and_check_finds_them_stale(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    assert await asyncio.to_thread(main, ["docs", "--output-dir", str(out), "--check"]) == 1  # missing
    assert await asyncio.to_thread(main, ["docs", "--output-dir", str(out)]) == 0
    assert await asyncio.to_thread(main, ["docs", "--output-dir", str(out), "--check"]) == 0
    (out / EVENTS).write_text((out / EVENTS).read_text() + "edited by hand\n")
    assert await asyncio.to_thread(main, ["docs", "--output-dir", str(out), "--check"]) == 1
