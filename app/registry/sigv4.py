"""AWS Signature Version 4 for one HTTP request (header-based, as the AWS JSON APIs take it).

Small on purpose: it signs what the ECR token exchange sends — a method, a URL, headers and a body —
and is checked against AWS's published SigV4 test suite (``tests/registry/test_sigv4.py``).
See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding of everything but the unreserved characters ``A-Za-z0-9-._~``."""
    return quote(text, safe="-_.~")


def canonical_uri(path: str) -> str:
    """Each path segment percent-encoded once (AWS services other than S3 encode the already-encoded
    path again; a request path here is plain ``/``, for which both agree)."""
    return "/".join(_encode(segment) for segment in (path or "/").split("/"))


def canonical_query(query: str) -> str:
    pairs = [(_encode(k), _encode(v)) for k, v in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """``(canonical headers, signed headers)``: names lower-cased and sorted, values trimmed with inner
    runs of blanks squeezed to one space."""
    lowered = {name.lower(): _SPACES.sub(" ", value.strip()) for name, value in headers.items()}
    names = sorted(lowered)
    return "".join(f"{name}:{lowered[name]}\n" for name in names), ";".join(names)


def canonical_request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """``(canonical request, signed headers)`` of a request whose ``headers`` include ``host``."""
    parts = urlsplit(url)
    canonical, signed = canonical_headers(headers)
    text = "\n".join(
        (
            method.upper(),
            canonical_uri(parts.path),
            canonical_query(parts.query),
            canonical,
            signed,
            _sha256(body),
        )
    )
    return text, signed


def host_header(url: str) -> str:
    """The ``Host`` header an HTTP client sends for ``url`` (the port only when it is not the default)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    at: datetime,
) -> dict[str, str]:
    """``headers`` plus ``Host``, ``X-Amz-Date``, ``X-Amz-Security-Token`` (with a session token) and
    ``Authorization``, every one of them signed."""
    moment = at.astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    day = moment.strftime("%Y%m%d")
    signed_headers: dict[str, str] = {"Host": host_header(url), **headers, "X-Amz-Date": amz_date}
    if credentials.session_token:
        signed_headers["X-Amz-Security-Token"] = credentials.session_token
    request, signed_names = canonical_request(method, url, signed_headers, body)
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join((ALGORITHM, amz_date, scope, _sha256(request.encode())))
    key = _hmac(f"AWS4{credentials.secret_access_key}".encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed_headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return signed_headers
