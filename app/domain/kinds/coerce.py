"""Sanitising node data against a kind's fields: coerce each value to its type or explain why it cannot be.

The rules, for a person writing a client:

* ``null`` means "not set" and is dropped; so is ``""`` for number, boolean, enum and quantity fields
  (forms send it for a cleared input). Unknown keys are dropped with a warning; run-time keys
  (``_status…``) silently. Fields written by edges (``linked``) are kept only when well-formed — they are
  recomputed from the edges anyway.
* STRING/TEXT take strings, and numbers and booleans written as text; STRING values are trimmed, TEXT
  values (``env`` values) are kept exactly. INTEGER takes integers, whole floats and integer
  text (``"3"``); NUMBER any finite number or numeric text; BOOLEAN ``true``/``false`` or that text.
  ENUM values match their options ignoring case and are written as the option. QUANTITY takes Kubernetes
  quantities (``500m``, ``0.5``, ``128Mi``) and numbers, stored as text.
* STRING_MAP values and STRING_LIST items are scalars written as text; a single string is a one-item list.
* OBJECT_LIST items are objects. A list whose items are ``{name, value}`` (``env``) also takes a map
  ``{NAME: value}``, normalised to the list. Items with an ``id`` sub-field get one when missing
  (``path-1``, ``rule-2`` …) and ids must be unique within the list.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from app.domain.kinds.formats import CHECKS
from app.domain.kinds.quantities import quantity_problem
from app.domain.kinds.registry import is_runtime_key
from app.domain.kinds.spec import FieldSpec, FieldType
from app.domain.problems import ProblemLog, index_path, key_path, show

_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_ID_PREFIX = {
    "paths": "path",
    "ingressRules": "ingress-rule",
    "egressRules": "egress-rule",
    "keys": "key",
    "from": "peer",
    "to": "peer",
}
_UNSET_WHEN_EMPTY = frozenset(
    {FieldType.INTEGER, FieldType.NUMBER, FieldType.BOOLEAN, FieldType.ENUM, FieldType.QUANTITY}
)


class _Drop:
    """Marks a value that is not kept."""


@dataclass(frozen=True, slots=True)
class _At:
    """Where a value is coerced: its field, input path, problem log and schema path."""

    spec: FieldSpec
    path: str
    log: ProblemLog
    schema: str


DROP: Final = _Drop()


def sanitise_fields(
    fields: Sequence[FieldSpec], data: Mapping[str, Any], path: str, log: ProblemLog, schema: str = ""
) -> dict[str, Any]:
    """``data`` with every known field coerced to its type; problems go to ``log`` at ``path``.

    ``schema`` is the dotted field path of ``data`` without indexes (empty at the top of a node).
    """
    out: dict[str, Any] = {}
    names = [spec.name for spec in fields if not spec.linked]
    by_name = {spec.name: spec for spec in fields}
    for key, raw in data.items():
        if not isinstance(key, str):
            log.warn(path, f"the non-text key {show(key)} was dropped")
            continue
        if is_runtime_key(key):
            continue
        here = key_path(path, key)
        spec = by_name.get(key)
        if spec is None:
            log.warn(here, f"unknown field {key!r} was dropped{_did_you_mean(key, names)}")
            continue
        if raw is None:
            continue
        inner = f"{schema}.{key}" if schema else key
        if spec.linked:
            scratch = ProblemLog()
            value = coerce_value(spec, raw, here, scratch, inner)
            if scratch.has_errors or value == "" or value == []:
                continue
        else:
            value = coerce_value(spec, raw, here, log, inner)
        if not isinstance(value, _Drop):
            out[key] = value
    return out


def coerce_value(spec: FieldSpec, raw: Any, path: str, log: ProblemLog, schema: str) -> Any:
    """``raw`` coerced to ``spec``'s type and checked, or :data:`DROP` (with the reason in ``log``)."""
    if raw == "" and spec.type in _UNSET_WHEN_EMPTY:
        return DROP
    value = _COERCERS[spec.type](_At(spec, path, log, schema), raw)
    if isinstance(value, _Drop):
        return DROP
    check = CHECKS.get(schema)
    if check is None:
        return value
    items = enumerate(value) if spec.type is FieldType.STRING_LIST else [(None, value)]
    failed = False
    for index, item in items:
        base = path if index is None else index_path(path, index)
        for suffix, message in check(item):
            log.error(base + suffix, message)
            failed = True
    return DROP if failed else value


def _did_you_mean(key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _text(at: _At, raw: Any) -> Any:
    text = _scalar_text(raw)
    if text is None:
        at.log.error(at.path, f"must be text, got {show(raw)}")
        return DROP
    return text.strip() if at.spec.type is FieldType.STRING else text


def _bounds(spec: FieldSpec, noun: str) -> str:
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None:
        return f"{noun} between {low:g} and {high:g}"
    if low is not None:
        return f"{noun} ≥ {low:g}"
    if high is not None:
        return f"{noun} ≤ {high:g}"
    return noun


def _in_bounds(spec: FieldSpec, value: float, path: str, log: ProblemLog, noun: str) -> bool:
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        log.error(path, f"must be {_bounds(spec, noun)}, got {show(value)}")
        return False
    return True


def _integer(at: _At, raw: Any) -> Any:
    spec, path, log = at.spec, at.path, at.log
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and _INTEGER_TEXT.match(raw.strip()):
        value = int(raw.strip())
    if value is None:
        log.error(path, f"must be {_bounds(spec, 'an integer')}, got {show(raw)}")
        return DROP
    return value if _in_bounds(spec, value, path, log, "an integer") else DROP


def _number(at: _At, raw: Any) -> Any:
    spec, path, log = at.spec, at.path, at.log
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str):
        try:
            value = int(raw.strip()) if _INTEGER_TEXT.match(raw.strip()) else float(raw)
        except ValueError:
            value = None
    if value is None or not math.isfinite(value):
        log.error(path, f"must be {_bounds(spec, 'a number')}, got {show(raw)}")
        return DROP
    return value if _in_bounds(spec, value, path, log, "a number") else DROP


