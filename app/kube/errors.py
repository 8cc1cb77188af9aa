"""The Kubernetes adapter's own error tree, and the one place library errors are translated into it.

Every class is also an ``app.errors`` type, so services and the GraphQL edge handle them without
knowing this adapter; code that cares can still catch the narrower ``Kube*`` class::

    KubeError (mixin: ``status``, ``reason``, ``api_message`` as the API server said them)
    ├── KubeUnavailable(Unavailable)
    │   ├── KubeUnreachable        connection refused or reset, DNS, no route
    │   ├── KubeTimeout            no answer within the request timeout
    │   ├── KubeTLSError           certificate verification or handshake failure
    │   ├── KubeUnauthorized       401: the cluster refused the credentials
    │   ├── KubeThrottled          429
    │   ├── KubeServerError        5xx
    │   └── KubeNotInCluster       IN_CLUSTER credentials outside a pod
    ├── KubeForbidden(Forbidden)   403, with the API server's message
    ├── KubeNotFound(NotFound)     404
    ├── KubeConflict(Conflict)     409; ``details = {"reason", "causes": [{"field", "message"}]}``
    │   └── KubeApplyConflict      another field manager owns fields (``managers``, ``fields``)
    └── KubeInvalid(Invalid)       400/422 (causes as ``FieldError``s), other 4xx, unusable credentials
        └── KubeUnknownKind        the cluster serves no such apiVersion/kind

:func:`translate` maps ``kubernetes_asyncio`` ``ApiException``, aiohttp, ssl, OS and timeout errors;
:func:`translating` wraps a block so nothing of those types escapes (the cause stays chained).
"""

from __future__ import annotations

import errno
import json
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException, OpenApiException

from app import errors
from app.errors import FieldError


class KubeError(errors.TrellisError):
    """Base of the adapter's errors; ``status``/``reason``/``api_message`` are set for HTTP answers."""

    status: int | None = None
    reason: str | None = None
    api_message: str | None = None


class KubeUnavailable(KubeError, errors.Unavailable):
    pass


class KubeUnreachable(KubeUnavailable):
    pass


class KubeTimeout(KubeUnavailable):
    pass


class KubeTLSError(KubeUnavailable):
    pass


class KubeUnauthorized(KubeUnavailable):
    pass


class KubeThrottled(KubeUnavailable):
    pass


class KubeServerError(KubeUnavailable):
    pass


class KubeNotInCluster(KubeUnavailable):
    pass


class KubeForbidden(KubeError, errors.Forbidden):
    pass


class KubeNotFound(KubeError, errors.NotFound):
    pass


class KubeConflict(KubeError, errors.Conflict):
    pass


class KubeApplyConflict(KubeConflict):
    """Server-side apply refused: fields are owned by other field managers (never forced)."""

    managers: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


class KubeInvalid(KubeError, errors.Invalid):
    pass


class KubeUnknownKind(KubeInvalid):
    pass


UNAUTHORIZED_MESSAGE = (
    "the cluster refused the credentials (401 Unauthorized): expired or wrong token/certificate"
)


@dataclass(frozen=True, slots=True)
class Target:
    """What a request was about, to word errors (``Deployment`` ``shop/web``)."""

    kind: str | None = None
    name: str | None = None
    namespace: str | None = None

    def describe(self) -> str:
        if self.kind is None:
            return ""
        if self.name is None:
            return self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


# --- HTTP answers ---------------------------------------------------------------------------------


def _status_body(exc: ApiException) -> dict[str, Any]:
    raw: object = exc.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {"message": raw.strip()[:300]}
    return body if isinstance(body, dict) else {}


def _causes(body: dict[str, Any]) -> list[dict[str, str]]:
    details = body.get("details")
    raw = details.get("causes") if isinstance(details, dict) else None
    causes: list[dict[str, str]] = []
    for cause in raw if isinstance(raw, list) else []:
        if isinstance(cause, dict):
            causes.append(
                {
                    "field": str(cause.get("field") or ""),
                    "message": str(cause.get("message") or ""),
                    "reason": str(cause.get("reason") or ""),
                }
            )
    return causes


# printManager in k8s.io/apiserver: "conflict with \"kubectl\"", "… using apps/v1", "… with subresource …"
_MANAGER = re.compile(r'conflict with "((?:[^"\\]|\\.)*)"')


def _apply_conflict(
    message: str, body: dict[str, Any], causes: list[dict[str, str]], target: Target
) -> KubeApplyConflict:
    managers: list[str] = []
    for cause in causes:
        match = _MANAGER.search(cause["message"])
        name = json.loads(f'"{match.group(1)}"') if match else cause["message"]
        if name not in managers:
            managers.append(name)
    fields = tuple(cause["field"] for cause in causes)
    owners = ", ".join(json.dumps(m) for m in managers)
    subject = f"{target.describe()}: " if target.kind else ""
    count = f"{len(fields)} field{'s' if len(fields) != 1 else ''}"
    text = (
        f"{subject}{count} owned by another field manager ({owners}): {', '.join(fields)}; "
        "Trellis never forces ownership"
    )
    err = KubeApplyConflict(
        text,
        {
            "reason": body.get("reason") or "Conflict",
            "causes": [{"field": c["field"], "message": c["message"]} for c in causes],
            "managers": managers,
        },
    )
    err.managers = tuple(managers)
    err.fields = fields
    err.api_message = message
    return err


