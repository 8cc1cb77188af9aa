"""Function steps as Kubernetes Jobs, through GraphQL over real HTTP and WebSocket, with the Kubernetes API
test server playing the kubelet and the Job controller for the step pods: a linear flow passing outputs
along, a fan-out / fan-in through a Merge, a Condition routing on a step's output, an output posted back
with the attempt's step token, failures (an error, OOMKilled, the deadline) retried automatically and then
by ``retryStep``, a cancelled run deleting its Job, a server stopping in the middle of a run and the next
one finishing it, and step logs replayed to a late subscriber."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from app.domain.flows.function_jobs import attempt_name
from app.settings import Settings
from tests.api.clusters import register_kubeconfig
from tests.api.ws_client import subscribed
from tests.clock import FakeClock
from tests.flows.step_pods import StepPod
from tests.graphql_client import GraphQLClient
from tests.live import serving

NAMESPACE = "invoices"
CREATE = """mutation($c: ID!) { createWorkflow(input: {name: "Invoices", type: FLOW, namespace: "invoices",
  clusterId: $c}) { workflow { id } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
RUN = """mutation($id: ID!, $data: JSON) {
  runWorkflow(input: {id: $id, triggerData: $data}) { run { id status kind } } }"""
CANCEL = """mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id cancelRequested } } }"""
RETRY = """mutation($run: ID!, $node: ID!) { retryStep(input: {runId: $run, nodeId: $node}) {
  run { id status nodeStates { nodeId status } } } }"""
GET_RUN = """query($id: ID!) { run(id: $id) { id status error kind result nodeStates { nodeId status message
  step { attempt port output outputSize errorKind errorStage error } } } }"""
STEP_LOGS = """subscription($run: ID!, $node: ID!) { stepLogs(runId: $run, nodeId: $node) {
  type status line { seq attempt level message } } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Step pods are read often (the test drives them), and runs renew their lease quickly."""
    return settings.model_copy(
        update={"flow_job_poll_seconds": 0.05, "run_heartbeat_seconds": 0.2, "flow_job_ttl_seconds": 60}
    )


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "sourceHandle": handle}


def function(node_id: str, **data: Any) -> dict[str, Any]:
    return node(node_id, "Function", runtime="python", code="def main(data):\n    return data\n", **data)


async def make_flow(gql: GraphQLClient, kube_api: Any, nodes: list[Any], edges: list[Any]) -> tuple[str, str]:
    token: str = (await gql.register("ada@example.com"))["token"]
    cluster = await register_kubeconfig(gql, token, kube_api)
    wf = str((await gql.ok(CREATE, {"c": cluster["id"]}, token=token))["createWorkflow"]["workflow"]["id"])
    await gql.ok(
        SAVE, {"input": {"id": wf, "nodes": nodes, "edges": edges, "expectedRevision": 1}}, token=token
    )
    return token, wf


async def start(gql: GraphQLClient, token: str, wf: str, data: Any = None) -> str:
    run = (await gql.ok(RUN, {"id": wf, "data": data}, token=token))["runWorkflow"]["run"]
    assert run["status"] == "RUNNING" and run["kind"] == "FLOW"
    return str(run["id"])


async def run_of(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    return (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]  # type: ignore[no-any-return]


async def until(
    gql: GraphQLClient, token: str, run_id: str, check: Any, *, within: float = 10.0
) -> dict[str, Any]:
    """The run once ``check(run)`` holds (polled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        run = await run_of(gql, token, run_id)
        if check(run):
            return run
        if loop.time() > deadline:
            raise AssertionError(f"the run never got there: {json.dumps(run)[:2000]}")
        await asyncio.sleep(0.03)


def states(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {state["nodeId"]: state for state in run["nodeStates"]}


def ended(run: dict[str, Any]) -> bool:
    return run["status"] not in ("PENDING", "RUNNING")


def step_input(kube_api: Any, run_id: str, node_id: str, attempt: int) -> Any:
    """The input the attempt's pod gets (from the Secret created for it)."""
    secret = kube_api.get("Secret", NAMESPACE, attempt_name(run_id, node_id, attempt))
    assert secret is not None
    return json.loads(base64.b64decode(secret["data"]["input.json"]))


def step_token(kube_api: Any, run_id: str, node_id: str, attempt: int) -> str:
    secret = kube_api.get("Secret", NAMESPACE, attempt_name(run_id, node_id, attempt))
    assert secret is not None
    key = next(k for k in secret["data"] if "token" in k.lower())
    return base64.b64decode(secret["data"][key]).decode()


def attempt_objects(kube_api: Any, run_id: str, node_id: str, attempt: int) -> list[str]:
    name = attempt_name(run_id, node_id, attempt)
    return [kind for kind in ("Job", "Secret") if kube_api.get(kind, NAMESPACE, name) is not None]


@pytest.fixture
def pods_wait(kube_api: Any) -> None:
    """Step pods stay running until the test ends them."""
    kube_api.controllers.enable()
    kube_api.controllers.job_pod_state = "running"


async def test_a_linear_flow_passes_each_output_to_the_next_step_and_cleans_up(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    nodes = [
        node("start", "Start"),
        function("fetch"),
        function("total", inputMapping={"count": "length(steps.fetch.output.invoices)", "who": "input.who"}),
        node("end", "End"),
    ]
    token, wf = await make_flow(
        gql, kube_api, nodes, [edge("start", "fetch"), edge("fetch", "total"), edge("total", "end")]
    )
    run_id = await start(gql, token, wf, {"month": "2026-10"})
    fetch = await StepPod.of(kube_api, run_id, "fetch", 1)
    assert step_input(kube_api, run_id, "fetch", 1) == {"month": "2026-10"}
    await until(gql, token, run_id, lambda r: states(r)["fetch"]["status"] == "RUNNING")
    fetch.log("fetching invoices for 2026-10")
    await fetch.succeed({"invoices": [1, 2, 3], "who": "acme"})
    total = await StepPod.of(kube_api, run_id, "total", 1)
    assert step_input(kube_api, run_id, "total", 1) == {"count": 3, "who": "acme"}  # the inputMapping
    await total.succeed({"sum": 6})
    run = await until(gql, token, run_id, ended)
    assert run["status"] == "COMPLETED" and run["error"] is None
    assert run["result"] == {"sum": 6}
    got = states(run)
    assert got["fetch"]["step"]["output"] == {"invoices": [1, 2, 3], "who": "acme"}
    assert got["total"]["step"]["attempt"] == 1 and got["total"]["step"]["port"] == "output"
    for step in ("fetch", "total"):  # everything created for the attempts is gone
        assert attempt_objects(kube_api, run_id, step, 1) == []


async def test_a_fan_out_joins_in_a_merge_and_a_condition_routes_on_an_output(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    nodes = [
        node("start", "Start"),
        function("eu"),
        function("us"),
        node("join", "Merge", mode="ALL"),
        node("big", "Condition", expression="join.eu.total > `100`".replace("join.", "input.")),
        function("alert"),
        node("quiet", "End"),
        node("alerted", "End"),
    ]
    edges = [
        edge("start", "eu"),
        edge("start", "us"),
        edge("eu", "join"),
        edge("us", "join"),
        edge("join", "big"),
        edge("big", "alert", "true"),
        edge("big", "quiet", "false"),
        edge("alert", "alerted"),
    ]
    token, wf = await make_flow(gql, kube_api, nodes, edges)
    run_id = await start(gql, token, wf)
    eu, us = await StepPod.of(kube_api, run_id, "eu", 1), await StepPod.of(kube_api, run_id, "us", 1)
    await us.succeed({"total": 40})
    await until(gql, token, run_id, lambda r: states(r)["us"]["status"] == "COMPLETED")
    assert states(await run_of(gql, token, run_id))["join"]["status"] == "PENDING"  # waits for both
    await eu.succeed({"total": 250})
    alert = await StepPod.of(kube_api, run_id, "alert", 1)
    assert step_input(kube_api, run_id, "alert", 1) == {"eu": {"total": 250}, "us": {"total": 40}}
    await alert.succeed({"paged": True})
    run = await until(gql, token, run_id, ended)
    got = states(run)
    assert run["status"] == "COMPLETED"
    assert got["big"]["step"]["port"] == "true" and got["quiet"]["status"] == "SKIPPED"
    assert run["result"] == {"paged": True}


async def test_a_large_output_is_posted_back_once_with_the_attempt_token(
    kube_api: Any, pods_wait: None, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    token, wf = await make_flow(
        gql,
        kube_api,
        [node("start", "Start"), function("big"), node("end", "End")],
        [edge("start", "big"), edge("big", "end")],
    )
    run_id = await start(gql, token, wf)
    pod = await StepPod.of(kube_api, run_id, "big", 1)
    step = step_token(kube_api, run_id, "big", 1)
    url = gql.url.removesuffix("/graphql") + "/v1/steps/output"
    output = {"rows": ["x" * 100] * 100}
    body = json.dumps(output).encode()
    refused = await http.post(url, content=body, headers={"authorization": "Bearer " + token})
    assert refused.status_code == 401  # a user's access token is not a step token
    assert (
        await http.post(url, content=b"{not json", headers={"authorization": "Bearer " + step})
    ).status_code == 400
    accepted = await http.post(url, content=body, headers={"authorization": "Bearer " + step})
    assert accepted.status_code == 204
    again = await http.post(url, content=body, headers={"authorization": "Bearer " + step})
    assert again.status_code == 409  # accepted once
    await pod.succeed_posted(len(body))
    run = await until(gql, token, run_id, ended)
    assert run["status"] == "COMPLETED"
    assert states(run)["big"]["step"]["output"] == output
    late = await http.post(url, content=body, headers={"authorization": "Bearer " + step})
    assert late.status_code == 409  # the attempt is over


async def test_failures_are_retried_by_policy_then_by_retry_step_reusing_outputs_upstream(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    nodes = [
        node("start", "Start"),
        function("fetch"),
        function(
            "send", retry={"attempts": 3, "backoffSeconds": 0, "on": ["ERROR", "OOM"]}, timeoutSeconds=30
        ),
        node("end", "End"),
    ]
    token, wf = await make_flow(
        gql, kube_api, nodes, [edge("start", "fetch"), edge("fetch", "send"), edge("send", "end")]
    )
    run_id = await start(gql, token, wf)
    await (await StepPod.of(kube_api, run_id, "fetch", 1)).succeed({"n": 1})
    first = await StepPod.of(kube_api, run_id, "send", 1)
    await first.fail("ConnectionError", "smtp.example.com refused")
    second = await StepPod.of(kube_api, run_id, "send", 2)
    await second.oom()
    third = await StepPod.of(kube_api, run_id, "send", 3)
    await third.deadline_exceeded()  # TIMEOUT is not in the policy's `on`: no fourth attempt anyway
    run = await until(gql, token, run_id, ended)
    assert run["status"] == "FAILED" and "send" in run["error"]
    send = states(run)["send"]
    assert send["status"] == "FAILED"
    assert send["step"]["attempt"] == 3 and send["step"]["errorKind"] == "TIMEOUT"
    assert states(run)["end"]["status"] == "CANCELLED"
    for attempt in (1, 2, 3):
        assert attempt_objects(kube_api, run_id, "send", attempt) == []

    retried = (await gql.ok(RETRY, {"run": run_id, "node": "send"}, token=token))["retryStep"]["run"]
    assert retried["status"] == "RUNNING"
    assert {s["nodeId"]: s["status"] for s in retried["nodeStates"]} == {
        "start": "COMPLETED",
        "fetch": "COMPLETED",
        "send": "PENDING",
        "end": "PENDING",
    }
    fourth = await StepPod.of(kube_api, run_id, "send", 4)
    assert step_input(kube_api, run_id, "send", 4) == {"n": 1}  # fetch's stored output, not run again
    await fourth.succeed({"sent": True})
    run = await until(gql, token, run_id, ended)
    assert run["status"] == "COMPLETED" and run["result"] == {"sent": True}
    assert kube_api.get("Job", NAMESPACE, attempt_name(run_id, "fetch", 2)) is None
    error = await gql.error(RETRY, {"run": run_id, "node": "send"}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"  # COMPLETED now: nothing to retry


async def test_a_step_error_and_an_oom_say_what_happened(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    nodes = [node("start", "Start"), function("a"), function("b"), node("end", "End")]
    edges = [edge("start", "a"), edge("start", "b"), edge("a", "end"), edge("b", "end")]
    token, wf = await make_flow(gql, kube_api, nodes, edges)
    run_id = await start(gql, token, wf)
    a, b = await StepPod.of(kube_api, run_id, "a", 1), await StepPod.of(kube_api, run_id, "b", 1)
    await b.oom()
    await a.fail("KeyError", "'invoice'")
    run = await until(gql, token, run_id, ended)
    got = states(run)
    assert run["status"] == "FAILED"
    assert got["b"]["step"]["errorKind"] == "OOM" and "memory" in got["b"]["step"]["error"]
    assert got["a"]["step"]["errorKind"] == "ERROR" and got["a"]["step"]["errorStage"] == "code"
    assert "KeyError" in got["a"]["step"]["error"]


async def test_cancelling_a_run_stops_its_step_and_deletes_the_job(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    token, wf = await make_flow(
        gql,
        kube_api,
        [node("start", "Start"), function("slow"), node("end", "End")],
        [edge("start", "slow"), edge("slow", "end")],
    )
    run_id = await start(gql, token, wf)
    await StepPod.of(kube_api, run_id, "slow", 1)
    assert attempt_objects(kube_api, run_id, "slow", 1) == ["Job", "Secret"]
    assert (await gql.ok(CANCEL, {"id": run_id}, token=token))["cancelRun"]["run"]["cancelRequested"]
    run = await until(gql, token, run_id, ended)
    assert run["status"] == "CANCELLED"
    assert states(run)["slow"]["status"] == "CANCELLED" and states(run)["end"]["status"] == "CANCELLED"
    await kube_api.controllers.settle()
    assert attempt_objects(kube_api, run_id, "slow", 1) == []


async def test_step_logs_are_replayed_to_a_late_subscriber_then_it_completes(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    token, wf = await make_flow(
        gql,
        kube_api,
        [node("start", "Start"), function("talk"), node("end", "End")],
        [edge("start", "talk"), edge("talk", "end")],
    )
    run_id = await start(gql, token, wf)
    pod = await StepPod.of(kube_api, run_id, "talk", 1)
    await until(gql, token, run_id, lambda r: states(r)["talk"]["status"] == "RUNNING")
    base = gql.url.removesuffix("/graphql")
    async with subscribed(base, token) as live:
        await live.start(STEP_LOGS, {"run": run_id, "node": "talk"})
        pod.log("hello from the step", "second line")
        seen: list[str] = []
        while "second line" not in seen:
            event = (await asyncio.wait_for(live.next(), 10))["data"]["stepLogs"]
            if event["type"] == "LINE":
                seen.append(event["line"]["message"])
    await pod.succeed({"ok": True})
    await until(gql, token, run_id, ended)
    async with subscribed(base, token) as late:  # after the end: everything stored, then COMPLETE
        await late.start(STEP_LOGS, {"run": run_id, "node": "talk"})
        events = []
        while True:
            payload = await asyncio.wait_for(late.next(), 10)
            if payload.get("complete"):
                break
            events.append(payload["data"]["stepLogs"])
            if events[-1]["type"] == "COMPLETE":
                break
    lines = [e["line"]["message"] for e in events if e["type"] == "LINE"]
    assert "hello from the step" in lines and "second line" in lines
    assert lines.index("hello from the step") < lines.index("second line")
    assert [e["line"]["seq"] for e in events if e["type"] == "LINE"] == sorted(
        e["line"]["seq"] for e in events if e["type"] == "LINE"
    )
    assert events[-1] == {"type": "COMPLETE", "status": "COMPLETED", "line": None}


async def test_a_run_survives_a_server_restart_and_the_next_server_finishes_it(
    kube_api: Any, settings: Settings, clock: FakeClock
) -> None:
    kube_api.controllers.enable()
    kube_api.controllers.job_pod_state = "running"
    nodes = [node("start", "Start"), function("first"), function("second"), node("end", "End")]
    edges = [edge("start", "first"), edge("first", "second"), edge("second", "end")]
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(settings, clock=clock) as url:
            gql = GraphQLClient(url, http)
            token, wf = await make_flow(gql, kube_api, nodes, edges)
            run_id = await start(gql, token, wf)
            await (await StepPod.of(kube_api, run_id, "first", 1)).succeed({"a": 1})
            second = await StepPod.of(kube_api, run_id, "second", 1)
            await until(gql, token, run_id, lambda r: states(r)["second"]["status"] == "RUNNING")
        # The server stopped: the run is still RUNNING, its step's Job still there.
        assert attempt_objects(kube_api, run_id, "second", 1) == ["Job", "Secret"]
        second.log("still working while nobody watches")
        with serving(settings, clock=clock) as url:
            gql = GraphQLClient(url, http)
            run = await run_of(gql, token, run_id)
            assert run["status"] == "RUNNING"
            await asyncio.sleep(0.3)  # the new server follows the same Job (no second attempt)
            assert kube_api.get("Job", NAMESPACE, attempt_name(run_id, "second", 2)) is None
            await second.succeed({"b": 2})
            run = await until(gql, token, run_id, ended)
    assert run["status"] == "COMPLETED" and run["result"] == {"b": 2}
    assert states(run)["second"]["step"]["attempt"] == 1
    assert states(run)["first"]["step"]["output"] == {"a": 1}
    assert attempt_objects(kube_api, run_id, "second", 1) == []


async def test_a_flow_with_function_steps_needs_a_cluster(gql: GraphQLClient) -> None:
    token: str = (await gql.register("ada@example.com"))["token"]
    created = await gql.ok(
        'mutation { createWorkflow(input: {name: "No cluster", type: FLOW}) { workflow { id } } }',
        token=token,
    )
    wf = created["createWorkflow"]["workflow"]["id"]
    nodes = [node("start", "Start"), function("f"), node("end", "End")]
    await gql.ok(
        SAVE,
        {
            "input": {
                "id": wf,
                "nodes": nodes,
                "edges": [edge("start", "f"), edge("f", "end")],
                "expectedRevision": 1,
            }
        },
        token=token,
    )
    error = await gql.error(RUN, {"id": wf}, token=token)
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "cluster" in error["message"]
    runs = await gql.ok("query($id: ID!) { runs(workflowId: $id) { totalCount } }", {"id": wf}, token=token)
    assert runs["runs"]["totalCount"] == 0


async def test_a_workspace_secret_reaches_the_pod_only_through_the_attempt_secret(
    kube_api: Any, pods_wait: None, gql: GraphQLClient
) -> None:
    canary = "canary-7f3c2a9e"
    nodes = [node("start", "Start"), function("call", secrets=["API_KEY"]), node("end", "End")]
    token, wf = await make_flow(gql, kube_api, nodes, [edge("start", "call"), edge("call", "end")])
    ws = (await gql.ok("query($id: ID!) { workflow(id: $id) { workspaceId } }", {"id": wf}, token=token))[
        "workflow"
    ]["workspaceId"]
    await gql.ok(
        "mutation($input: SetSecretInput!) { setSecret(input: $input) { secret { name } } }",
        {"input": {"workspaceId": ws, "name": "API_KEY", "value": canary}},
        token=token,
    )
    run_id = await start(gql, token, wf)
    pod = await StepPod.of(kube_api, run_id, "call", 1)
    name = attempt_name(run_id, "call", 1)
    job = kube_api.get("Job", NAMESPACE, name)
    assert canary not in json.dumps(job)  # never in the Job spec: a secretKeyRef to the attempt's Secret
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == name
    secret = kube_api.get("Secret", NAMESPACE, name)
    key = env["API_KEY"]["valueFrom"]["secretKeyRef"]["key"]
    assert base64.b64decode(secret["data"][key]).decode() == canary
    await pod.succeed({"ok": True})
    run = await until(gql, token, run_id, ended)
    assert run["status"] == "COMPLETED"
    assert attempt_objects(kube_api, run_id, "call", 1) == []
    assert canary not in json.dumps(run)