def _boolean(at: _At, raw: Any) -> Any:
    path, log = at.path, at.log
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    log.error(path, f"must be true or false, got {show(raw)}")
    return DROP


def _option(spec: FieldSpec, raw: Any, path: str, log: ProblemLog) -> Any:
    if isinstance(raw, str):
        for option in spec.options:
            if raw.strip().lower() == option.lower():
                return option
    log.error(path, f"must be one of {', '.join(spec.options)}; got {show(raw)}")
    return DROP


def _enum(at: _At, raw: Any) -> Any:
    spec, path, log = at.spec, at.path, at.log
    return _option(spec, raw, path, log)


def _quantity(at: _At, raw: Any) -> Any:
    path, log = at.path, at.log
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        raw = str(raw)
    if not isinstance(raw, str):
        log.error(path, f"must be a Kubernetes quantity such as 500m, 0.5, 128Mi or 10Gi, got {show(raw)}")
        return DROP
    text = raw.strip()
    problem = quantity_problem(text)
    if problem:
        log.error(path, problem)
        return DROP
    return text


def _scalar_text(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and math.isfinite(raw):
        return str(raw)
    return None


def _string_map(at: _At, raw: Any) -> Any:
    path, log = at.path, at.log
    if not isinstance(raw, Mapping):
        log.error(path, f"must be an object of text values, got {show(raw)}")
        return DROP
    out: dict[str, str] = {}
    ok = True
    for key, item in raw.items():
        if item is None:
            continue
        text = _scalar_text(item)
        if text is None:
            log.error(key_path(path, str(key)), f"must be text, got {show(item)}")
            ok = False
            continue
        out[str(key)] = text
    return out if ok else DROP


def _string_list(at: _At, raw: Any) -> Any:
    spec, path, log = at.spec, at.path, at.log
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        log.error(path, f"must be a list of text, got {show(raw)}")
        return DROP
    out: list[str] = []
    ok = True
    for index, item in enumerate(raw):
        if item is None:
            continue
        text = _scalar_text(item)
        if text is None:
            log.error(index_path(path, index), f"must be text, got {show(item)}")
            ok = False
            continue
        if spec.options:
            text = _option(spec, text, index_path(path, index), log)
            if isinstance(text, _Drop):
                ok = False
                continue
        out.append(text)
    return out if ok else DROP


def _object(at: _At, raw: Any) -> Any:
    spec, path, log = at.spec, at.path, at.log
    if not isinstance(raw, Mapping):
        log.error(path, f"must be an object, got {show(raw)}")
        return DROP
    return sanitise_fields(spec.fields, raw, path, log, at.schema)


def _object_list(at: _At, raw: Any) -> Any:
    spec, path, log = at.spec, at.path, at.log
    names = {f.name for f in spec.fields}
    if isinstance(raw, Mapping) and {"name", "value"} <= names:
        raw = [{"name": key, "value": value} for key, value in raw.items()]
    if not isinstance(raw, list | tuple):
        log.error(path, f"must be a list of objects, got {show(raw)}")
        return DROP
    out: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        here = index_path(path, index)
        if not isinstance(item, Mapping):
            log.error(here, f"must be an object, got {show(item)}")
            continue
        out.append(sanitise_fields(spec.fields, item, here, log, at.schema))
    if "id" in names:
        _ensure_ids(spec.name, out, path, log)
    return out


def _ensure_ids(name: str, items: list[dict[str, Any]], path: str, log: ProblemLog) -> None:
    taken: dict[str, int] = {}
    for index, item in enumerate(items):
        ident = item.get("id")
        if not ident:
            continue
        if ident in taken:
            log.error(
                f"{index_path(path, index)}.id",
                f"duplicate id {ident!r} (also {name}[{taken[ident]}]); ids must be unique",
            )
        else:
            taken[ident] = index
    prefix = _ID_PREFIX.get(name, "item")
    counter = 0
    for item in items:
        if item.get("id"):
            continue
        counter += 1
        while f"{prefix}-{counter}" in taken:
            counter += 1
        item["id"] = f"{prefix}-{counter}"
        taken[item["id"]] = -1


_COERCERS = {
    FieldType.STRING: _text,
    FieldType.TEXT: _text,
    FieldType.INTEGER: _integer,
    FieldType.NUMBER: _number,
    FieldType.BOOLEAN: _boolean,
    FieldType.ENUM: _enum,
    FieldType.QUANTITY: _quantity,
    FieldType.STRING_MAP: _string_map,
    FieldType.STRING_LIST: _string_list,
    FieldType.OBJECT: _object,
    FieldType.OBJECT_LIST: _object_list,
}
