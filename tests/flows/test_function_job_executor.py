"""The Kubernetes executor of Function steps against the Kubernetes API test server: one Job per attempt,
its pod driven as the kubelet reports it (tests/flows/step_pods.py), its log streamed into the step's
log, its end mapped to a StepResult, its Job and Secret deleted after — or left running when the server
stops, and followed again by the next call."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import errors
from app.domain.clusters import ClusterAuthType, ClusterCredentials
from app.domain.flows.function_jobs import (
    Attempt,
    FunctionJobSettings,
    StepProgram,
    attempt_name,
    attempt_selector,
    secret_manifest,
)
from app.domain.flows.scheduler import FlowStep
from app.domain.flows.steps import ERROR, OOM, REFUSED, TIMEOUT, StepInvocation, StepResult
from app.domain.ids import new_id
from app.domain.runs import StepOutputRecord
from app.flows.function_job import REATTACHED, KubernetesFunctionExecutor
from app.flows.runtimes import STEP_TOKEN_ENV
from app.kube import KubeGateway
from app.ports import LiveClusterSession, Store
from app.store.opening import open_store
from tests.clock import FakeClock
from tests.flows.step_pods import StepPod
from tests.kubeapi import KubeApiServer
from tests.store.builders import Make

NS = "flows-ns"
NODE = "fetch"
CLUSTER = "cluster-1"
OUTPUT_URL = "https://trellis.example.com/v1/steps/output"
CODE = "def main(data):\n    return {'total': len(data['items'])}\n"


class Sessions:
    """The ClusterSessions of these tests: ``CLUSTER`` is the test API server; other ids are not found."""

    def __init__(self, api: KubeApiServer, *, timeout_seconds: float = 5.0) -> None:
        self._gateway = KubeGateway()
        self._credentials = ClusterCredentials(
            auth_type=ClusterAuthType.TOKEN, server=api.url, token="unused"
        )
        self._timeout = timeout_seconds

    @asynccontextmanager
    async def open(self, workspace_id: str, cluster_id: str) -> AsyncIterator[LiveClusterSession]:
        if cluster_id != CLUSTER:
            raise errors.NotFound("cluster", cluster_id)
        async with self._gateway.open(self._credentials, timeout_seconds=self._timeout) as session:
            yield session


@dataclass
class Tokens:
    """Issues recognisable step tokens and remembers what it was asked for."""

    issued: list[dict[str, Any]] = field(default_factory=list)

    def issue(
        self, *, workspace_id: str, run_id: str, node_id: str, attempt: int, expires_at: datetime
    ) -> str:
        self.issued.append(
            {
                "workspace": workspace_id,
                "run": run_id,
                "node": node_id,
                "attempt": attempt,
                "expires": expires_at,
            }
        )
        return f"step-token-{len(self.issued)}"


@dataclass
class StepLog:
    lines: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, message: str, level: str = "INFO") -> None:
        self.lines.append((level, message))

    @property
    def messages(self) -> list[str]:
        return [message for _, message in self.lines]

    def count(self, fragment: str) -> int:
        return sum(1 for message in self.messages if fragment in message)


@dataclass
class Flow:
    """One FLOW run in a real SQLite store, the executor under test and what it was given."""

    kube_api: KubeApiServer
    store: Store
    workspace_id: str
    run_id: str
    executor: KubernetesFunctionExecutor
    tokens: Tokens
    clock: FakeClock
    log: StepLog = field(default_factory=StepLog)

    def invocation(
        self,
        *,
        data: dict[str, Any] | None = None,
        attempt: int = 1,
        cluster_id: str = CLUSTER,
        run_cancelled: Callable[[], bool] = lambda: False,
    ) -> StepInvocation:
        step_data = {"runtime": "python", "code": CODE, "timeoutSeconds": 30} if data is None else data
        return StepInvocation(
            run_id=self.run_id,
            workspace_id=self.workspace_id,
            step=FlowStep(NODE, "Function", step_data),
            attempt=attempt,
            input={"items": [1, 2, 3]},
            scope={"steps": {}, "input": {"items": [1, 2, 3]}},
            timeout_seconds=float(step_data.get("timeoutSeconds", 0)),
            log=self.log,
            cluster_id=cluster_id,
            namespace=NS,
            workflow_id="wf-1",
            started_at=self.clock.now(),
            run_cancelled=run_cancelled,
        )

    def start(self, invocation: StepInvocation | None = None) -> asyncio.Task[StepResult]:
        return asyncio.get_running_loop().create_task(self.executor.execute(invocation or self.invocation()))

    async def pod(self, attempt: int = 1) -> StepPod:
        """The attempt's pod, once the executor has created (or found) everything."""
        pod = await StepPod.of(self.kube_api, self.run_id, NODE, attempt)
        await until(lambda: self.log.count("created Job") + self.log.count(REATTACHED) > 0)
        return pod


