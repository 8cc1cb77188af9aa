"""Endpoint: one API server address and the credentials to present to it, checked before use."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.errors import FieldError
from app.kube.errors import KubeInvalid


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Everything needed to reach one API server; secrets are left out of ``repr``."""

    server: str
    token: str | None = field(default=None, repr=False)
    ca_pem: str | None = field(default=None, repr=False)
    client_certificate_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    namespace: str | None = None  # the default namespace (the context's, or the pod's)


def invalid(path: str, message: str) -> KubeInvalid:
    return KubeInvalid(f"{path}: {message}", [FieldError(path, message)])


def normalized_server(server: str | None, path: str = "server") -> str:
    """``https://host[:port][/prefix]`` without a trailing slash; ``Invalid`` otherwise."""
    if not server or not server.strip():
        raise invalid(path, "the API server address is required")
    text = server.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise invalid(path, f"{text!r} is not a valid URL ({exc})") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise invalid(path, f"{text!r} is not an http(s) URL such as https://10.0.0.1:6443")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise invalid(path, f"{text!r} must not carry a query, fragment or user info")
    return text.rstrip("/")


def checked_token(token: str | None, path: str = "token") -> str | None:
    if token is None:
        return None
    value = token.strip()
    if not value:
        return None
    if any(ch.isspace() or not ch.isprintable() or not ch.isascii() for ch in value):
        raise invalid(path, "a bearer token is printable ASCII without spaces or line breaks")
    return value
