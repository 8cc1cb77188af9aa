"""Talking to identity providers with Authlib: the authorization URL (PKCE S256, OIDC nonce), the code
exchange, id_token verification against the provider's JWKS, and the profile (userinfo, id_token claims,
or GitHub's ``/user`` and ``/user/emails``).

Every request — discovery, the token exchange, the JWKS, userinfo, GitHub's API — goes through the egress
guard and then connects only to an address the guard checked (Authlib's ``AsyncOAuth2Client`` runs on a
:class:`~app.net.pinned_http.PinnedTransport`: the name is not resolved again, it stays the ``Host`` header
and the TLS server name), so a DNS answer that changes between the check and the connection cannot lead
elsewhere. Redirects are never followed and proxies from the environment are ignored. Plain ``http://`` is
accepted only for loopback providers (tests, a provider on the same host).

id_tokens are verified with joserfc (Authlib's JOSE library; ``authlib.jose`` is deprecated): signature
with an asymmetric algorithm the key set holds (``none`` and HMAC refused), ``iss`` equal to the
discovered issuer, ``aud`` holding the client id (and ``azp`` equal to it when there are several), ``exp``
and ``iat`` against the injected clock (60 s leeway), ``sub`` present and ``nonce`` equal to the one sent.
Discovery documents and key sets are cached for :data:`CACHE_SECONDS`; an unknown key id refreshes the
key set once (key rotation).
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from app import errors
from app.domain.identities import ClaimMapping, Profile, ProviderConfig, ProviderType, SignInFailure
from app.net import EgressGuard, EgressRefused, ResolvedTarget
from app.net.addresses import AddressClass, classify
from app.net.pinned_http import PinnedTransport
from app.ports import Clock, OAuthFailed

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600.0
LEEWAY_SECONDS = 60
MAX_BODY_BYTES = 1024 * 1024
ASYMMETRIC_ALGORITHMS = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "EdDSA"),
)
USER_AGENT = "trellis-sign-in"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where one provider's steps happen (from discovery for ``oidc``, from settings otherwise)."""

    authorize: str
    token: str
    userinfo: str | None
    issuer: str | None = None
    jwks: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)


