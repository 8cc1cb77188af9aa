"""Loopback stand-ins of the cloud registries' token services, speaking their documented wire formats.

* :class:`FakeEcr` — the ECR JSON API's ``GetAuthorizationToken`` (AWS JSON 1.1 over ``POST /``): it checks
  ``X-Amz-Target``, the content type and the SigV4 ``Authorization`` (recomputed here from the signed
  headers, independently of the code under test) and answers ``authorizationData``, or AWS's error
  shapes: ``UnrecognizedClientException`` (400) for an unknown key, ``InvalidSignatureException`` (403).
* :class:`FakeGoogle` — Google's OAuth2 token endpoint: the JWT-bearer grant with a service account's
  signed assertion (checked with its public key: ``iss``, ``scope``, ``aud``, ``iat``/``exp``), answering
  ``access_token``, or ``invalid_grant`` (400).
* :class:`FakeAzure` — Microsoft Entra ID's client-credentials grant and an ACR login server's
  ``/oauth2/exchange``, ``/oauth2/token`` and ``/v2/`` (with its Bearer challenge), answering as Azure
  documents, or ``invalid_client`` (401) with an ``AADSTS`` message.

Each records the requests it answered (``requests``), served over HTTPS by :class:`LoopbackApp`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                         r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")  # fmt: skip


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (parsed here: no multipart library needed)."""
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _aws_error(kind: str, message: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"__type": kind, "message": message}, status_code=status, media_type="application/x-amz-json-1.1"
    )


@dataclass
class FakeEcr:
    """``keys``: access key id → secret; the token it hands out is ``AWS:<password>``."""

    keys: dict[str, str]
    password: str
    expires_at: float
    account: str = "123456789012"
    requests: list[dict[str, Any]] = field(default_factory=list)

    def routes(self) -> list[Route]:
        return [Route("/", self._handle, methods=["POST"])]

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append({"headers": headers, "body": body, "query": request.url.query})
        if headers.get("x-amz-target") != ECR_TARGET:
            return _aws_error("UnknownOperationException", "unknown operation", 400)
        if headers.get("content-type") != "application/x-amz-json-1.1" or json.loads(body) != {}:
            return _aws_error("SerializationException", "bad request body", 400)
        match = _CREDENTIAL.match(headers.get("authorization", ""))
        if match is None:
            return _aws_error("IncompleteSignatureException", "the Authorization header is malformed", 400)
        key_id, day, region, service, signed, signature = match.groups()
        secret = self.keys.get(key_id)
        if secret is None:
            return _aws_error(
                "UnrecognizedClientException", "The security token included in the request is invalid.", 400
            )
        names = signed.split(";")
        if service != "ecr" or not {"host", "x-amz-date", "x-amz-target", "content-type"} <= set(names):
            return _aws_error(
                "InvalidSignatureException", "Credential should be scoped to service 'ecr'.", 403
            )
        canonical = "\n".join(
            [
                "POST",
                "/",
                "&".join(
                    f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                    for k, v in sorted(parse_qsl(request.url.query, keep_blank_values=True))
                ),
                "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in names),
                signed,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        amz_date = headers["x-amz-date"]
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = _hmac(f"AWS4{secret}".encode(), day)
        for part in (region, service, "aws4_request"):
            key = _hmac(key, part)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return _aws_error(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS "
                "Secret Access Key and signing method.",
                403,
            )
        token = base64.b64encode(f"AWS:{self.password}".encode()).decode()
        return JSONResponse(
            {
                "authorizationData": [
                    {
                        "authorizationToken": token,
                        "expiresAt": self.expires_at,
                        "proxyEndpoint": f"https://{self.account}.dkr.ecr.{region}.amazonaws.com",
                    }
                ]
            },
            media_type="application/x-amz-json-1.1",
        )


@dataclass(frozen=True)
class ServiceAccount:
    """A Google service account and its JSON key."""

    email: str
    key: rsa.RSAPrivateKey
    key_id: str = "0123456789abcdef"

    @classmethod
    def generate(cls, email: str = "builder@trellis-test.iam.gserviceaccount.com") -> ServiceAccount:
        return cls(email, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def json_key(self) -> str:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return json.dumps(
            {
                "type": "service_account",
                "project_id": "trellis-test",
                "private_key_id": self.key_id,
                "private_key": pem,
                "client_email": self.email,
                "client_id": "1234567890",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )


@dataclass
class FakeGoogle:
    """Google's token endpoint for one service account; ``url`` is set once served (the ``aud``)."""

    account: ServiceAccount
    access_token: str
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)

    def routes(self) -> list[Route]:
        return [Route("/token", self._token, methods=["POST"])]

    async def _token(self, request: Request) -> Response:
        form = await _form(request)
        self.requests.append({"form": form, "content_type": request.headers.get("content-type")})
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400
            )
        try:
            claims = jwt.decode(
                str(form.get("assertion")),
                self.account.key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.url}/token",
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                },  # the code under test runs on a fake clock
            )
        except jwt.PyJWTError:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
            )
        self.requests[-1]["claims"] = claims
        self.requests[-1]["header"] = jwt.get_unverified_header(str(form.get("assertion")))
        if claims.get("iss") != self.account.email or claims.get("exp", 0) - claims.get("iat", 0) > 3600:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Invalid JWT: bad claims."}, 400
            )
        return JSONResponse({"access_token": self.access_token, "expires_in": 3599, "token_type": "Bearer"})


