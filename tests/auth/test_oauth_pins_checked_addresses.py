"""Every request of a sign-in connects only to the address the egress guard checked for it (DNS rebinding).

The providers are loopback stand-ins reached under names no real resolver knows (``idp.test``,
``github.test``): the guard's resolver is injected and answers 127.0.0.1 (loopback is allowed here), so a
request reaches a stand-in only if it is sent to the checked address — resolving the name again would find
nothing. The stand-ins record the ``Host`` header and the address each request arrived on; over TLS the
certificate names the host only (no IP address), so verification must use the name, not the address.
"""

from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from app.auth.oauth import AuthlibOAuthGateway
from app.auth.oauth_providers import parse_providers
from app.domain.identities import ProviderConfig, SignInFailure
from app.net import EgressGuard, EgressPolicy
from app.ports import OAuthFailed
from tests.clock import FakeClock
from tests.kubeapi.tls import CertificateAuthority
from tests.live import free_port
from tests.oidc.standins import CLIENT_ID, CLIENT_SECRET, GitHubStandIn, IdTokenStandIn

CALLBACK = "https://trellis.example/v1/auth/oauth/standin/callback"


class Rebinding:
    """A resolver whose answers change: ``answers[i]`` to the i-th question, the last one ever after."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [list(a) for a in answers]
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class Recording:
    """Wraps a stand-in: notes each request's ``Host`` header, the address it arrived on, and its path."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode()
            self.seen.append((host, scope["server"][0], scope["path"]))
        await self.app(scope, receive, send)