class AuthlibOAuthGateway:
    """The ``OAuthGateway`` port over Authlib's httpx client; one per server (it holds the caches).
    ``tls`` verifies providers' certificates (the system's CAs when None)."""

    def __init__(
        self,
        *,
        guard: EgressGuard,
        clock: Clock,
        timeout_seconds: float,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._guard = guard
        self._clock = clock
        self._timeout = timeout_seconds
        self._tls = tls if tls is not None else httpx2.create_ssl_context(trust_env=False)  # loaded once
        self._discovered: dict[str, tuple[float, Endpoints]] = {}
        self._key_sets: dict[str, tuple[float, dict[str, Any]]] = {}

    async def authorization_url(
        self,
        provider: ProviderConfig,
        *,
        state: str,
        code_verifier: str,
        nonce: str | None,
        redirect_uri: str,
    ) -> str:
        async with self._client(provider, redirect_uri) as client:
            endpoints = await self._endpoints(client, provider)
            extra = {"nonce": nonce} if nonce else {}
            url, _ = client.create_authorization_url(
                endpoints.authorize, state=state, code_verifier=code_verifier, **extra
            )
        return str(url)

    async def profile(
        self, provider: ProviderConfig, *, code: str, code_verifier: str, nonce: str | None, redirect_uri: str
    ) -> Profile:
        async with self._client(provider, redirect_uri) as client:
            endpoints = await self._endpoints(client, provider)
            try:
                token: Mapping[str, Any] = await client.fetch_token(
                    endpoints.token, code=code, code_verifier=code_verifier
                )
            except (OAuthError, httpx2.HTTPError, ValueError, KeyError) as exc:
                raise OAuthFailed(SignInFailure.EXCHANGE_FAILED, _reason(exc)) from exc
            except _Refused as exc:
                raise OAuthFailed(SignInFailure.EXCHANGE_FAILED, exc.reason) from exc
            if not token.get("access_token"):
                raise OAuthFailed(SignInFailure.EXCHANGE_FAILED, "the token response has no access_token")
            if provider.type is ProviderType.GITHUB:
                return await self._github_profile(client, provider)
            claims: dict[str, Any] = {}
            if provider.type is ProviderType.OIDC:
                claims = await self._verified_id_token(client, provider, endpoints, token, nonce)
            if endpoints.userinfo:
                info = await self._get_json(client, endpoints.userinfo, "the userinfo endpoint")
                if claims and str(info.get("sub")) != str(claims.get("sub")):
                    raise OAuthFailed(SignInFailure.ID_TOKEN_INVALID, "userinfo is about another subject")
                claims = {**claims, **info}
        return _profile(claims, provider.claims)

    # -- steps ------------------------------------------------------------------------------------------

    def _client(self, provider: ProviderConfig, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            token_endpoint_auth_method=provider.token_auth_method,
            scope=" ".join(provider.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=PinnedTransport(self._checked, tls=self._tls),
        )

    async def _checked(self, url: str) -> ResolvedTarget:
        """Every request of the client, before it connects: the guard decides (the transport then connects
        to the addresses it checked); http:// only to loopback."""
        try:
            target = await self._guard.check_url(url, schemes=("https", "http"))
        except (EgressRefused, errors.Unavailable) as exc:
            raise _Refused(f"{_origin(url)} is refused: {exc.message}") from exc
        if target.scheme == "http" and not all(_is_loopback(a) for a in target.addresses):
            raise _Refused(f"{_origin(url)}: identity providers are reached over https:// only")
        return target

    async def _endpoints(self, client: AsyncOAuth2Client, provider: ProviderConfig) -> Endpoints:
        if provider.type is not ProviderType.OIDC:
            return Endpoints(provider.authorize_url or "", provider.token_url or "", provider.userinfo_url)
        cached = self._discovered.get(provider.id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        issuer = provider.issuer or ""
        document = await self._get_json(
            client, f"{issuer}/.well-known/openid-configuration", "the discovery document", anonymous=True
        )
        if document.get("issuer") != issuer:
            raise OAuthFailed(
                SignInFailure.PROVIDER_UNAVAILABLE,
                f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}",
            )
        try:
            endpoints = Endpoints(
                authorize=str(document["authorization_endpoint"]),
                token=str(document["token_endpoint"]),
                userinfo=str(document["userinfo_endpoint"]) if document.get("userinfo_endpoint") else None,
                issuer=issuer,
                jwks=str(document["jwks_uri"]),
                algorithms=tuple(
                    a
                    for a in document.get("id_token_signing_alg_values_supported", ["RS256"])
                    if a in ASYMMETRIC_ALGORITHMS
                ),
            )
        except KeyError as exc:
            raise OAuthFailed(
                SignInFailure.PROVIDER_UNAVAILABLE, f"the discovery document has no {exc.args[0]}"
            ) from exc
        self._discovered[provider.id] = (time.monotonic() + CACHE_SECONDS, endpoints)
        return endpoints

    async def _verified_id_token(
        self,
        client: AsyncOAuth2Client,
        provider: ProviderConfig,
        endpoints: Endpoints,
        token: Mapping[str, Any],
        nonce: str | None,
    ) -> dict[str, Any]:
        raw = token.get("id_token")
        if not isinstance(raw, str) or not raw:
            raise OAuthFailed(SignInFailure.ID_TOKEN_INVALID, "the token response has no id_token")
        assert endpoints.jwks is not None
        keys, fresh = await self._key_set(client, endpoints.jwks, refresh=False)
        try:
            claims = _decode(raw, keys, endpoints.algorithms)
        except OAuthFailed:
            if fresh:
                raise
            keys, _ = await self._key_set(client, endpoints.jwks, refresh=True)  # the keys may have rotated
            claims = _decode(raw, keys, endpoints.algorithms)
        options: dict[str, ClaimsOption] = {
            "iss": {"essential": True, "value": endpoints.issuer or ""},
            "aud": {"essential": True, "value": provider.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if nonce is not None:
            options["nonce"] = {"essential": True, "value": nonce}
        now = int(self._clock.now().timestamp())
        registry = jwt.JWTClaimsRegistry(now=now, leeway=LEEWAY_SECONDS, **options)
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OAuthFailed(SignInFailure.ID_TOKEN_INVALID, f"claims: {_reason(exc)}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise OAuthFailed(SignInFailure.ID_TOKEN_INVALID, "several audiences and azp is not this client")
        return claims

    async def _key_set(
        self, client: AsyncOAuth2Client, url: str, *, refresh: bool
    ) -> tuple[dict[str, Any], bool]:
        """The key set at ``url`` and whether it was just fetched."""
        cached = self._key_sets.get(url)
        if cached is not None and not refresh and cached[0] > time.monotonic():
            return cached[1], False
        keys = await self._get_json(client, url, "the JWKS", anonymous=True)
        if not isinstance(keys.get("keys"), list):
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, "the JWKS holds no keys")
        self._key_sets[url] = (time.monotonic() + CACHE_SECONDS, keys)
        return keys, True

    async def _github_profile(self, client: AsyncOAuth2Client, provider: ProviderConfig) -> Profile:
        """GitHub: ``GET /user`` (id, login, name, public email), then ``GET /user/emails`` for the primary
        verified address (the public one is not known to be verified)."""
        api = provider.api_url or ""
        user = await self._get_json(client, f"{api}/user", "GitHub's /user")
        emails = await self._get_json(client, f"{api}/user/emails", "GitHub's /user/emails", listing=True)
        primary = next(
            (
                e
                for e in emails.get("items", [])
                if isinstance(e, dict) and e.get("primary") and e.get("verified") and e.get("email")
            ),
            None,
        )
        claims = dict(user)
        claims.setdefault("name", None)
        if not claims.get("name"):
            claims["name"] = user.get("login")
        if primary is not None:
            claims["email"], claims["email_verified"] = primary["email"], True
        else:
            claims["email_verified"] = False
        return _profile(claims, provider.claims)

    async def _get_json(
        self,
        client: AsyncOAuth2Client,
        url: str,
        what: str,
        *,
        anonymous: bool = False,
        listing: bool = False,
    ) -> dict[str, Any]:
        """A JSON object (``listing``: a JSON list, as ``{"items": [...]}``) from ``url``."""
        try:
            response = await client.request("GET", url, withhold_token=anonymous)
        except _Refused as exc:
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, exc.reason) from exc
        except (httpx2.HTTPError, OAuthError) as exc:
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, f"{what}: {_reason(exc)}") from exc
        if response.status_code != 200:
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, f"{what} answered {response.status_code}")
        if len(response.content) > MAX_BODY_BYTES:
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, f"{what} answered too much")
        try:
            body = response.json()
        except ValueError as exc:
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, f"{what} did not answer JSON") from exc
        if listing and isinstance(body, list):
            return {"items": body}
        if listing or not isinstance(body, dict):
            raise OAuthFailed(SignInFailure.PROVIDER_UNAVAILABLE, f"{what} answered an unexpected shape")
        return body


