"""Imports from Git through the API, against a real smart-HTTP Git server on loopback: discovery and
analysis, candidates, one-service projects, refs, private repositories, refused addresses, limits, the
progress stream over a real WebSocket — and the clone folder empty after every import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.imports import GitImport, ImportOptions, ImportStatus
from app.settings import Settings
from app.store.opening import open_store
from tests.api.ws_client import subscribed
from tests.clock import FakeClock
from tests.git.conftest import left_in
from tests.git_server import GitServer, serving_git
from tests.graphql_client import GraphQLClient
from tests.live import serving

IMPORT = """mutation($input: ImportFromGitInput!) { importFromGit(input: $input) {
  composeImport { id status percent url ref path profiles namespace createdBy { email } } } }"""
FIELDS = """id status percent error message candidates commit source folder files url ref path
  log { level message }
  analysis { services nodes { id kind data } edges { source target } secretKeys { nodeId keys }
    warnings { code message } errors { code message } }"""
READ = f"query($id: ID!) {{ composeImport(id: $id) {{ {FIELDS} }} }}"
PROGRESS = f"""subscription($id: ID!) {{ importProgress(importId: $id) {{ type at
  composeImport {{ {FIELDS} }} }} }}"""
WORKSPACES = "query { workspaces { id personal } }"
CREATE_WORKSPACE = 'mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }'
ADD_MEMBER = """mutation($ws: ID!, $email: String!, $role: MemberRole!) {
  addWorkspaceMember(input: {workspaceId: $ws, email: $email, role: $role}) { member { role } } }"""
CREATE_CREDENTIAL = """mutation($input: CreateGitCredentialInput!) { createGitCredential(input: $input) {
  gitCredential { id } } }"""

COMPOSE = """services:
  web:
    image: nginx:1.27
    env_file: web.env
    ports: ["8080:80"]
    environment:
      GREETING: ${GREETING:-hi}
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: s3cret-db-pass
    volumes: [data:/var/lib/postgresql/data]
  worker:
    build: ./worker
volumes:
  data: {}
"""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Loopback and plain http allowed (the test Git server), clones under ``tmp_path/clones``; a test
    parametrises ``settings`` indirectly to change more."""
    changes: dict[str, Any] = {
        "git_allow_http": True,
        "egress_allow_loopback": True,
        "git_clone_dir": tmp_path / "clones",
        "git_clone_timeout_seconds": 60.0,
        "git_max_files": 200,
        "git_max_repo_bytes": 2 * 1024 * 1024,
    }
    changes.update(getattr(request, "param", {}))
    return settings.model_copy(update=changes)


@pytest.fixture
async def git_server(tmp_path: Path) -> AsyncIterator[GitServer]:
    async with serving_git(tmp_path / "git-server") as server:
        yield server


async def signed_in(gql: GraphQLClient, email: str = "ada@example.com") -> tuple[str, str]:
    token = (await gql.register(email))["token"]
    workspaces = (await gql.ok(WORKSPACES, token=token))["workspaces"]
    return token, str(next(w["id"] for w in workspaces if w["personal"]))


