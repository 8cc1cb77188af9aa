"""Opaque cursors and page-size rules shared by every connection."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from app import errors


@dataclass(frozen=True, slots=True)
class PageRules:
    default_size: int
    max_size: int

    def size(self, first: int | None) -> int:
        if first is None:
            return self.default_size
        if first < 0 or first > self.max_size:
            raise errors.Invalid.field("first", f"must be between 0 and {self.max_size}")
        return first


def encode_cursor(list_name: str, key: list[Any]) -> str:
    raw = json.dumps([list_name, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(list_name: str, cursor: str) -> list[Any]:
    """The key inside ``cursor``; ``BAD_INPUT`` on ``after`` if it is not a cursor of ``list_name``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise errors.Invalid.field("after", "is not a cursor of this list") from exc
    if not isinstance(value, list) or not value or value[0] != list_name:
        raise errors.Invalid.field("after", "is not a cursor of this list")
    return value[1:]
