"""The client address recorded in the audit trail: the peer, or behind trusted proxies the forwarded client."""

from __future__ import annotations

import ipaddress

from app.http.origin import clean_user_agent, client_address

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("192.0.2.5", ["198.51.100.1"], []) == "192.0.2.5"
    assert client_address("10.0.0.1", ["198.51.100.1"], []) == "10.0.0.1"
    assert client_address(None, ["198.51.100.1"], PROXIES) is None


def test_a_peer_that_is_not_a_trusted_proxy_is_the_client() -> None:
    assert client_address("192.0.2.5", ["198.51.100.1"], PROXIES) == "192.0.2.5"


def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() -> None:
    # the left-most entry was typed by the client itself: it is never believed past an untrusted hop
    hops = ["203.0.113.66, 198.51.100.1", "10.1.1.1"]
    assert client_address("10.0.0.1", hops, PROXIES) == "198.51.100.1"
    assert client_address("fd00::1", ["2001:db8::5"], PROXIES) == "2001:db8::5"


def test_only_trusted_hops_or_no_header_leave_the_last_known_address() -> None:
    assert client_address("10.0.0.1", [], PROXIES) == "10.0.0.1"
    assert client_address("10.0.0.1", ["10.2.2.2, 10.3.3.3"], PROXIES) == "10.2.2.2"


def test_a_malformed_hop_stops_at_the_last_good_address() -> None:
    assert client_address("10.0.0.1", ["198.51.100.1, <script>"], PROXIES) == "10.0.0.1"
    assert client_address("10.0.0.1", ["not-an-ip, 10.9.9.9"], PROXIES) == "10.9.9.9"


def test_user_agents_are_printable_and_bounded() -> None:
    assert clean_user_agent("curl/8.5\x00\x1b[31m") == "curl/8.5[31m"
    assert clean_user_agent("x" * 1000) == "x" * 256
    assert clean_user_agent(" \t ") is None
