"""Variable interpolation and ``.env`` parsing, as Docker Compose v2 does them.

``${VAR}``, ``$VAR``, ``${VAR:-default}`` (unset or empty), ``${VAR-default}`` (unset),
``${VAR:?error}``/``${VAR?error}`` (fail), ``${VAR:+alt}``/``${VAR+alt}`` and ``$$`` for a literal ``$``.
Defaults may themselves hold interpolations. After interpolation, the strings of the fields Compose
types (``deploy.replicas``, ``privileged``…) are cast to integers, numbers or booleans as Compose casts them.

Env files (``.env``, ``env_file``, ``include.env_file``) are parsed like compose-go's dotenv parser.
"""

from __future__ import annotations

import re
from collections import ChainMap
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


# Fields whose strings Compose casts after interpolation (compose-go ``interpolateTypeCastMapping``);
# ``*`` matches any key, ``[]`` any list index.
_INT, _FLOAT, _BOOL = "int", "float", "bool"
_SERVICE_CASTS: dict[tuple[str, ...], str] = {
    ("cpu_count",): _INT,
    ("cpu_percent",): _FLOAT,
    ("cpu_period",): _INT,
    ("cpu_quota",): _INT,
    ("cpu_rt_period",): _INT,
    ("cpu_rt_runtime",): _INT,
    ("cpus",): _FLOAT,
    ("cpu_shares",): _INT,
    ("init",): _BOOL,
    ("depends_on", "*", "required"): _BOOL,
    ("depends_on", "*", "restart"): _BOOL,
    ("deploy", "replicas"): _INT,
    ("deploy", "update_config", "parallelism"): _INT,
    ("deploy", "update_config", "max_failure_ratio"): _FLOAT,
    ("deploy", "rollback_config", "parallelism"): _INT,
    ("deploy", "rollback_config", "max_failure_ratio"): _FLOAT,
    ("deploy", "restart_policy", "max_attempts"): _INT,
    ("deploy", "placement", "max_replicas_per_node"): _INT,
    ("healthcheck", "retries"): _INT,
    ("healthcheck", "disable"): _BOOL,
    ("oom_kill_disable",): _BOOL,
    ("oom_score_adj",): _INT,
    ("pids_limit",): _INT,
    ("ports", "[]", "target"): _INT,
    ("privileged",): _BOOL,
    ("read_only",): _BOOL,
    ("scale",): _INT,
    ("stdin_open",): _BOOL,
    ("tty",): _BOOL,
    ("ulimits", "*"): _INT,
    ("ulimits", "*", "hard"): _INT,
    ("ulimits", "*", "soft"): _INT,
    ("volumes", "[]", "read_only"): _BOOL,
    ("volumes", "[]", "volume", "nocopy"): _BOOL,
}
_CASTS: dict[tuple[str, ...], str] = {
    **{("services", "*", *path): kind for path, kind in _SERVICE_CASTS.items()},
    **{
        (top, "*", flag): _BOOL
        for top, flag in [
            ("networks", "external"),
            ("networks", "internal"),
            ("networks", "attachable"),
            ("networks", "enable_ipv4"),
            ("networks", "enable_ipv6"),
            ("volumes", "external"),
            ("secrets", "external"),
            ("configs", "external"),
        ]
    },
}
_CAST_LENGTHS = frozenset(len(path) for path in _CASTS)


def _cast_kind(parts: tuple[str, ...]) -> str | None:
    if len(parts) not in _CAST_LENGTHS:
        return None
    for pattern, kind in _CASTS.items():
        if len(pattern) == len(parts) and all(
            want == "*" or want == got or (want == "[]" and got.startswith("["))
            for want, got in zip(pattern, parts, strict=True)
        ):
            return kind
    return None


def _cast(text: str, kind: str) -> int | float | bool:
    """``text`` as Compose casts it; raises ValueError when it is not of that type."""
    if kind == _INT:
        return int(text.strip(), 10)
    if kind == _FLOAT:
        return float(text)
    lowered = text.lower()
    if lowered in ("true", "y", "yes", "on"):
        return True
    if lowered in ("false", "n", "no", "off"):
        return False
    raise ValueError(f"invalid boolean: {text}")


def interpolate_tree(
    value: Any,
    variables: Mapping[str, str],
    on_missing: Callable[[str, str], None] | None = None,
    path: str = "",
) -> Any:
    """A copy of the loaded document ``value`` with every string value (not key) interpolated and the
    typed fields cast; ``on_missing(name, path)`` reports each unset variable. ``x-`` extension blocks are
    interpolated too. Raises :class:`InterpolationError` (naming the path) for a failed ``${VAR:?…}`` or
    a value that cannot be cast."""
    return _interpolate_at(value, variables, on_missing, path, ())


