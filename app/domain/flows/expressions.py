"""Flow expressions: JMESPath, compiled at save to check their syntax and what they refer to; never eval.

An expression is evaluated over one object, the *scope* of a step::

    {"steps": {"<nodeId>": {"output": <what that step returned>}, ...}, "input": <this step's input>}

``steps.<nodeId>.output`` reads the output of a step upstream of the one evaluating (one that always runs
before it: an ancestor along the edges; a Start's output is the run's trigger data); ``input`` is what
arrives on the step's in-port. Any other name at the top of the scope is refused at save, and so is a
``steps`` not followed by a step id (``steps.*``, ``steps[0]``). Text may embed expressions as
``{{ expression }}`` (an HttpRequest's URL, headers and body).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions

SCOPE_NAMES = ("steps", "input")
MAX_EXPRESSION = 2000
_FUNCTIONS = frozenset(Functions().FUNCTION_TABLE)
_TEMPLATE_PART = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

# AST nodes whose later children are evaluated against the elements of the first child's result.
_ELEMENTWISE = frozenset(
    {
        "subexpression",
        "index_expression",
        "projection",
        "value_projection",
        "flatten",
        "filter_projection",
        "pipe",
    }
)


@dataclass(frozen=True, slots=True)
class Reference:
    """A name an expression reads from the scope: ``steps.<step>`` (``step`` set) or a top-level name."""

    name: str
    step: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A compiled expression's references, or ``error`` saying why it does not compile."""

    references: tuple[Reference, ...] = ()
    error: str | None = None


def parse(expression: str) -> Parsed:
    """Compile ``expression`` and list what it reads from the scope (nothing is evaluated)."""
    if len(expression) > MAX_EXPRESSION:
        return Parsed(error=f"must be at most {MAX_EXPRESSION} characters")
    if not expression.strip():
        return Parsed(error="must not be empty")
    try:
        ast = jmespath.compile(expression).parsed
    except JMESPathError as exc:
        return Parsed(error=f"is not a valid JMESPath expression: {_first_line(exc)}")
    unknown = sorted(_unknown_functions(ast))
    if unknown:
        return Parsed(error=f"calls unknown JMESPath function {unknown[0]}()")
    return Parsed(references=tuple(_references(ast, at_root=True)))


def template_parts(text: str) -> list[str]:
    """The expressions embedded in ``text`` as ``{{ expression }}``."""
    return [part.strip() for part in _TEMPLATE_PART.findall(text)]


def reference_problem(reference: Reference, known: Collection[str], upstream: Collection[str]) -> str | None:
    """Why ``reference`` cannot be read by a step whose ancestors are ``upstream``, or ``None``.

    ``known`` holds every node id of the flow.
    """
    if reference.step is None:
        if reference.name == "steps":
            return "`steps` must be followed by a step id, as in steps.<nodeId>.output"
        if reference.name not in SCOPE_NAMES:
            return (
                f"refers to {reference.name!r}, which is not in scope; expressions read "
                "steps.<nodeId>.output or input"
            )
        return None
    if reference.step not in known:
        return f"refers to step {reference.step!r}, but no node has that id"
    if reference.step not in upstream:
        return (
            f"refers to step {reference.step!r}, which is not upstream of this step (it does not always run "
            "before it); connect it first or read input"
        )
    return None


def _references(node: Mapping[str, Any], *, at_root: bool) -> Iterator[Reference]:
    kind = node.get("type")
    children: list[Mapping[str, Any]] = list(node.get("children", []))
    if kind == "field":
        if at_root:
            yield Reference(str(node["value"]))
        return
    if kind == "subexpression" and at_root and _is_field(children[0], "steps"):
        if len(children) > 1 and children[1].get("type") == "field":
            yield Reference("steps", str(children[1]["value"]))
            rest = children[2:]
        else:
            yield Reference("steps")
            rest = children[1:]
        for child in rest:
            yield from _references(child, at_root=False)
        return
    if kind in _ELEMENTWISE:
        if children:
            yield from _references(children[0], at_root=at_root)
        for child in children[1:]:
            yield from _references(child, at_root=False)
        return
    if kind == "expref":
        for child in children:
            yield from _references(child, at_root=False)
        return
    for child in children:  # and/or/not, comparators, function arguments, multi-selects, key-value pairs
        yield from _references(child, at_root=at_root)


def _unknown_functions(node: Mapping[str, Any]) -> set[str]:
    found = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if item.get("type") == "function_expression" and item.get("value") not in _FUNCTIONS:
            found.add(str(item.get("value")))
        stack.extend(item.get("children", []))
    return found


def _is_field(node: Mapping[str, Any], name: str) -> bool:
    return node.get("type") == "field" and node.get("value") == name


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
