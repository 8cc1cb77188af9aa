"""Strings that try to break YAML documents and Jinja templates: a fixed list of hazards plus seeded
random mixes of them (so a failure always reproduces)."""

from __future__ import annotations

import random

HAZARDS = [
    "\n",
    "\r\n",
    "\t",
    ": ",
    "key: value",
    "a:\n  b: c",
    "- item",
    "? complex",
    "{{ 7 * 7 }}",
    "{{ meta.name }}",
    "{% for x in range(3) %}x{% endfor %}",
    "{# comment #}",
    "{%- raw %}",
    "'",
    '"',
    "\\",
    '\\"',
    "''",
    "&anchor value",
    "*alias",
    "<<: *alias",
    "!!python/object/apply:os.system ['id']",
    "!tag",
    "---",
    "...",
    "--- !!map",
    "# not a comment",
    "value # trailing",
    "%YAML 1.2",
    "@at",
    "`backtick`",
    "|",
    ">-",
    "[a, b]",
    "{a: b}",
    "null",
    "~",
    "true",
    "False",
    "yes",
    "off",
    "123",
    "0x1F",
    "0o17",
    "012",
    "1e3",
    "1_000",
    ".inf",
    "-.NaN",
    "2001-12-14",
    "12:30:45",
    "=",
    "",
    " ",
    "  leading and trailing  ",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u00a0",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffe",
    "\ud800",
    "é",
    "日本語",
    "😀",
    "\u202eevil",
]


def _nasty_strings() -> list[str]:
    rng = random.Random(20261123)
    mixed = ["".join(rng.choice(HAZARDS) for _ in range(rng.randint(2, 6))) for _ in range(60)]
    return HAZARDS + mixed


def _is_text(value: str) -> bool:
    """Whether ``value`` is encodable text (a lone surrogate is not: the renderer refuses it)."""
    return not any("\ud800" <= ch <= "\udfff" for ch in value)


NASTY = [value for value in _nasty_strings() if _is_text(value)]
NOT_TEXT = [value for value in _nasty_strings() if not _is_text(value)]
