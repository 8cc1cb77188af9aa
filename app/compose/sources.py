"""Where a compose document comes from, and how far ``include`` and ``extends`` may be followed."""

from __future__ import annotations

from dataclasses import dataclass

MAX_NESTING = 10
"""How deep ``include``s may nest, and how long an ``extends`` chain may be."""
MAX_PROJECT_DOCUMENTS = 100
"""How many included or extended files one analysis reads."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a compose document comes from: ``label`` names it in messages ("" for the only top-level
    file), ``path`` is its path in the project (None for a top-level file, given as text), and
    ``working_dir`` the project folder its relative paths are written against."""

    label: str
    path: str | None
    working_dir: str
