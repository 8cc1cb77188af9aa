"""A finished import from Git becomes a workflow (``importCompose`` with ``gitImportId``), over real HTTP
against a real smart-HTTP Git server: the stored analysis and the Secret values found in the repository's
env files, kept encrypted with the import, written through the same path as pasted files — and the value
never in any response, nor in plain text in the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.auth.keyring import Keyring
from app.domain.workspaces import Scope
from app.settings import Settings
from app.store.opening import open_store
from tests.api.test_git_import_over_http import ADD_MEMBER, CREATE_WORKSPACE, finished, signed_in, start
from tests.api.test_import_compose_over_http import COUNT, IMPORT, PREVIEW, SECRET_KEYS, Session
from tests.conftest import TEST_FERNET_KEY
from tests.git.conftest import left_in
from tests.git_server import GitServer, serving_git
from tests.graphql_client import GraphQLClient

TOKEN_VALUE = "tok-9f3c-never-shown"
COMPOSE = """services:
  web:
    image: nginx:1.27
    env_file: web.env
    ports: ["8080:80"]
    privileged: true
  cache:
    image: redis:7
"""
FILES = {"compose.yaml": COMPOSE, "web.env": f"LOG_LEVEL=debug\nAPI_TOKEN={TOKEN_VALUE}\n"}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Loopback and plain http allowed (the test Git server), clones under ``tmp_path/clones``."""
    return settings.model_copy(
        update={"git_allow_http": True, "egress_allow_loopback": True, "git_clone_dir": tmp_path / "clones"}
    )


@pytest.fixture
async def git_server(tmp_path: Path) -> AsyncIterator[GitServer]:
    async with serving_git(tmp_path / "git-server") as server:
        yield server


async def imported_from_git(
    gql: GraphQLClient, live_server: str, token: str, ws: str, url: str, **fields: Any
) -> dict[str, Any]:
    """A finished import of ``url`` into workspace ``ws``."""
    return await finished(live_server, token, (await start(gql, token, ws, url, **fields))["id"])


def stored_bytes(settings: Settings) -> bytes:
    """Everything the SQLite store has on disk (the database and its journal files)."""
    database = Path(settings.resolved_store_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))


