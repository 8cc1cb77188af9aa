"""GitHub sign-in: the built-in ``github`` provider profile against a loopback server speaking GitHub's
documented OAuth and REST responses (``/login/oauth/*``, ``GET /user``, ``GET /user/emails``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.graphql_client import GraphQLClient
from tests.oidc.flow import authorize, follow_callback
from tests.oidc.serving import serving_app
from tests.oidc.standins import CLIENT_ID, CLIENT_SECRET, GitHubStandIn

FRONT = "http://front.test"
EXCHANGE = """mutation($input: ExchangeOAuthCodeInput!) {
  exchangeOAuthCode(input: $input) { token user { id email name } } }"""


@pytest.fixture
def github() -> Iterator[tuple[GitHubStandIn, str]]:
    stand_in = GitHubStandIn()
    with serving_app(stand_in.app) as url:
        yield stand_in, url


@pytest.fixture
def settings(settings: Settings, github: tuple[GitHubStandIn, str]) -> Settings:
    _, url = github
    provider = {
        "id": "github",
        "type": "github",
        "displayName": "GitHub",
        "icon": "github",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "authorizeUrl": f"{url}/login/oauth/authorize",
        "tokenUrl": f"{url}/login/oauth/access_token",
        "apiUrl": url,
    }
    return settings.model_copy(
        update={
            "frontend_url": FRONT,
            "egress_allow_loopback": True,
            "auth_providers": SecretStr(json.dumps([provider])),
        }
    )


async def _sign_in(live_server: str) -> str:
    start = await authorize(live_server, "github")
    async with httpx.AsyncClient(timeout=30) as http:
        callback = (await http.get(start)).headers["location"]
    return await follow_callback(callback)


async def test_the_primary_verified_address_signs_in(live_server: str, gql: GraphQLClient) -> None:
    landing = await _sign_in(live_server)
    assert landing.startswith(f"{FRONT}/auth/callback?code=")
    data = await gql.ok(EXCHANGE, {"input": {"code": httpx.URL(landing).params["code"]}})
    user = data["exchangeOAuthCode"]["user"]
    assert user["email"] == "octocat@github.com"
    assert user["name"] == "The Octocat"
    me = await gql.ok("query { me { id } }", token=data["exchangeOAuthCode"]["token"])
    assert me["me"]["id"] == user["id"]


async def test_the_login_names_a_user_without_a_name(
    live_server: str, gql: GraphQLClient, github: tuple[GitHubStandIn, str]
) -> None:
    github[0].user["name"] = None
    landing = await _sign_in(live_server)
    data = await gql.ok(EXCHANGE, {"input": {"code": httpx.URL(landing).params["code"]}})
    assert data["exchangeOAuthCode"]["user"]["name"] == "octocat"


async def test_no_verified_primary_address_is_refused(
    live_server: str, github: tuple[GitHubStandIn, str]
) -> None:
    stand_in, _ = github
    stand_in.user["email"] = "octocat@github.com"  # public, but GitHub does not say it is verified
    stand_in.emails = [
        {"email": "octocat@github.com", "verified": False, "primary": True, "visibility": "public"}
    ]
    assert await _sign_in(live_server) == f"{FRONT}/login?error=email_unverified"


async def test_a_refused_api_call_is_reported(live_server: str, github: tuple[GitHubStandIn, str]) -> None:
    github[0].revoked = True  # /user answers 401
    assert await _sign_in(live_server) == f"{FRONT}/login?error=provider_unavailable"


async def test_a_code_github_no_longer_knows_fails_the_exchange(
    live_server: str, github: tuple[GitHubStandIn, str]
) -> None:
    start = await authorize(live_server, "github")
    async with httpx.AsyncClient(timeout=30) as http:
        callback = (await http.get(start)).headers["location"]
    github[0].forget_codes()
    assert await follow_callback(callback) == f"{FRONT}/login?error=exchange_failed"