@dataclass
class FakeAzure:
    """Entra ID for one tenant and service principal, and an ACR login server on the same origin."""

    tenant: str
    client_id: str
    client_secret: str
    url: str = ""
    aad_token: str = "aad-access-token"
    refresh_token: str = "acr-refresh-token"
    access_token: str = "acr-access-token"
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def service(self) -> str:
        return urlsplit(self.url).netloc

    def routes(self) -> list[Route]:
        return [
            Route("/{tenant}/oauth2/v2.0/token", self._entra, methods=["POST"]),
            Route("/oauth2/exchange", self._exchange, methods=["POST"]),
            Route("/oauth2/token", self._token, methods=["POST"]),
            Route("/v2/", self._v2, methods=["GET"]),
        ]

    async def _entra(self, request: Request) -> Response:
        form = await _form(request)
        self.requests.append({"path": request.url.path, "form": form})
        if request.path_params["tenant"] != self.tenant:
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "error_description": f"AADSTS90002: Tenant '{request.path_params['tenant']}' not found.",
                },
                400,
            )
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("scope") != "https://containerregistry.azure.net/.default"
        ):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "AADSTS900144: bad request"}, 400
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse(
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                    "sent in the request is the client secret value, not the client secret ID.",
                },
                401,
            )
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": self.aad_token,
            }
        )

    async def _exchange(self, request: Request) -> Response:
        form = await _form(request)
        self.requests.append({"path": request.url.path, "form": form})
        expected = {
            "grant_type": "access_token",
            "service": self.service,
            "tenant": self.tenant,
            "access_token": self.aad_token,
        }
        if form != expected:
            return JSONResponse(
                {"errors": [{"code": "UNAUTHORIZED", "message": "invalid exchange request"}]}, 401
            )
        return JSONResponse({"refresh_token": self.refresh_token})

    async def _token(self, request: Request) -> Response:
        form = await _form(request)
        self.requests.append({"path": request.url.path, "form": form})
        if (
            form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") != self.refresh_token
            or form.get("service") != self.service
        ):
            return JSONResponse(
                {"errors": [{"code": "UNAUTHORIZED", "message": "invalid refresh token"}]}, 401
            )
        return JSONResponse({"access_token": self.access_token})

    async def _v2(self, request: Request) -> Response:
        self.requests.append(
            {"path": request.url.path, "authorization": request.headers.get("authorization")}
        )
        version = {"Docker-Distribution-Api-Version": "registry/2.0"}
        if request.headers.get("authorization") == f"Bearer {self.access_token}":
            return JSONResponse({}, headers=version)
        challenge = f'Bearer realm="{self.url}/oauth2/token",service="{self.service}"'
        return JSONResponse(
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]},
            status_code=401,
            headers={**version, "WWW-Authenticate": challenge},
        )
