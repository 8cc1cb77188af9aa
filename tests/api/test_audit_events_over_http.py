"""`auditEvents`: who did what, from where and how it ended — for owners (their workspace) and admins (all);
filtered, paged newest first; never a secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiosqlite
import httpx
import pytest
import websockets

from app.settings import Settings
from tests.api.canvas import node
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

EVENTS = """query($ws: ID, $filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id at action actorId actor { email } targetType targetId workspaceId outcome errorCode
            address userAgent detail { key value } } } }"""
WORKSPACES = "query { workspaces { id personal } }"
CREATE_WS = 'mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }'
ADD = """mutation($ws: ID!, $email: String!, $role: MemberRole!) {
  addWorkspaceMember(input: {workspaceId: $ws, email: $email, role: $role}) { member { role } } }"""
CREATE_WF = """mutation($ws: ID, $name: String!) {
  createWorkflow(input: {name: $name, workspaceId: $ws}) { workflow { id revision } } }"""
PUBLISH = "mutation($id: ID!) { updateWorkflow(input: {id: $id, status: PUBLISHED}) { workflow { id } } }"
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { token } }"


async def events(gql: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    data: dict[str, Any] = (await gql.ok(EVENTS, variables, token=token))["auditEvents"]
    return data


async def personal(gql: GraphQLClient, token: str) -> str:
    return str(next(w["id"] for w in (await gql.ok(WORKSPACES, token=token))["workspaces"] if w["personal"]))


async def test_owners_read_their_workspace_admins_read_everything(gql: GraphQLClient) -> None:
    admin = (await gql.register("ada@example.com"))["token"]  # the first account is the administrator
    owner = (await gql.register("bob@example.com"))["token"]
    viewer = (await gql.register("cy@example.com"))["token"]
    team = (await gql.ok(CREATE_WS, token=owner))["createWorkspace"]["workspace"]["id"]
    await gql.ok(ADD, {"ws": team, "email": "cy@example.com", "role": "VIEWER"}, token=owner)
    wf = (await gql.ok(CREATE_WF, {"ws": team, "name": "shop"}, token=owner))["createWorkflow"]["workflow"][
        "id"
    ]
    refused = await gql.error(PUBLISH, {"id": wf}, token=viewer)
    assert refused["extensions"]["code"] == "FORBIDDEN"
    await gql.error(LOGIN, {"input": {"email": "bob@example.com", "password": "not the password"}})
    await gql.error(LOGIN, {"input": {"email": "eve@elsewhere.example", "password": "guess"}})

    trail = await events(gql, owner, ws=team)
    got = [(e["action"], e["outcome"], e["actor"]["email"], e["errorCode"]) for e in trail["nodes"]]
    assert got == [
        ("workflow.update", "FAILURE", "cy@example.com", "FORBIDDEN"),
        ("workflow.create", "SUCCESS", "bob@example.com", None),
        ("workspace.member.add", "SUCCESS", "bob@example.com", None),
        ("workspace.create", "SUCCESS", "bob@example.com", None),
    ]
    assert trail["totalCount"] == 4 and not trail["pageInfo"]["hasNextPage"]
    first = trail["nodes"][0]
    assert first["targetType"] == "workflow" and first["targetId"] == wf and first["workspaceId"] == team
    assert first["address"] == "127.0.0.1"
    assert first["userAgent"].startswith("python-httpx/")
    member_add = trail["nodes"][2]
    assert {d["key"]: d["value"] for d in member_add["detail"]}["role"] == "VIEWER"

    # a viewer and an editor are refused; another tenant's workspace does not exist for them
    for token in (viewer,):
        denied = await gql.error(EVENTS, {"ws": team}, token=token)
        assert denied["extensions"]["code"] == "FORBIDDEN"
    everything = await gql.error(EVENTS, {}, token=owner)
    assert everything["extensions"]["code"] == "FORBIDDEN"
    hidden = await gql.error(EVENTS, {"ws": await personal(gql, admin)}, token=owner)
    assert hidden["extensions"]["code"] == "NOT_FOUND"
    unknown = await gql.error(EVENTS, {"ws": "no-such-workspace"}, token=admin)
    assert unknown["extensions"]["code"] == "NOT_FOUND"

    # the administrator reads any workspace, and the whole trail with sign-ins
    assert [e["id"] for e in (await events(gql, admin, ws=team))["nodes"]] == [
        e["id"] for e in trail["nodes"]
    ]
    sign_ins = await events(gql, admin, filter={"action": "auth.login"})
    assert [(e["outcome"], e["actorId"], e["workspaceId"]) for e in sign_ins["nodes"]] == [
        ("FAILURE", None, None),
        ("FAILURE", None, None),
    ]
    details = [{d["key"]: d["value"] for d in e["detail"]} for e in sign_ins["nodes"]]
    assert details == [
        {"reason": "unknown account", "emailDomain": "elsewhere.example"},
        {"reason": "wrong password"},
    ]
    assert "eve@elsewhere.example" not in json.dumps(sign_ins)
    registered = await events(gql, admin, filter={"action": "auth.", "outcome": "SUCCESS"})
    assert [e["actor"]["email"] for e in registered["nodes"]] == [
        "cy@example.com",
        "bob@example.com",
        "ada@example.com",
    ]
    by_cy = await events(gql, admin, filter={"actorId": first["actorId"]})
    assert {e["action"] for e in by_cy["nodes"]} == {"auth.register", "workflow.update"}
    on_wf = await events(gql, admin, filter={"targetType": "workflow", "targetId": wf})
    assert [e["action"] for e in on_wf["nodes"]] == ["workflow.update", "workflow.create"]


async def test_pages_newest_first_and_filters_by_time(gql: GraphQLClient, clock: FakeClock) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal(gql, token)
    names = [f"wf-{i}" for i in range(5)]
    for name in names:
        clock.advance(seconds=60)
        await gql.ok(CREATE_WF, {"ws": ws, "name": name}, token=token)

    seen: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        page = await events(gql, token, ws=ws, filter={"action": "workflow."}, first=2, after=after)
        assert page["totalCount"] == 5
        seen += page["nodes"]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)
    assert len({e["id"] for e in seen}) == 5

    middle = await events(gql, token, ws=ws, filter={"from": seen[3]["at"], "to": seen[1]["at"]})
    assert [e["id"] for e in middle["nodes"]] == [seen[2]["id"], seen[3]["id"]]

    bad_cursor = await gql.error(EVENTS, {"ws": ws, "after": "not-a-cursor"}, token=token)
    too_many = await gql.error(EVENTS, {"ws": ws, "first": 1000}, token=token)
    backwards = await gql.error(
        EVENTS, {"ws": ws, "filter": {"from": seen[1]["at"], "to": seen[3]["at"]}}, token=token
    )
    for error, path in ((bad_cursor, "after"), (too_many, "first"), (backwards, "filter.to")):
        assert error["extensions"]["code"] == "BAD_INPUT"
        assert error["extensions"]["fields"][0]["path"] == path
    unauthenticated = await gql.error(EVENTS, {"ws": ws})
    assert unauthenticated["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_forwarded_address_counts_only_from_a_trusted_proxy(
    settings: Settings, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    agent = "audit-test/1.0 " + "x" * 400
    spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "User-Agent": agent}
    # Trusted: the loopback test client stands for the proxy; the hop before it is the client.
    trusting = settings.model_copy(
        update={
            "trusted_proxies": ["127.0.0.0/8", "203.0.113.0/24"],
            "data_dir": settings.data_dir / "proxied",
        }
    )
    for current, expected in ((settings, "127.0.0.1"), (trusting, "198.51.100.1")):
        with serving(current, clock=clock) as url:
            response = await http.post(
                f"{url}/graphql",
                json={
                    "query": "mutation($i: RegisterInput!) { register(input: $i) { token } }",
                    "variables": {
                        "i": {"email": "ada@example.com", "password": "a long password", "name": "A"}
                    },
                },
                headers=spoofed,
            )
            token = response.json()["data"]["register"]["token"]
            entry = (await events(GraphQLClient(url, http), token))["nodes"][0]
        assert entry["action"] == "auth.register"
        assert entry["address"] == expected
        assert entry["userAgent"] == agent[:256]


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, trusted_proxies="10.0.0.1, 10.1.0.0/16").trusted_proxies == [  # type: ignore[arg-type]
        "10.0.0.1",
        "10.1.0.0/16",
    ]
    with pytest.raises(ValueError, match="TRELLIS_TRUSTED_PROXIES"):
        Settings(data_dir=tmp_path, trusted_proxies="proxy.example")  # type: ignore[arg-type]


async def test_a_refused_exec_ticket_is_audited(gql: GraphQLClient, live_server: str) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    url = live_server.replace("http://", "ws://") + "/v1/api/exec?ticket=made-up"
    async with websockets.connect(url) as socket:
        said = json.loads(await socket.recv())
        await socket.wait_closed()
    assert said["type"] == "error" and socket.close_code == 4401

    entry = (await events(gql, token, filter={"action": "exec."}))["nodes"][0]
    assert (entry["action"], entry["outcome"], entry["errorCode"]) == (
        "exec.session",
        "FAILURE",
        "UNAUTHENTICATED",
    )
    assert entry["address"] == "127.0.0.1"
    assert "made-up" not in json.dumps(entry)


CANARIES = {
    "secret": "canary-secret-value-5b1f0e",
    "cluster": "canary-cluster-token-9d2c7a",
    "git": "canary-git-token-41ae08",
    "registry": "canary-registry-password-c7f3d1",
}


async def test_secrets_never_reach_the_trail(gql: GraphQLClient, settings: Settings) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    ws = await personal(gql, token)
    wf = (await gql.ok(CREATE_WF, {"ws": ws, "name": "shop"}, token=token))["createWorkflow"]["workflow"]
    await gql.ok(
        "mutation($i: SaveWorkflowInput!) { saveWorkflow(input: $i) { workflow { id } } }",
        {
            "i": {
                "id": wf["id"],
                "nodes": [node("db", "Secret", name="db", keys=[{"id": "k1", "name": "PASSWORD"}])],
                "edges": [],
                "expectedRevision": wf["revision"],
            }
        },
        token=token,
    )
    await gql.ok(
        """mutation($wf: ID!, $v: String!) { setSecretValues(input: {workflowId: $wf, nodeId: "db",
           values: [{key: "PASSWORD", value: $v}]}) { secret { keys } } }""",
        {"wf": wf["id"], "v": CANARIES["secret"]},
        token=token,
    )
    cluster = {
        "name": "prod",
        "authType": "TOKEN",
        "server": "https://127.0.0.1:9",
        "token": CANARIES["cluster"],
        "insecureSkipTlsVerify": True,
    }
    register_cluster = "mutation($i: RegisterClusterInput!) { registerCluster(input: $i) { cluster { id } } }"
    await gql.ok(register_cluster, {"i": cluster}, token=token)
    # a credential in the server's URL is refused, and the refusal is recorded without it
    in_server = {**cluster, "name": "in-url", "server": f"https://ops:{CANARIES['cluster']}@127.0.0.1:9"}
    refused = await gql.error(register_cluster, {"i": in_server}, token=token)
    assert refused["extensions"]["code"] == "BAD_INPUT"
    git = {"workspaceId": ws, "name": "GitLab", "host": "gitlab.com", "token": CANARIES["git"]}
    create_git = (
        "mutation($i: CreateGitCredentialInput!) { createGitCredential(input: $i) { gitCredential { id } } }"
    )
    await gql.ok(create_git, {"i": git}, token=token)
    duplicate = await gql.error(create_git, {"i": git}, token=token)  # a failure carrying the secret
    assert duplicate["extensions"]["code"] == "CONFLICT"
    registry = {
        "workspaceId": ws,
        "name": "hub",
        "type": "GENERIC",
        "url": "https://registry.example.com",
        "credentials": {"username": "ada", "password": CANARIES["registry"]},
    }
    register_registry = (
        "mutation($i: RegisterRegistryInput!) { registerRegistry(input: $i) { registry { id } } }"
    )
    await gql.ok(register_registry, {"i": registry}, token=token)
    in_url = {**registry, "name": "in-url", "url": f"https://ada:{CANARIES['registry']}@registry.example.com"}
    await gql.raw(register_registry, {"i": in_url}, token=token)  # refused or not: never recorded in clear

    trail = await events(gql, token, first=100)
    actions = {e["action"] for e in trail["nodes"]}
    assert {"secret.values.set", "cluster.register", "git_credential.create", "registry.register"} <= actions
    assert any(e["outcome"] == "FAILURE" for e in trail["nodes"] if e["action"] == "git_credential.create")
    assert any(e["outcome"] == "FAILURE" for e in trail["nodes"] if e["action"] == "cluster.register")
    said = json.dumps(trail)
    db = settings.resolved_store_url.removeprefix("sqlite:///")
    async with aiosqlite.connect(db) as raw:
        rows = await raw.execute_fetchall("SELECT * FROM audit_events")
    stored = json.dumps([list(row) for row in rows])
    assert len(rows) == trail["totalCount"]
    for name, canary in CANARIES.items():
        assert canary not in said, name
        assert canary not in stored, name
