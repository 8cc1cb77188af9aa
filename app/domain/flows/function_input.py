"""The input a Function step's code is called with: built field by field from its ``inputMapping``, or what
arrived on its in-port. Pure: JMESPath over the step's scope (see :mod:`app.domain.flows.expressions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError


class InputMappingError(ValueError):
    """One field of ``inputMapping`` did not evaluate; ``field`` names it, ``expression`` is its text."""

    def __init__(self, field: str, expression: str, reason: str) -> None:
        super().__init__(f"inputMapping.{field} ({expression!r}) did not evaluate: {reason}")
        self.field = field
        self.expression = expression


def function_input(step_data: Mapping[str, Any], given: Any, scope: Mapping[str, Any]) -> Any:
    """``{name: value of its expression over scope}`` for each field of a non-empty ``inputMapping`` (in
    its order); else ``given``, the output that arrived on the in-port. ``InputMappingError`` naming the
    first field whose expression fails."""
    mapping = step_data.get("inputMapping")
    if not isinstance(mapping, Mapping) or not mapping:
        return given
    searched = dict(scope)
    built: dict[str, Any] = {}
    for name, expression in mapping.items():
        text = str(expression)
        try:
            built[str(name)] = jmespath.search(text, searched)
        except JMESPathError as exc:
            raise InputMappingError(str(name), text, _first_line(exc)) from exc
    return built


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
