"""What kind of address an IP address is, for the egress rules.

The tables are written out here rather than taken from ``ipaddress``'s ``is_private`` and friends,
whose answers changed between Python patch releases. IPv6 addresses that carry an IPv4 address —
IPv4-mapped (``::ffff:0:0/96``), IPv4-translated (``::ffff:0:0:0/96``), the NAT64 well-known prefix
(``64:ff9b::/96``) and 6to4 (``2002::/16``) — are judged by the IPv4 address inside, since that is
where a packet to them ends up. Everything outside the global unicast space ``2000::/3`` that no row
names is reserved.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from app.net.hosts import IPAddress


class AddressClass(StrEnum):
    PUBLIC = "PUBLIC"
    LOOPBACK = "LOOPBACK"
    PRIVATE = "PRIVATE"  # RFC 1918, shared address space (100.64/10), unique local (fc00::/7)
    LINK_LOCAL = "LINK_LOCAL"  # 169.254/16 (cloud metadata services live here), fe80::/10
    MULTICAST = "MULTICAST"
    UNSPECIFIED = "UNSPECIFIED"  # 0.0.0.0/8 (0.0.0.0 reaches the local host on Linux), ::
    RESERVED = "RESERVED"  # documentation, benchmarking, future use, broadcast, protocol assignments

    @property
    def phrase(self) -> str:
        """``a private address``, for messages."""
        return {
            AddressClass.PUBLIC: "a public address",
            AddressClass.LOOPBACK: "a loopback address",
            AddressClass.PRIVATE: "a private address",
            AddressClass.LINK_LOCAL: "a link-local address",
            AddressClass.MULTICAST: "a multicast address",
            AddressClass.UNSPECIFIED: "an unspecified address",
            AddressClass.RESERVED: "a reserved address",
        }[self]

    @property
    def plural(self) -> str:
        """``private addresses``, for messages."""
        return self.phrase.split(" ", 1)[1] + "es"


@dataclass(frozen=True, slots=True)
class Classified:
    """An address, its class, and the IPv4 address inside it that decided the class (if any)."""

    address: IPAddress
    address_class: AddressClass
    embedded: ipaddress.IPv4Address | None = None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*rows: tuple[str, AddressClass]) -> tuple[tuple[Network, AddressClass], ...]:
    return tuple((ipaddress.ip_network(net), kind) for net, kind in rows)


_V4 = _nets(
    ("0.0.0.0/8", AddressClass.UNSPECIFIED),
    ("127.0.0.0/8", AddressClass.LOOPBACK),
    ("10.0.0.0/8", AddressClass.PRIVATE),
    ("172.16.0.0/12", AddressClass.PRIVATE),
    ("192.168.0.0/16", AddressClass.PRIVATE),
    ("100.64.0.0/10", AddressClass.PRIVATE),  # carrier-grade NAT, often a cluster's own network
    ("169.254.0.0/16", AddressClass.LINK_LOCAL),
    ("224.0.0.0/4", AddressClass.MULTICAST),
    ("240.0.0.0/4", AddressClass.RESERVED),  # includes the broadcast address 255.255.255.255
    ("192.0.0.0/24", AddressClass.RESERVED),
    ("192.0.2.0/24", AddressClass.RESERVED),
    ("198.51.100.0/24", AddressClass.RESERVED),
    ("203.0.113.0/24", AddressClass.RESERVED),
    ("198.18.0.0/15", AddressClass.RESERVED),
    ("192.88.99.0/24", AddressClass.RESERVED),
)

_V6 = _nets(
    ("::/128", AddressClass.UNSPECIFIED),
    ("::1/128", AddressClass.LOOPBACK),
    ("64:ff9b:1::/48", AddressClass.PRIVATE),  # local-use NAT64 (RFC 8215): translates to anything
    ("fc00::/7", AddressClass.PRIVATE),
    ("fec0::/10", AddressClass.PRIVATE),  # deprecated site-local
    ("fe80::/10", AddressClass.LINK_LOCAL),
    ("ff00::/8", AddressClass.MULTICAST),
    ("100::/64", AddressClass.RESERVED),  # discard
    ("2001::/23", AddressClass.RESERVED),  # protocol assignments, Teredo (2001::/32) among them
    ("2001:db8::/32", AddressClass.RESERVED),  # documentation
    ("3fff::/20", AddressClass.RESERVED),  # documentation
)

_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def classify(address: IPAddress) -> Classified:
    """The class of ``address`` (IPv6 ones carrying an IPv4 address by the IPv4 address)."""
    if isinstance(address, ipaddress.IPv4Address):
        return Classified(address, _classify_v4(address))
    plain = ipaddress.IPv6Address(int(address))  # without a scope id
    embedded = _embedded_v4(plain)
    if embedded is not None:
        return Classified(address, _classify_v4(embedded), embedded)
    for network, kind in _V6:
        if plain in network:
            return Classified(address, kind)
    if plain not in _GLOBAL_UNICAST:
        return Classified(address, AddressClass.RESERVED)
    return Classified(address, AddressClass.PUBLIC)


def _classify_v4(address: ipaddress.IPv4Address) -> AddressClass:
    for network, kind in _V4:
        if address in network:
            return kind
    return AddressClass.PUBLIC


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    value = int(address)
    if address in _MAPPED or address in _TRANSLATED or address in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    return None