@contextmanager
def serving(app: Any, port: int, **tls: str) -> Iterator[None]:
    """A real Uvicorn serving ``app`` on 127.0.0.1:``port`` only (TLS with ``ssl_certfile``/``ssl_keyfile``)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **tls)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"stand-in-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the stand-in did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _gateway(resolver: Rebinding, tls: ssl.SSLContext | None = None) -> AuthlibOAuthGateway:
    guard = EgressGuard(EgressPolicy(allow_loopback=True), resolver)
    return AuthlibOAuthGateway(guard=guard, clock=FakeClock(datetime.now(UTC)), timeout_seconds=10, tls=tls)


def _provider(**entry: str) -> ProviderConfig:
    """A provider as ``TRELLIS_AUTH_PROVIDERS`` configures it (with its type's defaults)."""
    (provider,) = parse_providers(
        json.dumps([{"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, **entry}])
    )
    return provider


def _oidc(issuer: str) -> ProviderConfig:
    return _provider(id="standin", type="oidc", displayName="Stand-in", issuer=issuer)


async def _authorize(url: str, port: int) -> str:
    """The browser's visit to the provider's authorization URL (at 127.0.0.1): the code it sends back."""
    parts = urlsplit(url)
    async with httpx.AsyncClient(timeout=10, verify=False) as browser:
        response = await browser.get(parts._replace(netloc=f"127.0.0.1:{port}").geturl())
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def _sign_in(gateway: AuthlibOAuthGateway, provider: ProviderConfig, port: int) -> str | None:
    """authorize → the provider → the code exchange and profile; the subject signed in."""
    verifier, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(16)
    options: dict[str, Any] = {"code_verifier": verifier, "redirect_uri": CALLBACK}
    url = await gateway.authorization_url(provider, state="s", nonce=nonce, **options)
    code = await _authorize(url, port)
    profile = await gateway.profile(provider, code=code, nonce=nonce, **options)
    return profile.subject


@pytest.fixture
def idp() -> Iterator[tuple[IdTokenStandIn, Recording, int]]:
    stand_in, port = IdTokenStandIn(), free_port()
    stand_in.issuer = f"http://idp.test:{port}"
    recording = Recording(stand_in.app)
    with serving(recording, port):
        yield stand_in, recording, port


async def test_every_request_of_an_oidc_sign_in_goes_to_the_checked_address(
    idp: tuple[IdTokenStandIn, Recording, int],
) -> None:
    stand_in, recording, port = idp
    resolver = Rebinding(["127.0.0.1"])
    subject = await _sign_in(_gateway(resolver), _oidc(stand_in.issuer), port)
    assert subject == "stand-in-subject"
    paths = [path for _, _, path in recording.seen if path != "/authorize"]  # the browser's visit aside
    assert paths == ["/.well-known/openid-configuration", "/token", "/jwks", "/userinfo"]
    # Each request was checked once — the name was never resolved again to connect — and arrived at
    # the checked address under its own name.
    assert resolver.asked == ["idp.test"] * 4
    assert {(host, address) for host, address, path in recording.seen if path != "/authorize"} == {
        (f"idp.test:{port}", "127.0.0.1")
    }


async def test_a_name_rebound_after_the_check_is_not_followed(
    idp: tuple[IdTokenStandIn, Recording, int],
) -> None:
    stand_in, recording, port = idp
    # The first answer is allowed; every later one is a private address the policy refuses.
    resolver = Rebinding(["127.0.0.1"], ["10.0.0.7"])
    gateway, provider = _gateway(resolver), _oidc(stand_in.issuer)
    verifier, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(16)
    url = await gateway.authorization_url(
        provider, state="s", code_verifier=verifier, nonce=nonce, redirect_uri=CALLBACK
    )
    # Discovery connected to the address its check saw: the name was asked once, not again to connect.
    assert resolver.asked == ["idp.test"]
    assert recording.seen == [(f"idp.test:{port}", "127.0.0.1", "/.well-known/openid-configuration")]
    code = await _authorize(url, port)
    with pytest.raises(OAuthFailed) as refused:
        await gateway.profile(provider, code=code, code_verifier=verifier, nonce=nonce, redirect_uri=CALLBACK)
    assert refused.value.reason is SignInFailure.EXCHANGE_FAILED
    assert "idp.test resolves to 10.0.0.7, a private address" in refused.value.detail
    assert [path for _, _, path in recording.seen][-1] == "/authorize"  # the token request never left


async def test_an_address_that_refuses_the_connection_is_skipped_for_the_next_checked_one(
    idp: tuple[IdTokenStandIn, Recording, int],
) -> None:
    stand_in, recording, port = idp
    resolver = Rebinding(["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2
    assert await _sign_in(_gateway(resolver), _oidc(stand_in.issuer), port) == "stand-in-subject"
    assert {address for _, address, _ in recording.seen} == {"127.0.0.1"}


async def test_github_api_calls_go_to_the_checked_address() -> None:
    stand_in, port = GitHubStandIn(), free_port()
    recording = Recording(stand_in.app)
    api = f"http://github.test:{port}"
    provider = _provider(
        id="github",
        type="github",
        displayName="GitHub",
        authorizeUrl=f"{api}/login/oauth/authorize",
        tokenUrl=f"{api}/login/oauth/access_token",
        apiUrl=api,
    )
    resolver = Rebinding(["127.0.0.1"])
    with serving(recording, port):
        assert await _sign_in(_gateway(resolver), provider, port) == "583231"
    calls = [(host, address, path) for host, address, path in recording.seen if "authorize" not in path]
    assert calls == [
        (f"github.test:{port}", "127.0.0.1", "/login/oauth/access_token"),
        (f"github.test:{port}", "127.0.0.1", "/user"),
        (f"github.test:{port}", "127.0.0.1", "/user/emails"),
    ]
    assert resolver.asked == ["github.test"] * 3


@pytest.fixture
def ca() -> CertificateAuthority:
    return CertificateAuthority("oauth-test-ca")


@contextmanager
def _tls_idp(
    ca: CertificateAuthority, cert_host: str, tmp_path: Path
) -> Iterator[tuple[IdTokenStandIn, int]]:
    """The OpenID stand-in over TLS, with a certificate naming ``cert_host`` only (no IP address)."""
    stand_in, port = IdTokenStandIn(), free_port()
    stand_in.issuer = f"https://idp.test:{port}"
    cert, key = ca.issue(cert_host, hosts=(cert_host,)).write(tmp_path, "idp")
    with serving(stand_in.app, port, ssl_certfile=str(cert), ssl_keyfile=str(key)):
        yield stand_in, port


async def test_tls_is_verified_against_the_name_while_connecting_to_the_address(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    trusted = ssl.create_default_context(cadata=ca.cert_pem.decode())
    with _tls_idp(ca, "idp.test", tmp_path) as (stand_in, port):
        gateway = _gateway(Rebinding(["127.0.0.1"]), trusted)
        assert await _sign_in(gateway, _oidc(stand_in.issuer), port) == "stand-in-subject"


async def test_a_certificate_for_another_name_is_refused(ca: CertificateAuthority, tmp_path: Path) -> None:
    trusted = ssl.create_default_context(cadata=ca.cert_pem.decode())
    with _tls_idp(ca, "elsewhere.test", tmp_path) as (stand_in, _):
        gateway = _gateway(Rebinding(["127.0.0.1"]), trusted)
        with pytest.raises(OAuthFailed) as refused:
            await gateway.authorization_url(
                _oidc(stand_in.issuer), state="s", code_verifier="v" * 64, nonce="n", redirect_uri=CALLBACK
            )
    assert refused.value.reason is SignInFailure.PROVIDER_UNAVAILABLE
    assert "certificate" in refused.value.detail.lower()
