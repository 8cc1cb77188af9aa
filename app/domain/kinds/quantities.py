"""Kubernetes resource quantities (``500m``, ``0.5``, ``128Mi``, ``1e3``): checking and comparing."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_FIXES = {
    "kb": "k or Ki",
    "mb": "M or Mi",
    "gb": "G or Gi",
    "tb": "T or Ti",
    "ki": "Ki",
    "mi": "Mi",
    "gi": "Gi",
}


def parse_quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity in base units (cores, bytes), or ``None`` when it is not one."""
    match = _QUANTITY.match(text)
    if match is None:
        return None
    try:
        number = Decimal(match["number"])
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    exponent = int(suffix[1:])
    if abs(exponent) > 40:
        return None
    return number.scaleb(exponent)


def quantity_problem(text: str) -> str | None:
    """Why ``text`` is not a usable quantity (a message for a person), or ``None`` when it is one."""
    value = parse_quantity(text)
    if value is None:
        hint = _hint(text)
        return f"must be a Kubernetes quantity such as 500m, 0.5, 128Mi or 10Gi, got {text!r}{hint}"
    if value < 0:
        return f"must not be negative, got {text!r}"
    return None


def _hint(text: str) -> str:
    match = re.match(r"^\s*[+-]?[\d.]+\s*([A-Za-z]+)\s*$", text)
    if match is None:
        return ""
    unit = match[1]
    fix = _FIXES.get(unit.lower())
    if fix is None or unit == fix:
        return ""
    return f" (write the unit as {fix})"
