"""importCompose over real HTTP: a DRAFT workflow (or an append) and its encrypted Secret values written
together or not at all; Secret values never in any response."""

from __future__ import annotations

import json
from typing import Any

from app.auth.keyring import Keyring
from app.domain.audit import AuditOutcome
from app.settings import Settings
from app.store.opening import open_store
from tests.conftest import TEST_FERNET_KEY
from tests.graphql_client import GraphQLClient

PASSWORD = "pg-hunter2-never-shown"
SECOND_PASSWORD = "pg-second-never-shown"

IMPORT = """mutation($input: ImportComposeInput!) { importCompose(input: $input) {
  workflow { id status revision namespace nodes { id kind position { x y } data }
    edges { id source target sourceHandle targetHandle } }
  importedNodeIds secrets { nodeId keys } warnings { code service field } canvasWarnings { path message } } }"""
WORKFLOW = """query($id: ID!) { workflow(id: $id) { revision nodes { id kind position { x y } data }
  edges { id source target sourceHandle targetHandle } } }"""
SECRET_KEYS = "query($wf: ID!) { secretKeys(workflowId: $wf) { nodeId keys } }"
VERSIONS = "query($wf: ID!) { versions(workflowId: $wf) { totalCount } }"
COUNT = "query { workflows { totalCount } }"
VALIDATE = """query($id: ID!, $nodes: [CanvasNodeInput!]!, $edges: [CanvasEdgeInput!]!) {
  validateWorkflow(id: $id, nodes: $nodes, edges: $edges) { valid nodes { id kind position { x y } data }
  edges { id source target sourceHandle targetHandle } } }"""
PREVIEW = "query($wf: ID!) { previewManifests(workflowId: $wf) { yaml skipped { nodeId } } }"
CREATE_WS = "mutation($name: String!) { createWorkspace(input: {name: $name}) { workspace { id } } }"
ADD = """mutation($ws: ID!, $email: String!, $role: MemberRole!) {
  addWorkspaceMember(input: {workspaceId: $ws, email: $email, role: $role}) { member { role } } }"""

COMPOSE = """
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    privileged: true
    depends_on: [db]
  db:
    image: postgres:16
    environment:
      POSTGRES_DB: shop
      POSTGRES_PASSWORD: ${PG_PASSWORD}
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data: {}
"""
BAD_PORT = "services:\n  web:\n    image: nginx\n    ports: ['99999:80']\n"


