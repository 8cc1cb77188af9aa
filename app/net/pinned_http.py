"""An httpx2 transport that connects only to addresses the egress guard checked (DNS rebinding closed).

:class:`PinnedTransport` runs the egress check (``check``: a URL → :class:`~app.net.egress.ResolvedTarget`,
usually :meth:`EgressGuard.check_url` with the schemes the caller allows) before every request of the
client it serves, redirects and retries included, and then connects to one of the checked addresses —
never resolving the name again. The URL's host is replaced by the address; the real name stays in the
``Host`` header and is the TLS server name (SNI), so certificates are verified against the name. An
address that refuses the connection is skipped for the next one the guard checked (nothing was sent).

Connections are pooled per checked host name (one inner transport each), so a connection opened for one
name never carries a request for another name that happens to share its address. Whatever ``check``
raises (``EgressRefused``, ``Unavailable``, a caller's own exception) propagates out of the client's
``send`` unchanged, before anything connects. The client should not follow redirects itself and should
not trust proxies from the environment (``follow_redirects=False``, ``trust_env=False``): a proxy would
resolve the name again.

Used by sign-in (:mod:`app.auth.oauth`, whose Authlib client runs on httpx2); the registry adapter does the
same over httpx (:mod:`app.registry.transport`), Git through ``http.curloptResolve`` (:mod:`app.git`).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import httpx2

from app.net.egress import ResolvedTarget

Check = Callable[[str], Awaitable[ResolvedTarget]]


class PinnedTransport(httpx2.AsyncBaseTransport):
    """Sends each request to an address ``check`` returned for its URL; ``tls`` verifies servers (the
    system's CAs when None)."""

    def __init__(self, check: Check, *, tls: ssl.SSLContext | None = None) -> None:
        self._check = check
        self._tls = tls if tls is not None else httpx2.create_ssl_context(trust_env=False)
        self._pools: dict[tuple[str, str, int], httpx2.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = await self._check(str(request.url))
        pool = self._pool(target)
        extensions = {**request.extensions, "sni_hostname": target.host}
        last = len(target.addresses) - 1
        for index, address in enumerate(target.addresses):
            pinned = httpx2.Request(
                request.method,
                request.url.copy_with(host=address),
                headers=request.headers,  # the Host header names the checked host, as the URL did
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await pool.handle_async_request(pinned)
            except httpx2.ConnectError:
                if index == last:
                    raise
        raise AssertionError("the egress guard returned no address")  # ResolvedTarget always holds one

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    def _pool(self, target: ResolvedTarget) -> httpx2.AsyncHTTPTransport:
        key = (target.scheme, target.host, target.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx2.AsyncHTTPTransport(verify=self._tls, trust_env=False)
        return pool
