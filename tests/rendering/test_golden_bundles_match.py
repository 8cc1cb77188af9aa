"""The rich and minimal canvases render to the YAML committed under tests/fixtures/rendered/.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/rendering`` and review
the diff (see tests/fixtures/rendered/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.rendering import ManifestRenderer, RenderRequest
from tests.rendering.canvases import MINIMAL, MINIMAL_SECRETS, RICH, RICH_SECRETS, request

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "rendered"

CASES: dict[str, RenderRequest] = {
    "rich.preview.yaml": request(RICH, RICH_SECRETS, mask=True),
    "rich.run.yaml": request(RICH, RICH_SECRETS, mask=False),
    "minimal.preview.yaml": request(MINIMAL, MINIMAL_SECRETS, mask=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_bundle_matches_its_golden_file(renderer: ManifestRenderer, name: str) -> None:
    text = renderer.render(CASES[name]).yaml
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run UPDATE_GOLDEN=1 .venv/bin/pytest tests/rendering"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is intended, regenerate with "
        "UPDATE_GOLDEN=1 .venv/bin/pytest tests/rendering and review the diff"
    )


def test_the_rich_preview_skips_the_secret_without_values(renderer: ManifestRenderer) -> None:
    assert renderer.render(CASES["rich.preview.yaml"]).skipped == (
        ("unset-secret", "no value stored or supplied"),
    )
    assert renderer.render(CASES["minimal.preview.yaml"]).skipped == ()