async def until(condition: Callable[[], bool], within: float = 15.0) -> None:
    """Wait (a few milliseconds at a time, at most ``within`` seconds) until ``condition()`` holds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not condition():
        if loop.time() > end:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0.01)


async def polls(kube_api: KubeApiServer, count: int) -> None:
    """Wait until the executor has read the attempt's pods ``count`` more times."""

    def reads() -> int:
        return sum(
            1 for r in kube_api.requests if r.method == "GET" and r.path.endswith(f"/namespaces/{NS}/pods")
        )

    target = reads() + count
    await until(lambda: reads() >= target)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:///{tmp_path / 'trellis.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def flow(kube_api: KubeApiServer, store: Store, clock: FakeClock) -> Flow:
    kube_api.controllers.job_pod_state = "creating"
    make = Make()
    _, workspace, scope = await make.tenant(store)
    workflow = make.workflow(workspace.id)
    await store.insert_workflow(workflow)
    _, run = await store.start_run(scope, make.draft(), make.run(workflow, id=new_id()))
    tokens = Tokens()
    return Flow(
        kube_api, store, workspace.id, run.id, executor_for(kube_api, store, tokens, clock), tokens, clock
    )


def executor_for(
    kube_api: KubeApiServer, store: Store, tokens: Tokens, clock: FakeClock, *, timeout_seconds: float = 5.0
) -> KubernetesFunctionExecutor:
    settings = FunctionJobSettings(
        output_url=OUTPUT_URL, poll_seconds=0.01, drain_seconds=2.0, max_output_bytes=5000
    )
    return KubernetesFunctionExecutor(
        sessions=Sessions(kube_api, timeout_seconds=timeout_seconds),
        files=store,
        outputs=store,
        tokens=tokens,
        clock=clock,
        settings=settings,
    )


def gone(kube_api: KubeApiServer, flow: Flow, attempt: int = 1) -> bool:
    name = attempt_name(flow.run_id, NODE, attempt)
    selector = attempt_selector(flow.run_id, NODE, attempt)
    return (
        kube_api.get("Job", NS, name) is None
        and kube_api.get("Secret", NS, name) is None
        and not kube_api.list("Pod", NS, labels=selector)
    )


# --- ending well ------------------------------------------------------------------------------------------


async def test_an_inline_output_is_the_result_and_the_log_is_streamed(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    pod.log("counting 3 items", "done")
    await pod.succeed({"total": 3})
    assert await task == StepResult(output={"total": 3})
    name = attempt_name(flow.run_id, NODE, 1)
    assert [line for line in flow.log.lines if "is waiting (ContainerCreating)" not in line[1]] == [
        ("INFO", f"created Job {name} in {NS} (image python:3.12-slim)"),
        ("INFO", "counting 3 items"),
        ("INFO", "done"),
        ("INFO", f"Job {name} completed"),
    ]
    assert gone(kube_api, flow)
    namespace = kube_api.get("Namespace", None, NS)
    assert namespace is not None
    assert namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "trellis"


async def test_the_job_carries_the_runner_contract_and_the_secret_belongs_to_it(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    task = flow.start()
    pod = await flow.pod()
    name = attempt_name(flow.run_id, NODE, 1)
    job = kube_api.get("Job", NS, name)
    secret = kube_api.get("Secret", NS, name)
    assert job is not None and secret is not None
    [container] = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["TRELLIS_STEP_DIR"] == "/trellis/step"
    assert env["TRELLIS_ENTRYPOINT"] == "main"
    assert env["TRELLIS_RESULT_PATH"] == "/dev/termination-log"
    assert env["TRELLIS_RESULT_INLINE_MAX"] == "4000"
    assert env["TRELLIS_OUTPUT_MAX"] == "5000"
    assert env["TRELLIS_OUTPUT_URL"] == OUTPUT_URL
    assert env[STEP_TOKEN_ENV] == {"secretKeyRef": {"name": name, "key": "token"}}
    assert job["spec"]["activeDeadlineSeconds"] == 30
    assert job["metadata"]["annotations"]["trellis.dev/workflow-id"] == "wf-1"
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job["metadata"]["uid"]}
    ]
    assert base64.b64decode(secret["data"]["token"]) == b"step-token-1"
    assert base64.b64decode(secret["data"]["main.py"]).decode() == CODE
    assert base64.b64decode(secret["data"]["input.json"]) == b'{"items":[1,2,3]}'
    [issued] = flow.tokens.issued
    assert issued == {
        "workspace": flow.workspace_id,
        "run": flow.run_id,
        "node": NODE,
        "attempt": 1,
        "expires": flow.clock.now() + timedelta(seconds=30 + 120),
    }
    await pod.succeed(None)
    assert (await task).ok


