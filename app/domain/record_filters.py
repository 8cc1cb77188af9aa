"""The record filter language of data collections: parsed once from JSON into a small tree, which each store
compiles to its own query (SQLite JSON1, MongoDB) with the same meaning.

A filter is a JSON object. Each key is either a field path holding one or more operators, or ``and`` /
``or`` holding a non-empty list of filters; the keys of one object are ANDed::

    {"status": {"eq": "open"}, "total": {"gte": 10, "lt": 100},
     "or": [{"customer.country": {"in": ["FR", "DE"]}}, {"tags": {"contains": "vip"}}]}

Paths are dotted names of object members (``customer.country``), each a letter or ``_`` then letters,
digits or ``_``. Arrays are values only: a path never reaches into one. Semantics (both stores):

- ``eq`` / ``ne``: a string, number, boolean or null. ``eq`` matches a field present with a value of the same
  JSON type and equal (``1`` equals ``1.0``; ``true`` never equals ``1``; ``null`` matches only a present
  null); ``ne`` is its negation (a missing field matches ``ne``).
- ``gt`` ``gte`` ``lt`` ``lte``: a number or a string; only a field of the same type matches (strings by
  code point order).
- ``in``: a non-empty list of scalars; ``eq`` any of them.
- ``contains``: a scalar; matches an array holding an element ``eq`` to it, or, for a string value, a
  string field holding it as a substring (case-sensitive).
- ``exists``: a boolean; whether the field is present (with any value, null included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.errors import FieldError, Invalid

MAX_DEPTH = 6  # nesting of and/or
MAX_CONDITIONS = 50  # comparisons in one filter
MAX_IN = 100  # values of one ``in``
MAX_SEGMENTS = 8  # names in one path
_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_INT64 = 2**63

Scalar = str | int | float | bool | None


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    CONTAINS = "contains"
    EXISTS = "exists"


ORDERING = (Op.GT, Op.GTE, Op.LT, Op.LTE)


@dataclass(frozen=True, slots=True)
class Compare:
    """``path`` (its member names) compared by ``op`` with ``value`` (a list of scalars for ``in``)."""

    path: tuple[str, ...]
    op: Op
    value: Any


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[RecordFilter, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[RecordFilter, ...]


RecordFilter = Compare | AllOf | AnyOf


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def json_type(value: Any) -> str:
    """The JSON type of a scalar: ``null``, ``boolean``, ``number`` or ``string``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


class _Parser:
    def __init__(self) -> None:
        self.problems: list[FieldError] = []
        self.count = 0

    def problem(self, where: str, message: str) -> None:
        self.problems.append(FieldError(where, message))

    def filter(self, raw: Any, where: str, depth: int) -> RecordFilter | None:
        if not isinstance(raw, Mapping):
            self.problem(where, "must be an object")
            return None
        if depth > MAX_DEPTH:
            self.problem(where, f"nests and/or more than {MAX_DEPTH} deep")
            return None
        parts: list[RecordFilter] = []
        for key, body in raw.items():
            at = f"{where}.{key}"
            if key in ("and", "or"):
                group = self.group(body, at, depth)
                if group is not None:
                    parts.append(AllOf(group) if key == "and" else AnyOf(group))
            else:
                parts.extend(self.field(str(key), body, at))
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def group(self, body: Any, where: str, depth: int) -> tuple[RecordFilter, ...] | None:
        if not isinstance(body, Sequence) or isinstance(body, str) or not body:
            self.problem(where, "must be a non-empty list of filters")
            return None
        parsed = [self.filter(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(body)]
        return tuple(p for p in parsed if p is not None)

    def field(self, key: str, body: Any, where: str) -> list[Compare]:
        path = tuple(key.split("."))
        if len(path) > MAX_SEGMENTS or not all(_SEGMENT.match(segment) for segment in path):
            self.problem(
                where,
                "is not a field path: dotted names (letters, digits, _; not starting with a digit), "
                f"at most {MAX_SEGMENTS}; or use and/or",
            )
            return []
        if not isinstance(body, Mapping) or not body:
            self.problem(where, f"must be an object of operators ({', '.join(op.value for op in Op)})")
            return []
        found: list[Compare] = []
        for name, value in body.items():
            at = f"{where}.{name}"
            try:
                op = Op(name)
            except ValueError:
                self.problem(at, f"is not an operator ({', '.join(op.value for op in Op)})")
                continue
            message = _value_problem(op, value)
            if message:
                self.problem(at, message)
                continue
            self.count += 1
            found.append(Compare(path, op, list(value) if op is Op.IN else value))
        return found


def _scalar_problem(value: Any) -> str | None:
    if not is_scalar(value):
        return "must be a string, number, boolean or null"
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        return "is a number out of the 64-bit integer range"
    return None


def _value_problem(op: Op, value: Any) -> str | None:
    if op is Op.EXISTS:
        return None if isinstance(value, bool) else "must be true or false"
    if op in ORDERING:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return "must be a number or a string"
        return _scalar_problem(value)
    if op is Op.IN:
        if not isinstance(value, list) or not value or len(value) > MAX_IN:
            return f"must be a list of 1 to {MAX_IN} values"
        return next((f"[{i}] {p}" for i, v in enumerate(value) if (p := _scalar_problem(v))), None)
    return _scalar_problem(value)


def parse_filter(raw: Any, where: str = "filter") -> RecordFilter | None:
    """The filter ``raw`` (decoded JSON) describes; None for an empty or absent filter. ``Invalid`` naming
    every problem (``filter.total.gte: must be a number or a string``)."""
    if raw is None or (isinstance(raw, Mapping) and not raw):
        return None
    parser = _Parser()
    parsed = parser.filter(raw, where, 0)
    if parser.count > MAX_CONDITIONS:
        parser.problem(where, f"holds more than {MAX_CONDITIONS} comparisons")
    if parser.problems or parsed is None:
        raise Invalid("the filter is not valid", parser.problems or [FieldError(where, "is not valid")])
    return parsed
