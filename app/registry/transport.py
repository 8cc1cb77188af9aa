"""The one way the registry adapter talks HTTP: through the egress guard, pinned to the checked address.

Every request — to a registry, to the token service its challenge names, to a cloud's token endpoint —
first passes :meth:`EgressGuard.check_url`; the connection then goes to the address the guard checked
(the URL's host is replaced by it, with the real name kept in the ``Host`` header and as the TLS server
name, so certificates are verified against it), so a DNS answer that changes between the check and the
connection cannot lead elsewhere. Redirects are not followed. TLS is always verified, against the
system's CAs plus an operator's bundle (``TRELLIS_REGISTRY_CA_FILE``). Bodies are read up to
:data:`MAX_BODY_BYTES`.

Failures become :class:`Unreachable` (DNS, connection, TLS, timeout, a refused destination) or
:class:`Refused` (a service said no to the credentials), each with a reason a person can act on.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from app import errors
from app.net import EgressGuard, EgressRefused

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "trellis-registry-client"


class RegistryFailure(Exception):
    """A step of a handshake or token exchange failed; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(RegistryFailure):
    """No usable answer: DNS, connection, TLS, timeout, a refused destination, or not the expected API."""


class Refused(RegistryFailure):
    """The service answered and refused the credentials."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates are always verified: against the system's CAs and, if given, an operator's bundle."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class GuardedHttp:
    """Sends single requests for one operation; open it with ``async with``."""

    def __init__(self, guard: EgressGuard, *, timeout_seconds: float, tls: ssl.SSLContext) -> None:
        self._guard = guard
        self._client = httpx.AsyncClient(
            verify=tls,
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,  # no proxy or CA bundle from the environment: the guard decides
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._timeout = timeout_seconds

    async def __aenter__(self) -> GuardedHttp:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        allow_http: bool = False,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        form: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        """Send one request (``what`` names its destination in messages: "the registry", "AWS ECR")."""
        schemes = ("https", "http") if allow_http else ("https",)
        try:
            target = await self._guard.check_url(url, schemes=schemes)
        except EgressRefused as exc:
            raise Unreachable(f"{what} at {_origin(url)} is refused: {exc.message}") from exc
        except errors.Unavailable as exc:
            raise Unreachable(f"cannot reach {what}: {exc.message}") from exc
        parts = urlsplit(url)
        address = target.addresses[0]
        pinned_host = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(
            (parts.scheme, f"{pinned_host}:{target.port}", parts.path or "/", parts.query, "")
        )
        sent = {
            "User-Agent": USER_AGENT,
            **(headers or {}),
            "Host": _host_header(parts.scheme, target.host, target.port),
        }
        request = self._client.build_request(
            method,
            pinned,
            headers=sent,
            content=content,
            data=dict(form) if form is not None else None,
            extensions={"sni_hostname": target.host},
        )
        if auth is not None:
            request.headers["Authorization"] = basic_authorization(*auth)
        try:
            response = await self._client.send(request, stream=True)
            try:
                body = await _read_capped(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise Unreachable(f"{what} at {_origin(url)} did not answer within {self._timeout:g} s") from exc
        except httpx.RequestError as exc:
            raise Unreachable(f"cannot reach {what} at {_origin(url)}: {_transport_reason(exc)}") from exc
        if body is None:
            raise Unreachable(f"{what} at {_origin(url)} answered with more than {MAX_BODY_BYTES} bytes")
        return Answer(response.status_code, response.headers, body)


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic authentication."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def _read_capped(response: httpx.Response) -> bytes | None:
    """The body, or None when it is larger than :data:`MAX_BODY_BYTES` (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _host_header(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == {"https": 443, "http": 80}.get(scheme) else f"{shown}:{port}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _transport_reason(exc: httpx.RequestError) -> str:
    """The innermost cause, in words: a TLS verification failure says so, a refused connection too."""
    cause: BaseException | None = exc
    text = str(exc)
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate cannot be verified ({cause.verify_message or cause.reason})"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused (nothing listens there)"
        cause = cause.__cause__ or cause.__context__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"its TLS certificate cannot be verified ({text})"
    if "Connection refused" in text or "Connect call failed" in text:
        return "the connection was refused (nothing listens there)"
    return text or type(exc).__name__
