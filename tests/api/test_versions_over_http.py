"""Versions: atomic numbering, listing, diffs and restore-as-a-new-version, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.canvas import edge, node
from tests.graphql_client import GraphQLClient

CREATE_WF = 'mutation { createWorkflow(input: {name: "shop"}) { workflow { id } } }'
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
SNAPSHOT = """mutation($wf: ID!, $tag: String) { createVersion(input: {workflowId: $wf, tag: $tag, description: "d"}) {
  version { number tag description createdBy { email } nodes { id } restoredFrom } } }"""
VERSIONS = """query($wf: ID!, $first: Int, $after: String) { versions(workflowId: $wf, first: $first, after: $after) {
  totalCount nodes { number tag } pageInfo { hasNextPage endCursor } } }"""
COMPARE = """query($wf: ID!, $v1: Int!, $v2: Int!, $ignore: Boolean) { compareVersions(workflowId: $wf, v1: $v1, v2: $v2,
  ignoreLayout: $ignore) { fromVersion toVersion nodes { nodeId kind change changes { path oldValue newValue } }
  edges { edgeId change changes { path oldValue newValue } } } }"""
RESTORE = """mutation($wf: ID!, $v: Int!) { restoreVersion(input: {workflowId: $wf, version: $v}) {
  version { number restoredFrom description } workflow { revision nodes { id data } } } }"""


async def _setup(gql: GraphQLClient) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    wf: str = (await gql.ok(CREATE_WF, token=token))["createWorkflow"]["workflow"]["id"]
    return token, wf


async def _save(gql: GraphQLClient, token: str, wf: str, nodes: Any, edges: Any, revision: int) -> None:
    await gql.ok(
        SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": revision}}, token=token
    )


async def test_versions_snapshot_the_canvas_with_growing_numbers(gql: GraphQLClient) -> None:
    token, wf = await _setup(gql)
    await _save(gql, token, wf, [node("a", "ConfigMap", name="a")], [], 1)
    first = (await gql.ok(SNAPSHOT, {"wf": wf, "tag": "v1"}, token=token))["createVersion"]["version"]
    assert first == {
        "number": 1,
        "tag": "v1",
        "description": "d",
        "createdBy": {"email": "ada@example.com"},
        "nodes": [{"id": "a"}],
        "restoredFrom": None,
    }
    second = (await gql.ok(SNAPSHOT, {"wf": wf}, token=token))["createVersion"]["version"]
    assert second["number"] == 2


async def test_concurrent_snapshots_never_share_a_number(gql: GraphQLClient) -> None:
    token, wf = await _setup(gql)
    results = await asyncio.gather(*(gql.ok(SNAPSHOT, {"wf": wf}, token=token) for _ in range(12)))
    numbers = sorted(r["createVersion"]["version"]["number"] for r in results)
    assert numbers == list(range(1, 13))


async def test_versions_are_listed_newest_first_in_pages(gql: GraphQLClient) -> None:
    token, wf = await _setup(gql)
    for _ in range(5):
        await gql.ok(SNAPSHOT, {"wf": wf}, token=token)
    page = (await gql.ok(VERSIONS, {"wf": wf, "first": 2}, token=token))["versions"]
    assert page["totalCount"] == 5 and [n["number"] for n in page["nodes"]] == [5, 4]
    page = (
        await gql.ok(VERSIONS, {"wf": wf, "first": 3, "after": page["pageInfo"]["endCursor"]}, token=token)
    )["versions"]
    assert [n["number"] for n in page["nodes"]] == [3, 2, 1] and page["pageInfo"]["hasNextPage"] is False


async def test_compare_reports_added_removed_and_modified_fields(gql: GraphQLClient) -> None:
    token, wf = await _setup(gql)
    await _save(
        gql,
        token,
        wf,
        [
            node("d", "Deployment", name="web", image="nginx:1.26", replicas=1),
            node("c", "ConfigMap", name="cfg"),
        ],
        [edge("e1", "c", "d")],
        1,
    )
    await gql.ok(SNAPSHOT, {"wf": wf}, token=token)
    await _save(
        gql,
        token,
        wf,
        [
            node("d", "Deployment", 50, 0, name="web", image="nginx:1.27", replicas=3),
            node("s", "Service", name="web", port=80),
        ],
        [edge("e2", "s", "d")],
        2,
    )
    await gql.ok(SNAPSHOT, {"wf": wf}, token=token)
    diff = (await gql.ok(COMPARE, {"wf": wf, "v1": 1, "v2": 2}, token=token))["compareVersions"]
    assert (diff["fromVersion"], diff["toVersion"]) == (1, 2)
    changes = {n["nodeId"]: n for n in diff["nodes"]}
    assert changes["s"]["change"] == "ADDED" and changes["c"]["change"] == "REMOVED"
    modified = {c["path"]: (c["oldValue"], c["newValue"]) for c in changes["d"]["changes"]}
    assert modified["data.image"] == ("nginx:1.26", "nginx:1.27")
    assert modified["data.replicas"] == (1, 3)
    assert modified["position.x"] == (0, 50)
    assert {e["edgeId"]: e["change"] for e in diff["edges"]} == {"e1": "REMOVED", "e2": "ADDED"}

    ignoring = (await gql.ok(COMPARE, {"wf": wf, "v1": 1, "v2": 2, "ignore": True}, token=token))[
        "compareVersions"
    ]
    paths = {c["path"] for n in ignoring["nodes"] if n["nodeId"] == "d" for c in n["changes"]}
    assert "position.x" not in paths and "data.image" in paths
    missing = await gql.error(COMPARE, {"wf": wf, "v1": 1, "v2": 9}, token=token)
    assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_restore_appends_a_new_version_and_can_itself_be_undone(gql: GraphQLClient) -> None:
    token, wf = await _setup(gql)
    await _save(gql, token, wf, [node("a", "ConfigMap", name="first")], [], 1)
    await gql.ok(SNAPSHOT, {"wf": wf}, token=token)  # v1
    await _save(gql, token, wf, [node("b", "ConfigMap", name="second")], [], 2)
    await gql.ok(SNAPSHOT, {"wf": wf}, token=token)  # v2

    restored = (await gql.ok(RESTORE, {"wf": wf, "v": 1}, token=token))["restoreVersion"]
    assert restored["version"] == {"number": 3, "restoredFrom": 1, "description": "Restored from version 1"}
    assert [n["id"] for n in restored["workflow"]["nodes"]] == ["a"]
    assert restored["workflow"]["revision"] == 4

    undone = (await gql.ok(RESTORE, {"wf": wf, "v": 2}, token=token))["restoreVersion"]
    assert undone["version"]["number"] == 4 and [n["id"] for n in undone["workflow"]["nodes"]] == ["b"]
    listed = (await gql.ok(VERSIONS, {"wf": wf}, token=token))["versions"]
    assert [n["number"] for n in listed["nodes"]] == [4, 3, 2, 1]


async def test_restoring_a_missing_version_changes_nothing(gql: GraphQLClient) -> None:
    token, wf = await _setup(gql)
    error = await gql.error(RESTORE, {"wf": wf, "v": 7}, token=token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    listed = (await gql.ok(VERSIONS, {"wf": wf}, token=token))["versions"]
    assert listed["totalCount"] == 0
