"""``HttpRegistryClient``: the registry adapter behind the ``RegistryClient`` port."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app import errors
from app.domain.registries import (
    GCR_TOKEN_USERNAME,
    Handshake,
    PullAuth,
    RegistryAccess,
    RegistryProblem,
    RegistryStatus,
    RegistryType,
    parse_service_account_key,
    static_pull_auth,
)
from app.net import EgressGuard
from app.ports import Clock
from app.registry.clouds import azure_refresh_token, ecr_authorization, google_access_token
from app.registry.handshake import Login, handshake
from app.registry.transport import GuardedHttp, Refused, RegistryFailure, Unreachable, tls_context

DEFAULT_ECR_ENDPOINT = "https://api.ecr.{region}.amazonaws.com/"
DEFAULT_GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_AZURE_AUTHORITY = "https://login.microsoftonline.com"


@dataclass(frozen=True, slots=True)
class RegistryEndpoints:
    """Where the cloud token services are (settings override them, e.g. to loopback servers in tests)."""

    ecr: str = DEFAULT_ECR_ENDPOINT  # ``{region}`` is replaced by the credentials' region
    google_token: str = DEFAULT_GOOGLE_TOKEN_URL
    azure_authority: str = DEFAULT_AZURE_AUTHORITY


class HttpRegistryClient:
    """Talks to registries and cloud token services over HTTPS (plain HTTP only for an insecure GENERIC
    registry), every request through the egress guard."""

    def __init__(
        self,
        *,
        guard: EgressGuard,
        clock: Clock,
        endpoints: RegistryEndpoints,
        timeout_seconds: float,
        ca_file: Path | None = None,
    ) -> None:
        self._guard = guard
        self._clock = clock
        self._endpoints = endpoints
        self._timeout = timeout_seconds
        self._tls = tls_context(ca_file)

    def _http(self) -> GuardedHttp:
        return GuardedHttp(self._guard, timeout_seconds=self._timeout, tls=self._tls)

    async def handshake(self, access: RegistryAccess) -> Handshake:
        """Exchange the credentials where the cloud wants it, then run the ``/v2/`` handshake."""
        async with self._http() as http:
            try:
                login = await self._login(http, access)
            except Refused as exc:
                return Handshake(RegistryStatus.UNAUTHORIZED, exc.reason)
            except Unreachable as exc:
                return Handshake(RegistryStatus.UNREACHABLE, exc.reason)
            return await handshake(http, access.url, login, allow_http=access.insecure)

    async def pull_auth(self, access: RegistryAccess) -> PullAuth | None:
        """What a container runtime pulls with (None: anonymous). ``Unavailable`` with the reason when
        an exchange fails (ECR unreachable, or refusing the keys)."""
        static = static_pull_auth(access.type, access.credentials)
        if static is not None or access.type is not RegistryType.ECR:
            return static
        async with self._http() as http:
            try:
                return await ecr_authorization(
                    http, access.credentials, endpoint_template=self._endpoints.ecr, at=self._clock.now()
                )
            except RegistryFailure as exc:
                raise errors.Unavailable(exc.reason) from exc

    async def _login(self, http: GuardedHttp, access: RegistryAccess) -> Login:
        credentials = access.credentials
        if access.type is RegistryType.ECR:
            auth = await ecr_authorization(
                http, credentials, endpoint_template=self._endpoints.ecr, at=self._clock.now()
            )
            return Login(basic=(auth.username, auth.password))
        if access.type is RegistryType.GCR:
            try:
                key = parse_service_account_key(credentials.service_account_json or "")
            except RegistryProblem as exc:
                raise Refused(str(exc)) from exc
            token = await google_access_token(
                http, key, token_url=self._endpoints.google_token, at=self._clock.now()
            )
            return Login(basic=(GCR_TOKEN_USERNAME, token))
        if access.type is RegistryType.ACR and credentials.service_principal:
            refresh = await azure_refresh_token(
                http, credentials, registry_url=access.url, authority=self._endpoints.azure_authority
            )
            return Login(refresh_token=refresh)
        if credentials.username and credentials.password:
            return Login(basic=(credentials.username, credentials.password))
        return Login()
