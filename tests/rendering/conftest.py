"""Fixtures of the rendering tests: one renderer over the repository's templates for the whole session."""

from __future__ import annotations

import pytest

from app.rendering import ManifestRenderer, default_templates_dir


@pytest.fixture(scope="session")
def renderer() -> ManifestRenderer:
    """The renderer over ``templates/``."""
    return ManifestRenderer(default_templates_dir())
