"""The egress guard refuses what is not a plain network URL of an allowed scheme: local paths,
``file://``, Git transports, credentials in the URL, malformed hosts and ports; and says why a host
cannot be resolved."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import Unavailable
from app.net import EgressGuard, EgressPolicy, EgressRefused
from tests.net.resolvers import TableResolver

GIT = {"https", "ssh"}
TABLE = {"github.com": ["140.82.121.4"], "xn--bcher-kva.example": ["93.184.215.14"]}


def guard(resolver: TableResolver | None = None) -> EgressGuard:
    return EgressGuard(EgressPolicy(), resolver or TableResolver(TABLE))


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("file:///etc/passwd", "file: URLs are refused here; give a https:// or ssh:// URL"),
        ("FILE://localhost/etc/passwd", "file: URLs are refused"),
        ("http://github.com/acme/shop.git", "http: URLs are refused"),
        ("git://github.com/acme/shop.git", "git: URLs are refused"),
        ("ext::sh", "ext: URLs are refused"),
        ("fd::17", "fd: URLs are refused"),
        ("/srv/git/shop.git", "is a local path"),
        ("./shop", "is a local path"),
        ("~/shop", "is a local path"),
        ("shop", "is a local path"),
        ("git@github.com:acme/shop.git", "scp-style SSH address; write it as ssh://user@host/path"),
        ("https:github.com/acme", "names no host"),
        ("https:///acme/shop.git", "names no host"),
        ("", "give a URL"),
        ("https://github.com/acme shop", "no spaces"),
        ("https://github.com/acme\n", "control characters"),
        ("https://github.com\\@evil.example/", "backslashes"),
        ("https://" + "a" * 5000 + ".com/", "at most 4096 characters"),
    ],
)
async def test_unsafe_or_foreign_urls_are_refused(url: str, says: str) -> None:
    resolver = TableResolver(TABLE)
    with pytest.raises(EgressRefused) as info:
        await guard(resolver).check_url(url, schemes=GIT)
    assert says in info.value.message
    assert info.value.extensions()["reason"] == "EGRESS_REFUSED"
    assert resolver.asked == []  # refused before any name is looked up


@pytest.mark.parametrize(
    "url",
    [
        "https://user:ghp_SECRET123@github.com/acme/shop.git",
        "https://ghp_SECRET123@github.com/acme/shop.git",
        "ssh://git:ghp_SECRET123@github.com/acme/shop.git",
    ],
)
async def test_credentials_in_the_url_are_refused_and_not_repeated(url: str) -> None:
    with pytest.raises(EgressRefused, match="credentials in the URL are refused") as info:
        await guard().check_url(url, schemes=GIT)
    assert "SECRET" not in str(info.value.extensions())


async def test_an_ssh_url_may_name_its_user() -> None:
    target = await guard().check_url("ssh://git@github.com:2222/acme/shop.git", schemes=GIT)
    assert (target.scheme, target.username, target.host, target.port) == ("ssh", "git", "github.com", 2222)
    plain = await guard().check_url("SSH://github.com/acme/shop.git", schemes=GIT)
    assert (plain.scheme, plain.username, plain.port) == ("ssh", None, 22)
    with pytest.raises(EgressRefused, match="not a valid SSH user name"):
        await guard().check_url("ssh://-oProxyCommand=x@github.com/acme", schemes=GIT)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://github.com:0/", "port must be a number from 1 to 65535"),
        ("https://github.com:65536/", "port must be a number from 1 to 65535"),
        ("https://github.com:http/", "port must be a number from 1 to 65535"),
        ("https://-oProxyCommand=x/", "not a valid host name"),
        ("https://github.com%2f@x/", "credentials in the URL"),
        ("https://git%68ub.com/", "contains '%'"),
        ("https://a..b/", "not a valid host name"),
        ("https://1.2.3.4.5/", "more than four parts"),
        ("https://256.1.1.1/", "out of range"),
        ("https://08.0.0.1/", "'08' is not a number"),
        ("https://github.123/", "'github' is not a number"),
        ("https://[::1::2]/", "is not a valid URL"),
    ],
)
async def test_malformed_hosts_and_ports_are_refused(url: str, says: str) -> None:
    with pytest.raises(EgressRefused) as info:
        await guard().check_url(url, schemes={"https"}, field="repositoryUrl")
    assert says in info.value.message
    assert [f.path for f in info.value.fields] == ["repositoryUrl"]


async def test_hosts_are_normalised_and_internationalised_names_resolved_in_ascii() -> None:
    target = await guard().check_url("https://BÜCHER.example/repo", schemes={"https"})
    assert target.host == "xn--bcher-kva.example"
    assert target.addresses == ("93.184.215.14",)


async def test_a_scheme_must_be_allowed_by_the_caller_and_named_with_its_port() -> None:
    web = await guard().check_url("http://github.com/x", schemes={"HTTP"})
    assert (web.scheme, web.port) == ("http", 80)
    with pytest.raises(EgressRefused, match="must name their port"):
        await guard().check_url("smtp://github.com", schemes={"smtp"})
    mail = await guard().check_url("smtp://github.com:587", schemes={"smtp"})
    assert mail.port == 587


async def test_an_unknown_name_is_unavailable_not_refused() -> None:
    with pytest.raises(Unavailable, match=r"nowhere\.invalid cannot be resolved: Name or service not known"):
        await guard().check_url("https://nowhere.invalid/x", schemes=GIT)


async def test_a_resolver_that_hangs_is_given_up_on() -> None:
    async def hangs(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    slow = EgressGuard(EgressPolicy(), hangs, resolve_timeout_seconds=0.01)
    with pytest.raises(Unavailable, match=r"could not be resolved within 0\.01 s"):
        await slow.check_url("https://github.com/x", schemes=GIT)


@pytest.mark.parametrize(
    ("answers", "says"), [([], "resolves to no address"), (["not-an-ip"], "no IP address")]
)
async def test_a_resolver_answering_nonsense_is_unavailable(answers: list[str], says: str) -> None:
    odd = EgressGuard(EgressPolicy(), TableResolver({"github.com": answers}))
    with pytest.raises(Unavailable, match=says):
        await odd.check_url("https://github.com/x", schemes=GIT)


async def test_the_system_resolver_is_the_default() -> None:
    target = await EgressGuard(EgressPolicy(allow_loopback=True)).check_url(
        "https://localhost:8443/x", schemes={"https"}
    )
    assert target.addresses
    assert all(a in ("127.0.0.1", "::1") for a in target.addresses)
    with pytest.raises(EgressRefused, match="localhost resolves to"):
        await EgressGuard(EgressPolicy()).check_url("https://localhost/x", schemes={"https"})