async def start(gql: GraphQLClient, token: str, ws: str, url: str, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(IMPORT, {"input": {"workspaceId": ws, "url": url, **fields}}, token=token)
    started: dict[str, Any] = data["importFromGit"]["composeImport"]
    return started


async def events(live_server: str, token: str, import_id: str) -> list[dict[str, Any]]:
    """Every event of ``importProgress`` until COMPLETE."""
    seen: list[dict[str, Any]] = []
    async with subscribed(live_server, token) as subscription:
        await subscription.start(PROGRESS, {"id": import_id})
        while True:
            payload = await subscription.next()
            assert "errors" not in payload, payload
            if payload.get("complete"):
                break
            seen.append(payload["data"]["importProgress"])
            if seen[-1]["type"] == "COMPLETE":
                break
    return seen


async def finished(live_server: str, token: str, import_id: str) -> dict[str, Any]:
    """The import once it has finished (followed over the WebSocket, no polling)."""
    final: dict[str, Any] = (await events(live_server, token, import_id))[-1]["composeImport"]
    return final


def nodes_of(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in job["analysis"]["nodes"]}


async def test_a_compose_project_in_a_subfolder_is_found_and_analysed(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository(
        "shop",
        {
            "README.md": "# shop",
            "deploy/compose.yaml": COMPOSE,
            "deploy/.env": "GREETING=hello\n",
            "deploy/web.env": "LOG_LEVEL=debug\nAPI_TOKEN=tok-123-canary\n",
            "deploy/worker/Dockerfile": "FROM alpine\n",
            "node_modules/dep/compose.yaml": "services: {x: {image: y}}\n",
        },
    )
    token, ws = await signed_in(gql)

    started = await start(gql, token, ws, repo.url, namespace="shop")
    job = await finished(live_server, token, started["id"])

    assert started["status"] == "PENDING"
    assert (started["ref"], started["path"], started["namespace"], started["profiles"]) == (
        None,
        None,
        "shop",
        [],
    )
    assert started["createdBy"] == {"email": "ada@example.com"}
    assert job["status"] == "COMPLETED", job
    assert (job["percent"], job["error"], job["candidates"]) == (100, None, [])
    assert (job["source"], job["folder"], job["files"]) == ("COMPOSE", "deploy", ["deploy/compose.yaml"])
    assert job["commit"] == repo.commits[0]
    nodes = nodes_of(job)
    assert {n: nodes[n]["kind"] for n in ("web", "web-svc", "web-config", "db", "pvc-data")} == {
        "web": "Deployment",
        "web-svc": "Service",
        "web-config": "ConfigMap",
        "db": "StatefulSet",
        "pvc-data": "PersistentVolumeClaim",
    }
    assert nodes["web-config"]["data"]["data"] == {
        "GREETING": "hello",
        "LOG_LEVEL": "debug",
    }  # env_file + .env
    assert nodes["web"]["data"]["namespace"] == "shop"
    assert {(k["nodeId"], tuple(k["keys"])) for k in job["analysis"]["secretKeys"]} == {
        ("web-secret", ("API_TOKEN",)),
        ("db-secret", ("POSTGRES_PASSWORD",)),
    }
    assert job["analysis"]["errors"] == []
    assert nodes["worker"]["data"]["build"]["context"] == "deploy/worker"  # relative to the repository
    assert (nodes["worker"]["data"]["build"]["repoUrl"], nodes["worker"]["data"]["build"]["ref"]) == (
        repo.url,
        repo.commits[0],
    )
    assert any("checked out 6 files" in line["message"] for line in job["log"])
    # Secret values are never in the answer, nor in plain text in the store (only encrypted, see
    # test_workflow_from_git_import_over_http.py).
    assert "tok-123-canary" not in json.dumps(job) and "s3cret-db-pass" not in json.dumps(job)
    database = Path(settings.resolved_store_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert b"tok-123-canary" not in stored and b"s3cret-db-pass" not in stored
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_several_compose_folders_are_candidates_until_one_is_chosen(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository(
        "examples",
        {
            "compose.yaml": "services: {root: {image: busybox}}\n",
            "examples/a/compose.yml": "services: {a: {image: busybox}}\n",
            "examples/b/docker-compose.yaml": "services: {b: {image: busybox}}\n",
        },
    )
    token, ws = await signed_in(gql)

    first = await finished(live_server, token, (await start(gql, token, ws, repo.url))["id"])
    chosen = await finished(
        live_server, token, (await start(gql, token, ws, repo.url, path="examples/b"))["id"]
    )
    root = await finished(live_server, token, (await start(gql, token, ws, repo.url, path="."))["id"])

    assert first["status"] == "COMPLETED"
    assert first["candidates"] == [".", "examples/a", "examples/b"]
    assert first["analysis"] is None
    assert "import again with path set to the one you want" in first["message"]
    assert chosen["status"] == "COMPLETED"
    assert chosen["path"] == "examples/b"
    assert chosen["analysis"]["services"] == ["b"]
    assert root["path"] == ""
    assert root["analysis"]["services"] == ["root"]
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_a_dockerfile_only_repository_is_one_service_to_build(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository(
        "api-server", {"Dockerfile": "FROM python:3.12\nEXPOSE 8000\n", "app.py": "print('hi')\n"}
    )
    token, ws = await signed_in(gql)

    job = await finished(live_server, token, (await start(gql, token, ws, repo.url, ref="main"))["id"])

    assert job["status"] == "COMPLETED", job
    assert (job["source"], job["folder"], job["files"]) == ("PROJECT", ".", ["Dockerfile"])
    nodes = nodes_of(job)
    assert nodes["api-server"]["kind"] == "Deployment"
    assert nodes["api-server"]["data"]["image"] == "api-server:latest"
    assert nodes["api-server"]["data"]["build"] == {
        "context": "",
        "dockerfile": "Dockerfile",
        "target": None,
        "args": {},
        "useNixpacks": False,
        "repoUrl": repo.url,
        "ref": "main",
    }
    assert nodes["api-server-svc"]["data"]["port"] == 8000
    assert job["analysis"]["edges"] == [{"source": "api-server-svc", "target": "api-server"}]
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_branches_tags_and_commits_are_imported(
    gql: GraphQLClient, live_server: str, git_server: GitServer
) -> None:
    repo = git_server.repository("versions", {"compose.yaml": "services: {one: {image: busybox}}\n"})
    repo.tag("v1")
    first = repo.commits[0]
    second = repo.commit({"compose.yaml": "services: {two: {image: busybox}}\n"})
    third = repo.commit({"compose.yaml": "services: {three: {image: busybox}}\n"}, branch="feature/x")
    token, ws = await signed_in(gql)

    services = {}
    for ref in ("main", "v1", first, "feature/x", None):
        fields = {"ref": ref} if ref else {}
        job = await finished(live_server, token, (await start(gql, token, ws, repo.url, **fields))["id"])
        services[ref] = (job["commit"], job["analysis"]["services"])

    assert services == {
        "main": (second, ["two"]),
        "v1": (first, ["one"]),
        first: (first, ["one"]),
        "feature/x": (third, ["three"]),
        None: (second, ["two"]),
    }


async def test_a_private_repository_needs_a_git_credential(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository("private", {"compose.yaml": "services: {p: {image: busybox}}\n"})
    git_server.protect("private", "x-access-token", "ghp-private-token-1234")
    token, ws = await signed_in(gql)

    refused = await finished(live_server, token, (await start(gql, token, ws, repo.url))["id"])
    await gql.ok(
        CREATE_CREDENTIAL,
        {
            "input": {
                "workspaceId": ws,
                "name": "loopback",
                "host": "127.0.0.1",
                "token": "ghp-private-token-1234",
            }
        },
        token=token,
    )
    imported = await finished(live_server, token, (await start(gql, token, ws, repo.url))["id"])

    assert refused["status"] == "FAILED"
    assert refused["error"].startswith("authentication failed")
    assert "add a Git credential for 127.0.0.1" in refused["error"]
    assert imported["status"] == "COMPLETED", imported
    assert imported["analysis"]["services"] == ["p"]
    assert any(
        "with the workspace's Git credential for 127.0.0.1" in line["message"] for line in imported["log"]
    )
    assert "ghp-private-token-1234" not in json.dumps(imported)
    assert left_in(settings.git_clone_dir or Path()) == []


REFUSED = [
    ("file:///etc/passwd", "file:// addresses are not allowed"),
    ("/srv/repos/shop.git", "local paths cannot be cloned"),
    ("ext::sh -c id", "spaces"),
    ("ext::ssh", "transports"),
    ("https://10.1.2.3/acme/shop.git", "private address"),
    ("http://127.0.0.1:9/acme/shop.git", "loopback address"),
    ("https://169.254.169.254/latest/meta-data", "link-local address"),
    ("https://user:pw@github.com/acme/shop.git", "credentials"),
]


@pytest.mark.parametrize("settings", [{"egress_allow_loopback": False}], indirect=True)
async def test_refused_addresses_are_errors_at_once(gql: GraphQLClient, settings: Settings) -> None:
    token, ws = await signed_in(gql)
    for url, words in REFUSED:
        error = await gql.error(IMPORT, {"input": {"workspaceId": ws, "url": url}}, token=token)
        assert error["extensions"]["code"] == "BAD_INPUT", url
        assert error["extensions"]["fields"][0]["path"] == "url", url
        assert words in error["message"], (url, error["message"])
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_bad_refs_paths_and_other_workspaces_are_refused(
    gql: GraphQLClient, git_server: GitServer
) -> None:
    repo = git_server.repository("checked", {"compose.yaml": "services: {}\n"})
    token, ws = await signed_in(gql)
    eve, _ = await signed_in(gql, "eve@example.com")
    team = (await gql.ok(CREATE_WORKSPACE, token=token))["createWorkspace"]["workspace"]["id"]
    await gql.ok(ADD_MEMBER, {"ws": team, "email": "eve@example.com", "role": "VIEWER"}, token=token)
    viewer = await gql.error(IMPORT, {"input": {"workspaceId": team, "url": repo.url}}, token=eve)
    assert viewer["extensions"]["code"] == "FORBIDDEN"

    bad_ref = await gql.error(
        IMPORT, {"input": {"workspaceId": ws, "url": repo.url, "ref": "--upload-pack=x"}}, token=token
    )
    bad_path = await gql.error(
        IMPORT, {"input": {"workspaceId": ws, "url": repo.url, "path": "../.."}}, token=token
    )
    other = await gql.error(IMPORT, {"input": {"workspaceId": ws, "url": repo.url}}, token=eve)

    assert (bad_ref["extensions"]["code"], bad_ref["extensions"]["fields"][0]["path"]) == ("BAD_INPUT", "ref")
    assert (bad_path["extensions"]["code"], bad_path["extensions"]["fields"][0]["path"]) == (
        "BAD_INPUT",
        "path",
    )
    assert other["extensions"]["code"] == "NOT_FOUND"
    assert git_server.requests == []


@pytest.mark.parametrize("settings", [{"git_max_files": 10, "git_max_repo_bytes": 200_000}], indirect=True)
async def test_repositories_over_the_limits_fail_with_the_limit_named(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    many = git_server.repository("many", {f"f{i}.txt": str(i) for i in range(11)})
    large = git_server.repository("large", {"compose.yaml": "services: {}\n", "blob.txt": "x" * 300_000})
    token, ws = await signed_in(gql)

    too_many = await finished(live_server, token, (await start(gql, token, ws, many.url))["id"])
    too_large = await finished(live_server, token, (await start(gql, token, ws, large.url))["id"])

    assert too_many["status"] == "FAILED"
    assert "over the file limit" in too_many["error"]
    assert too_large["status"] == "FAILED"
    assert "over the size limit" in too_large["error"]
    assert left_in(settings.git_clone_dir or Path()) == []


@pytest.mark.parametrize("settings", [{"git_clone_timeout_seconds": 0.5}], indirect=True)
async def test_a_clone_that_takes_too_long_fails(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository("slow", {"compose.yaml": "services: {}\n"})
    git_server.stall("slow")
    token, ws = await signed_in(gql)

    job = await finished(live_server, token, (await start(gql, token, ws, repo.url))["id"])

    assert job["status"] == "FAILED"
    assert "longer than the time limit of 0.5 s" in job["error"]
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_progress_streams_every_step_after_metadata(
    gql: GraphQLClient, live_server: str, git_server: GitServer, settings: Settings
) -> None:
    repo = git_server.repository("streamed", {"compose.yaml": "services: {web: {image: nginx}}\n"})
    git_server.hold("streamed")  # the import waits in CLONING until released
    token, ws = await signed_in(gql)
    started = await start(gql, token, ws, repo.url)

    seen: list[dict[str, Any]] = []
    async with subscribed(live_server, token) as subscription:
        await subscription.start(PROGRESS, {"id": started["id"]})
        seen.append((await subscription.next())["data"]["importProgress"])
        await git_server.held_request("streamed")
        git_server.release("streamed")
        while seen[-1]["type"] != "COMPLETE":
            seen.append((await subscription.next())["data"]["importProgress"])

    types = [event["type"] for event in seen]
    statuses = [event["composeImport"]["status"] for event in seen]
    assert types[0] == "METADATA"
    assert set(types[1:-1]) == {"PROGRESS"}
    assert types[-1] == "COMPLETE"
    assert statuses[0] in ("PENDING", "CLONING")
    order = ["PENDING", "CLONING", "ANALYZING", "COMPLETED"]
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses)
    assert {"CLONING", "ANALYZING", "COMPLETED"} <= set(statuses)
    log = [line["message"] for line in seen[-1]["composeImport"]["log"]]
    assert log[0].startswith("queued: ") and log[1].startswith("cloning ")
    percents = [event["composeImport"]["percent"] for event in seen]
    assert percents == sorted(percents) and percents[-1] == 100

    again = await events(live_server, token, started["id"])  # a finished import: METADATA, COMPLETE
    assert [event["type"] for event in again] == ["METADATA", "COMPLETE"]
    assert left_in(settings.git_clone_dir or Path()) == []


async def test_another_tenants_import_is_not_found(
    gql: GraphQLClient, live_server: str, git_server: GitServer
) -> None:
    repo = git_server.repository("mine", {"compose.yaml": "services: {web: {image: nginx}}\n"})
    token, ws = await signed_in(gql)
    job = await finished(live_server, token, (await start(gql, token, ws, repo.url))["id"])
    eve, _ = await signed_in(gql, "eve@example.com")

    read = await gql.error(READ, {"id": job["id"]}, token=eve)
    async with subscribed(live_server, eve) as subscription:
        await subscription.start(PROGRESS, {"id": job["id"]})
        message = json.loads(await subscription.connection.recv())

    assert read["extensions"]["code"] == "NOT_FOUND"
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    mine = (await gql.ok(READ, {"id": job["id"]}, token=token))["composeImport"]
    assert mine["status"] == "COMPLETED"


async def test_a_server_that_stops_fails_its_running_imports(
    settings: Settings, clock: FakeClock, git_server: GitServer
) -> None:
    repo = git_server.repository("interrupted", {"compose.yaml": "services: {web: {image: nginx}}\n"})
    git_server.hold("interrupted")  # the import stays in CLONING
    clones = settings.git_clone_dir or Path()
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(settings, clock=clock) as url:
            gql = GraphQLClient(url, http)
            token, ws = await signed_in(gql)
            started = await start(gql, token, ws, repo.url)
            await git_server.held_request("interrupted")
            assert len(left_in(clones)) == 1
        with serving(settings, clock=clock) as url:
            job = (await GraphQLClient(url, http).ok(READ, {"id": started["id"]}, token=token))[
                "composeImport"
            ]

    assert job["status"] == "FAILED"
    assert job["error"].startswith("the server stopped before the import finished")
    assert left_in(clones) == []


async def test_imports_left_by_a_dead_server_are_failed_when_one_starts(
    settings: Settings, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(settings, clock=clock) as url:
            token, ws = await signed_in(GraphQLClient(url, http))
        store = await open_store(settings.resolved_store_url)
        try:  # what a server that died in the middle of an import leaves behind
            at = clock.now()
            await store.insert_import(
                GitImport(
                    id="left-behind",
                    workspace_id=ws,
                    created_by="someone",
                    url="https://git.example.com/acme/shop.git",
                    ref=None,
                    path=None,
                    options=ImportOptions(),
                    status=ImportStatus.CLONING,
                    created_at=at,
                    updated_at=at,
                )
            )
        finally:
            await store.close()
        clock.advance(seconds=settings.git_clone_timeout_seconds + 301)
        with serving(settings, clock=clock) as url:
            job = (await GraphQLClient(url, http).ok(READ, {"id": "left-behind"}, token=token))[
                "composeImport"
            ]

    assert job["status"] == "FAILED"
    assert job["error"].startswith("the server stopped")
    assert job["log"][-1] == {"level": "ERROR", "message": job["error"]}
