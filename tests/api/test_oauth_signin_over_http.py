"""OpenID Connect sign-in end to end against a real OpenID provider (the npm ``oidc-provider``, started
once for the module on loopback), driven without a browser: authorize → the provider's login and consent →
callback → the front end's one-time code → ``exchangeOAuthCode`` → ``me``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import free_port
from tests.oidc.flow import authorize, follow_callback, sign_in, to_callback
from tests.oidc.provider import running_provider
from tests.oidc.serving import serving_on

FRONT = "http://front.test"
CLIENT_ID, CLIENT_SECRET = "trellis", "trellis-test-client-secret"
PROVIDERS = ("corp", "corp-only")
ACCOUNTS = {
    "alice": {"email": "alice@example.com", "email_verified": True, "name": "Alice Liddell"},
    "alice-again": {"email": "alice@example.com", "email_verified": True, "name": "Another Alice"},
    "mallory": {"email": "victim@example.com", "email_verified": False, "name": "Mallory"},
    "carol": {"email": "carol@corp.example", "email_verified": True, "name": "Carol"},
}
EXCHANGE = """mutation($input: ExchangeOAuthCodeInput!) {
  exchangeOAuthCode(input: $input) { token expiresAt user { id email name role } } }"""
ME = "query { me { id email name } }"


@pytest.fixture(scope="module")
def trellis_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def issuer(trellis_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [
            f"http://127.0.0.1:{trellis_port}/v1/auth/oauth/{provider}/callback" for provider in PROVIDERS
        ],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with running_provider([client], ACCOUNTS, log) as url:
        yield url


@pytest.fixture
def clock() -> FakeClock:
    """Now, so the provider's id_token times agree with Trellis's clock; tests move it on by hand."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def oidc_settings(settings: Settings, issuer: str) -> Settings:
    def provider(id: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": id,
            "type": "oidc",
            "displayName": "Corp SSO",
            "icon": "keycloak",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "issuer": issuer,
            **extra,
        }

    providers = [provider("corp"), provider("corp-only", allowedEmailDomains=["corp.example"])]
    return settings.model_copy(
        update={
            "frontend_url": FRONT,
            "egress_allow_loopback": True,
            "auth_providers": SecretStr(json.dumps(providers)),
        }
    )


@pytest.fixture
def trellis(oidc_settings: Settings, trellis_port: int, clock: FakeClock) -> Iterator[str]:
    with serving_on(oidc_settings, trellis_port, clock=clock) as url:
        yield url