class Session:
    """A signed-in user whose every raw response body is kept, to prove no Secret value ever leaves."""

    def __init__(self, gql: GraphQLClient, token: str) -> None:
        self.gql = gql
        self.token = token
        self.bodies: list[str] = []

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.gql.http.post(
            self.gql.url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        self.bodies.append(response.text)
        body: dict[str, Any] = response.json()
        return body

    async def ok(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.raw(query, variables)
        assert body.get("errors"), f"expected an error, got {body}"
        first: dict[str, Any] = body["errors"][0]
        return first

    async def imported(self, **input: Any) -> dict[str, Any]:
        result: dict[str, Any] = (await self.ok(IMPORT, {"input": input}))["importCompose"]
        return result

    def assert_no_secret_shown(self) -> None:
        assert self.bodies
        for body in self.bodies:
            assert PASSWORD not in body and SECOND_PASSWORD not in body


async def _session(gql: GraphQLClient, email: str = "ada@example.com") -> Session:
    return Session(gql, (await gql.register(email))["token"])


def _by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in nodes}


async def test_a_project_becomes_a_draft_with_its_secret_values_stored(
    gql: GraphQLClient, settings: Settings
) -> None:
    ada = await _session(gql)
    result = await ada.imported(
        files=[COMPOSE], envFile=f"PG_PASSWORD={PASSWORD}\n", name="Shop", namespace="shop-prod"
    )

    wf = result["workflow"]
    assert (wf["status"], wf["revision"], wf["namespace"]) == ("DRAFT", 1, "shop-prod")
    nodes = _by_id(wf["nodes"])
    assert {n["kind"] for n in wf["nodes"]} >= {"Deployment", "StatefulSet", "Service", "Secret", "ConfigMap"}
    assert sorted(result["importedNodeIds"]) == sorted(nodes)
    assert not any("namespace" in n["data"] for n in wf["nodes"])  # the workflow's namespace applies
    assert nodes["db-secret"]["data"]["keys"][0]["name"] == "POSTGRES_PASSWORD"
    assert result["secrets"] == [{"nodeId": "db-secret", "keys": ["POSTGRES_PASSWORD"]}]
    assert {"code": "PRIVILEGED", "service": "web", "field": "services.web.privileged"} in result["warnings"]
    keys = await ada.ok(SECRET_KEYS, {"wf": wf["id"]})
    assert keys["secretKeys"] == [{"nodeId": "db-secret", "keys": ["POSTGRES_PASSWORD"]}]
    # like saveWorkflow: no version, and exactly the canvas saveWorkflow would store
    assert (await ada.ok(VERSIONS, {"wf": wf["id"]}))["versions"]["totalCount"] == 0
    inputs = {
        "id": wf["id"],
        "nodes": [{k: n[k] for k in ("id", "kind", "position", "data")} for n in wf["nodes"]],
        "edges": wf["edges"],
    }
    checked = (await ada.ok(VALIDATE, inputs))["validateWorkflow"]
    assert checked["valid"] is True
    assert (checked["nodes"], checked["edges"]) == (wf["nodes"], wf["edges"])
    assert (await ada.ok(WORKFLOW, {"id": wf["id"]}))["workflow"]["nodes"] == wf["nodes"]
    # the value really was stored: the preview renders the Secret (masked) instead of skipping it
    preview = (await ada.ok(PREVIEW, {"wf": wf["id"]}))["previewManifests"]
    assert preview["skipped"] == []
    assert "POSTGRES_PASSWORD: '********'" in preview["yaml"]
    ada.assert_no_secret_shown()

    store = await open_store(settings.resolved_store_url)
    try:
        ciphertexts = await store.secret_values(wf["id"])
        entries = await store.list_audit(20)
    finally:
        await store.close()
    assert PASSWORD not in ciphertexts["db-secret"]
    plain = json.loads(Keyring.from_setting(TEST_FERNET_KEY).decrypt(ciphertexts["db-secret"]))
    assert plain == {"POSTGRES_PASSWORD": PASSWORD}
    audit = next(e for e in entries if e.action == "workflow.import")
    assert (audit.outcome, audit.target_id) == (AuditOutcome.SUCCESS, wf["id"])
    assert audit.detail["mode"] == "new" and audit.detail["nodes"] == str(len(nodes))
    assert audit.detail["secretKeys"] == "1"
    assert not any(PASSWORD in str(e) for e in entries)


async def test_appending_renames_places_below_and_refuses_a_stale_revision(
    gql: GraphQLClient, settings: Settings
) -> None:
    ada = await _session(gql)
    first = (await ada.imported(files=[COMPOSE], envFile=f"PG_PASSWORD={PASSWORD}\n", name="Shop"))[
        "workflow"
    ]
    lowest = max(n["position"]["y"] for n in first["nodes"])

    result = await ada.imported(
        files=[COMPOSE],
        values={"PG_PASSWORD": SECOND_PASSWORD},
        workflowId=first["id"],
        expectedRevision=1,
    )

    wf = result["workflow"]
    assert wf["revision"] == 2 and wf["namespace"] == first["namespace"]
    nodes = _by_id(wf["nodes"])
    assert len(nodes) == 2 * len(first["nodes"])
    assert sorted(result["importedNodeIds"]) == sorted(f"{n['id']}-2" for n in first["nodes"])
    assert all(nodes[i]["position"]["y"] > lowest for i in result["importedNodeIds"])
    assert {(e["source"], e["target"]) for e in wf["edges"]} >= {
        ("web-svc-2", "web-2"),
        ("pvc-data-2", "db-2"),
    }
    # the renamed claim is still mounted where compose said, not at a default path
    mounts = nodes["db-2"]["data"]["volumeMounts"]
    assert [(m["nodeId"], m["mountPath"]) for m in mounts] == [("pvc-data-2", "/var/lib/postgresql/data")]
    assert nodes["db"] == _by_id(first["nodes"])["db"]
    assert result["secrets"] == [{"nodeId": "db-secret-2", "keys": ["POSTGRES_PASSWORD"]}]
    # the same object names twice: warned as saveWorkflow would warn
    assert any("also a Secret named 'db-secret'" in w["message"] for w in result["canvasWarnings"])
    keys = (await ada.ok(SECRET_KEYS, {"wf": wf["id"]}))["secretKeys"]
    assert keys == [
        {"nodeId": "db-secret", "keys": ["POSTGRES_PASSWORD"]},
        {"nodeId": "db-secret-2", "keys": ["POSTGRES_PASSWORD"]},
    ]

    stale = await ada.error(
        IMPORT,
        {
            "input": {
                "files": [COMPOSE],
                "values": {"PG_PASSWORD": "x"},
                "workflowId": wf["id"],
                "expectedRevision": 1,
            }
        },
    )
    assert stale["extensions"]["code"] == "CONFLICT"
    assert stale["extensions"]["currentRevision"] == 2
    after = (await ada.ok(WORKFLOW, {"id": wf["id"]}))["workflow"]
    assert (after["revision"], after["nodes"], after["edges"]) == (2, wf["nodes"], wf["edges"])
    assert (await ada.ok(SECRET_KEYS, {"wf": wf["id"]}))["secretKeys"] == keys
    ada.assert_no_secret_shown()

    store = await open_store(settings.resolved_store_url)
    try:
        ciphertexts = await store.secret_values(wf["id"])
    finally:
        await store.close()
    keyring = Keyring.from_setting(TEST_FERNET_KEY)
    stored = {node: json.loads(keyring.decrypt(text)) for node, text in ciphertexts.items()}
    assert stored == {
        "db-secret": {"POSTGRES_PASSWORD": PASSWORD},
        "db-secret-2": {"POSTGRES_PASSWORD": SECOND_PASSWORD},
    }


async def test_bad_compose_or_input_is_a_typed_error_and_writes_nothing(gql: GraphQLClient) -> None:
    ada = await _session(gql)
    bad = await ada.error(IMPORT, {"input": {"files": [BAD_PORT], "name": "Broken"}})
    assert bad["extensions"]["code"] == "BAD_INPUT"
    assert bad["extensions"]["fields"][0]["path"] == "services.web.ports[0]"
    assert bad["extensions"]["composeErrors"] == [
        {
            "code": "PORT_OUT_OF_RANGE",
            "message": bad["extensions"]["composeErrors"][0]["message"],
            "service": "web",
            "field": "services.web.ports[0]",
        }
    ]
    assert (await ada.ok(COUNT))["workflows"]["totalCount"] == 0

    wf = (await ada.imported(files=[COMPOSE], envFile=f"PG_PASSWORD={PASSWORD}\n", name="Shop"))["workflow"]
    broken = await ada.error(
        IMPORT, {"input": {"files": ["services: [unclosed"], "workflowId": wf["id"], "expectedRevision": 1}}
    )
    assert broken["extensions"]["code"] == "BAD_INPUT" and broken["extensions"]["composeErrors"]
    for input, path in [
        ({"files": [COMPOSE]}, "name"),
        ({"files": [COMPOSE], "name": "x", "expectedRevision": 1}, "expectedRevision"),
        ({"files": [COMPOSE], "workflowId": wf["id"]}, "expectedRevision"),
        ({"files": [COMPOSE], "workflowId": wf["id"], "expectedRevision": 1, "name": "x"}, "name"),
        ({"files": [COMPOSE], "name": "x", "namespace": "Not_A_Label"}, "namespace"),
        ({"files": [], "name": "x"}, "files"),
    ]:
        error = await ada.error(IMPORT, {"input": input})
        assert error["extensions"]["code"] == "BAD_INPUT", input
        assert error["extensions"]["fields"][0]["path"] == path, input

    assert (await ada.ok(COUNT))["workflows"]["totalCount"] == 1
    after = (await ada.ok(WORKFLOW, {"id": wf["id"]}))["workflow"]
    assert (after["revision"], after["nodes"]) == (1, wf["nodes"])
    ada.assert_no_secret_shown()


async def test_viewers_are_refused_and_other_workspaces_are_not_found(gql: GraphQLClient) -> None:
    owner = await _session(gql, "owner@example.com")
    viewer = await _session(gql, "viewer@example.com")
    stranger = await _session(gql, "stranger@example.com")
    ws = (await owner.ok(CREATE_WS, {"name": "Team"}))["createWorkspace"]["workspace"]["id"]
    await owner.ok(ADD, {"ws": ws, "email": "viewer@example.com", "role": "VIEWER"})
    wf = (await owner.imported(files=[COMPOSE], name="Shop", workspaceId=ws))["workflow"]

    new = await viewer.error(IMPORT, {"input": {"files": [COMPOSE], "name": "Mine", "workspaceId": ws}})
    assert new["extensions"]["code"] == "FORBIDDEN"
    append = {"files": [COMPOSE], "workflowId": wf["id"], "expectedRevision": 1}
    assert (await viewer.error(IMPORT, {"input": append}))["extensions"]["code"] == "FORBIDDEN"
    assert (await stranger.error(IMPORT, {"input": append}))["extensions"]["code"] == "NOT_FOUND"
    elsewhere = {"files": [COMPOSE], "name": "Mine", "workspaceId": ws}
    assert (await stranger.error(IMPORT, {"input": elsewhere}))["extensions"]["code"] == "NOT_FOUND"

    assert (await owner.ok(COUNT))["workflows"]["totalCount"] == 1
    assert (await stranger.ok(COUNT))["workflows"]["totalCount"] == 0
    after = (await owner.ok(WORKFLOW, {"id": wf["id"]}))["workflow"]
    assert (after["revision"], after["nodes"]) == (1, wf["nodes"])
