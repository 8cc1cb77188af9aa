"""`trellis login` keeps a session per server in a private file; the API commands use it (or
TRELLIS_TOKEN, a login token or a personal API token); `trellis logout` ends it. Failures end with the
documented exit codes."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Trellis
from tests.graphql_client import GraphQLClient
from tests.live import free_port

PASSWORD = "correct horse battery"
WORKSPACES = "query { workspaces { id personal } }"
CREATE = (
    """mutation($n: String!) { createWorkflow(input: {name: $n, namespace: "shop"}) { workflow { id } } }"""
)
API_TOKEN = """mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { token } }"""


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


async def test_login_keeps_a_private_session_used_by_workflows_list_and_show(
    gql: GraphQLClient,
    live_server: str,
    trellis: Trellis,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = (await gql.register("ada@example.com", PASSWORD))["token"]
    shop = (await gql.ok(CREATE, {"n": "shop"}, token=token))["createWorkflow"]["workflow"]["id"]
    await gql.ok(CREATE, {"n": "blog"}, token=token)

    _stdin(monkeypatch, PASSWORD + "\n")
    login = await trellis(
        "login", "--url", live_server + "/", "--email", "ada@example.com", "--password-stdin"
    )
    assert login.code == 0, login.err
    assert f"signed in to {live_server} as ada@example.com" in login.out
    path = config_home / "trellis" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["servers"][live_server]
    assert stored["email"] == "ada@example.com"
    assert stored["token"] not in login.out + login.err

    listing = await trellis("workflows", "list", "--url", live_server)
    assert listing.code == 0, listing.err
    header, *rows = listing.out.splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "NAMESPACE", "UPDATED"]
    assert sorted(row.split()[1] for row in rows) == ["blog", "shop"]

    monkeypatch.setenv("TRELLIS_URL", live_server)
    as_json = await trellis("workflows", "list", "--output", "json")
    assert as_json.code == 0
    assert {w["name"]: w["status"] for w in as_json.json()} == {"shop": "DRAFT", "blog": "DRAFT"}

    shown = await trellis("workflows", "show", shop, "--output", "json")
    assert shown.code == 0
    assert shown.json()["id"] == shop
    assert shown.json()["namespace"] == "shop"
    assert shown.json()["nodes"] == []
    text = await trellis("workflows", "show", shop)
    assert "name: shop" in text.out and "no nodes" in text.out

    logout = await trellis("logout")
    assert logout.code == 0
    assert f"signed out of {live_server}" in logout.out
    assert json.loads(path.read_text())["servers"] == {}
    me = await gql.error("query { me { email } }", token=stored["token"])
    assert me["extensions"]["code"] == "UNAUTHENTICATED"  # the session ended on the server too
    after = await trellis("workflows", "list")
    assert after.code == 3
    assert "not signed in" in after.err and "trellis login" in after.err


async def test_a_wrong_password_stores_nothing(
    gql: GraphQLClient,
    live_server: str,
    trellis: Trellis,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await gql.register("ada@example.com", PASSWORD)
    _stdin(monkeypatch, "not the password\n")
    result = await trellis("login", "--url", live_server, "--email", "ada@example.com", "--password-stdin")
    assert result.code == 3
    assert "UNAUTHENTICATED" in result.err
    assert not (config_home / "trellis" / "credentials.json").exists()


async def test_a_personal_api_token_in_trellis_token_works(
    gql: GraphQLClient, live_server: str, trellis: Trellis, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    workspace = next(w["id"] for w in (await gql.ok(WORKSPACES, token=token))["workspaces"] if w["personal"])
    await gql.ok(CREATE, {"n": "shop"}, token=token)
    data = await gql.ok(
        API_TOKEN, {"i": {"name": "ci", "workspaceId": workspace, "role": "VIEWER"}}, token=token
    )
    api_token = data["createApiToken"]["token"]
    assert api_token.startswith("trl_")
    monkeypatch.setenv("TRELLIS_TOKEN", api_token)
    result = await trellis(
        "workflows", "list", "--url", live_server, "--workspace", workspace, "--output", "json"
    )
    assert result.code == 0, result.err
    assert [w["name"] for w in result.json()] == ["shop"]


async def test_exit_codes_say_what_went_wrong(
    gql: GraphQLClient, live_server: str, trellis: Trellis, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = (await gql.register("ada@example.com"))["token"]

    nobody = await trellis("workflows", "list", "--url", live_server)
    assert (nobody.code, nobody.out) == (3, "")

    monkeypatch.setenv("TRELLIS_TOKEN", "forged")
    forged = await trellis("workflows", "list", "--url", live_server, "--output", "json")
    assert (forged.code, forged.out) == (3, "")
    assert "UNAUTHENTICATED" in forged.err
    refused = await trellis("workflows", "status", "any", "--health", "--url", live_server)
    assert refused.code == 3  # the WebSocket closed with 4403 before connection_ack

    monkeypatch.setenv("TRELLIS_TOKEN", token)
    missing = await trellis("workflows", "show", "no-such-workflow", "--url", live_server)
    assert missing.code == 4
    assert "NOT_FOUND" in missing.err

    unreachable = await trellis("workflows", "list", "--url", f"http://127.0.0.1:{free_port()}")
    assert unreachable.code == 5
    assert "cannot reach Trellis" in unreachable.err

    with pytest.raises(SystemExit) as usage:
        await trellis("workflows", "list", "--output", "yaml")
    assert usage.value.code == 2


async def test_a_session_ended_elsewhere_asks_to_sign_in_again(
    gql: GraphQLClient,
    live_server: str,
    trellis: Trellis,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await gql.register("ada@example.com", PASSWORD)
    _stdin(monkeypatch, "ada@example.com\n" + PASSWORD + "\n")  # no --email: asked on stderr, read from stdin
    login = await trellis("login", "--url", live_server, "--password-stdin", "--output", "json")
    assert login.code == 0, login.err
    assert login.json() == {
        "url": live_server,
        "email": "ada@example.com",
        "expiresAt": login.json()["expiresAt"],
    }
    assert "e-mail: " in login.err
    kept = await trellis("workflows", "list", "--url", live_server, "--output", "json")
    assert (kept.code, kept.json()) == (0, [])
    credentials = json.loads((config_home / "trellis" / "credentials.json").read_text())
    await gql.ok("mutation { logout { sessionEnded } }", token=credentials["servers"][live_server]["token"])
    ended = await trellis("workflows", "list", "--url", live_server)
    assert ended.code == 3
    assert "sign in again with `trellis login" in ended.err
