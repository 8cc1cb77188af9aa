"""README.md's configuration table lists every setting, and only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import LogFormat, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(TRELLIS_[A-Z0-9_]+)` \| ([^|]*) \|", re.MULTILINE)


def test_the_readme_table_has_a_row_for_every_setting_and_no_other() -> None:
    rows = dict(ROW.findall(README.read_text()))
    names = {f"TRELLIS_{name.upper()}" for name in Settings.model_fields}
    assert set(rows) == names, {"undocumented": names - set(rows), "not settings": set(rows) - names}
    assert "text" in rows["TRELLIS_LOG_FORMAT"] and "json" in rows["TRELLIS_LOG_FORMAT"]
    assert rows["TRELLIS_OTEL_ENABLED"].strip() == "`false`"


def test_the_log_format_defaults_to_text_in_development_and_json_in_production() -> None:
    production = {"environment": "production", "jwt_secret": "x" * 40, "encryption_keys": "k"}
    assert Settings().resolved_log_format is LogFormat.TEXT
    assert Settings(**production).resolved_log_format is LogFormat.JSON  # type: ignore[arg-type]
    chosen = Settings(log_format="json")  # type: ignore[arg-type]
    assert chosen.resolved_log_format is LogFormat.JSON