@pytest.fixture
async def api(trellis: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield GraphQLClient(trellis, http)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_sign_in_end_to_end_then_me(trellis: str, api: GraphQLClient) -> None:
    landing = await sign_in(trellis, "corp", login="alice", redirect="/workflows/42")
    assert landing.url.startswith(f"{FRONT}/auth/callback?")
    assert landing.query["redirect"] == "/workflows/42"
    data = await api.ok(EXCHANGE, {"input": {"code": landing.query["code"]}})
    signed_in = data["exchangeOAuthCode"]
    assert signed_in["user"]["email"] == "alice@example.com"
    assert signed_in["user"]["name"] == "Alice Liddell"
    me = await api.ok(ME, token=signed_in["token"])
    assert me["me"] == {"id": signed_in["user"]["id"], "email": "alice@example.com", "name": "Alice Liddell"}

    # The next sign-in finds the same account through the linked (provider, subject).
    again = await sign_in(trellis, "corp", login="alice")
    second = (await api.ok(EXCHANGE, {"input": {"code": again.query["code"]}}))["exchangeOAuthCode"]
    assert second["user"]["id"] == signed_in["user"]["id"]
    assert second["token"] != signed_in["token"]
    trail = await api.ok(
        'query { auditEvents(filter: {action: "auth.oauth.login"}) { nodes { outcome actorId } } }',
        token=signed_in["token"],  # the first account ever: an administrator
    )
    assert trail["auditEvents"]["nodes"] == [{"outcome": "SUCCESS", "actorId": signed_in["user"]["id"]}] * 2


async def test_the_authorize_redirect_carries_state_pkce_and_nonce(trellis: str, issuer: str) -> None:
    start = await authorize(trellis, "corp")
    params = _query(start)
    assert start.startswith(f"{issuer}/auth?")
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == f"{trellis}/v1/auth/oauth/corp/callback"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43  # base64url of a SHA-256, never the verifier itself
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 16
    assert set(params["scope"].split()) == {"openid", "email", "profile"}


async def test_a_forged_state_is_refused(trellis: str) -> None:
    target = await follow_callback(f"{trellis}/v1/auth/oauth/corp/callback?state=forged&code=whatever")
    assert target == f"{FRONT}/login?error=state_invalid"


async def test_a_replayed_callback_is_refused(trellis: str) -> None:
    callback = await to_callback(await authorize(trellis, "corp"), trellis, login="alice")
    first = await follow_callback(callback)
    assert first.startswith(f"{FRONT}/auth/callback?code=")
    assert await follow_callback(callback) == f"{FRONT}/login?error=state_invalid"


async def test_a_late_callback_is_expired(trellis: str, clock: FakeClock) -> None:
    callback = await to_callback(await authorize(trellis, "corp"), trellis, login="alice")
    clock.advance(seconds=601)
    assert await follow_callback(callback) == f"{FRONT}/login?error=state_expired"


async def test_a_one_time_code_works_once(trellis: str, api: GraphQLClient) -> None:
    landing = await sign_in(trellis, "corp", login="alice")
    await api.ok(EXCHANGE, {"input": {"code": landing.query["code"]}})
    error = await api.error(EXCHANGE, {"input": {"code": landing.query["code"]}})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "unknown, used or expired" in error["message"]


async def test_a_one_time_code_expires_after_30_seconds(
    trellis: str, api: GraphQLClient, clock: FakeClock
) -> None:
    landing = await sign_in(trellis, "corp", login="alice")
    clock.advance(seconds=31)
    error = await api.error(EXCHANGE, {"input": {"code": landing.query["code"]}})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_unverified_email_never_links_to_an_existing_account(
    trellis: str, api: GraphQLClient
) -> None:
    victim = await api.register("victim@example.com", password="the victim's password")
    landing = await sign_in(trellis, "corp", login="mallory")
    assert landing.url == f"{FRONT}/login?error=email_unverified"
    # Not linked: the provider account still cannot get in, and the victim's password still works.
    assert (await sign_in(trellis, "corp", login="mallory")).url == f"{FRONT}/login?error=email_unverified"
    login = await api.ok(
        "mutation($input: LoginInput!) { login(input: $input) { user { id } } }",
        {"input": {"email": "victim@example.com", "password": "the victim's password"}},
    )
    assert login["login"]["user"]["id"] == victim["user"]["id"]
    # Audited, with the reason (the victim is the first account, so an administrator).
    trail = await api.ok(
        'query { auditEvents(filter: {action: "auth.oauth.login"}) '
        "{ nodes { outcome errorCode detail { key value } } } }",
        token=victim["token"],
    )
    events = trail["auditEvents"]["nodes"]
    assert len(events) == 2
    assert all(e["outcome"] == "FAILURE" and e["errorCode"] == "UNAUTHENTICATED" for e in events)
    assert {"key": "reason", "value": "email_unverified"} in events[0]["detail"]
    assert {"key": "provider", "value": "corp"} in events[0]["detail"]


async def test_a_verified_email_links_a_password_account(trellis: str, api: GraphQLClient) -> None:
    existing = await api.register("alice@example.com", password="alice's own password")
    landing = await sign_in(trellis, "corp", login="alice")
    user = (await api.ok(EXCHANGE, {"input": {"code": landing.query["code"]}}))["exchangeOAuthCode"]["user"]
    assert user["id"] == existing["user"]["id"]


async def test_an_email_linked_to_another_provider_account_is_refused(
    trellis: str, api: GraphQLClient
) -> None:
    first = await sign_in(trellis, "corp", login="alice")
    await api.ok(EXCHANGE, {"input": {"code": first.query["code"]}})
    other = await sign_in(trellis, "corp", login="alice-again")
    assert other.url == f"{FRONT}/login?error=email_linked_elsewhere"


async def test_allowed_domains_are_enforced(trellis: str, api: GraphQLClient) -> None:
    refused = await sign_in(trellis, "corp-only", login="alice")
    assert refused.url == f"{FRONT}/login?error=domain_not_allowed"
    allowed = await sign_in(trellis, "corp-only", login="carol")
    user = (await api.ok(EXCHANGE, {"input": {"code": allowed.query["code"]}}))["exchangeOAuthCode"]["user"]
    assert user["email"] == "carol@corp.example"


async def test_unknown_providers_and_foreign_redirects_are_refused(trellis: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        unknown = await http.get(f"{trellis}/v1/auth/oauth/nope/authorize")
        foreign = await http.get(
            f"{trellis}/v1/auth/oauth/corp/authorize", params={"redirect": "https://evil.example/"}
        )
        sneaky = await http.get(
            f"{trellis}/v1/auth/oauth/corp/authorize", params={"redirect": "//evil.example"}
        )
    assert unknown.status_code == 302
    assert unknown.headers["location"] == f"{FRONT}/login?error=provider_unknown"
    assert foreign.headers["location"] == f"{FRONT}/login?error=redirect_invalid"
    assert sneaky.headers["location"] == f"{FRONT}/login?error=redirect_invalid"


async def test_auth_methods_lists_the_providers_without_secrets(api: GraphQLClient) -> None:
    data = await api.ok(
        "query { authMethods { passwordLogin passwordSignup invitationRequired "
        "providers { id displayName icon type } } }"
    )
    methods = data["authMethods"]
    assert methods["passwordLogin"] is True
    assert methods["passwordSignup"] is True
    assert methods["invitationRequired"] is False
    assert methods["providers"] == [
        {"id": "corp", "displayName": "Corp SSO", "icon": "keycloak", "type": "OIDC"},
        {"id": "corp-only", "displayName": "Corp SSO", "icon": "keycloak", "type": "OIDC"},
    ]
    assert CLIENT_SECRET not in json.dumps(data)


async def test_a_disabled_user_cannot_sign_in_or_exchange(trellis: str, api: GraphQLClient) -> None:
    admin = await api.register("admin@example.com")
    first = await sign_in(trellis, "corp", login="alice")
    user = (await api.ok(EXCHANGE, {"input": {"code": first.query["code"]}}))["exchangeOAuthCode"]["user"]
    unexchanged = await sign_in(trellis, "corp", login="alice")
    await api.ok(
        "mutation($input: DisableUserInput!) { disableUser(input: $input) { user { id } } }",
        {"input": {"userId": user["id"]}},
        token=admin["token"],
    )
    assert (await sign_in(trellis, "corp", login="alice")).url == f"{FRONT}/login?error=user_disabled"
    error = await api.error(EXCHANGE, {"input": {"code": unexchanged.query["code"]}})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_invitation_creates_the_account_and_joins_its_workspace_at_once(
    trellis: str, api: GraphQLClient
) -> None:
    owner = await api.register("owner@example.com")
    created = await api.ok(
        'mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }', token=owner["token"]
    )
    workspace = created["createWorkspace"]["workspace"]["id"]
    invited = await api.ok(
        """mutation($input: InviteWorkspaceMemberInput!) { inviteWorkspaceMember(input: $input) { inviteLink } }""",
        {"input": {"workspaceId": workspace, "email": "alice@example.com", "role": "VIEWER"}},
        token=owner["token"],
    )
    token = _query(invited["inviteWorkspaceMember"]["inviteLink"])["token"]
    landing = await sign_in(trellis, "corp", login="alice", invitation=token)
    alice = (await api.ok(EXCHANGE, {"input": {"code": landing.query["code"]}}))["exchangeOAuthCode"]
    mine = await api.ok("query { workspaces { id viewerRole } }", token=alice["token"])
    assert {"id": workspace, "viewerRole": "VIEWER"} in mine["workspaces"]
    listed = await api.ok(
        "query($ws: ID!) { workspaceInvitations(workspaceId: $ws) { email status } }",
        {"ws": workspace},
        token=owner["token"],
    )
    assert listed["workspaceInvitations"] == [{"email": "alice@example.com", "status": "ACCEPTED"}]


class TestInvitationRequired:
    @pytest.fixture
    def oidc_settings(self, oidc_settings: Settings) -> Settings:
        return oidc_settings.model_copy(update={"signup_requires_invitation": True})

    async def test_a_new_account_through_a_provider_needs_an_invitation(self, trellis: str) -> None:
        refused = await sign_in(trellis, "corp", login="alice")
        assert refused.url == f"{FRONT}/login?error=invitation_required"
        forged = await sign_in(trellis, "corp", login="alice", invitation="trl_inv_forged")
        assert forged.url == f"{FRONT}/login?error=invitation_invalid"
