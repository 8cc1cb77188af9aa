"""Audit details never keep a credential hidden in a URL, nor an unbounded value."""

from __future__ import annotations

from app.domain.audit import MAX_DETAIL_VALUE, scrubbed


def test_url_credentials_are_masked_and_the_rest_kept() -> None:
    detail = {
        "url": "https://alice:p@ss@registry.example.com/v2?x=a@b",
        "repo": "ssh://git@github.com/acme/shop.git",
        "token": "https://ghp_0123456789@github.com/acme/shop",
        "email": "ops@example.com",
        "plain": "nodes=3",
    }

    assert scrubbed(detail) == {
        "url": "https://***@registry.example.com/v2?x=a@b",
        "repo": "ssh://***@github.com/acme/shop.git",
        "token": "https://***@github.com/acme/shop",
        "email": "ops@example.com",
        "plain": "nodes=3",
    }


def test_long_values_are_cut() -> None:
    assert scrubbed({"k": "v" * 5000}) == {"k": "v" * MAX_DETAIL_VALUE}
