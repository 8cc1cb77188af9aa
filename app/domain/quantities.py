"""Kubernetes resource quantities (``250m``, ``1.5``, ``128Mi``, ``1e3``) as numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
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
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


def quantity(text: object) -> Decimal | None:
    """The value of a quantity string (or number); None when it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return Decimal(str(text))
    if not isinstance(text, str):
        return None
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    try:
        value = Decimal(number + (exponent or ""))
    except InvalidOperation:
        return None
    return value * _SUFFIXES[suffix or ""]


def millicores(text: object) -> int | None:
    """A CPU quantity in millicores (rounded up, as the scheduler counts), or None."""
    value = quantity(text)
    return None if value is None else int((value * 1000).to_integral_value(rounding="ROUND_CEILING"))


def byte_count(text: object) -> int | None:
    """A memory or storage quantity in bytes (rounded up), or None."""
    value = quantity(text)
    return None if value is None else int(value.to_integral_value(rounding="ROUND_CEILING"))
