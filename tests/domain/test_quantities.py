"""Kubernetes quantities as numbers."""

from __future__ import annotations

import pytest

from app.domain.quantities import byte_count, millicores


@pytest.mark.parametrize(
    ("text", "expected"),
    [("250m", 250), ("1", 1000), ("1.5", 1500), ("1500000n", 2), ("100u", 1), ("2k", 2_000_000), (3, 3000)],
)
def test_cpu_in_millicores(text: object, expected: int) -> None:
    assert millicores(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("128Mi", 128 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("1e3", 1000), ("512", 512), ("1.5Ki", 1536)],
)
def test_memory_in_bytes(text: object, expected: int) -> None:
    assert byte_count(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "1Xi", "1.2.3", None, True, {"cpu": "1"}])
def test_what_is_not_a_quantity_is_none(text: object) -> None:
    assert millicores(text) is None and byte_count(text) is None
