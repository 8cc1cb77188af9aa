"""Turning a user's value into YAML text that can only ever be that value.

Every value a template emits goes through :func:`yaml_literal`: JSON (a subset of YAML's flow style) on
one line, strings double-quoted, so no character of a value can start a new key, document, comment,
anchor, alias or tag, and a string stays a string ("123", "true", "null" included). JSON leaves a few
characters raw that YAML would not read back as they were — C1 controls and DEL (refused by YAML
readers), NEL and the Unicode line and paragraph separators (folded into spaces inside quotes), the byte
order mark, surrogates and non-characters — so those are written as ``\\uXXXX`` escapes, which JSON and
YAML read the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

# What JSON (ensure_ascii=False) leaves raw but a YAML reader refuses, folds or treats specially.
_NOT_YAML_SAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def yaml_literal(value: Any) -> str:
    """``value`` (a string, number, boolean, ``None``, or lists and string-keyed maps of those) as YAML
    flow text on one line that parses back to exactly ``value``.

    Map keys are sorted, so equal inputs give equal text. Raises ``ValueError`` for NaN and infinities
    (YAML would read them back as strings) and ``TypeError`` for anything else JSON cannot hold.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    return _NOT_YAML_SAFE.sub(_escape, text)
