"""Host names and IP literals as outbound calls meet them, normalised so that one host has one spelling.

:func:`normalise_host` turns what a URL names into either a canonical IP address (``127.0.0.1``,
``::1``) or a lower-case ASCII host name without a trailing dot. IPv4 literals are read the way
``inet_aton`` and the WHATWG URL standard read them — ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and
``127.1`` are all ``127.0.0.1`` to curl, Git and the C resolver — so none of those spellings can pass
for a host name; full-width digits are folded by IDNA first (full-width ``127.0.0.1`` is ``127.0.0.1`` too).
"""

from __future__ import annotations

import ipaddress
import re
import string

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_HEX_DIGITS = frozenset(string.hexdigits)
_FORBIDDEN = frozenset("%/\\@?#[]:<>\"'`^{|} ")


class HostError(ValueError):
    """A host that is not a valid host name or IP address; the message says why, for a person."""


def normalise_host(text: str) -> str:
    """The canonical form of a host: a compressed IP address, or a lower-case ASCII (IDNA) name
    without a trailing dot. ``HostError`` when it is neither."""
    if not text:
        raise HostError("the host is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise HostError("the host contains spaces or control characters")
    literal = ip_literal(text)
    if literal is not None:
        return str(literal)
    return _host_name(_ascii(text))


def ip_literal(text: str) -> IPAddress | None:
    """The address ``text`` spells, if it is an IP literal in any form a resolver would accept
    (``[::1]``, ``::ffff:127.0.0.1``, ``127.1``, ``2130706433``…); None for a host name.
    ``HostError`` for something that ends like an IPv4 address but is not a valid one (``1.2.3.4.5``,
    ``256.1.1.1``, ``08.1``) — C resolvers disagree about those, so they are no host at all."""
    bracketed = text.startswith("[") and text.endswith("]")
    inner = text[1:-1] if bracketed else text
    if ":" in inner:
        try:
            return ipaddress.IPv6Address(inner)
        except ValueError as exc:
            raise HostError(f"{text!r} is not a valid IPv6 address") from exc
    if bracketed:
        raise HostError(f"{text!r}: only IPv6 addresses go in brackets")
    try:
        folded = _ascii(text)
    except HostError:
        return None
    return ipv4_literal(folded)


def ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The WHATWG URL standard's IPv4 parser: one to four dot-separated parts, each decimal, octal
    (leading ``0``) or hexadecimal (``0x``); the last part fills the remaining bytes. None when the
    last part is not a number (a host name); ``HostError`` when it is, but the whole is not valid."""
    parts = host.lower().split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a single trailing dot
    if not _looks_numeric(parts[-1]):
        return None
    if len(parts) > 4:
        raise HostError(f"{host!r} looks like an IPv4 address but has more than four parts")
    numbers = [_ipv4_number(host, part) for part in parts]
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise HostError(f"{host!r} looks like an IPv4 address but a part is out of range")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _looks_numeric(part: str) -> bool:
    if part and all(ch in string.digits for ch in part):
        return True
    return part[:2] in ("0x", "0X") and all(ch in _HEX_DIGITS for ch in part[2:])


def _ipv4_number(host: str, part: str) -> int:
    try:
        if part[:2] in ("0x", "0X"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError as exc:
        raise HostError(f"{host!r} looks like an IPv4 address but {part!r} is not a number") from exc


def _ascii(text: str) -> str:
    """Lower-case ASCII; a name with other characters goes through IDNA (which folds full-width forms)."""
    if text.isascii():
        return text.lower()
    try:
        return text.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise HostError(f"{text!r} is not a valid internationalised host name") from exc


def _host_name(host: str) -> str:
    name = host[:-1] if host.endswith(".") else host
    bad = sorted(set(name) & _FORBIDDEN)
    if bad:
        raise HostError(f"{host!r} contains {''.join(bad)!r}, which no host name does")
    if not name or len(name) > MAX_HOST_LENGTH:
        raise HostError(f"a host name has 1 to {MAX_HOST_LENGTH} characters, {host!r} does not")
    for label in name.split("."):
        if not _LABEL.match(label):
            raise HostError(
                f"{host!r} is not a valid host name: each dot-separated part is 1 to 63 letters, digits, "
                "hyphens or underscores, and neither starts nor ends with a hyphen"
            )
    return name
