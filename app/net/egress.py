"""The egress guard: the one check every outbound call (Git, registries, webhooks, HTTP steps, AI
providers, OIDC discovery, notification channels) passes before it connects anywhere.

:meth:`EgressGuard.check_url` parses a URL, refuses schemes the caller did not allow (``file://``,
local paths, Git's ``ext::`` and other transports), credentials written into the URL, and hosts
that are, or resolve to, addresses outside the public internet — loopback, private, link-local (cloud
metadata services), multicast, unspecified and reserved ones, IPv4 addresses hidden in IPv6 ones
included — unless the :class:`EgressPolicy` allows that class. A host that resolves to several
addresses is refused if any one of them is, so a DNS answer mixing a public and a private address
cannot slip through.

The guard answers for the moment it resolved the name. A caller that resolves again when it connects
(``git``, an HTTP client) should connect to :attr:`ResolvedTarget.addresses` only — for ``git`` over
HTTPS, ``-c http.curloptResolve=<ResolvedTarget.curl_resolve>`` — and not follow redirects
(``-c http.followRedirects=false``), else a rebinding DNS server or a redirect could lead it elsewhere.

Where it sits: ``app.net`` is a port-free helper with no state beyond its policy. Services
(validating a URL a user gave) and adapters (right before they connect) may both use it; it imports
nothing of Trellis but :mod:`app.errors`, never a service, the store, the schema or another adapter
(an import-linter contract holds this).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from app import errors
from app.net.addresses import AddressClass, Classified, classify
from app.net.hosts import HostError, IPAddress, ip_literal, normalise_host

Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL_LENGTH = 4096
DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
_SSH_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_SCP_LIKE = re.compile(r"^[^/:@]+@[^/:]+:")  # git@github.com:org/repo.git
_USERINFO = re.compile(r"//[^/?#]*@")
_SETTING = {
    AddressClass.LOOPBACK: "TRELLIS_EGRESS_ALLOW_LOOPBACK",
    AddressClass.PRIVATE: "TRELLIS_EGRESS_ALLOW_PRIVATE",
    AddressClass.LINK_LOCAL: "TRELLIS_EGRESS_ALLOW_LINK_LOCAL",
}


class EgressRefused(errors.Invalid):
    """An outbound target the egress rules refuse. ``BAD_INPUT`` pointing at the input field that held
    it (``url`` unless the caller says otherwise), with ``reason: "EGRESS_REFUSED"`` in the
    extensions (and ``addressClass`` when an address decided it), so a client can tell a refused
    target from a malformed one."""

    def __init__(
        self, message: str, *, field: str = "url", address_class: AddressClass | None = None
    ) -> None:
        super().__init__(message, [errors.FieldError(field, message)])
        self.address_class = address_class

    def extensions(self) -> dict[str, Any]:
        extensions = super().extensions()
        extensions["reason"] = "EGRESS_REFUSED"
        if self.address_class is not None:
            extensions["addressClass"] = self.address_class.value
        return extensions


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Which non-public address classes an operator allows (``TRELLIS_EGRESS_ALLOW_*``; all off by
    default). Multicast, unspecified and reserved addresses are never allowed."""

    allow_loopback: bool = False
    allow_private: bool = False
    allow_link_local: bool = False

    def allows(self, address_class: AddressClass) -> bool:
        return {
            AddressClass.PUBLIC: True,
            AddressClass.LOOPBACK: self.allow_loopback,
            AddressClass.PRIVATE: self.allow_private,
            AddressClass.LINK_LOCAL: self.allow_link_local,
        }.get(address_class, False)


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A checked target. ``host`` is normalised (lower case, IDNA, no trailing dot; an IP literal in
    its canonical form); ``addresses`` are every address it resolved to, all allowed, in the
    resolver's order; ``username`` is the login named in an ``ssh://user@host`` URL."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    username: str | None = None

    @property
    def curl_resolve(self) -> str:
        """``host:port:addr[,addr…]`` for curl's ``CURLOPT_RESOLVE`` (Git: ``http.curloptResolve``),
        pinning the connection to the checked addresses."""
        pinned = ",".join(f"[{a}]" if ":" in a else a for a in self.addresses)
        return f"{self.host}:{self.port}:{pinned}"


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (TCP), as text."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class EgressGuard:
    """The check before every outbound connection: one per server, built from settings in
    ``build_services`` (``Services.egress``). ``resolver`` (host, port → addresses) defaults to the
    system resolver; tests pass a table."""

    def __init__(
        self,
        policy: EgressPolicy,
        resolver: Resolver | None = None,
        *,
        resolve_timeout_seconds: float = 10.0,
    ) -> None:
        self._policy = policy
        self._resolve = resolver or system_resolver
        self._timeout = resolve_timeout_seconds

    @property
    def policy(self) -> EgressPolicy:
        return self._policy

    async def check_url(self, url: str, *, schemes: Collection[str], field: str = "url") -> ResolvedTarget:
        """Parse ``url``, check its scheme (one of ``schemes``), refuse credentials in it, resolve its
        host and check every address. ``EgressRefused`` (``BAD_INPUT`` on ``field``) for a refused or
        malformed URL; ``Unavailable`` when the host cannot be resolved."""
        allowed = {scheme.lower() for scheme in schemes}
        parts = _split(url, allowed, field)
        scheme = parts.scheme.lower()
        username = _username(parts, scheme, field)
        port = _port(parts, scheme, field)
        raw_host = parts.hostname or ""
        if not raw_host:
            raise EgressRefused(f"{_shown(url)} names no host", field=field)
        return await self._check(scheme, raw_host, port, username, field)

    async def check_host(self, host: str, port: int, *, field: str = "host") -> ResolvedTarget:
        """The same checks for a bare ``host`` and ``port`` (an SMTP server, a registry's host)."""
        if not 0 < port < 65536:
            raise EgressRefused(f"the port must be 1 to 65535, not {port}", field=field)
        return await self._check("", host, port, None, field)

    async def _check(
        self, scheme: str, raw_host: str, port: int, username: str | None, field: str
    ) -> ResolvedTarget:
        try:
            literal = ip_literal(raw_host)
            host = normalise_host(raw_host)
        except HostError as exc:
            raise EgressRefused(str(exc), field=field) from exc
        if literal is not None:
            self._require_allowed(classify(literal), _literal_lead(raw_host, literal), field)
            return ResolvedTarget(scheme, host, port, (str(literal),), username)
        addresses = await self._addresses(host, port)
        for address in addresses:
            self._require_allowed(classify(address), f"{host} resolves to {address}, ", field)
        return ResolvedTarget(scheme, host, port, tuple(str(a) for a in addresses), username)

    async def _addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self._timeout):
                answers = await self._resolve(host, port)
        except TimeoutError as exc:
            raise errors.Unavailable(f"{host} could not be resolved within {self._timeout:g} s") from exc
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise errors.Unavailable(f"{host} cannot be resolved: {reason}") from exc
        addresses: list[IPAddress] = []
        for answer in dict.fromkeys(answers):
            try:
                addresses.append(ipaddress.ip_address(answer))
            except ValueError as exc:
                raise errors.Unavailable(f"{host} resolved to {answer!r}, which is no IP address") from exc
        if not addresses:
            raise errors.Unavailable(f"{host} resolves to no address")
        return addresses

    def _require_allowed(self, found: Classified, lead: str, field: str) -> None:
        """Refuse an address of a class the policy does not allow; ``lead`` says where it came from
        (``git.internal resolves to 10.0.0.5, ``)."""
        kind = found.address_class
        if self._policy.allows(kind):
            return
        inside = f" (it carries the IPv4 address {found.embedded})" if found.embedded is not None else ""
        setting = _SETTING.get(kind)
        remedy = (
            f"an operator can allow {kind.plural} with {setting}"
            if setting
            else f"Trellis never connects to {kind.plural}"
        )
        raise EgressRefused(f"{lead}{kind.phrase}{inside}; {remedy}", field=field, address_class=kind)