async def test_a_completed_import_becomes_a_draft_with_its_secret_values(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository("shop", FILES)
    token, ws = await signed_in(gql)
    ada = Session(gql, token)
    job = await imported_from_git(gql, live_server, token, ws, repo.url, namespace="shop")
    assert job["status"] == "COMPLETED", job
    assert job["analysis"]["secretKeys"] == [{"nodeId": "web-secret", "keys": ["API_TOKEN"]}]

    result = await ada.imported(gitImportId=job["id"], name="Shop")

    wf = result["workflow"]
    assert (wf["status"], wf["revision"], wf["namespace"]) == ("DRAFT", 1, "shop")
    assert {n["id"]: n["kind"] for n in wf["nodes"]} == {n["id"]: n["kind"] for n in job["analysis"]["nodes"]}
    assert sorted(result["importedNodeIds"]) == sorted(n["id"] for n in wf["nodes"])
    assert not any("namespace" in n["data"] for n in wf["nodes"])  # the workflow's namespace applies
    assert result["secrets"] == [{"nodeId": "web-secret", "keys": ["API_TOKEN"]}]
    assert [w["code"] for w in result["warnings"]] == [w["code"] for w in job["analysis"]["warnings"]]
    assert {"code": "PRIVILEGED", "service": "web", "field": "services.web.privileged"} in result["warnings"]
    assert (await ada.ok(SECRET_KEYS, {"wf": wf["id"]}))["secretKeys"] == [
        {"nodeId": "web-secret", "keys": ["API_TOKEN"]}
    ]
    # the value really was stored: the preview renders the Secret (masked) instead of skipping it
    preview = (await ada.ok(PREVIEW, {"wf": wf["id"]}))["previewManifests"]
    assert preview["skipped"] == []
    assert "API_TOKEN: '********'" in preview["yaml"]

    # the same import again, appended to the workflow: the same write path, ids renamed
    appended = await ada.imported(gitImportId=job["id"], workflowId=wf["id"], expectedRevision=1)
    assert appended["workflow"]["revision"] == 2
    assert appended["secrets"] == [{"nodeId": "web-secret-2", "keys": ["API_TOKEN"]}]
    assert len(appended["workflow"]["nodes"]) == 2 * len(wf["nodes"])

    assert ada.bodies and not any(TOKEN_VALUE in body for body in ada.bodies)
    assert TOKEN_VALUE not in json.dumps(job)
    assert TOKEN_VALUE.encode() not in stored_bytes(settings)  # the import row and the workflow's values
    store = await open_store(settings.resolved_store_url)
    try:
        kept = await store.import_secret_values(Scope.of([ws]), job["id"])
        values = await store.secret_values(wf["id"])
        entries = await store.list_audit(20)
    finally:
        await store.close()
    keyring = Keyring.from_setting(TEST_FERNET_KEY)
    assert kept is not None and json.loads(keyring.decrypt(kept)) == {
        "web-secret": {"API_TOKEN": TOKEN_VALUE}
    }
    assert {node: json.loads(keyring.decrypt(text)) for node, text in values.items()} == {
        "web-secret": {"API_TOKEN": TOKEN_VALUE},
        "web-secret-2": {"API_TOKEN": TOKEN_VALUE},
    }
    audits = [e for e in entries if e.action == "workflow.import"]
    assert [(e.detail["source"], e.detail["gitImportId"], e.detail["mode"]) for e in audits] == [
        ("gitImport", job["id"], "append"),
        ("gitImport", job["id"], "new"),
    ]
    assert not any(TOKEN_VALUE in str(e) for e in entries)
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_imports_not_finished_failed_or_undecided_are_refused(
    gql: GraphQLClient, live_server: str, git_server: GitServer
) -> None:
    broken = git_server.repository(
        "broken", {"compose.yaml": "services:\n  web:\n    image: nginx\n    ports: ['99999:80']\n"}
    )
    several = git_server.repository(
        "several", {"a/compose.yaml": "services: {a: {image: busybox}}\n", "b/compose.yaml": COMPOSE}
    )
    slow = git_server.repository("slow", FILES)
    git_server.hold("slow")
    token, ws = await signed_in(gql)
    ada = Session(gql, token)
    failed = await imported_from_git(gql, live_server, token, ws, broken.url)
    undecided = await imported_from_git(gql, live_server, token, ws, several.url)
    running = await start(gql, token, ws, slow.url)
    await git_server.held_request("slow")

    refusals = {}
    for job in (failed, undecided, running):
        error = await ada.error(IMPORT, {"input": {"gitImportId": job["id"], "name": "Shop"}})
        assert error["extensions"]["code"] == "BAD_INPUT", error
        assert error["extensions"]["fields"][0]["path"] == "gitImportId"
        refusals[job["id"]] = (error["extensions"]["reason"], error["extensions"]["importStatus"])
    git_server.release("slow")
    done = await finished(live_server, token, running["id"])

    assert failed["status"] == "FAILED" and undecided["candidates"] == ["a", "b"]
    assert refusals == {
        failed["id"]: ("FAILED", "FAILED"),
        undecided["id"]: ("SEVERAL_PROJECTS", "COMPLETED"),
        running["id"]: ("RUNNING", "CLONING"),
    }
    # once it has completed, the same import is accepted
    assert done["status"] == "COMPLETED"
    assert (await ada.imported(gitImportId=running["id"], name="Shop"))["secrets"] == [
        {"nodeId": "web-secret", "keys": ["API_TOKEN"]}
    ]
    assert (await ada.ok(COUNT))["workflows"]["totalCount"] == 1


async def test_other_workspaces_imports_and_bad_inputs_are_refused(
    gql: GraphQLClient, live_server: str, git_server: GitServer
) -> None:
    repo = git_server.repository("team-shop", FILES)
    token, _ = await signed_in(gql)
    ada = Session(gql, token)
    team = (await ada.ok(CREATE_WORKSPACE))["createWorkspace"]["workspace"]["id"]
    job = await imported_from_git(gql, live_server, token, team, repo.url)
    eve = Session(gql, (await signed_in(gql, "eve@example.com"))[0])
    viewer = Session(gql, (await signed_in(gql, "vic@example.com"))[0])
    await ada.ok(ADD_MEMBER, {"ws": team, "email": "vic@example.com", "role": "VIEWER"})

    stranger = await eve.error(IMPORT, {"input": {"gitImportId": job["id"], "name": "Mine"}})
    looker = await viewer.error(IMPORT, {"input": {"gitImportId": job["id"], "name": "Mine"}})
    unknown = await ada.error(IMPORT, {"input": {"gitImportId": "no-such-import", "name": "Shop"}})
    assert stranger["extensions"]["code"] == "NOT_FOUND"
    assert looker["extensions"]["code"] == "FORBIDDEN"  # reading an import is not taking its values
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    for input, path in [
        ({"gitImportId": job["id"], "files": [COMPOSE], "name": "Shop"}, "files"),
        ({"gitImportId": job["id"], "envFile": "A=1", "name": "Shop"}, "envFile"),
        ({"gitImportId": job["id"], "namespace": "other", "name": "Shop"}, "namespace"),
        ({"name": "Shop"}, "files"),
        ({"gitImportId": job["id"]}, "name"),
    ]:
        error = await ada.error(IMPORT, {"input": input})
        assert error["extensions"]["code"] == "BAD_INPUT", input
        assert error["extensions"]["fields"][0]["path"] == path, input
    for session in (ada, eve, viewer):
        assert (await session.ok(COUNT))["workflows"]["totalCount"] == 0

    # the owner's new workflow goes into the import's workspace
    made = (await ada.imported(gitImportId=job["id"], name="Shop"))["workflow"]
    assert (await ada.ok(COUNT))["workflows"]["totalCount"] == 1
    assert (await viewer.ok(SECRET_KEYS, {"wf": made["id"]}))["secretKeys"] == [
        {"nodeId": "web-secret", "keys": ["API_TOKEN"]}
    ]
    for session in (ada, eve, viewer):
        assert not any(TOKEN_VALUE in body for body in session.bodies)
