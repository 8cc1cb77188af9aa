"""The client's address and User-Agent, bound for the audit trail around every request and WebSocket.

The address is the connecting peer's, unless that peer is one of the trusted reverse proxies
(``TRELLIS_TRUSTED_PROXIES``): then ``X-Forwarded-For`` is read from the right, skipping trusted hops,
and the first untrusted address is the client. With no trusted proxies (the default) the header is
ignored, so a client cannot choose the address it is recorded with. Uvicorn's own proxy-header
rewriting is turned off where Trellis starts it, so this is the only place that reads the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from app.domain.audit import MAX_USER_AGENT, RequestOrigin
from app.services.auditing import bound_origin

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestOrigins:
    """Bind a :class:`RequestOrigin` (see :func:`app.services.auditing.bound_origin`) per request."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = tuple(ipaddress.ip_network(item, strict=False) for item in trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        client = scope.get("client")
        peer = str(client[0]) if client else None
        forwarded = [value.decode("latin-1") for name, value in headers if name == b"x-forwarded-for"]
        agents = [value.decode("latin-1") for name, value in headers if name == b"user-agent"]
        origin = RequestOrigin(
            address=client_address(peer, forwarded, self.trusted),
            user_agent=clean_user_agent(agents[0]) if agents else None,
        )
        with bound_origin(origin):
            await self.app(scope, receive, send)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client's address: ``peer``, or when ``peer`` is a trusted proxy the right-most address of
    ``X-Forwarded-For`` (every header line, in order) that is not itself a trusted proxy. A malformed
    hop stops the walk at the last address known good."""
    if peer is None or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",") if hop.strip()]
    address = peer
    for hop in reversed(hops):
        try:
            parsed = ipaddress.ip_address(hop)
        except ValueError:
            return address
        address = str(parsed)
        if not any(parsed in network for network in trusted):
            return address
    return address


def clean_user_agent(value: str) -> str | None:
    """Printable characters only, cut to :data:`MAX_USER_AGENT`; None when nothing is left."""
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()[:MAX_USER_AGENT]
    return cleaned or None


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    if not trusted:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)
