"""Loopback stand-ins for what the real OpenID provider cannot be made to do on purpose.

``IdTokenStandIn``: a minimal OpenID provider (discovery, JWKS, authorize, token, userinfo) that signs its
id_tokens with its own RSA key and lets a test change the claims or break the signature — a wrong audience,
an expired token, a tampered one. ``GitHubStandIn``: GitHub's OAuth endpoints and REST API (``GET /user``,
``GET /user/emails``) answering with the documented shapes (DESIGN.md allows this one stand-in).
Both authorize at once (no login page) and check PKCE at the token endpoint, as the real services do.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID, CLIENT_SECRET = "trellis", "stand-in-client-secret"


@dataclass
class _Grant:
    redirect_uri: str
    challenge: str
    nonce: str | None


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (python-multipart is not a dependency)."""
    return dict(parse_qsl((await request.body()).decode()))


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class _Authorizing:
    """Codes handed out by ``/authorize``, each checked once (with its PKCE verifier) by the token route."""

    grants: dict[str, _Grant] = field(default_factory=dict)

    def authorize(self, request: Request) -> RedirectResponse:
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
        assert q["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.grants[code] = _Grant(q["redirect_uri"], q["code_challenge"], q.get("nonce"))
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

    def redeem(self, form: dict[str, str]) -> _Grant | None:
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or _s256(form.get("code_verifier", "")) != grant.challenge:
            return None
        return grant if form.get("redirect_uri") == grant.redirect_uri else None


class IdTokenStandIn:
    """Set ``claims`` (merged over the correct ones) or ``tamper`` before a sign-in."""

    def __init__(self) -> None:
        self.issuer = ""
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stand-in-1"}, private=True)
        self.claims: dict[str, Any] = {}
        self.tamper = False
        self._authorizing = _Authorizing()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo),
            ]
        )

    async def _discovery(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        return self._authorizing.authorize(request)

    async def _token(self, request: Request) -> JSONResponse:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._authorizing.redeem(await _form(request))
        if grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "stand-in-subject",
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            "email": "dana@example.com",
            "email_verified": True,
            "name": "Dana",
            **self.claims,
        }
        token = jwt.encode({"alg": "RS256", "kid": "stand-in-1"}, claims, self.key)
        if self.tamper:
            header, payload, signature = token.split(".")
            token = ".".join((header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))
        return JSONResponse({"access_token": "stand-in-access", "token_type": "Bearer", "id_token": token})

    async def _userinfo(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer stand-in-access":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"sub": "stand-in-subject", "email": "dana@example.com", "email_verified": True})


class GitHubStandIn:
    """GitHub's ``/login/oauth/*`` and REST ``/user``, ``/user/emails``; set ``user`` and ``emails``."""

    def __init__(self) -> None:
        self.user: dict[str, Any] = {
            "login": "octocat",
            "id": 583231,
            "node_id": "MDQ6VXNlcjU4MzIzMQ==",
            "type": "User",
            "name": "The Octocat",
            "email": None,
        }
        self.emails: list[dict[str, Any]] = [
            {"email": "octocat@github.com", "verified": True, "primary": True, "visibility": "public"},
            {"email": "octo@old.example", "verified": False, "primary": False, "visibility": None},
        ]
        self.token = "gho_" + secrets.token_hex(16)
        self.revoked = False  # True: the API refuses the token it handed out (401)
        self._authorizing = _Authorizing()
        self.app = Starlette(
            routes=[
                Route("/login/oauth/authorize", self._authorize),
                Route("/login/oauth/access_token", self._access_token, methods=["POST"]),
                Route("/user", self._user),
                Route("/user/emails", self._emails),
            ]
        )

    async def _authorize(self, request: Request) -> Response:
        return self._authorizing.authorize(request)

    async def _access_token(self, request: Request) -> JSONResponse:
        form = await _form(request)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "incorrect_client_credentials"})  # GitHub answers 200 with an error
        if self._authorizing.redeem(form) is None:
            return JSONResponse({"error": "bad_verification_code"})
        return JSONResponse(
            {"access_token": self.token, "token_type": "bearer", "scope": "read:user,user:email"}
        )

    def forget_codes(self) -> None:
        """Codes handed out so far become invalid (GitHub answers ``bad_verification_code``)."""
        self._authorizing.grants.clear()

    def _authorized(self, request: Request) -> bool:
        return not self.revoked and request.headers.get("authorization", "").lower() in {
            f"bearer {self.token}".lower(),
            f"token {self.token}".lower(),
        }

    async def _user(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"message": "Requires authentication"}, status_code=401)
        return JSONResponse(self.user)

    async def _emails(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return JSONResponse({"message": "Requires authentication"}, status_code=401)
        return JSONResponse(self.emails)