async def test_a_posted_output_is_read_from_the_store(kube_api: KubeApiServer, flow: Flow) -> None:
    big = {"rows": ["x" * 100] * 50}
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    await flow.store.put_step_output(StepOutputRecord(flow.run_id, NODE, 1, big, 5300, flow.clock.now()))
    await pod.succeed_posted(5300)
    assert await task == StepResult(output=big)
    assert gone(kube_api, flow)


async def test_a_posted_output_trellis_never_received_fails_at_output(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    task = flow.start()
    pod = await flow.pod()
    await pod.succeed_posted(5300)
    result = await task
    assert (result.error_kind, result.stage) == (ERROR, "output")
    assert (
        result.message == "the step reported posting its output (5300 bytes), but Trellis did not receive it"
    )


async def test_a_result_that_is_not_an_envelope_fails_at_output(flow: Flow) -> None:
    task = flow.start()
    pod = await flow.pod()
    await pod._end(pod._terminated("succeeded", message="not json"))
    result = await task
    assert (result.error_kind, result.stage) == (ERROR, "output")
    assert str(result.message).startswith("the step's output is not JSON")


# --- failing ----------------------------------------------------------------------------------------------


async def test_the_codes_error_envelope_is_the_failure(kube_api: KubeApiServer, flow: Flow) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    pod.log("Traceback (most recent call last):", "KeyError: 'items'")
    await pod.fail("KeyError", "'items'")
    assert await task == StepResult.failed(ERROR, "code", "KeyError: 'items'")
    assert "KeyError: 'items'" in flow.log.messages
    assert flow.log.lines[-1] == (
        "ERROR",
        f"Job {attempt_name(flow.run_id, NODE, 1)} failed: KeyError: 'items'",
    )
    assert gone(kube_api, flow)


async def test_an_exit_without_an_envelope_says_the_exit_code(kube_api: KubeApiServer, flow: Flow) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    await pod.exit(3)
    assert await task == StepResult.failed(ERROR, "code", "exited with code 3")
    assert gone(kube_api, flow)


async def test_running_out_of_memory_is_oom(kube_api: KubeApiServer, flow: Flow) -> None:
    data = {"runtime": "python", "code": CODE, "timeoutSeconds": 30, "resources": {"memory": "64Mi"}}
    task = flow.start(flow.invocation(data=data))
    pod = await flow.pod()
    pod.running()
    await pod.oom()
    assert await task == StepResult.failed(OOM, "run", "ran out of memory (its limit is 64Mi) and was killed")
    assert gone(kube_api, flow)


async def test_the_jobs_deadline_is_a_timeout(kube_api: KubeApiServer, flow: Flow) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    await pod.deadline_exceeded()
    assert await task == StepResult.failed(TIMEOUT, "run", "ran longer than its timeoutSeconds (30 s)")
    assert gone(kube_api, flow)


async def test_an_image_that_cannot_be_pulled_fails_at_start(kube_api: KubeApiServer, flow: Flow) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.image_pull_backoff()
    result = await task
    assert (result.error_kind, result.stage) == (ERROR, "start")
    assert result.message == (
        'the step cannot start: its image cannot be pulled (ImagePullBackOff): Back-off pulling image "python:3.12-slim"'
    )
    assert gone(kube_api, flow)


async def test_waiting_for_a_node_is_logged_once(kube_api: KubeApiServer, flow: Flow) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.unschedulable()
    await until(lambda: flow.log.count("waiting for a node") == 1)
    await polls(kube_api, 3)
    assert flow.log.count("waiting for a node") == 1
    assert (
        "WARNING",
        "waiting for a node: " + pod.pod["status"]["conditions"][0]["message"],
    ) in flow.log.lines
    pod.running()
    await pod.succeed([])
    assert await task == StepResult(output=[])


async def test_a_job_that_never_ends_is_given_up_past_its_deadline(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    await polls(kube_api, 1)
    flow.clock.advance(seconds=30 + 59)
    await polls(kube_api, 2)
    assert not task.done()
    flow.clock.advance(seconds=2)
    result = await task
    assert (result.error_kind, result.stage) == (TIMEOUT, "run")
    assert result.message == "ran longer than its timeoutSeconds (30 s), and its Job did not end by itself"
    assert gone(kube_api, flow)


# --- cancelled, restarted, unreachable --------------------------------------------------------------------


async def test_cancelling_the_run_deletes_the_job_and_secret(kube_api: KubeApiServer, flow: Flow) -> None:
    task = flow.start(flow.invocation(run_cancelled=lambda: True))
    pod = await flow.pod()
    pod.running()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gone(kube_api, flow)


async def test_a_stopping_server_leaves_the_job_and_the_next_call_follows_it(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    first = flow.start()
    pod = await flow.pod()
    pod.running()
    pod.log("before the restart")
    await until(lambda: "before the restart" in flow.log.messages)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    name = attempt_name(flow.run_id, NODE, 1)
    assert kube_api.get("Job", NS, name) is not None and kube_api.get("Secret", NS, name) is not None

    second = flow.start()
    await until(lambda: REATTACHED in flow.log.messages)
    pod.log("after the restart")
    await pod.succeed({"total": 3})
    assert await second == StepResult(output={"total": 3})
    assert len(flow.tokens.issued) == 1  # the Job was not created again
    assert flow.log.count("created Job") == 1
    after = flow.log.messages[flow.log.messages.index(REATTACHED) :]
    assert after[1:] == ["before the restart", "after the restart", f"Job {name} completed"]
    assert gone(kube_api, flow)


async def test_a_secret_left_by_an_unfinished_start_is_replaced(kube_api: KubeApiServer, flow: Flow) -> None:
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    stale = Attempt(flow.run_id, NODE, 1, NS, 30)
    program = StepProgram("python", "python3", "runner.py", {"input.json": b"{}"}, {}, STEP_TOKEN_ENV)
    kube_api.apply(secret_manifest(stale, program, "old"), manager="trellis-flow-steps")
    task = flow.start()
    pod = await flow.pod()
    secret = kube_api.get("Secret", NS, attempt_name(flow.run_id, NODE, 1))
    assert secret is not None and base64.b64decode(secret["data"]["token"]) == b"step-token-1"
    await pod.succeed(1)
    assert await task == StepResult(output=1)


async def test_a_cluster_unavailable_while_following_is_tried_again(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    task = flow.start()
    pod = await flow.pod()
    pod.running()
    pod.log("before")
    await until(lambda: "before" in flow.log.messages)
    job = f"/apis/batch/v1/namespaces/{NS}/jobs/{attempt_name(flow.run_id, NODE, 1)}"
    kube_api.fail_requests(503, times=3, method="GET", path=job)
    await until(lambda: "the cluster can be reached again" in flow.log.messages)
    pod.log("after")
    await pod.succeed({"total": 3})
    assert await task == StepResult(output={"total": 3})
    assert flow.log.count("the cluster cannot be reached") == 1
    assert [m for m in flow.log.messages if m in ("before", "after")] == ["before", "after"]
    assert gone(kube_api, flow)


async def test_a_log_that_cannot_be_read_yet_is_read_again_without_repeating(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    task = flow.start()
    pod = await flow.pod()
    kube_api.fail_requests(500, times=2, method="GET", path=f"/api/v1/namespaces/{NS}/pods/{pod.name}/log")
    pod.running()
    pod.log("one", "two")
    await until(lambda: "two" in flow.log.messages)
    pod.log("three")
    await pod.succeed(None)
    assert await task == StepResult(output=None)
    assert [m for m in flow.log.messages if m in ("one", "two", "three")] == ["one", "two", "three"]
    assert flow.log.count("the step's log cannot be read now") == 1


async def test_an_unreachable_cluster_at_start_is_an_error_at_start(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    await kube_api.stop()
    result = await flow.executor.execute(flow.invocation())
    assert (result.error_kind, result.stage) == (ERROR, "start")
    assert str(result.message).startswith("the flow's cluster cannot be reached: ")


async def test_an_unknown_cluster_or_none_is_refused(kube_api: KubeApiServer, flow: Flow) -> None:
    unknown = await flow.executor.execute(flow.invocation(cluster_id="gone"))
    assert unknown == StepResult.failed(
        REFUSED, "start", "the flow's cluster cannot be used: cluster 'gone' was not found"
    )
    none = await flow.executor.execute(flow.invocation(cluster_id=""))
    assert (none.error_kind, none.stage) == (REFUSED, "start")
    assert str(none.message).startswith("the flow has no cluster")
    assert kube_api.list("Job") == []


async def test_a_step_without_source_is_refused_before_anything_is_created(
    kube_api: KubeApiServer, flow: Flow
) -> None:
    result = await flow.executor.execute(flow.invocation(data={"runtime": "python", "timeoutSeconds": 30}))
    assert (result.error_kind, result.stage) == (REFUSED, "start")
    assert kube_api.list("Job") == [] and kube_api.list("Secret", NS) == []
