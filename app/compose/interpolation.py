"""Variable interpolation and ``.env`` parsing, as Docker Compose v2 does them.

``${VAR}``, ``$VAR``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset),
``${VAR:?error}``/``${VAR?error}`` (fail), ``${VAR:+alt}``/``${VAR+alt}`` and ``$$`` for a literal ``$``.
Defaults may themselves hold interpolations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A ``${VAR?error}`` whose variable is missing, or a malformed ``${…}``."""


def interpolate(
    text: str, variables: Mapping[str, str], on_missing: Callable[[str], None] | None = None
) -> str:
    """``text`` with its variables substituted from ``variables``; ``on_missing`` is told the name of
    each variable that is unset and has no default (it becomes the empty string)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char != "$" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_braced(text[i + 2 : end], variables, on_missing))
            i = end + 1
        else:
            match = _NAME.match(text, i + 1)
            if match is None:
                out.append("$")
                i += 1
                continue
            out.append(_lookup(match.group(), variables, on_missing))
            i = match.end()
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"invalid interpolation format in {text!r}: '${{' is never closed")


def _lookup(name: str, variables: Mapping[str, str], on_missing: Callable[[str], None] | None) -> str:
    value = variables.get(name)
    if value is None:
        if on_missing is not None:
            on_missing(name)
        return ""
    return value


def _braced(inner: str, variables: Mapping[str, str], on_missing: Callable[[str], None] | None) -> str:
    match = _NAME.match(inner)
    if match is None:
        raise InterpolationError(f"invalid interpolation format: '${{{inner}}}' has no variable name")
    name, rest = match.group(), inner[match.end() :]
    if not rest:
        return _lookup(name, variables, on_missing)
    operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
    if operator is None:
        raise InterpolationError(f"invalid interpolation format: '${{{inner}}}'")
    argument = rest[len(operator) :]
    value = variables.get(name)
    absent = value is None or (operator.startswith(":") and value == "")
    kind = operator[-1]
    if kind == "-":
        return interpolate(argument, variables, on_missing) if absent else str(value)
    if kind == "+":
        return "" if absent else interpolate(argument, variables, on_missing)
    if absent:
        message = interpolate(argument, variables, on_missing) or "is not set"
        raise InterpolationError(f"required variable {name} is missing a value: {message}")
    return str(value)


def interpolate_tree(
    value: Any,
    variables: Mapping[str, str],
    on_missing: Callable[[str, str], None] | None = None,
    path: str = "",
) -> Any:
    """A copy of the loaded document ``value`` with every string value (not key) interpolated;
    ``on_missing(name, path)`` reports each unset variable. ``x-`` extension blocks are interpolated too."""
    if isinstance(value, str):
        report = None if on_missing is None else (lambda name: on_missing(name, path))
        try:
            return interpolate(value, variables, report)
        except InterpolationError as exc:
            raise InterpolationError(f"{path}: {exc}") from None
    if isinstance(value, dict):
        return {
            key: interpolate_tree(item, variables, on_missing, f"{path}.{key}" if path else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [interpolate_tree(item, variables, on_missing, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def parse_env_text(text: str, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of a ``.env`` text, read as Compose does: ``KEY=VALUE`` lines (``export`` allowed),
    ``#`` comments, single quotes literal, double quotes with escapes, unquoted values trimmed and cut at
    `` #``; double-quoted and unquoted values are interpolated from the earlier lines and ``values``."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, raw = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            continue
        raw = raw.strip()
        lookup = {**out, **(values or {})}
        if raw[:1] in ("'", '"'):
            quote = raw[0]
            body = raw[1:]
            while quote not in _unescaped_end(body, quote) and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            end = _quote_end(body, quote)
            body = body[:end] if end >= 0 else body
            if quote == "'":
                out[key] = body
            else:
                body = (
                    body.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"').replace("\\\\", "\\")
                )
                out[key] = interpolate(body, lookup)
        else:
            comment = raw.find(" #")
            if comment >= 0:
                raw = raw[:comment]
            out[key] = interpolate(raw.strip(), lookup)
    return out


def _quote_end(body: str, quote: str) -> int:
    i = 0
    while i < len(body):
        if quote == '"' and body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return -1


def _unescaped_end(body: str, quote: str) -> str:
    return quote if _quote_end(body, quote) >= 0 else ""
