"""The id_token of an OpenID sign-in is verified — signature, issuer, audience, expiry, nonce — against a
loopback provider stand-in that can hand out wrong ones on purpose (the real provider never would)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.oidc.flow import authorize, follow_callback
from tests.oidc.serving import serving_app
from tests.oidc.standins import CLIENT_ID, CLIENT_SECRET, IdTokenStandIn

FRONT = "http://front.test"
EXCHANGE = "mutation($input: ExchangeOAuthCodeInput!) { exchangeOAuthCode(input: $input) { user { email } } }"


@pytest.fixture
def idp() -> Iterator[IdTokenStandIn]:
    stand_in = IdTokenStandIn()
    with serving_app(stand_in.app) as url:
        stand_in.issuer = url
        yield stand_in


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def settings(settings: Settings, idp: IdTokenStandIn) -> Settings:
    provider = {
        "id": "standin",
        "type": "oidc",
        "displayName": "Stand-in",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "issuer": idp.issuer,
    }
    return settings.model_copy(
        update={
            "frontend_url": FRONT,
            "egress_allow_loopback": True,
            "auth_providers": SecretStr(json.dumps([provider])),
        }
    )


async def _sign_in(live_server: str) -> str:
    start = await authorize(live_server, "standin")
    async with httpx.AsyncClient(timeout=30) as http:
        callback = (await http.get(start)).headers["location"]
    return await follow_callback(callback)


async def test_a_correct_id_token_signs_in(live_server: str, gql: GraphQLClient) -> None:
    landing = await _sign_in(live_server)
    assert landing.startswith(f"{FRONT}/auth/callback?code=")
    code = httpx.URL(landing).params["code"]
    data = await gql.ok(EXCHANGE, {"input": {"code": code}})
    assert data["exchangeOAuthCode"]["user"]["email"] == "dana@example.com"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "another-client"}, id="wrong-audience"),
        pytest.param({"aud": ["another-client", CLIENT_ID], "azp": "another-client"}, id="another-azp"),
        pytest.param({"iss": "https://elsewhere.example"}, id="wrong-issuer"),
        pytest.param({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, id="expired"),
        pytest.param({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, id="issued-later"),
        pytest.param({"nonce": "not-the-one-sent"}, id="wrong-nonce"),
        pytest.param({"nonce": None}, id="no-nonce"),
    ],
)
async def test_a_wrong_id_token_is_refused(
    live_server: str, idp: IdTokenStandIn, claims: dict[str, Any]
) -> None:
    idp.claims = claims
    assert await _sign_in(live_server) == f"{FRONT}/login?error=id_token_invalid"


async def test_a_tampered_id_token_is_refused(live_server: str, idp: IdTokenStandIn) -> None:
    idp.tamper = True
    assert await _sign_in(live_server) == f"{FRONT}/login?error=id_token_invalid"


async def test_a_rotated_signing_key_is_fetched_again(live_server: str, idp: IdTokenStandIn) -> None:
    assert (await _sign_in(live_server)).startswith(f"{FRONT}/auth/callback?code=")  # key set now cached
    idp.key = type(idp.key).generate_key(2048, parameters={"kid": "stand-in-1"}, private=True)
    # The cached key no longer verifies: the key set is read again once, and the new key does.
    assert (await _sign_in(live_server)).startswith(f"{FRONT}/auth/callback?code=")
