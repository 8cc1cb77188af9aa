"""Flow triggers over real HTTP: webhooks in the GitHub, Stripe and secret-header styles start a run (with
their body, query and chosen headers as trigger data, secret-looking fields masked on the run), while a bad
signature, a stale timestamp or a replayed delivery id starts nothing; a schedule fires exactly once with
two server processes sharing one store and a fake clock moved past its fire time; a RUN_COMPLETED trigger
chains two flows; bad trigger settings are typed errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.domain.triggers import github_signature, stripe_signature
from app.settings import Settings
from tests.clock import FakeClock
from tests.graphql_client import GraphQLClient
from tests.live import serving

CREATE_FLOW = (
    """mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { workflow { id } } }"""
)
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
RUN = """mutation($id: ID!) { runWorkflow(input: {id: $id}) { run { id } } }"""
CREATE = """mutation($input: CreateTriggerInput!) { createTrigger(input: $input) {
  trigger { id kind enabled webhook { auth url passHeaders } schedule { cron timeZone nextFireTimes }
    runCompleted { sourceWorkflowId statuses } } secret } }"""
UPDATE = (
    """mutation($input: UpdateTriggerInput!) { updateTrigger(input: $input) { trigger { id enabled } } }"""
)
TRIGGERS = """query($id: ID!) { triggers(workflowId: $id) { id lastFiredAt lastRunId } }"""
RUNS = """query($id: ID!) { runs(workflowId: $id) { totalCount edges { node { id status triggeredBy triggerId
  triggerData startedBy { id } } } } }"""
GET_RUN = """query($id: ID!) { run(id: $id) { id status triggeredBy triggerId triggerData } }"""


def node(node_id: str, kind: str) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": {}}


async def flow(gql: GraphQLClient, token: str, name: str = "Orders") -> str:
    created = await gql.ok(CREATE_FLOW, {"input": {"name": name, "type": "FLOW"}}, token=token)
    wf = str(created["createWorkflow"]["workflow"]["id"])
    edges = [{"id": "e", "source": "start", "target": "end"}]
    variables = {"input": {"id": wf, "nodes": [node("start", "Start"), node("end", "End")], "edges": edges}}
    variables["input"]["expectedRevision"] = 1
    await gql.ok(SAVE, variables, token=token)
    return wf


async def runs_of(gql: GraphQLClient, token: str, wf: str) -> list[dict[str, Any]]:
    data = await gql.ok(RUNS, {"id": wf}, token=token)
    return [edge["node"] for edge in data["runs"]["edges"]]


async def until(check: Callable[[], Awaitable[Any]], seconds: float = 10) -> Any:
    """Poll ``check`` until it returns something truthy (the servers work in their own threads)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def finished(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
        return run if run["status"] not in ("PENDING", "RUNNING") else None

    result: dict[str, Any] = await until(check)
    return result


async def webhook(gql: GraphQLClient, token: str, wf: str, auth: str, **extra: Any) -> tuple[str, str, str]:
    data = await gql.ok(
        CREATE,
        {"input": {"workflowId": wf, "kind": "WEBHOOK", "webhook": {"auth": auth, **extra}}},
        token=token,
    )
    trigger = data["createTrigger"]
    return trigger["trigger"]["id"], trigger["secret"], trigger["trigger"]["webhook"]["url"]


async def test_a_github_signed_webhook_starts_one_run_and_a_replay_or_bad_signature_starts_none(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(gql, token)
    trigger_id, secret, url = await webhook(gql, token, wf, "GITHUB", passHeaders=["X-GitHub-Event"])
    assert secret and url.endswith(f"/v1/hooks/{trigger_id}")
    hook = gql.url.removesuffix("/graphql") + f"/v1/hooks/{trigger_id}"
    body = json.dumps({"action": "opened", "token": "ghp_canary", "pull": {"number": 7}}).encode()

    bad = await http.post(
        hook,
        content=body,
        headers={"X-Hub-Signature-256": github_signature("wrong", body), "X-GitHub-Delivery": "d1"},
    )
    assert bad.status_code == 401
    assert await runs_of(gql, token, wf) == []

    headers = {
        "X-Hub-Signature-256": github_signature(secret, body),
        "X-GitHub-Delivery": "d1",
        "X-GitHub-Event": "pull_request",
        "Content-Type": "application/json",
    }
    started = await http.post(hook + "?ref=main", content=body, headers=headers)
    assert started.status_code == 202, started.text
    run_id = started.json()["runId"]
    run = await finished(gql, token, run_id)
    assert run["status"] == "COMPLETED"
    assert run["triggeredBy"] == "WEBHOOK" and run["triggerId"] == trigger_id
    assert run["triggerData"] == {
        "body": {"action": "opened", "token": "***", "pull": {"number": 7}},
        "query": {"ref": "main"},
        "headers": {"x-github-event": "pull_request"},
    }
    assert "ghp_canary" not in json.dumps(await runs_of(gql, token, wf))

    replay = await http.post(hook, content=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == {"runId": run_id, "replay": True}
    assert [r["id"] for r in await runs_of(gql, token, wf)] == [run_id]
    fired = (await gql.ok(TRIGGERS, {"id": wf}, token=token))["triggers"][0]
    assert fired["lastRunId"] == run_id and fired["lastFiredAt"] is not None


async def test_a_stripe_signature_needs_a_fresh_timestamp(
    gql: GraphQLClient, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(gql, token)
    trigger_id, secret, _ = await webhook(gql, token, wf, "STRIPE")
    hook = gql.url.removesuffix("/graphql") + f"/v1/hooks/{trigger_id}"
    now = int(clock.now().timestamp())
    body = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()

    stale = await http.post(
        hook, content=body, headers={"Stripe-Signature": stripe_signature(secret, body, now - 301)}
    )
    assert stale.status_code == 401 and "timestamp" in stale.json()["error"]["message"]
    forged = await http.post(hook, content=body, headers={"Stripe-Signature": f"t={now},v1={'0' * 64}"})
    assert forged.status_code == 401
    assert await runs_of(gql, token, wf) == []

    good = await http.post(
        hook, content=body, headers={"Stripe-Signature": stripe_signature(secret, body, now - 5)}
    )
    assert good.status_code == 202, good.text
    run = await finished(gql, token, good.json()["runId"])
    assert run["triggerData"]["body"] == {"id": "evt_1", "type": "invoice.paid"}
    again = await http.post(
        hook, content=body, headers={"Stripe-Signature": stripe_signature(secret, body, now)}
    )
    assert again.status_code == 200 and again.json()["runId"] == run["id"]  # the same event id: a replay
    assert len(await runs_of(gql, token, wf)) == 1


async def test_a_secret_header_webhook_masks_secret_fields_and_a_disabled_one_is_not_found(
    gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(gql, token)
    trigger_id, secret, _ = await webhook(gql, token, wf, "SECRET_HEADER")
    hook = gql.url.removesuffix("/graphql") + f"/v1/hooks/{trigger_id}"
    body = {"user": "ada", "password": "hunter2", "nested": {"apiKey": "k", "Authorization": "Bearer x"}}

    wrong = await http.post(hook, json=body, headers={"X-Trellis-Webhook-Secret": secret + "x"})
    assert wrong.status_code == 401 and secret not in wrong.text
    started = await http.post(hook, json=body, headers={"X-Trellis-Webhook-Secret": secret})
    assert started.status_code == 202
    run = await finished(gql, token, started.json()["runId"])
    assert run["triggerData"]["body"] == {
        "user": "ada",
        "password": "***",
        "nested": {"apiKey": "***", "Authorization": "***"},
    }
    assert "hunter2" not in json.dumps(await runs_of(gql, token, wf))

    not_json = await http.post(hook, content=b"{", headers={"X-Trellis-Webhook-Secret": secret})
    assert not_json.status_code == 400
    await gql.ok(UPDATE, {"input": {"id": trigger_id, "enabled": False}}, token=token)
    disabled = await http.post(hook, json=body, headers={"X-Trellis-Webhook-Secret": secret})
    assert disabled.status_code == 404
    unknown = await http.post(hook + "nope", json=body, headers={"X-Trellis-Webhook-Secret": secret})
    assert unknown.status_code == 404
    assert len(await runs_of(gql, token, wf)) == 1


async def test_a_schedule_fires_exactly_once_with_two_server_processes(
    settings: Settings, clock: FakeClock
) -> None:
    shared = settings.model_copy(update={"trigger_schedule_interval_seconds": 0.05})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(shared, clock=clock) as first, serving(shared, clock=clock) as second:
            gql = GraphQLClient(first, http)
            token = (await gql.register("ada@example.com"))["token"]
            wf = await flow(gql, token)
            created = await gql.ok(
                CREATE,
                {
                    "input": {
                        "workflowId": wf,
                        "kind": "SCHEDULE",
                        "schedule": {"cron": "*/5 * * * *", "timeZone": "Europe/Berlin"},
                    }
                },
                token=token,
            )
            schedule = created["createTrigger"]["trigger"]["schedule"]
            assert schedule["nextFireTimes"][:2] == ["2026-01-15T10:05:00+01:00", "2026-01-15T10:10:00+01:00"]
            assert len(schedule["nextFireTimes"]) == 5
            await asyncio.sleep(0.3)  # several rounds of both processes before the fire time: nothing
            assert await runs_of(gql, token, wf) == []

            clock.advance(minutes=5, seconds=1)
            other = GraphQLClient(second, http)

            async def fired() -> list[dict[str, Any]]:
                return await runs_of(other, token, wf)

            runs = await until(fired)
            await asyncio.sleep(0.3)  # both processes went round again: still one run for 10:05
            runs = await runs_of(gql, token, wf)
            assert len(runs) == 1 and runs[0]["triggeredBy"] == "SCHEDULE"
            assert runs[0]["startedBy"] is None and runs[0]["triggerId"]
            assert runs[0]["triggerData"]["fireTime"] == "2026-01-15T09:05:00+00:00"


async def test_a_run_completed_trigger_chains_two_flows(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    first = await flow(gql, token, "First")
    second = await flow(gql, token, "Second")
    loop = await gql.error(
        CREATE,
        {
            "input": {
                "workflowId": first,
                "kind": "RUN_COMPLETED",
                "runCompleted": {"sourceWorkflowId": first},
            }
        },
        token=token,
    )
    assert loop["extensions"]["code"] == "BAD_INPUT"
    created = await gql.ok(
        CREATE,
        {
            "input": {
                "workflowId": second,
                "kind": "RUN_COMPLETED",
                "runCompleted": {"sourceWorkflowId": first, "statuses": ["COMPLETED"]},
            }
        },
        token=token,
    )
    assert created["createTrigger"]["trigger"]["runCompleted"] == {
        "sourceWorkflowId": first,
        "statuses": ["COMPLETED"],
    }
    assert created["createTrigger"]["secret"] is None
    run_id = (await gql.ok(RUN, {"id": first}, token=token))["runWorkflow"]["run"]["id"]

    async def chained() -> list[dict[str, Any]]:
        return [r for r in await runs_of(gql, token, second) if r["status"] == "COMPLETED"]

    runs = await until(chained)
    assert runs[0]["triggeredBy"] == "RUN_COMPLETED"
    assert runs[0]["triggerData"]["run"] == {
        "id": run_id,
        "workflowId": first,
        "status": "COMPLETED",
        "error": None,
    }


async def test_bad_trigger_settings_are_typed_errors(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    wf = await flow(gql, token)
    topology = (await gql.ok(CREATE_FLOW, {"input": {"name": "Shop"}}, token=token))["createWorkflow"][
        "workflow"
    ]["id"]
    cases = [
        ({"workflowId": wf, "kind": "SCHEDULE", "schedule": {"cron": "61 * * * *"}}, "schedule.cron"),
        (
            {
                "workflowId": wf,
                "kind": "SCHEDULE",
                "schedule": {"cron": "* * * * *", "timeZone": "Mars/Olympus"},
            },
            "schedule.timeZone",
        ),
        ({"workflowId": wf, "kind": "SCHEDULE"}, "schedule"),
        ({"workflowId": wf, "kind": "MANUAL"}, "kind"),
        (
            {"workflowId": wf, "kind": "WEBHOOK", "webhook": {"passHeaders": ["Authorization"]}},
            "webhook.passHeaders",
        ),
        ({"workflowId": topology, "kind": "WEBHOOK", "webhook": {}}, "workflowId"),
    ]
    for variables, field in cases:
        error = await gql.error(CREATE, {"input": variables}, token=token)
        assert error["extensions"]["code"] == "BAD_INPUT", (variables, error)
        assert [f["path"] for f in error["extensions"]["fields"]] == [field]
    assert (await gql.ok(TRIGGERS, {"id": wf}, token=token))["triggers"] == []


async def test_webhook_bodies_and_call_rates_are_limited(settings: Settings, clock: FakeClock) -> None:
    limited = settings.model_copy(update={"webhook_rate_per_minute": 2, "webhook_max_body_bytes": 100})
    async with httpx.AsyncClient(timeout=30) as http:
        with serving(limited, clock=clock) as url:
            gql = GraphQLClient(url, http)
            token = (await gql.register("ada@example.com"))["token"]
            wf = await flow(gql, token)
            trigger_id, secret, _ = await webhook(gql, token, wf, "SECRET_HEADER")
            hook, auth = f"{url}/v1/hooks/{trigger_id}", {"X-Trellis-Webhook-Secret": secret}
            large = await http.post(hook, json={"pad": "x" * 200}, headers=auth)
            assert large.status_code == 413
            first = await http.post(hook, json={}, headers={**auth, "X-Trellis-Delivery": "a"})
            assert first.status_code == 202
            await finished(gql, token, first.json()["runId"])
            second = await http.post(hook, json={}, headers={**auth, "X-Trellis-Delivery": "a"})
            assert second.status_code == 200  # a replay (counted)
            third = await http.post(hook, json={}, headers={**auth, "X-Trellis-Delivery": "b"})
            assert third.status_code == 429
            clock.advance(minutes=1)
            fourth = await http.post(hook, json={}, headers={**auth, "X-Trellis-Delivery": "b"})
            assert fourth.status_code == 202
            assert len(await runs_of(gql, token, wf)) == 2
