"""Workspace files over real HTTP: upload (replace with a revision bump), list, read, the path, size and
content-type rules, deletion refused while flows use a file (naming them) unless forced, a Function's
fileId checked at save, and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import Settings
from tests.graphql_client import GraphQLClient

FIELDS = "id workspaceId path contentType size sha256 revision createdBy { email } updatedBy { email }"
UPLOAD = f"mutation($input: UploadFileInput!) {{ uploadFile(input: $input) {{ file {{ {FIELDS} }} }} }}"
LIST = f"query($ws: ID!) {{ files(workspaceId: $ws) {{ {FIELDS} }} }}"
GET = f"query($id: ID!) {{ file(id: $id) {{ {FIELDS} content }} }}"
DELETE = "mutation($input: DeleteFileInput!) { deleteFile(input: $input) { deletedFileId } }"
CREATE = 'mutation { createWorkflow(input: {name: "Nightly", type: FLOW}) { workflow { id } } }'
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
AUDIT = "query($ws: ID) { auditEvents(workspaceId: $ws) { nodes { action outcome targetId } } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"files_max_bytes": 64})


async def _ada(gql: GraphQLClient) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    workspaces = (await gql.ok("query { workspaces { id personal } }", token=token))["workspaces"]
    return token, str(next(w["id"] for w in workspaces if w["personal"]))


async def _upload(gql: GraphQLClient, token: str, ws: str, path: str, content: str, **more: Any) -> Any:
    data = await gql.ok(
        UPLOAD, {"input": {"workspaceId": ws, "path": path, "content": content, **more}}, token=token
    )
    return data["uploadFile"]["file"]


def _flow(file_id: str) -> tuple[list[Any], list[Any]]:
    nodes = [
        {"id": "start", "kind": "Start", "position": {"x": 0, "y": 0}},
        {"id": "sum", "kind": "Function", "position": {"x": 1, "y": 0}, "data": {"fileId": file_id}},
    ]
    return nodes, [{"id": "e1", "source": "start", "target": "sum"}]


async def test_upload_replace_list_and_read(gql: GraphQLClient) -> None:
    token, ws = await _ada(gql)
    first = await _upload(gql, token, ws, "lib/sum.py", "def main(x):\n    return 1\n")
    assert first["revision"] == 1 and first["contentType"] == "text/x-python" and first["size"] == 26
    assert first["createdBy"] == {"email": "ada@example.com"}
    await _upload(gql, token, ws, "run.sh", "echo ✓", contentType="text/plain")
    again = await _upload(gql, token, ws, "lib/sum.py", "def main(x):\n    return 2\n")
    assert again["id"] == first["id"] and again["revision"] == 2 and again["sha256"] != first["sha256"]
    listed = (await gql.ok(LIST, {"ws": ws}, token=token))["files"]
    assert [(f["path"], f["revision"], f["contentType"]) for f in listed] == [
        ("lib/sum.py", 2, "text/x-python"),
        ("run.sh", 1, "text/plain"),
    ]
    read = (await gql.ok(GET, {"id": first["id"]}, token=token))["file"]
    assert read["content"] == "def main(x):\n    return 2\n"


@pytest.mark.parametrize(
    ("fields", "path", "needle"),
    [
        ({"path": "/etc/passwd"}, "path", "must be relative"),
        ({"path": "lib/../../x.py"}, "path", "no .."),
        ({"path": "a//b.py"}, "path", "no //"),
        ({"path": "x" * 256}, "path", "at most 255 characters"),
        ({"content": "#" * 65}, "content", "is 65 bytes; a file holds at most 64 (TRELLIS_FILES_MAX_BYTES)"),
        ({"contentType": "python please"}, "contentType", "must be a media type"),
    ],
)
async def test_bad_uploads_are_refused_with_nothing_stored(
    gql: GraphQLClient, fields: dict[str, Any], path: str, needle: str
) -> None:
    token, ws = await _ada(gql)
    variables = {"input": {"workspaceId": ws, "path": "ok.py", "content": "print(1)", **fields}}
    error = await gql.error(UPLOAD, variables, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["extensions"]["fields"][0]["path"] == path
    assert needle in error["extensions"]["fields"][0]["message"]
    assert (await gql.ok(LIST, {"ws": ws}, token=token))["files"] == []


async def test_another_workspace_sees_nothing(gql: GraphQLClient) -> None:
    token, ws = await _ada(gql)
    stored = await _upload(gql, token, ws, "a.py", "x = 1")
    eve = (await gql.register("eve@example.com"))["token"]
    assert (await gql.error(GET, {"id": stored["id"]}, token=eve))["extensions"]["code"] == "NOT_FOUND"
    assert (await gql.error(LIST, {"ws": ws}, token=eve))["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(DELETE, {"input": {"id": stored["id"]}}, token=eve)
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await gql.error(UPLOAD, {"input": {"workspaceId": ws, "path": "b.py", "content": ""}}, token=eve)
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_a_file_used_by_a_flow_is_deleted_only_with_force(gql: GraphQLClient) -> None:
    token, ws = await _ada(gql)
    stored = await _upload(gql, token, ws, "sum.py", "def main(x):\n    return x\n")
    wf = (await gql.ok(CREATE, token=token))["createWorkflow"]["workflow"]["id"]
    nodes, edges = _flow(stored["id"])
    await gql.ok(
        SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}}, token=token
    )
    error = await gql.error(DELETE, {"input": {"id": stored["id"]}}, token=token)
    assert error["extensions"]["code"] == "CONFLICT"
    assert "'Nightly' (sum)" in error["message"] and "force: true" in error["message"]
    assert len((await gql.ok(LIST, {"ws": ws}, token=token))["files"]) == 1
    done = await gql.ok(DELETE, {"input": {"id": stored["id"], "force": True}}, token=token)
    assert done["deleteFile"]["deletedFileId"] == stored["id"]
    assert (await gql.ok(LIST, {"ws": ws}, token=token))["files"] == []
    actions = [
        (e["action"], e["outcome"])
        for e in (await gql.ok(AUDIT, {"ws": ws}, token=token))["auditEvents"]["nodes"]
    ]
    assert [a for a in actions if a[0].startswith("file.")] == [
        ("file.delete", "SUCCESS"),
        ("file.delete", "FAILURE"),
        ("file.upload", "SUCCESS"),
    ]


async def test_a_function_must_name_a_file_of_its_workspace(gql: GraphQLClient) -> None:
    token, _ = await _ada(gql)
    wf = (await gql.ok(CREATE, token=token))["createWorkflow"]["workflow"]["id"]
    nodes, edges = _flow("no-such-file")
    error = await gql.error(
        SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}}, token=token
    )
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["extensions"]["fields"] == [
        {
            "path": "nodes[1].data.fileId",
            "message": "no file with the id 'no-such-file' in this workspace (see files)",
        }
    ]
