"""Query parameter parsing as Go's strconv does it."""

from __future__ import annotations

from .errors import bad_request

TRUE = {"1", "t", "T", "TRUE", "true", "True"}
FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def go_bool(value: str | None, name: str = "") -> bool | None:
    """strconv.ParseBool: None when absent; 400 when not a boolean."""
    if value is None or value == "":
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise bad_request(f'invalid boolean value "{value}" for {name or "parameter"}')


def flag(query: dict[str, str], name: str) -> bool:
    return bool(go_bool(query.get(name), name))
