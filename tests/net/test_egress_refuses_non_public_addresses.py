"""The egress guard refuses loopback, private, link-local, multicast, unspecified and reserved
addresses — however they are spelled and whatever a name resolves to — unless the policy allows them."""

from __future__ import annotations

import pytest

from app.errors import Invalid
from app.net import AddressClass, EgressGuard, EgressPolicy, EgressRefused
from tests.net.resolvers import TableResolver

HTTPS = {"https"}

RESOLVER = TableResolver(
    {
        "github.com": ["140.82.121.4"],
        "git.internal": ["10.0.0.5"],
        "dual.example.com": ["2606:50c0:8000::154", "185.199.108.153"],
        "mixed.example.com": ["140.82.121.4", "127.0.0.1"],
        "localhost": ["127.0.0.1", "::1"],
        "metadata.example.com": ["169.254.169.254"],
        "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
        "ula.example.com": ["fd12:3456:789a::1"],
    }
)


def guard(**allow: bool) -> EgressGuard:
    return EgressGuard(EgressPolicy(**allow), RESOLVER)


async def refused(url: str, **allow: bool) -> EgressRefused:
    with pytest.raises(EgressRefused) as info:
        await guard(**allow).check_url(url, schemes=HTTPS)
    return info.value


async def test_a_public_host_passes_with_every_address_it_resolves_to() -> None:
    target = await guard().check_url("https://GitHub.com./acme/shop.git", schemes=HTTPS)
    assert (target.scheme, target.host, target.port, target.addresses) == (
        "https",
        "github.com",
        443,
        ("140.82.121.4",),
    )
    dual = await guard().check_url("https://dual.example.com:8443/x", schemes=HTTPS)
    assert dual.addresses == ("2606:50c0:8000::154", "185.199.108.153")
    assert dual.curl_resolve == "dual.example.com:8443:[2606:50c0:8000::154],185.199.108.153"


async def test_a_name_resolving_to_a_private_address_is_refused_with_the_setting_to_allow_it() -> None:
    error = await refused("https://git.internal/acme/shop.git")
    assert error.message == (
        "git.internal resolves to 10.0.0.5, a private address; "
        "an operator can allow private addresses with TRELLIS_EGRESS_ALLOW_PRIVATE"
    )
    assert error.extensions() == {
        "code": "BAD_INPUT",
        "fields": [{"path": "url", "message": error.message}],
        "reason": "EGRESS_REFUSED",
        "addressClass": "PRIVATE",
    }
    assert isinstance(error, Invalid)


async def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    error = await refused("https://mixed.example.com/")
    assert error.address_class is AddressClass.LOOPBACK
    assert "mixed.example.com resolves to 127.0.0.1, a loopback address" in error.message
    assert "TRELLIS_EGRESS_ALLOW_LOOPBACK" in error.message


@pytest.mark.parametrize(
    ("host", "address_class"),
    [
        # loopback, however the IPv4 literal is spelled (inet_aton and WHATWG read all of these)
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("127.1", AddressClass.LOOPBACK),
        ("127.0.1", AddressClass.LOOPBACK),
        ("2130706433", AddressClass.LOOPBACK),
        ("0x7f000001", AddressClass.LOOPBACK),
        ("0x7f.1", AddressClass.LOOPBACK),
        ("0177.0.0.1", AddressClass.LOOPBACK),
        ("017700000001", AddressClass.LOOPBACK),
        ("127.0.0.1.", AddressClass.LOOPBACK),
        ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", AddressClass.LOOPBACK),  # full-width digits
        ("[::1]", AddressClass.LOOPBACK),
        ("[0:0:0:0:0:0:0:1]", AddressClass.LOOPBACK),
        ("[::ffff:127.0.0.1]", AddressClass.LOOPBACK),  # IPv4-mapped
        ("[::ffff:7f00:1]", AddressClass.LOOPBACK),
        ("[64:ff9b::127.0.0.1]", AddressClass.LOOPBACK),  # NAT64 well-known prefix
        ("[2002:7f00:1::]", AddressClass.LOOPBACK),  # 6to4
        ("localhost", AddressClass.LOOPBACK),
        # private
        ("10.0.0.5", AddressClass.PRIVATE),
        ("172.16.0.1", AddressClass.PRIVATE),
        ("172.31.255.255", AddressClass.PRIVATE),
        ("192.168.1.1", AddressClass.PRIVATE),
        ("100.64.0.1", AddressClass.PRIVATE),
        ("167772165", AddressClass.PRIVATE),  # 10.0.0.5 in decimal
        ("[fd00::1]", AddressClass.PRIVATE),
        ("[::ffff:10.0.0.5]", AddressClass.PRIVATE),
        ("[64:ff9b:1::a00:5]", AddressClass.PRIVATE),  # local-use NAT64
        ("ula.example.com", AddressClass.PRIVATE),
        # link-local, cloud metadata included
        ("169.254.169.254", AddressClass.LINK_LOCAL),
        ("0xa9fea9fe", AddressClass.LINK_LOCAL),
        ("[fe80::1]", AddressClass.LINK_LOCAL),
        ("[fe80::1%25eth0]", AddressClass.LINK_LOCAL),
        ("metadata.example.com", AddressClass.LINK_LOCAL),
        ("nat64.example.com", AddressClass.LINK_LOCAL),
        # never allowed
        ("0.0.0.0", AddressClass.UNSPECIFIED),
        ("0", AddressClass.UNSPECIFIED),
        ("[::]", AddressClass.UNSPECIFIED),
        ("224.0.0.1", AddressClass.MULTICAST),
        ("[ff02::1]", AddressClass.MULTICAST),
        ("255.255.255.255", AddressClass.RESERVED),
        ("240.0.0.1", AddressClass.RESERVED),
        ("192.0.2.10", AddressClass.RESERVED),
        ("198.18.0.1", AddressClass.RESERVED),
        ("[2001:db8::1]", AddressClass.RESERVED),
        ("[::127.0.0.1]", AddressClass.RESERVED),  # deprecated IPv4-compatible
        ("[2001::1]", AddressClass.RESERVED),  # Teredo
        ("[4000::1]", AddressClass.RESERVED),  # outside global unicast
    ],
)
async def test_non_public_addresses_are_refused(host: str, address_class: AddressClass) -> None:
    error = await refused(f"https://{host}/repo.git")
    assert error.address_class is address_class
    assert address_class.phrase in error.message


