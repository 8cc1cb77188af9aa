"""Sign-up, sign-in, tokens and sessions through the GraphQL endpoint over real HTTP."""

from __future__ import annotations

import base64
import json

import jwt

from tests.clock import FakeClock
from tests.conftest import TEST_JWT_SECRET
from tests.graphql_client import GraphQLClient

ME = "query { me { id email name role } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { token expiresAt user { id email } } }"
REFRESH = "mutation($input: RefreshTokenInput) { refreshToken(input: $input) { token expiresAt } }"
LOGOUT = "mutation { logout { sessionEnded } }"


async def test_first_user_is_admin_and_later_users_are_not(gql: GraphQLClient) -> None:
    first = await gql.register("ada@example.com", name="Ada")
    second = await gql.register("bob@example.com", name="Bob")
    assert first["user"]["role"] == "ADMIN"
    assert second["user"]["role"] == "USER"
    me = await gql.ok(ME, token=second["token"])
    assert me["me"] == {"id": second["user"]["id"], "email": "bob@example.com", "name": "Bob", "role": "USER"}


async def test_login_returns_a_working_token(gql: GraphQLClient) -> None:
    await gql.register("Ada@Example.com", password="a long passphrase")
    data = await gql.ok(LOGIN, {"input": {"email": "ada@example.com", "password": "a long passphrase"}})
    token = data["login"]["token"]
    assert (await gql.ok(ME, token=token))["me"]["email"] == "ada@example.com"
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    claims = jwt.decode(
        token, TEST_JWT_SECRET, algorithms=["HS256"], audience="trellis-api", options={"verify_exp": False}
    )
    assert claims["sid"] and claims["exp"] - claims["iat"] == 24 * 3600


async def test_wrong_password_and_unknown_email_look_the_same(gql: GraphQLClient) -> None:
    await gql.register("ada@example.com", password="a long passphrase")
    wrong = await gql.error(LOGIN, {"input": {"email": "ada@example.com", "password": "not it at all"}})
    unknown = await gql.error(LOGIN, {"input": {"email": "nobody@example.com", "password": "whatever123"}})
    assert wrong["extensions"]["code"] == unknown["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong["message"] == unknown["message"]


async def test_operations_need_a_token(gql: GraphQLClient) -> None:
    error = await gql.error(ME)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in error["message"]


async def test_expired_token_is_refused(gql: GraphQLClient, clock: FakeClock) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    clock.advance(hours=24, seconds=1)
    error = await gql.error(ME, token=token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in error["message"]


async def test_forged_token_is_refused(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    claims = jwt.decode(
        token, TEST_JWT_SECRET, algorithms=["HS256"], audience="trellis-api", options={"verify_exp": False}
    )
    forged = jwt.encode(
        {**claims, "sub": "someone-else"}, "another-secret-of-sufficient-length!!", algorithm="HS256"
    )
    error = await gql.error(ME, token=forged)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "signature" in error["message"]


async def test_alg_none_token_is_refused(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    claims = jwt.decode(
        token, TEST_JWT_SECRET, algorithms=["HS256"], audience="trellis-api", options={"verify_exp": False}
    )

    def b64(part: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    error = await gql.error(ME, token=unsigned)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_garbage_token_is_refused(gql: GraphQLClient) -> None:
    error = await gql.error(ME, token="not-a-jwt")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_logout_ends_the_session_at_once(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    await gql.ok(ME, token=token)
    assert (await gql.ok(LOGOUT, token=token))["logout"]["sessionEnded"] is True
    error = await gql.error(ME, token=token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    refused = await gql.error(REFRESH, {"input": {"token": token}})
    assert refused["extensions"]["code"] == "UNAUTHENTICATED"


async def test_logout_leaves_other_sessions_alone(gql: GraphQLClient) -> None:
    first = (await gql.register("ada@example.com", password="a long passphrase"))["token"]
    second = (await gql.ok(LOGIN, {"input": {"email": "ada@example.com", "password": "a long passphrase"}}))[
        "login"
    ]["token"]
    await gql.ok(LOGOUT, token=first)
    assert (await gql.ok(ME, token=second))["me"]["email"] == "ada@example.com"


async def test_refresh_works_after_expiry_within_seven_days(gql: GraphQLClient, clock: FakeClock) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    clock.advance(days=3)
    assert (await gql.error(ME, token=token))["extensions"]["code"] == "UNAUTHENTICATED"
    fresh = (await gql.ok(REFRESH, {"input": {"token": token}}))["refreshToken"]["token"]
    assert (await gql.ok(ME, token=fresh))["me"]["email"] == "ada@example.com"
    # the header form works too, with a still-valid token
    again = (await gql.ok(REFRESH, {}, token=fresh))["refreshToken"]["token"]
    assert (await gql.ok(ME, token=again))["me"]["email"] == "ada@example.com"


async def test_refresh_is_refused_once_the_login_is_seven_days_old(
    gql: GraphQLClient, clock: FakeClock
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    clock.advance(days=6)
    fresh = (await gql.ok(REFRESH, {"input": {"token": token}}))["refreshToken"]["token"]
    clock.advance(days=1, seconds=1)
    error = await gql.error(REFRESH, {"input": {"token": fresh}})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "too old" in error["message"]


async def test_registration_checks_its_fields(gql: GraphQLClient) -> None:
    error = await gql.error(
        "mutation($input: RegisterInput!) { register(input: $input) { token } }",
        {"input": {"email": "not-an-email", "password": "short", "name": " "}},
    )
    assert error["extensions"]["code"] == "BAD_INPUT"
    paths = {f["path"] for f in error["extensions"]["fields"]}
    assert paths == {"email", "password", "name"}


async def test_an_email_registers_once_in_any_case(gql: GraphQLClient) -> None:
    await gql.register("ada@example.com")
    error = await gql.error(
        "mutation($input: RegisterInput!) { register(input: $input) { token } }",
        {"input": {"email": "ADA@example.com", "password": "another passphrase", "name": "Imposter"}},
    )
    assert error["extensions"]["code"] == "CONFLICT"