class _Refused(Exception):
    """The egress guard refused a request of the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_loopback(address: str) -> bool:
    return classify(ipaddress.ip_address(address)).address_class is AddressClass.LOOPBACK


def _decode(raw: str, keys: Mapping[str, Any], algorithms: tuple[str, ...]) -> dict[str, Any]:
    """The payload of a compact JWS signed by one of ``keys`` with one of ``algorithms``."""
    try:
        key_set = KeySet.import_key_set(keys)  # type: ignore[arg-type]
        return dict(jwt.decode(raw, key_set, algorithms=list(algorithms)).claims)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OAuthFailed(SignInFailure.ID_TOKEN_INVALID, f"not verified: {_reason(exc)}") from exc


def _profile(claims: Mapping[str, Any], mapping: ClaimMapping) -> Profile:
    subject = claims.get(mapping.subject)
    if subject is None or isinstance(subject, bool) or str(subject).strip() == "":
        raise OAuthFailed(SignInFailure.PROFILE_INVALID, f"the profile has no {mapping.subject!r} claim")
    email = claims.get(mapping.email)
    verified = claims.get(mapping.email_verified)
    name = claims.get(mapping.name)
    return Profile(
        subject=str(subject),
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
        name=name.strip() if isinstance(name, str) and name.strip() else None,
    )


def _origin(url: str) -> str:
    parts = httpx2.URL(url)
    return f"{parts.scheme}://{parts.host}:{parts.port or ''}".rstrip(":")


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