def _interpolate_at(
    value: Any,
    variables: Mapping[str, str],
    on_missing: Callable[[str, str], None] | None,
    path: str,
    parts: tuple[str, ...],
) -> Any:
    if isinstance(value, str):
        report = None if on_missing is None else (lambda name: on_missing(name, path))
        try:
            text = interpolate(value, variables, report)
        except InterpolationError as exc:
            raise InterpolationError(f"{path}: {exc}") from None
        kind = _cast_kind(parts)
        if kind is None:
            return text
        try:
            return _cast(text, kind)
        except ValueError:
            wanted = {"int": "an integer", "float": "a number", "bool": "a boolean"}[kind]
            raise InterpolationError(f"{path}: {text!r} must be {wanted}") from None
    if isinstance(value, dict):
        return {
            key: _interpolate_at(
                item, variables, on_missing, f"{path}.{key}" if path else str(key), (*parts, str(key))
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _interpolate_at(item, variables, on_missing, f"{path}[{i}]", (*parts, f"[{i}]"))
            for i, item in enumerate(value)
        ]
    return value


# --- env files --------------------------------------------------------------------------------------


class EnvFileError(ValueError):
    """An env file Compose refuses to read (a bad variable name, an unterminated quote…)."""


_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-7]{3})")
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\",
}  # fmt: skip
_EXPORT = re.compile(r"export\s+")
_INLINE_SPACE = " \t\v\f\r\x85\xa0"


def _expand_escapes(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group()[1:]
        if code == "$":
            return "$$"  # a literal dollar for the interpolation that follows
        if code.startswith("0"):
            return chr(int(code[1:], 8))
        return _SIMPLE_ESCAPES[code]

    return _ESCAPE.sub(one, text)


def parse_dotenv(text: str, lookup: Mapping[str, str], out: dict[str, str] | None = None) -> dict[str, str]:
    """The variables of an env file, parsed as compose-go's dotenv parser does: ``KEY=VALUE`` or
    ``KEY: VALUE`` statements (``export`` allowed), ``#`` comments, single quotes literal, double quotes
    with escapes, unquoted values cut at `` #``, a bare ``KEY`` taking its value from ``lookup``.
    Double-quoted and unquoted values are interpolated from ``lookup`` first, then the variables already
    read. Variables are written into ``out`` (returned). Raises :class:`EnvFileError`."""
    out = {} if out is None else out
    variables: Mapping[str, str] = ChainMap(dict(lookup), out)
    text = text.removeprefix("\ufeff")
    i, n = 0, len(text)

    def line_at(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    while True:
        while i < n and (text[i].isspace() or text[i] == "#"):
            if text[i] == "#":
                end = text.find("\n", i)
                i = n if end < 0 else end
            else:
                i += 1
        if i >= n:
            return out
        start = i
        export = _EXPORT.match(text, i)
        if export:
            i = export.end()
        key_start = i
        separator = ""
        while i < n:
            char = text[i]
            if char in "=:\n":
                separator = char
                break
            if not (char in _INLINE_SPACE or char in "_.-[]" or char.isalnum()):
                first = text[start:].split("\n", 1)[0]
                raise EnvFileError(
                    f"line {line_at(i)}: unexpected character {char!r} in variable name {first!r}"
                )
            i += 1
        key = text[key_start:i].rstrip()
        if not key:
            raise EnvFileError(f"line {line_at(key_start)}: a variable name is missing before {separator!r}")
        if " " in key or "\t" in key:
            raise EnvFileError(f"line {line_at(key_start)}: the variable name {key!r} contains a space")
        if separator in ("\n", ""):  # a bare name: inherited from the environment
            if key in lookup:
                out[key] = lookup[key]
            i += 1
            continue
        i += 1
        while i < n and text[i] in _INLINE_SPACE:
            i += 1
        value, i = _value(text, i, variables, line_at)
        out[key] = value


def _value(text: str, i: int, variables: Mapping[str, str], line_at: Callable[[int], int]) -> tuple[str, int]:
    """The value starting at ``text[i]`` and the position after it."""
    n = len(text)
    quote = text[i] if i < n and text[i] in "'\"" else ""
    if not quote:
        end = text.find("\n", i)
        end = n if end < 0 else end
        raw = text[i:end]
        comment = raw.find(" #")
        if comment >= 0:
            raw = raw[:comment]
        return _interpolated(raw.rstrip(_INLINE_SPACE), variables, line_at(i)), end
    chars: list[str] = []
    escaped = False
    j = i + 1
    while j < n:
        char = text[j]
        if char != quote:
            if not escaped and char == "\\":
                escaped = True
            else:
                if escaped:
                    chars.append("\\")
                    escaped = False
                chars.append(char)
            j += 1
            continue
        if escaped:  # an escaped quote
            escaped = False
            chars.append(char)
            j += 1
            continue
        value = "".join(chars)
        if quote == '"':
            value = _interpolated(_expand_escapes(value), variables, line_at(i))
        return value, j + 1
    first = text[i:].split("\n", 1)[0]
    raise EnvFileError(f"line {line_at(i)}: unterminated quoted value {first}")


def _interpolated(text: str, variables: Mapping[str, str], line: int) -> str:
    try:
        return interpolate(text, variables)
    except InterpolationError as exc:
        raise EnvFileError(f"line {line}: {exc}") from None


def parse_raw_env(text: str, lookup: Mapping[str, str]) -> dict[str, str]:
    """The variables of an env file in the ``raw`` format (``docker run --env-file``): ``KEY=VALUE``
    lines taken literally, ``#`` comments, a bare ``KEY`` taking its value from ``lookup``."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.lstrip(_INLINE_SPACE)
        if not key or any(c in key for c in _INLINE_SPACE):
            raise EnvFileError(f"line {number}: {key!r} is not a variable name")
        if sep:
            out[key] = value
        elif key in lookup:
            out[key] = lookup[key]
    return out


def parse_env_text(text: str, values: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of a project's ``.env`` text (see :func:`parse_dotenv`); ``values`` (the user's
    environment) win when interpolating. Raises :class:`EnvFileError`."""
    return parse_dotenv(text, values or {})
