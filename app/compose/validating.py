"""Compose files checked against the published Compose Specification JSON schema (``spec/``), as Docker
Compose v2 checks them: after interpolation, with the ``x-`` extension keys still in place (the schema
allows them wherever Compose does; elsewhere they are refused, as Compose refuses them).

Each schema error becomes a ``SCHEMA_INVALID`` error (``UNKNOWN_TOP_LEVEL_KEY`` for an unknown top-level
key) with its compose path (``services.web.ports[0]``), its service, and a message a person can act on.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from app.compose.problems import ComposeProblem, Problems
from app.compose.problems import in_file as _in

MAX_SCHEMA_ERRORS = 20
"""Schema errors reported for one analysis; the rest are summed up in one more error."""

_TYPE_NAMES = {"object": "mapping", "array": "list", "null": "null", "integer": "integer"}
_NAME_PATTERN = "^[a-zA-Z0-9._-]+$"


@functools.cache
def _validator() -> Draft7Validator:
    """The compiled validator of the vendored schema (built once per process)."""
    text = resources.files("app.compose").joinpath("spec/compose-spec.json").read_text(encoding="utf-8")
    return Draft7Validator(json.loads(text))


def compose_path(parts: Sequence[str | int]) -> str:
    """``("services", "web", "ports", 0)`` → ``services.web.ports[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _service(parts: Sequence[str | int]) -> str | None:
    return str(parts[1]) if len(parts) > 1 and parts[0] == "services" else None


def check_keys(document: Any, label: str, problems: Problems) -> bool:
    """Report every mapping key that is not a string (Compose refuses them); True when there is none."""
    found = False

    def walk(value: Any, parts: tuple[str | int, ...]) -> None:
        nonlocal found
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    found = True
                    where = compose_path(parts) or "the top level"
                    problems.error(
                        "SCHEMA_INVALID",
                        _in(label, f"the key {key!r} in {where} is not a string: quote it ('{key}')"),
                        _service(parts),
                        compose_path((*parts, str(key))),
                    )
                else:
                    walk(item, (*parts, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*parts, index))

    walk(document, ())
    return not found


def validate(document: dict[str, Any], label: str, problems: Problems) -> bool:
    """Report the schema errors of ``document`` (interpolated, string keys), at most
    :data:`MAX_SCHEMA_ERRORS` for the whole analysis; True when it is valid."""
    valid = True
    for problem in _problems(document, label):
        valid = False
        reported = sum(p.code in ("SCHEMA_INVALID", "UNKNOWN_TOP_LEVEL_KEY") for p in problems.errors)
        if reported >= MAX_SCHEMA_ERRORS:
            if reported == MAX_SCHEMA_ERRORS:
                problems.error("SCHEMA_INVALID", "more schema errors were found: fix the ones above first")
            break
        problems.errors.append(problem)
    return valid


def _problems(document: dict[str, Any], label: str) -> Iterator[ComposeProblem]:
    errors = sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        chosen = _most_specific(error)
        yield from _describe(chosen, label)


def _specificity(error: ValidationError) -> int:
    return len(error.absolute_path) + (1 if error.validator in ("additionalProperties", "required") else 0)


def _most_specific(error: ValidationError) -> list[ValidationError]:
    """The deepest errors under ``error`` (the alternatives of a ``oneOf``, say), as compose-go picks them;
    several only when they are all type errors at the same place."""
    if not error.context:
        return [error]
    leaves = [leaf for cause in error.context for leaf in _most_specific(cause)]
    best = max(_specificity(leaf) for leaf in leaves)
    top = [leaf for leaf in leaves if _specificity(leaf) == best]
    if all(leaf.validator == "type" for leaf in top):
        return top
    return [top[0]]


def _type_names(wanted: Any) -> list[str]:
    names = wanted if isinstance(wanted, list) else [wanted]
    return [_TYPE_NAMES.get(str(name), str(name)) for name in names]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(errors: list[ValidationError], label: str) -> Iterator[ComposeProblem]:
    first = errors[0]
    parts = tuple(first.absolute_path)
    path = compose_path(parts)
    where = path or "the document"
    service = _service(parts)
    if first.validator == "type":
        names = sorted({name for error in errors for name in _type_names(error.validator_value)})
        wanted = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        yield ComposeProblem(
            "SCHEMA_INVALID",
            _in(label, f"{where} must be a {wanted}, not {_short(first.instance)}"),
            service,
            path,
        )
        return
    if first.validator == "additionalProperties":
        yield from _unknown_keys(first, parts, label)
        return
    if first.validator == "required":
        missing = re.match(r"'(.*)' is a required property", first.message)
        name = missing.group(1) if missing else first.message
        message = f"{where} needs the key {name!r}"
    elif first.validator == "enum":
        listed = first.validator_value if isinstance(first.validator_value, list) else []
        allowed = ", ".join(str(v) for v in listed)
        message = f"{where} must be one of {allowed}, not {_short(first.instance)}"
    elif first.validator in ("minimum", "exclusiveMinimum"):
        message = f"{where} must be at least {first.validator_value}, not {first.instance}"
    elif first.validator in ("maximum", "exclusiveMaximum"):
        message = f"{where} must be at most {first.validator_value}, not {first.instance}"
    elif first.validator == "uniqueItems":
        message = f"{where} lists the same entry more than once"
    elif first.validator == "pattern":
        message = (
            f"{where}: {_short(first.instance)} does not have the expected form ({first.validator_value})"
        )
    elif first.validator == "oneOf":
        message = f"{where} has none of the allowed forms (or several at once): {_short(first.instance)}"
    else:
        message = f"{where}: {first.message if len(first.message) <= 160 else first.message[:157] + '...'}"
    yield ComposeProblem("SCHEMA_INVALID", _in(label, message), service, path)


def _unknown_keys(
    error: ValidationError, parts: tuple[str | int, ...], label: str
) -> Iterator[ComposeProblem]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    extra = [
        key
        for key in instance
        if key not in known and not any(re.search(pattern, str(key)) for pattern in patterns)
    ]
    named = [p for p in patterns if p != "^x-"]
    for key in extra:
        path = compose_path((*parts, key))
        if not parts:
            yield ComposeProblem(
                "UNKNOWN_TOP_LEVEL_KEY",
                _in(label, f"unknown top-level key {key!r}{_guess(key, known)}"),
                None,
                path,
            )
            continue
        where = compose_path(parts)
        if named and not known:
            rule = "letters, digits, '.', '_' and '-'" if named == [_NAME_PATTERN] else " or ".join(named)
            message = f"{key!r} is not a valid name in {where}: use {rule}"
        else:
            message = f"{where} has the unknown key {key!r}{_guess(key, known)}"
        yield ComposeProblem("SCHEMA_INVALID", _in(label, message), _service(parts), path)


def _guess(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
