"""The sign-up policy of e-mail/password accounts (disabled, restricted to domains, invitation only) and the
check of ``TRELLIS_AUTH_PROVIDERS`` at start."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from app.settings import Settings
from tests.graphql_client import GraphQLClient

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) { user { email } } }"""
METHODS = "query { authMethods { passwordLogin passwordSignup invitationRequired providers { id } } }"


def _input(email: str, **extra: Any) -> dict[str, Any]:
    return {"input": {"email": email, "password": "correct horse battery", "name": "Someone", **extra}}


class TestSignupDisabled:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"signup_enabled": False})

    async def test_register_is_refused_and_auth_methods_says_so(self, gql: GraphQLClient) -> None:
        error = await gql.error(REGISTER, _input("ada@example.com"))
        assert error["extensions"]["code"] == "FORBIDDEN"
        methods = (await gql.ok(METHODS))["authMethods"]
        assert methods == {
            "passwordLogin": True,
            "passwordSignup": False,
            "invitationRequired": False,
            "providers": [],
        }


class TestPasswordLoginDisabled:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"password_login_enabled": False})

    async def test_login_and_register_are_refused(self, gql: GraphQLClient) -> None:
        login = await gql.error(
            'mutation { login(input: {email: "a@example.com", password: "whatever"}) { token } }'
        )
        assert login["extensions"]["code"] == "FORBIDDEN"
        assert (await gql.error(REGISTER, _input("ada@example.com")))["extensions"]["code"] == "FORBIDDEN"
        assert (await gql.ok(METHODS))["authMethods"]["passwordSignup"] is False


class TestSignupDomains:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"signup_allowed_domains": ["example.com"]})

    async def test_only_allowed_domains_register(self, gql: GraphQLClient) -> None:
        error = await gql.error(REGISTER, _input("eve@elsewhere.example"))
        assert error["extensions"]["code"] == "BAD_INPUT"
        assert error["extensions"]["fields"][0]["path"] == "email"
        data = await gql.ok(REGISTER, _input("Ada@Example.com"))
        assert data["register"]["user"]["email"] == "ada@example.com"


class TestSignupByInvitation:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"signup_requires_invitation": True})

    async def test_register_needs_a_valid_invitation_for_the_address(self, gql: GraphQLClient) -> None:
        missing = await gql.error(REGISTER, _input("ada@example.com"))
        assert missing["extensions"]["code"] == "BAD_INPUT"
        assert missing["extensions"]["reason"] == "INVITATION_REQUIRED"
        assert missing["extensions"]["fields"][0]["path"] == "invitationToken"
        forged = await gql.error(REGISTER, _input("ada@example.com", invitationToken="trl_inv_forged"))
        assert forged["extensions"]["code"] == "BAD_INPUT"
        assert (await gql.ok(METHODS))["authMethods"]["invitationRequired"] is True


async def test_an_invitation_lets_a_new_account_in_and_joins_its_workspace(
    settings: Settings, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    owner = await gql.register("owner@example.com")
    created = await gql.ok(
        'mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }', token=owner["token"]
    )
    workspace_id = created["createWorkspace"]["workspace"]["id"]
    invited = await gql.ok(
        """mutation($input: InviteWorkspaceMemberInput!) { inviteWorkspaceMember(input: $input) { inviteLink } }""",
        {"input": {"workspaceId": workspace_id, "email": "new@example.com", "role": "EDITOR"}},
        token=owner["token"],
    )
    token = httpx.URL(invited["inviteWorkspaceMember"]["inviteLink"]).params["token"]
    wrong = await gql.error(REGISTER, _input("other@example.com", invitationToken=token))
    assert wrong["extensions"]["code"] == "BAD_INPUT"
    data = await gql.ok(
        "mutation($input: RegisterInput!) { register(input: $input) { token user { email } } }",
        _input("new@example.com", invitationToken=token),
    )
    mine = await gql.ok("query { workspaces { id viewerRole } }", token=data["register"]["token"])
    assert {"id": workspace_id, "viewerRole": "EDITOR"} in mine["workspaces"]
    again = await gql.error(REGISTER, _input("new2@example.com", invitationToken=token))
    assert again["extensions"]["code"] == "BAD_INPUT"


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        ("not json", "is not valid JSON"),
        ('{"id": "x"}', "must be a JSON list"),
        (
            [{"id": "x", "type": "oidc", "displayName": "X", "clientId": "c", "clientSecret": "hush-hush"}],
            "needs issuer",
        ),
        (
            [{"id": "x", "type": "oauth2", "displayName": "X", "clientId": "c", "clientSecret": "hush-hush"}],
            "needs authorizeUrl, tokenUrl, userinfoUrl",
        ),
        (
            [
                {
                    "id": "gh",
                    "type": "github",
                    "displayName": "G",
                    "clientId": "c",
                    "clientSecret": "hush-hush",
                },
                {
                    "id": "gh",
                    "type": "github",
                    "displayName": "H",
                    "clientId": "d",
                    "clientSecret": "hush-hush",
                },
            ],
            "must be unique",
        ),
        (
            [
                {
                    "id": "Bad Id",
                    "type": "github",
                    "displayName": "G",
                    "clientId": "c",
                    "clientSecret": "hush-hush",
                }
            ],
            "id",
        ),
        (
            [{"id": "gh", "type": "saml", "displayName": "G", "clientId": "c", "clientSecret": "hush-hush"}],
            "type",
        ),
    ],
)
def test_bad_provider_settings_stop_the_start_with_a_clear_message(providers: Any, message: str) -> None:
    text = providers if isinstance(providers, str) else json.dumps(providers)
    with pytest.raises(ValidationError) as caught:
        Settings(auth_providers=text)  # type: ignore[arg-type]
    assert "TRELLIS_AUTH_PROVIDERS" in str(caught.value)
    assert message in str(caught.value)
    assert "hush-hush" not in str(caught.value)


def test_github_providers_get_githubs_endpoints_and_scopes() -> None:
    provider = {
        "id": "gh",
        "type": "github",
        "displayName": "GitHub",
        "clientId": "c",
        "clientSecret": "hush-hush",
    }
    (github,) = Settings(auth_providers=json.dumps([provider])).providers  # type: ignore[arg-type]
    assert github.authorize_url == "https://github.com/login/oauth/authorize"
    assert github.token_url == "https://github.com/login/oauth/access_token"
    assert github.api_url == "https://api.github.com"
    assert github.scopes == ("read:user", "user:email")
    assert github.client_secret == "hush-hush"
    assert "hush-hush" not in repr(github)