def _not_found(body: dict[str, Any], target: Target) -> KubeNotFound:
    raw = body.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = str(details.get("name") or "")
    if target.kind and target.name and (not name or name == target.name):
        ident = f"{target.namespace}/{target.name}" if target.namespace else target.name
        return KubeNotFound(target.kind, ident)
    if name:
        resource = str(details.get("kind") or "object")
        group = details.get("group")
        return KubeNotFound(f"{resource}.{group}" if group else resource, name)
    return KubeNotFound(target.describe() or "resource", str(body.get("message") or "?"))


def from_api_exception(exc: ApiException, *, server: str, target: Target | None = None) -> KubeError:
    target = target or Target()
    status = int(exc.status or 0)
    body = _status_body(exc)
    reason = str(body.get("reason") or exc.reason or "")
    message = str(body.get("message") or exc.reason or f"HTTP {status}")
    causes = _causes(body)
    err: KubeError
    if status == 401:
        err = KubeUnauthorized(UNAUTHORIZED_MESSAGE)
    elif status == 403:
        err = KubeForbidden(message)
    elif status == 404:
        err = _not_found(body, target)
    elif status == 409:
        if causes and all(c["reason"] == "FieldManagerConflict" for c in causes):
            err = _apply_conflict(message, body, causes, target)
        else:
            err = KubeConflict(
                message,
                {
                    "reason": reason,
                    "causes": [{"field": c["field"], "message": c["message"]} for c in causes],
                },
            )
    elif status in (400, 422):
        err = KubeInvalid(message, [FieldError(c["field"], c["message"]) for c in causes if c["field"]])
    elif status == 429:
        err = KubeThrottled(
            f"the cluster at {server} is throttling requests (429 TooManyRequests): {message}"
        )
    elif status >= 500:
        err = KubeServerError(f"the cluster at {server} answered {status} {reason}: {message}")
    elif 400 <= status < 500:
        err = KubeInvalid(f"the cluster refused the request ({status} {reason}): {message}")
    else:
        err = KubeUnavailable(f"unexpected answer from {server} ({status} {reason}): {message}")
    err.status = status or None
    err.reason = reason or None
    if err.api_message is None:
        err.api_message = message
    return err


# --- connection failures --------------------------------------------------------------------------

_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}


def _os_words(exc: OSError) -> str:
    if exc.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[exc.errno]
    return exc.strerror or str(exc) or type(exc).__name__


def _ssl_words(exc: BaseException) -> str:
    inner = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None) or exc
    if isinstance(inner, ssl.SSLCertVerificationError):
        return inner.verify_message or inner.reason or "certificate verify failed"
    if isinstance(inner, ssl.SSLError):
        return inner.reason or str(inner)
    return str(inner)


def _tls_error(exc: BaseException, server: str) -> KubeTLSError:
    words = _ssl_words(exc)
    verification = isinstance(
        getattr(exc, "certificate_error", None) or exc, ssl.SSLCertVerificationError
    ) or isinstance(exc, aiohttp.ClientConnectorCertificateError)
    if verification:
        return KubeTLSError(
            f"cannot verify the TLS certificate of {server}: {words} "
            "(wrong or missing CA certificate, or the wrong server name)"
        )
    if words == "WRONG_VERSION_NUMBER":
        words += " (does the server speak plain HTTP? then its address starts with http://)"
    return KubeTLSError(f"TLS handshake with {server} failed: {words}")


def _timeout(server: str, timeout: float | None) -> KubeTimeout:
    after = f" after {timeout:g} s" if timeout is not None else ""
    return KubeTimeout(f"cannot reach {server}: timed out{after}")


def translate(
    exc: BaseException, *, server: str, timeout: float | None = None, target: Target | None = None
) -> KubeError:
    """Our error for a library, network or timeout error (an already translated one is returned as is)."""
    if isinstance(exc, KubeError):
        return exc
    if isinstance(exc, ApiException):
        return from_api_exception(exc, server=server, target=target)
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one too
        return _timeout(server, timeout)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError | ssl.SSLError):
        return _tls_error(exc, server)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return KubeUnreachable(f"cannot reach {server}: its host name does not resolve ({_os_words(exc)})")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return KubeUnreachable(f"cannot reach {server}: {_os_words(exc.os_error)}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return KubeUnreachable(f"cannot reach {server}: the server closed the connection")
    if isinstance(exc, aiohttp.InvalidURL):
        return KubeInvalid(f"the cluster address {server!r} is not a valid URL")
    if isinstance(exc, aiohttp.ClientError):
        return KubeUnreachable(f"cannot reach {server}: {exc or type(exc).__name__}")
    if isinstance(exc, OSError):
        return KubeUnreachable(f"cannot reach {server}: {_os_words(exc)}")
    if isinstance(exc, OpenApiException):
        return KubeInvalid(f"the request to {server} could not be made: {exc}")
    return KubeUnavailable(f"talking to {server} failed: {type(exc).__name__}: {exc}")


# What translating() catches: everything the client library, aiohttp and ssl raise, and nothing else
# (a bug of ours, such as a KeyError, stays itself).
LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    OpenApiException,
    aiohttp.ClientError,
    ssl.SSLError,
    OSError,
    TimeoutError,
)


@contextmanager
def translating(server: str, *, timeout: float | None = None, target: Target | None = None) -> Iterator[None]:
    try:
        yield
    except LIBRARY_ERRORS as exc:
        raise translate(exc, server=server, timeout=timeout, target=target) from exc
