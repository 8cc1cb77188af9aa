"""``WWW-Authenticate`` challenges as registries send them (RFC 7235): a scheme and its parameters.

``Basic realm="Registry"`` asks for HTTP Basic credentials; ``Bearer realm="https://auth.example/token",
service="registry.example",scope="repository:app:pull"`` names the token service to get a bearer token
from (the Docker Registry token authentication specification).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*")
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lower case: "basic", "bearer"
    params: dict[str, str] = field(default_factory=dict)  # names lower case

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


def parse_challenge(value: str) -> Challenge | None:
    """The first challenge of a header value, or None when it names no scheme."""
    match = _SCHEME.match(value)
    if match is None:
        return None
    scheme = match.group(1).lower()
    rest = value[match.end() :]
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        param = _PARAM.match(rest, position)
        if param is None or param.end() == position:
            break
        quoted, bare = param.group(2), param.group(3)
        text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
        params[param.group(1).lower()] = text
        position = param.end()
    return Challenge(scheme, params)


def first_challenge(values: Iterable[str]) -> Challenge | None:
    """The first parsable challenge among the ``WWW-Authenticate`` header values."""
    for value in values:
        challenge = parse_challenge(value)
        if challenge is not None:
            return challenge
    return None