def _split(url: str, allowed: set[str], field: str) -> SplitResult:
    """The parts of an absolute URL whose scheme is allowed; everything else refused, with a hint."""
    if not url:
        raise EgressRefused("give a URL", field=field)
    if len(url) > MAX_URL_LENGTH:
        raise EgressRefused(f"a URL has at most {MAX_URL_LENGTH} characters", field=field)
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in url):
        raise EgressRefused("a URL contains no spaces, control characters or backslashes", field=field)
    expected = " or ".join(f"{scheme}://" for scheme in sorted(allowed)) or "no URL at all"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise EgressRefused(f"{_shown(url)} is not a valid URL: {exc}", field=field) from exc
    scheme = parts.scheme.lower()
    if scheme in allowed and url[len(scheme) + 1 : len(scheme) + 3] == "//":
        return parts
    if _SCP_LIKE.match(url):
        hint = "write it as ssh://user@host/path" if "ssh" in allowed else f"give a {expected} URL"
        raise EgressRefused(f"{_shown(url)} is an scp-style SSH address; {hint}", field=field)
    if not scheme or url.startswith(("/", ".", "~")) or re.match(r"^[A-Za-z]:[\\/]", url):
        raise EgressRefused(
            f"{_shown(url)} is a local path, which is refused; give a {expected} URL", field=field
        )
    if scheme in allowed:
        raise EgressRefused(f"{_shown(url)} names no host; give a {expected} URL", field=field)
    raise EgressRefused(f"{scheme}: URLs are refused here; give a {expected} URL", field=field)


def _username(parts: SplitResult, scheme: str, field: str) -> str | None:
    """Credentials never travel in a URL; an SSH URL may name the user to log in as."""
    if "@" not in parts.netloc:
        return None
    if parts.password is not None or scheme != "ssh":
        raise EgressRefused(
            "credentials in the URL are refused: store a Git credential for the host instead "
            "(createGitCredential) and give the URL without them",
            field=field,
        )
    user = parts.username or ""
    if not _SSH_USER.match(user):
        raise EgressRefused(f"{user!r} is not a valid SSH user name", field=field)
    return user


def _port(parts: SplitResult, scheme: str, field: str) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise EgressRefused("the port must be a number from 1 to 65535", field=field) from exc
    if port is None:
        if scheme not in DEFAULT_PORTS:
            raise EgressRefused(f"{scheme}:// URLs must name their port", field=field)
        return DEFAULT_PORTS[scheme]
    if port == 0:
        raise EgressRefused("the port must be a number from 1 to 65535", field=field)
    return port


def _literal_lead(raw: str, literal: IPAddress) -> str:
    """``127.0.0.1 is `` for a plain literal; ``2130706433 is the address 127.0.0.1, `` for an odd one."""
    shown = raw[1:-1] if raw.startswith("[") else raw
    try:
        plain = ipaddress.ip_address(shown) == literal
    except ValueError:
        plain = False
    return f"{shown} is " if plain else f"{shown} is the address {literal}, "


def _shown(url: str) -> str:
    """The URL for a message: without user information (which could hold a secret), cut short."""
    shown = _USERINFO.sub("//", url, count=1)
    return repr(shown if len(shown) <= 200 else shown[:200] + "…")