async def test_an_odd_spelling_is_named_with_the_address_it_means() -> None:
    error = await refused("https://2130706433/")
    assert error.message.startswith("2130706433 is the address 127.0.0.1, a loopback address;")
    mapped = await refused("https://[::ffff:10.0.0.5]/")
    assert "(it carries the IPv4 address 10.0.0.5)" in mapped.message


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("https://127.0.0.1:8443/x.git", {"allow_loopback": True}),
        ("https://[::1]/x.git", {"allow_loopback": True}),
        ("https://localhost/x.git", {"allow_loopback": True}),
        ("https://git.internal/x.git", {"allow_private": True}),
        ("https://[fd00::1]/x.git", {"allow_private": True}),
        ("https://169.254.169.254/", {"allow_link_local": True}),
        ("https://[::ffff:192.168.0.1]/", {"allow_private": True}),
    ],
)
async def test_the_policy_allows_exactly_the_classes_it_names(url: str, allow: dict[str, bool]) -> None:
    target = await guard(**allow).check_url(url, schemes=HTTPS)
    assert target.addresses
    others = {"allow_loopback", "allow_private", "allow_link_local"} - set(allow)
    for other in others:
        with pytest.raises(EgressRefused):
            await guard(**{other: True}).check_url(url, schemes=HTTPS)


@pytest.mark.parametrize("host", ["0.0.0.0", "224.0.0.1", "[::]", "192.0.2.1", "255.255.255.255"])
async def test_multicast_unspecified_and_reserved_are_never_allowed(host: str) -> None:
    error = await refused(f"https://{host}/", allow_loopback=True, allow_private=True, allow_link_local=True)
    assert "Trellis never connects to" in error.message
    assert "TRELLIS_EGRESS" not in error.message


async def test_ip_literals_are_not_resolved() -> None:
    resolver = TableResolver({})
    target = await EgressGuard(EgressPolicy(), resolver).check_url("https://8.8.8.8/", schemes=HTTPS)
    assert target.addresses == ("8.8.8.8",)
    assert resolver.asked == []


async def test_a_public_ipv6_address_passes() -> None:
    target = await guard().check_url("https://[2606:4700:4700::1111]:443/", schemes=HTTPS)
    assert (target.host, target.addresses) == ("2606:4700:4700::1111", ("2606:4700:4700::1111",))
    embedded = await guard().check_url("https://[64:ff9b::808:808]/", schemes=HTTPS)
    assert embedded.addresses == ("64:ff9b::808:808",)


async def test_check_host_applies_the_same_rules_to_a_bare_host() -> None:
    target = await guard().check_host("github.com", 25)
    assert (target.host, target.port, target.addresses) == ("github.com", 25, ("140.82.121.4",))
    with pytest.raises(EgressRefused, match="private address") as info:
        await guard().check_host("git.internal", 587)
    assert info.value.fields[0].path == "host"
    with pytest.raises(EgressRefused, match="port"):
        await guard().check_host("github.com", 0)
