"""Pages of a keyset-paginated list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """``items`` in order; ``has_next`` when more follow the last one; ``total`` matches the filter."""

    items: list[T]
    has_next: bool
    total: int
