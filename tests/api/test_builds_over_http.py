"""Builds through the API, with the Kubernetes API test server driving each build Job's pod through its
phases (init containers running and failing, BuildKit running and ending with the digest as its
termination message) and serving the containers' logs: a build end to end with its log replayed to a
late subscriber over a real WebSocket, a clone failure, a push failure, a cancel midway, a queue with a
limit of one, and a node's image set by digest while another edit happened."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.domain.build_jobs import job_name, secret_name
from app.settings import Settings
from tests.api.canvas import node
from tests.api.clusters import register_kubeconfig
from tests.api.ws_client import subscribed
from tests.builds.pods import DIGEST, NAMESPACE, BuildPod
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

REPO = "https://127.0.0.1/acme/shop.git"
REGISTRY_HOST = "127.0.0.1:5443"
FIELDS = """id status percent message errorStage queuePosition digest image imageByDigest commit workflowId
  nodeId durationMs startedAt finishedAt createdBy { email } logs { seq source message } trimmedLines"""
START = f"mutation($input: StartBuildInput!) {{ startBuild(input: $input) {{ build {{ {FIELDS} }} }} }}"
CANCEL = f"mutation($id: ID!) {{ cancelBuild(input: {{id: $id}}) {{ build {{ {FIELDS} }} }} }}"
GET = f"query($id: ID!) {{ build(id: $id) {{ {FIELDS} }} }}"
LIST = """query($ws: ID!, $filter: BuildFilter, $first: Int, $after: String) {
  builds(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id status queuePosition } } }"""
LOGS = """subscription($id: ID!) { buildLogs(buildId: $id) { type status errorStage message digest
  line { seq source message } } }"""
PROGRESS = (
    "subscription($id: ID!) { buildProgress(buildId: $id) { type build { status percent queuePosition } } }"
)
WORKSPACES = "query { workspaces { id personal } }"
REGISTER_REGISTRY = """mutation($input: RegisterRegistryInput!) { registerRegistry(input: $input) {
  registry { id } } }"""
FINISHED = {"COMPLETED", "FAILED", "CANCELLED"}


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Loopback allowed (the repository and registry addresses), builds read every 50 ms; a test
    parametrises ``settings`` indirectly to change more."""
    changes: dict[str, Any] = {
        "egress_allow_loopback": True,
        "build_poll_seconds": 0.05,
        "build_log_drain_seconds": 5.0,
        "subscription_recheck_seconds": 0.5,
    }
    changes.update(getattr(request, "param", {}))
    return settings.model_copy(update=changes)


