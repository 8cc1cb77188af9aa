"""Creating, listing, updating, saving, validating and deleting workflows over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.canvas import edge, node, web_shop
from tests.graphql_client import GraphQLClient

CREATE = """mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { workflow {
  id name description status revision namespace clusterId createdAt updatedAt nodes { id } edges { id }
  createdBy { email } workspace { name personal } } } }"""
GET = """query($id: ID!) { workflow(id: $id) { id name status revision
  nodes { id kind position { x y } data } edges { id source target sourceHandle targetHandle } } }"""
UPDATE = """mutation($input: UpdateWorkflowInput!) { updateWorkflow(input: $input) { workflow { name description
  status revision namespace } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) {
  workflow { revision nodes { id kind data } edges { id } } warnings { path message } removedNodeIds } }"""
VALIDATE = """query($id: ID!, $nodes: [CanvasNodeInput!]!, $edges: [CanvasEdgeInput!]!) {
  validateWorkflow(id: $id, nodes: $nodes, edges: $edges) { valid errors { path message } warnings { path } } }"""
LIST = """query($first: Int, $after: String, $filter: WorkflowFilter) { workflows(first: $first, after: $after,
  filter: $filter) { totalCount nodes { name status } pageInfo { hasNextPage endCursor } edges { cursor } } }"""


async def _signed_in(gql: GraphQLClient, email: str = "ada@example.com", name: str = "Ada") -> str:
    token: str = (await gql.register(email, name=name))["token"]
    return token


async def _create(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(CREATE, {"input": {"name": "Web Shop", **fields}}, token=token)
    workflow: dict[str, Any] = data["createWorkflow"]["workflow"]
    return workflow


async def _save(
    gql: GraphQLClient, token: str, wf: str, nodes: Any, edges: Any, revision: int
) -> dict[str, Any]:
    data = await gql.ok(
        SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": revision}}, token=token
    )
    saved: dict[str, Any] = data["saveWorkflow"]
    return saved


async def test_create_returns_the_full_draft(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = await _create(gql, token, description="the shop")
    assert wf["status"] == "DRAFT" and wf["revision"] == 1
    assert wf["nodes"] == [] and wf["edges"] == []
    assert wf["namespace"] == "ada-s-workspace-web-shop"
    assert wf["createdBy"] == {"email": "ada@example.com"}
    assert wf["workspace"] == {"name": "Ada's workspace", "personal": True}
    assert wf["createdAt"] == wf["updatedAt"] and wf["createdAt"].endswith("+00:00")
    assert wf["clusterId"] is None and len(wf["id"]) >= 16


async def test_create_checks_name_and_namespace(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    error = await gql.error(CREATE, {"input": {"name": "ok", "namespace": "Not_A_Label"}}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["extensions"]["fields"] == [
        {"path": "namespace", "message": error["extensions"]["fields"][0]["message"]}
    ]
    error = await gql.error(CREATE, {"input": {"name": ""}}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    custom = await _create(gql, token, namespace="shop-prod")
    assert custom["namespace"] == "shop-prod"


async def test_list_pages_and_filters(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    ids = [(await _create(gql, token, name=f"flow {i}"))["id"] for i in range(5)]
    await gql.ok(UPDATE, {"input": {"id": ids[0], "status": "PUBLISHED"}}, token=token)

    first = (await gql.ok(LIST, {"first": 2}, token=token))["workflows"]
    assert first["totalCount"] == 5 and first["pageInfo"]["hasNextPage"] is True
    seen = [n["name"] for n in first["nodes"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await gql.ok(LIST, {"first": 2, "after": after}, token=token))["workflows"]
        seen += [n["name"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert sorted(seen) == sorted(f"flow {i}" for i in range(5)) and len(seen) == 5

    published = (await gql.ok(LIST, {"filter": {"status": "PUBLISHED"}}, token=token))["workflows"]
    assert [n["name"] for n in published["nodes"]] == ["flow 0"]
    named = (await gql.ok(LIST, {"filter": {"nameContains": "LOW 3"}}, token=token))["workflows"]
    assert [n["name"] for n in named["nodes"]] == ["flow 3"]
    bad = await gql.error(LIST, {"after": "garbage!"}, token=token)
    assert bad["extensions"]["code"] == "BAD_INPUT"
    too_many = await gql.error(LIST, {"first": 1000}, token=token)
    assert too_many["extensions"]["code"] == "BAD_INPUT"


async def test_status_moves_only_along_allowed_transitions(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]

    async def move(status: str) -> dict[str, Any]:
        return await gql.raw(UPDATE, {"input": {"id": wf, "status": status}}, token=token)

    assert (await move("PUBLISHED"))["data"]["updateWorkflow"]["workflow"]["status"] == "PUBLISHED"
    assert (await move("DRAFT"))["data"]["updateWorkflow"]["workflow"]["status"] == "DRAFT"
    assert (await move("ARCHIVED"))["data"]["updateWorkflow"]["workflow"]["status"] == "ARCHIVED"
    refused = await move("PUBLISHED")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert refused["errors"][0]["extensions"]["fields"][0]["path"] == "status"
    assert (await move("DRAFT"))["data"]["updateWorkflow"]["workflow"]["status"] == "DRAFT"


async def test_update_renames_and_describes(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = await _create(gql, token)
    data = await gql.ok(
        UPDATE,
        {"input": {"id": wf["id"], "name": "Shop", "description": "new", "expectedRevision": 1}},
        token=token,
    )
    updated = data["updateWorkflow"]["workflow"]
    assert (updated["name"], updated["description"], updated["revision"]) == ("Shop", "new", 2)
    stale = await gql.error(
        UPDATE, {"input": {"id": wf["id"], "name": "Old", "expectedRevision": 1}}, token=token
    )
    assert stale["extensions"]["code"] == "CONFLICT" and stale["extensions"]["currentRevision"] == 2


async def test_save_links_edges_and_reports_warnings(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    nodes, edges = web_shop()
    nodes[0]["data"]["favouriteColour"] = "blue"
    saved = await _save(gql, token, wf, nodes, edges, 1)
    assert saved["workflow"]["revision"] == 2
    assert saved["removedNodeIds"] == []
    assert {"path": "nodes[0].data.favouriteColour"} in [{"path": w["path"]} for w in saved["warnings"]]
    by_id = {n["id"]: n for n in saved["workflow"]["nodes"]}
    assert "favouriteColour" not in by_id["web"]["data"]
    svc = by_id["svc"]["data"]
    assert (svc["targetApp"], svc["targetPort"], svc["_linkedDeployment"]) == ("web", 8080, "web")
    path = by_id["ing"]["data"]["paths"][0]
    assert (path["serviceName"], path["servicePort"], path["_linkedService"]) == ("web-svc", 80, "svc")
    mounts = by_id["web"]["data"]["volumeMounts"]
    assert [(m["type"], m["name"], m["mountPath"]) for m in mounts] == [
        ("configMap", "web-config", "/etc/config")
    ]
    assert by_id["web"]["data"]["_linkedConfigMaps"] == ["cfg"]

    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert stored["revision"] == 2 and len(stored["nodes"]) == 4 and len(stored["edges"]) == 3


async def test_removing_an_edge_removes_its_linked_fields_and_nodes_are_reported(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    nodes, edges = web_shop()
    saved = await _save(gql, token, wf, nodes, edges, 1)
    # the client sends back what it got (with linked fields), minus the Service→Deployment edge and the ConfigMap
    sent = [{**n, "position": {"x": 0, "y": 0}} for n in saved["workflow"]["nodes"] if n["id"] != "cfg"]
    saved = await _save(gql, token, wf, sent, [edge("e2", "ing", "svc", "p1")], 2)
    by_id = {n["id"]: n for n in saved["workflow"]["nodes"]}
    assert saved["removedNodeIds"] == ["cfg"]
    assert "targetApp" not in by_id["svc"]["data"] and "_linkedDeployment" not in by_id["svc"]["data"]
    assert not by_id["web"]["data"].get("volumeMounts") and not by_id["web"]["data"].get("_linkedConfigMaps")


async def test_a_stale_revision_is_a_conflict_and_loses_nothing(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    await _save(gql, token, wf, [node("a", "ConfigMap", name="tab-one")], [], 1)
    error = await gql.error(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": [node("b", "ConfigMap", name="tab-two")],
                "edges": [],
                "expectedRevision": 1,
            }
        },
        token=token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["currentRevision"] == 2
    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert [n["id"] for n in stored["nodes"]] == ["a"]


async def test_bad_canvases_are_refused_with_the_field_named_and_nothing_saved(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    cases = [
        ([node("x", "Teleporter")], [], "nodes[0].kind"),
        ([node("d", "Deployment", name="web", replicas="many")], [], "nodes[0].data.replicas"),
        ([node("d", "Deployment", name="Bad_Name")], [], "nodes[0].data.name"),
        (
            [node("c", "ConfigMap", name="c"), node("s", "Service", name="s")],
            [edge("e", "c", "s")],
            "edges[0]",
        ),
        ([node("d", "Deployment", name="d")], [edge("e", "d", "ghost")], "edges[0]"),
    ]
    for nodes, edges, path in cases:
        error = await gql.error(
            SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}}, token=token
        )
        assert error["extensions"]["code"] == "BAD_INPUT", error
        assert any(f["path"].startswith(path) for f in error["extensions"]["fields"]), (path, error)
    edge_error = await gql.error(
        SAVE,
        {"input": {"id": wf, "nodes": cases[3][0], "edges": cases[3][1], "expectedRevision": 1}},
        token=token,
    )
    assert "ConfigMap" in edge_error["message"] and "Service" in edge_error["message"]
    not_object = await gql.error(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": [{**node("d", "Deployment"), "data": [1, 2]}],
                "edges": [],
                "expectedRevision": 1,
            }
        },
        token=token,
    )
    assert not_object["extensions"]["code"] == "BAD_INPUT"
    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert stored["revision"] == 1 and stored["nodes"] == []


async def test_validate_runs_the_checks_and_saves_nothing(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    nodes, edges = web_shop()
    good = (await gql.ok(VALIDATE, {"id": wf, "nodes": nodes, "edges": edges}, token=token))[
        "validateWorkflow"
    ]
    assert good["valid"] is True and good["errors"] == []
    bad = (await gql.ok(VALIDATE, {"id": wf, "nodes": [node("x", "Nope")], "edges": []}, token=token))[
        "validateWorkflow"
    ]
    assert bad["valid"] is False and bad["errors"][0]["path"] == "nodes[0].kind"
    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert stored["revision"] == 1 and stored["nodes"] == []


async def test_archived_workflows_are_read_only(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    await gql.ok(UPDATE, {"input": {"id": wf, "status": "ARCHIVED"}}, token=token)
    error = await gql.error(
        SAVE, {"input": {"id": wf, "nodes": [], "edges": [], "expectedRevision": 2}}, token=token
    )
    assert error["extensions"]["code"] == "BAD_INPUT"


async def test_delete_removes_the_workflow(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    data = await gql.ok(
        "mutation($id: ID!) { deleteWorkflow(input: {id: $id}) { deletedWorkflowId } }",
        {"id": wf},
        token=token,
    )
    assert data["deleteWorkflow"]["deletedWorkflowId"] == wf
    assert (await gql.error(GET, {"id": wf}, token=token))["extensions"]["code"] == "NOT_FOUND"


async def test_an_oversized_payload_is_refused_before_it_is_read(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    token = await _signed_in(gql)
    wf = (await _create(gql, token))["id"]
    big = [node(f"n{i}", "ConfigMap", name=f"c{i}", data={"k": "x" * 2000}) for i in range(200)]
    response = await http.post(
        gql.url,
        json={
            "query": SAVE,
            "variables": {"input": {"id": wf, "nodes": big, "edges": [], "expectedRevision": 1}},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    stored = (await gql.ok(GET, {"id": wf}, token=token))["workflow"]
    assert stored["revision"] == 1


async def test_node_kinds_describe_fields_and_edges(gql: GraphQLClient) -> None:
    token = await _signed_in(gql)
    kinds = (
        await gql.ok(
            """query { nodeKinds { kind apiVersion fields { name type required options fields { name } }
           outgoingEdges { targetKind } incomingEdges { sourceKind } } }""",
            token=token,
        )
    )["nodeKinds"]
    by_kind = {k["kind"]: k for k in kinds}
    assert set(by_kind) >= {
        "Namespace",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Service",
        "Ingress",
        "ConfigMap",
        "Secret",
        "PersistentVolumeClaim",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
    }
    deployment = {f["name"]: f for f in by_kind["Deployment"]["fields"]}
    for field in (
        "image",
        "replicas",
        "livenessProbe",
        "command",
        "args",
        "env",
        "securityContext",
        "serviceAccountName",
        "imagePullPolicy",
        "nodeSelector",
        "tolerations",
    ):
        assert field in deployment, field
    assert deployment["replicas"]["type"] == "INTEGER"
    assert set(deployment["imagePullPolicy"]["options"]) == {"Always", "IfNotPresent", "Never"}
    assert {e["targetKind"] for e in by_kind["Service"]["outgoingEdges"]} == {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
    }
    assert "ConfigMap" in {e["sourceKind"] for e in by_kind["CronJob"]["incomingEdges"]}
