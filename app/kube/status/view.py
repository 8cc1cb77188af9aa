"""A read-only view of a raw API object that reads fields by dotted path, with Kubernetes' zero values.

A missing field reads as its zero value (0, "", False, an empty list), as Go's typed conversion does
in Argo CD; a field of the wrong type raises :class:`Malformed` naming its path, which ``assess``
turns into ``UNKNOWN``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_EMPTY: Mapping[str, Any] = {}


class Malformed(ValueError):
    """A field has the wrong type: ``path`` says which, the message says what was expected."""

    def __init__(self, path: str, expected: str, value: object) -> None:
        shown = repr(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        super().__init__(f"{path} should be {expected}, not {shown}")
        self.path = path


@dataclass(frozen=True, slots=True)
class View:
    """``data`` seen from ``path`` (the dotted path of ``data`` inside the whole object, for messages)."""

    data: Mapping[str, Any]
    path: str = ""

    def _where(self, dotted: str) -> str:
        return f"{self.path}.{dotted}" if self.path else dotted

    def get(self, dotted: str) -> Any:
        """The raw value at ``dotted``, or None when any step is missing."""
        value: Any = self.data
        walked = self.path
        for key in dotted.split("."):
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise Malformed(walked or "the object", "a mapping", value)
            value = value.get(key)
            walked = f"{walked}.{key}" if walked else key
        return value

    def has(self, dotted: str) -> bool:
        return self.get(dotted) is not None

    def view(self, dotted: str) -> View:
        value = self.get(dotted)
        if value is None:
            return View(_EMPTY, self._where(dotted))
        if not isinstance(value, Mapping):
            raise Malformed(self._where(dotted), "a mapping", value)
        return View(value, self._where(dotted))

    def views(self, dotted: str) -> list[View]:
        """The mappings of the list at ``dotted`` (empty when missing)."""
        value = self.get(dotted)
        if value is None:
            return []
        where = self._where(dotted)
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise Malformed(where, "a list", value)
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise Malformed(f"{where}[{index}]", "a mapping", item)
            result.append(View(item, f"{where}[{index}]"))
        return result

    def count(self, dotted: str) -> int:
        """The length of the list at ``dotted`` (0 when missing)."""
        value = self.get(dotted)
        if value is None:
            return 0
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise Malformed(self._where(dotted), "a list", value)
        return len(value)

    def keys(self, dotted: str) -> list[str]:
        """The keys of the mapping at ``dotted``, sorted (empty when missing)."""
        return sorted(str(key) for key in self.view(dotted).data)

    def literal(self, key: str) -> str:
        """The string under ``key`` taken whole, dots included (a label or annotation name), or ""."""
        value = self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise Malformed(self._where(key), "a string", value)
        return value

    def integer(self, dotted: str, default: int = 0) -> int:
        found = self.maybe_integer(dotted)
        return default if found is None else found

    def maybe_integer(self, dotted: str) -> int | None:
        value = self.get(dotted)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise Malformed(self._where(dotted), "an integer", value)
        return value

    def text(self, dotted: str, default: str = "") -> str:
        value = self.get(dotted)
        if value is None:
            return default
        if not isinstance(value, str):
            raise Malformed(self._where(dotted), "a string", value)
        return value

    def flag(self, dotted: str) -> bool:
        value = self.get(dotted)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise Malformed(self._where(dotted), "true or false", value)
        return value

    def texts(self, dotted: str) -> list[str]:
        value = self.get(dotted)
        if value is None:
            return []
        where = self._where(dotted)
        if not isinstance(value, Sequence) or isinstance(value, str | bytes):
            raise Malformed(where, "a list", value)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise Malformed(f"{where}[{index}]", "a string", item)
        return list(value)

    def moment(self, dotted: str) -> datetime | None:
        """An RFC 3339 timestamp (``2024-05-01T10:00:00Z``) as an aware datetime, or None."""
        value = self.get(dotted)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if not isinstance(value, str):
            raise Malformed(self._where(dotted), "a timestamp", value)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Malformed(self._where(dotted), "an RFC 3339 timestamp", value) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def condition(self, kind: str) -> View | None:
        """The ``status.conditions`` entry of type ``kind`` (the last one if repeated), or None."""
        found = None
        for item in self.views("status.conditions"):
            if item.text("type") == kind:
                found = item
        return found

    def condition_is(self, kind: str, status: str = "True") -> bool:
        found = self.condition(kind)
        return found is not None and found.text("status") == status

    @property
    def name(self) -> str:
        return self.text("metadata.name")


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 replica``, ``3 replicas``."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def since(start: datetime | None, end: datetime | None) -> str:
    """A short duration between two moments (``1m 05s``), or "" when one is missing."""
    if start is None or end is None or end < start:
        return ""
    seconds = int((end - start).total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def stamp(moment: datetime | None) -> str | None:
    """``moment`` as RFC 3339 in UTC (JSON-safe), or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