class Shop:
    """A signed-in user with a cluster (the test server) and a registry in their personal workspace."""

    def __init__(self, gql: GraphQLClient, kube_api: Any) -> None:
        self.gql = gql
        self.kube_api = kube_api
        self.token = ""
        self.workspace = ""
        self.cluster = ""
        self.registry = ""

    async def setup(self, email: str = "ada@example.com") -> Shop:
        self.kube_api.controllers.job_pod_state = "creating"
        self.kube_api.controllers.enable()
        self.token = (await self.gql.register(email))["token"]
        spaces = (await self.gql.ok(WORKSPACES, token=self.token))["workspaces"]
        self.workspace = next(w["id"] for w in spaces if w["personal"])
        self.cluster = (await register_kubeconfig(self.gql, self.token, self.kube_api))["id"]
        data = await self.gql.ok(
            REGISTER_REGISTRY,
            {
                "input": {
                    "workspaceId": self.workspace,
                    "name": "local",
                    "type": "GENERIC",
                    "url": f"https://{REGISTRY_HOST}",
                    "credentials": {"username": "pusher", "password": "push-secret-0123"},
                }
            },
            token=self.token,
        )
        self.registry = data["registerRegistry"]["registry"]["id"]
        return self

    async def start(self, **extra: Any) -> dict[str, Any]:
        payload = {
            "repoUrl": REPO,
            "ref": "main",
            "registryId": self.registry,
            "imageName": "team/shop",
            "imageTag": "v1",
            "clusterId": self.cluster,
            **extra,
        }
        data = await self.gql.ok(START, {"input": payload}, token=self.token)
        build: dict[str, Any] = data["startBuild"]["build"]
        return build

    async def get(self, build_id: str) -> dict[str, Any]:
        build: dict[str, Any] = (await self.gql.ok(GET, {"id": build_id}, token=self.token))["build"]
        return build

    async def until(self, build_id: str, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for _ in range(500):
            build = await self.get(build_id)
            if check(build):
                return build
            await asyncio.sleep(0.02)
        raise AssertionError(f"build {build_id} never got there: {build}")

    async def status(self, build_id: str, status: str) -> dict[str, Any]:
        return await self.until(build_id, lambda b: b["status"] == status)


async def _drive_to_completion(pod: BuildPod, shop: Shop, build_id: str) -> dict[str, Any]:
    pod.log("clone", "fetching main of https://127.0.0.1/acme/shop.git", f"commit {'c0ffee' * 6}abcd")
    pod.clone_running()
    await shop.status(build_id, "CLONING")
    pod.log("dockerfile", "using Dockerfile")
    pod.dockerfile_running()
    await shop.status(build_id, "BUILDING")
    pod.log("buildkit", "#1 [internal] load build definition from Dockerfile", "#5 [2/4] RUN make")
    pod.buildkit_running()
    await shop.until(build_id, lambda b: b["percent"] > 25)
    pod.log("buildkit", "#8 exporting to image", "#8 pushing layers 0.4s done")
    await shop.status(build_id, "PUSHING")
    pod.log("buildkit", f"pushed {DIGEST}")
    pod.buildkit_ended(0, DIGEST)
    return await shop.until(build_id, lambda b: b["status"] in FINISHED)


async def test_a_build_runs_end_to_end_and_a_late_subscriber_gets_the_whole_log(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    shop = await Shop(gql, kube_api).setup()
    started = await shop.start()
    assert started["status"] == "PENDING"
    assert started["image"] == f"{REGISTRY_HOST}/team/shop:v1"
    assert started["createdBy"] == {"email": "ada@example.com"}
    pod = await BuildPod.of(kube_api, started["id"])
    events: list[dict[str, Any]] = []

    async def follow() -> None:
        async with subscribed(live_server, shop.token) as ws:
            await ws.start(PROGRESS, {"id": started["id"]})
            while True:
                message = await ws.next()
                event = message["data"]["buildProgress"]
                events.append(event)
                if event["type"] == "COMPLETE":
                    return

    watcher = asyncio.create_task(follow())
    await asyncio.sleep(0.2)  # the subscription is open before the build moves
    build = await _drive_to_completion(pod, shop, started["id"])
    await asyncio.wait_for(watcher, timeout=10)

    assert build["status"] == "COMPLETED", build
    assert build["digest"] == DIGEST
    assert build["imageByDigest"] == f"{REGISTRY_HOST}/team/shop@{DIGEST}"
    assert build["commit"] == "c0ffee" * 6 + "abcd"
    assert build["percent"] == 100
    assert build["durationMs"] is not None
    assert build["errorStage"] is None
    statuses = [e["build"]["status"] for e in events]
    assert statuses[0] in ("PENDING", "CLONING") and events[0]["type"] == "METADATA"
    assert events[-1]["type"] == "COMPLETE" and statuses[-1] == "COMPLETED"
    assert [s for s in ("CLONING", "BUILDING", "PUSHING") if s in statuses] == [
        "CLONING",
        "BUILDING",
        "PUSHING",
    ]

    # The Secret is gone at the end; the Job stays for the retention period.
    assert kube_api.get("Secret", NAMESPACE, secret_name(started["id"])) is None
    job = kube_api.get("Job", NAMESPACE, job_name(started["id"]))
    assert job is not None
    assert job["spec"]["ttlSecondsAfterFinished"] == 86_400

    # A page opened later: the whole log, replayed from the first line, then the final status.
    async with subscribed(live_server, shop.token) as ws:
        await ws.start(LOGS, {"id": started["id"]})
        received = []
        while True:
            event = (await ws.next())["data"]["buildLogs"]
            received.append(event)
            if event["type"] == "COMPLETE":
                break
    lines = [e["line"] for e in received if e["type"] == "LINE"]
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    messages = [(line["source"], line["message"]) for line in lines]
    assert ("CLONE", f"commit {'c0ffee' * 6}abcd") in messages
    assert ("DOCKERFILE", "using Dockerfile") in messages
    assert ("BUILDKIT", "#5 [2/4] RUN make") in messages
    assert ("BUILDKIT", f"pushed {DIGEST}") in messages
    assert messages[0][0] == "TRELLIS" and messages[0][1].startswith("queued:")
    assert received[-1] == {
        "type": "COMPLETE",
        "status": "COMPLETED",
        "errorStage": None,
        "message": f"pushed {REGISTRY_HOST}/team/shop:v1 as {DIGEST}",
        "digest": DIGEST,
        "line": None,
    }
    assert lines == build["logs"]


async def test_the_job_runs_rootless_buildkit_and_keeps_secrets_out_of_the_spec(
    kube_api: Any, gql: GraphQLClient
) -> None:
    shop = await Shop(gql, kube_api).setup()
    started = await shop.start(buildArgs=[{"name": "VERSION", "value": "1.2"}], target="runtime")
    await BuildPod.of(kube_api, started["id"])
    job = kube_api.get("Job", NAMESPACE, job_name(started["id"]))
    secret = kube_api.get("Secret", NAMESPACE, secret_name(started["id"]))
    assert secret is not None
    assert secret["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    config = json.loads(base64.b64decode(secret["data"]["config.json"]))
    login = config["auths"][REGISTRY_HOST]
    assert (login["username"], login["password"]) == ("pusher", "push-secret-0123")
    spec = job["spec"]["template"]["spec"]
    buildkit = spec["containers"][0]
    assert buildkit["args"][:3] == ["build", "--frontend", "dockerfile.v0"]
    assert "--opt" in buildkit["args"] and "build-arg:VERSION=1.2" in buildkit["args"]
    assert "target=runtime" in buildkit["args"]
    assert f"type=image,name={REGISTRY_HOST}/team/shop:v1,push=true" in buildkit["args"]
    text = json.dumps(job)
    assert "push-secret-0123" not in text
    assert "docker.sock" not in text
    assert buildkit["securityContext"]["runAsUser"] == 1000


async def test_a_clone_failure_stops_at_the_clone_stage_with_its_log(
    kube_api: Any, gql: GraphQLClient
) -> None:
    shop = await Shop(gql, kube_api).setup()
    started = await shop.start(ref="nope")
    pod = await BuildPod.of(kube_api, started["id"])
    pod.log(
        "clone", "fetching nope of https://127.0.0.1/acme/shop.git", "fatal: couldn't find remote ref nope"
    )
    pod.clone_running()
    await shop.status(started["id"], "CLONING")
    pod.clone_failed(128)
    build = await shop.until(started["id"], lambda b: b["status"] in FINISHED)
    assert build["status"] == "FAILED"
    assert build["errorStage"] == "CLONE"
    assert "fatal: couldn't find remote ref nope" in build["message"]
    assert "exit code 128" in build["message"]
    assert "Check the ref" in build["message"]
    assert build["digest"] is None
    assert kube_api.get("Secret", NAMESPACE, secret_name(started["id"])) is None


async def test_a_push_refused_by_the_registry_fails_at_the_push_stage(
    kube_api: Any, gql: GraphQLClient
) -> None:
    shop = await Shop(gql, kube_api).setup()
    started = await shop.start()
    pod = await BuildPod.of(kube_api, started["id"])
    pod.log("clone", "commit " + "1" * 40)
    pod.log("dockerfile", "using Dockerfile")
    pod.log("buildkit", "#5 [2/2] RUN make")
    pod.buildkit_running()
    await shop.status(started["id"], "BUILDING")
    pod.log(
        "buildkit",
        "#8 exporting to image",
        "#8 pushing layers",
        f"ERROR: failed to solve: failed to push {REGISTRY_HOST}/team/shop:v1: unexpected status: 401 Unauthorized",
    )
    pod.buildkit_ended(1, None)
    build = await shop.until(started["id"], lambda b: b["status"] in FINISHED)
    assert build["status"] == "FAILED"
    assert build["errorStage"] == "PUSH"
    assert "401 Unauthorized" in build["message"]
    assert "check its credentials" in build["message"]


async def test_a_build_cancelled_midway_loses_its_job_and_pods(kube_api: Any, gql: GraphQLClient) -> None:
    shop = await Shop(gql, kube_api).setup()
    started = await shop.start()
    pod = await BuildPod.of(kube_api, started["id"])
    pod.log("clone", "commit " + "2" * 40)
    pod.log("buildkit", "#3 [1/5] FROM docker.io/library/python:3.12")
    pod.buildkit_running()
    await shop.status(started["id"], "BUILDING")
    cancelled = (await gql.ok(CANCEL, {"id": started["id"]}, token=shop.token))["cancelBuild"]["build"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["message"] == "cancelled by ada@example.com"
    assert kube_api.get("Job", NAMESPACE, job_name(started["id"])) is None
    assert kube_api.get("Secret", NAMESPACE, secret_name(started["id"])) is None
    assert kube_api.list("Pod", NAMESPACE) == []
    again = await gql.error(CANCEL, {"id": started["id"]}, token=shop.token)
    assert again["extensions"]["code"] == "CONFLICT"
    await asyncio.sleep(0.2)  # the executor noticed; the build stays CANCELLED
    assert (await shop.get(started["id"]))["status"] == "CANCELLED"


@pytest.mark.parametrize("settings", [{"build_concurrency_per_workspace": 1}], indirect=True)
async def test_a_queue_with_a_limit_of_one_starts_the_second_build_after_the_first(
    kube_api: Any, gql: GraphQLClient
) -> None:
    shop = await Shop(gql, kube_api).setup()
    first = await shop.start()
    second = await shop.start(imageTag="v2")
    assert first["queuePosition"] is None
    assert second["status"] == "PENDING"
    assert second["queuePosition"] == 1
    listed = await gql.ok(LIST, {"ws": shop.workspace, "filter": {"status": "PENDING"}}, token=shop.token)
    assert {b["id"]: b["queuePosition"] for b in listed["builds"]["nodes"]} == {
        second["id"]: 1,
        first["id"]: None,
    }
    third = await shop.start(imageTag="v3")
    assert third["queuePosition"] == 2
    dropped = (await gql.ok(CANCEL, {"id": third["id"]}, token=shop.token))["cancelBuild"]["build"]
    assert (dropped["status"], dropped["queuePosition"], dropped["startedAt"]) == ("CANCELLED", None, None)
    pod = await BuildPod.of(kube_api, first["id"])
    assert kube_api.get("Job", NAMESPACE, job_name(second["id"])) is None
    await _drive_to_completion(pod, shop, first["id"])
    await BuildPod.of(kube_api, second["id"])
    moved = await shop.get(second["id"])
    assert moved["queuePosition"] is None
    assert moved["startedAt"] is not None
    assert kube_api.get("Job", NAMESPACE, job_name(third["id"])) is None


CREATE_WORKFLOW = """mutation($c: ID!) { createWorkflow(input: {name: "shop", namespace: "shop", clusterId: $c}) {
  workflow { id revision } } }"""
SAVE = "mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"
WORKFLOW = "query($id: ID!) { workflow(id: $id) { revision nodes { id kind data } } }"
STATUS = "subscription($id: ID!) { workflowStatus(workflowId: $id) { type } }"


async def test_a_completed_build_sets_its_node_image_by_digest_keeping_a_concurrent_edit(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    shop = await Shop(gql, kube_api).setup()
    created = (await gql.ok(CREATE_WORKFLOW, {"c": shop.cluster}, token=shop.token))["createWorkflow"][
        "workflow"
    ]
    web = node("web", "Deployment", name="web", image="nginx:1.27", replicas=1, build={"context": "app"})
    saved = await gql.ok(
        SAVE,
        {
            "input": {
                "id": created["id"],
                "nodes": [web],
                "edges": [],
                "expectedRevision": created["revision"],
            }
        },
        token=shop.token,
    )
    revision = saved["saveWorkflow"]["workflow"]["revision"]
    started = await shop.start(clusterId=None, workflowId=created["id"], nodeId="web")
    assert (started["workflowId"], started["nodeId"]) == (created["id"], "web")
    pod = await BuildPod.of(kube_api, started["id"])
    job = kube_api.get("Job", NAMESPACE, job_name(started["id"]))
    assert "context=/workspace/src/app" in job["spec"]["template"]["spec"]["containers"][0]["args"]

    # Someone edits the canvas while the image builds.
    edited = [
        {**web, "data": {**web["data"], "replicas": 3}},
        node("cfg", "ConfigMap", name="web-config", data={"MODE": "production"}),
    ]
    after_edit = await gql.ok(
        SAVE,
        {"input": {"id": created["id"], "nodes": edited, "edges": [], "expectedRevision": revision}},
        token=shop.token,
    )
    assert after_edit["saveWorkflow"]["workflow"]["revision"] == revision + 1

    async with subscribed(live_server, shop.token) as ws:
        await ws.start(STATUS, {"id": created["id"]})
        assert (await ws.next())["data"]["workflowStatus"]["type"] == "METADATA"
        build = await _drive_to_completion(pod, shop, started["id"])
        assert build["status"] == "COMPLETED", build
        sync = await asyncio.wait_for(ws.next(), timeout=10)
        assert sync["data"]["workflowStatus"]["type"] == "WORKFLOW_SYNC"

    workflow = (await gql.ok(WORKFLOW, {"id": created["id"]}, token=shop.token))["workflow"]
    assert workflow["revision"] == revision + 2
    nodes = {n["id"]: n for n in workflow["nodes"]}
    assert nodes["web"]["data"]["image"] == f"{REGISTRY_HOST}/team/shop@{DIGEST}"
    assert nodes["web"]["data"]["replicas"] == 3
    assert nodes["web"]["data"]["build"] == {"context": "app"}
    assert "cfg" in nodes
    assert any(f"now uses {REGISTRY_HOST}/team/shop@{DIGEST}" in line["message"] for line in build["logs"])


async def test_builds_are_checked_first_and_kept_to_their_workspace(
    kube_api: Any, gql: GraphQLClient
) -> None:
    shop = await Shop(gql, kube_api).setup()
    bad = await gql.error(
        START,
        {
            "input": {
                "repoUrl": "file:///etc",
                "registryId": shop.registry,
                "imageName": "Team/Shop:v1",
                "clusterId": shop.cluster,
                "contextPath": "../up",
                "buildArgs": [{"name": "1BAD", "value": "x"}],
            }
        },
        token=shop.token,
    )
    assert bad["extensions"]["code"] == "BAD_INPUT"
    assert bad["extensions"]["fields"][0]["path"] == "repoUrl"
    bad = await gql.error(
        START,
        {
            "input": {
                "repoUrl": REPO,
                "registryId": shop.registry,
                "imageName": "Team/Shop:v1",
                "clusterId": shop.cluster,
                "contextPath": "../up",
                "buildArgs": [{"name": "1BAD", "value": "x"}],
                "useNixpacks": True,
            }
        },
        token=shop.token,
    )
    assert bad["extensions"]["code"] == "BAD_INPUT"
    assert {f["path"] for f in bad["extensions"]["fields"]} == {
        "contextPath",
        "imageName",
        "buildArgs[0].name",
        "useNixpacks",
    }
    private = await gql.error(
        START,
        {
            "input": {
                "repoUrl": "https://10.0.0.8/acme/shop.git",
                "registryId": shop.registry,
                "imageName": "a",
                "clusterId": shop.cluster,
            }
        },
        token=shop.token,
    )
    assert private["extensions"]["code"] == "BAD_INPUT"
    assert private["extensions"]["reason"] == "EGRESS_REFUSED"
    listed = await gql.ok(LIST, {"ws": shop.workspace}, token=shop.token)
    assert listed["builds"]["totalCount"] == 0  # nothing was written

    started = await shop.start()
    other = await gql.register("eve@example.com")
    for query, variables in ((GET, {"id": started["id"]}), (CANCEL, {"id": started["id"]})):
        hidden = await gql.error(query, variables, token=other["token"])
        assert hidden["extensions"]["code"] == "NOT_FOUND"
    foreign = await gql.error(
        START,
        {
            "input": {
                "repoUrl": REPO,
                "registryId": shop.registry,
                "imageName": "a",
                "clusterId": shop.cluster,
            }
        },
        token=other["token"],
    )
    assert foreign["extensions"]["code"] == "NOT_FOUND"
    hidden_list = await gql.error(LIST, {"ws": shop.workspace}, token=other["token"])
    assert hidden_list["extensions"]["code"] == "NOT_FOUND"


CREATE_WORKSPACE = 'mutation { createWorkspace(input: {name: "Team"}) { workspace { id } } }'
ADD_MEMBER = """mutation($ws: ID!, $email: String!) {
  addWorkspaceMember(input: {workspaceId: $ws, email: $email, role: VIEWER}) { member { role } } }"""


async def test_viewers_read_builds_but_cannot_start_or_cancel_them(kube_api: Any, gql: GraphQLClient) -> None:
    shop = await Shop(gql, kube_api).setup()
    team = (await gql.ok(CREATE_WORKSPACE, token=shop.token))["createWorkspace"]["workspace"]["id"]
    cluster = await register_kubeconfig(gql, shop.token, kube_api, name="team", workspaceId=team)
    registry = await gql.ok(
        REGISTER_REGISTRY,
        {"input": {"workspaceId": team, "name": "hub", "type": "GENERIC", "url": f"https://{REGISTRY_HOST}"}},
        token=shop.token,
    )
    registry_id = registry["registerRegistry"]["registry"]["id"]
    started = await shop.start(registryId=registry_id, clusterId=cluster["id"])
    viewer = await gql.register("vic@example.com")
    await gql.ok(ADD_MEMBER, {"ws": team, "email": "vic@example.com"}, token=shop.token)
    seen = await gql.ok(GET, {"id": started["id"]}, token=viewer["token"])
    assert seen["build"]["id"] == started["id"]
    listed = await gql.ok(LIST, {"ws": team}, token=viewer["token"])
    assert [b["id"] for b in listed["builds"]["nodes"]] == [started["id"]]
    refused = await gql.error(
        START,
        {"input": {"repoUrl": REPO, "registryId": registry_id, "imageName": "a", "clusterId": cluster["id"]}},
        token=viewer["token"],
    )
    assert refused["extensions"]["code"] == "FORBIDDEN"
    refused = await gql.error(CANCEL, {"id": started["id"]}, token=viewer["token"])
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert (await shop.get(started["id"]))["status"] != "CANCELLED"


async def test_a_build_left_by_a_stopped_server_is_taken_over_and_finished(
    kube_api: Any, settings: Settings, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    with serving(settings, clock=clock) as first_url:
        shop = await Shop(GraphQLClient(first_url, http), kube_api).setup()
        started = await shop.start()
        pod = await BuildPod.of(kube_api, started["id"])
        pod.log("clone", "commit " + "3" * 40)
        pod.log("dockerfile", "using Dockerfile")
        pod.log("buildkit", "#5 [2/4] RUN make")
        pod.buildkit_running()
        await shop.until(started["id"], lambda b: any(line["source"] == "BUILDKIT" for line in b["logs"]))
    clock.advance(seconds=settings.run_lease_seconds + 1)  # its heartbeat is now stale
    with serving(settings, clock=clock) as second_url:
        shop.gql = GraphQLClient(second_url, http)
        pod.log("buildkit", "#8 exporting to image")
        await shop.status(started["id"], "PUSHING")
        pod.buildkit_ended(0, DIGEST)
        build = await shop.until(started["id"], lambda b: b["status"] in FINISHED)
    assert build["status"] == "COMPLETED", build
    messages = [line["message"] for line in build["logs"]]
    assert messages.count("#5 [2/4] RUN make") == 1  # not stored twice by the second server
    assert messages.count("using Dockerfile") == 1
    assert "following the build Job " + job_name(started["id"]) + " again" in messages


@pytest.mark.parametrize(
    "settings",
    [{"run_heartbeat_seconds": 0.1, "run_lease_seconds": 0.5}],  # the queue round: every 0.25 s
    indirect=True,
)
async def test_a_server_stopping_gracefully_hands_its_builds_over_at_once(
    kube_api: Any, settings: Settings, clock: FakeClock, http: httpx.AsyncClient
) -> None:
    before = clock.now()  # never advanced: no heartbeat goes stale, only a release hands a build over
    with contextlib.ExitStack() as later:
        with serving(settings, clock=clock) as first_url:
            shop = await Shop(GraphQLClient(first_url, http), kube_api).setup()
            started = await shop.start()  # claimed by the first server (dispatched as it is queued)
            pod = await BuildPod.of(kube_api, started["id"])
            pod.log("clone", "commit " + "4" * 40)
            pod.log("buildkit", "#5 [2/4] RUN make")
            pod.buildkit_running()
            await shop.until(started["id"], lambda b: any(line["source"] == "BUILDKIT" for line in b["logs"]))
            second_url = later.enter_context(serving(settings, clock=clock))  # shares the store
        shop.gql = GraphQLClient(second_url, http)  # the first server has stopped; the Job runs on
        pod.log("buildkit", "#8 exporting to image")
        await shop.status(started["id"], "PUSHING")
        pod.buildkit_ended(0, DIGEST)
        build = await shop.until(started["id"], lambda b: b["status"] in FINISHED)
    assert build["status"] == "COMPLETED", build
    messages = [line["message"] for line in build["logs"]]
    assert "following the build Job " + job_name(started["id"]) + " again" in messages
    assert messages.count("#5 [2/4] RUN make") == 1
    assert clock.now() == before


@pytest.mark.parametrize("settings", [{"build_log_lines_max": 100}], indirect=True)
async def test_a_long_log_keeps_its_latest_lines_after_a_marker(
    kube_api: Any, gql: GraphQLClient, live_server: str
) -> None:
    shop = await Shop(gql, kube_api).setup()
    started = await shop.start()
    pod = await BuildPod.of(kube_api, started["id"])
    pod.log("buildkit", *(f"#9 step output {n}" for n in range(1, 151)))
    pod.buildkit_running()
    await shop.until(started["id"], lambda b: b["logs"][-1]["message"] == "#9 step output 150")
    pod.buildkit_ended(0, DIGEST)
    build = await shop.until(started["id"], lambda b: b["status"] in FINISHED)
    assert build["trimmedLines"] > 0
    assert build["logs"][0] == {
        "seq": 0,
        "source": "TRELLIS",
        "message": f"… {build['trimmedLines']} earlier lines trimmed",
    }
    assert len(build["logs"]) == 101
    async with subscribed(live_server, shop.token) as ws:
        await ws.start(LOGS, {"id": started["id"]})
        first = (await ws.next())["data"]["buildLogs"]
        rest = []
        while (event := (await ws.next())["data"]["buildLogs"])["type"] != "COMPLETE":
            rest.append(event["line"]["message"])
    assert rest == [line["message"] for line in build["logs"][1:]]
    assert first["line"]["message"] == f"… {build['trimmedLines']} earlier lines trimmed"
