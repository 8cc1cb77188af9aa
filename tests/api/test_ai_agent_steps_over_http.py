"""AiAgent steps in FLOW runs over real HTTP: the step asks a loopback OpenAI-compatible server (answering
from recorded replies, tests/flows/llm_server.py) with the API key read from a workspace secret, retries
after a 429, returns schema-valid JSON recorded on the step (tokens, latency, model), and fails clearly with
TIMEOUT when no answer comes; the key is in no GraphQL response."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from app.settings import Settings
from tests.api.ws_client import subscribed
from tests.flows.llm_server import LlmServer, hanging, openai_completion, openai_rate_limited
from tests.graphql_client import GraphQLClient

KEY = "sk-canary-e2e-5d1c9b7a3f"
CREATE = """mutation($input: CreateWorkflowInput!) {
  createWorkflow(input: $input) { workflow { id workspaceId } } }"""
SAVE = """mutation($input: SaveWorkflowInput!) { saveWorkflow(input: $input) { workflow { revision } } }"""
SET_SECRET = """mutation($input: SetSecretInput!) { setSecret(input: $input) { secret { name } } }"""
RUN = """mutation($id: ID!, $data: JSON) {
  runWorkflow(input: {id: $id, triggerData: $data}) { run { id status } } }"""
GET_RUN = """query($id: ID!) { run(id: $id) { id status error nodeStates { nodeId status message
  step { attempt port output errorKind errorStage error } } } }"""
WATCH = """subscription($id: ID!) { runStatus(runId: $id) { type run { status } } }"""
SCHEMA = {
    "type": "object",
    "properties": {"sentiment": {"enum": ["positive", "negative"]}},
    "required": ["sentiment"],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allowed: the test's language-model server."""
    return settings.model_copy(update={"egress_allow_loopback": True})


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target}


async def ai_flow(gql: GraphQLClient, token: str, **ask: Any) -> str:
    created = await gql.ok(CREATE, {"input": {"name": "Reviews", "type": "FLOW"}}, token=token)
    workflow = created["createWorkflow"]["workflow"]
    secret = {"workspaceId": workflow["workspaceId"], "name": "OPENAI_API_KEY", "value": KEY}
    await gql.ok(SET_SECRET, {"input": secret}, token=token)
    nodes = [
        node("start", "Start"),
        node(
            "ask",
            "AiAgent",
            model="gpt-4o-mini",
            apiKeySecret="OPENAI_API_KEY",
            promptTemplate="Classify this review: {{ input.review }}",
            **ask,
        ),
        node("end", "End"),
    ]
    variables = {
        "input": {
            "id": workflow["id"],
            "nodes": nodes,
            "edges": [edge("start", "ask"), edge("ask", "end")],
            "expectedRevision": 1,
        }
    }
    await gql.ok(SAVE, variables, token=token)
    return str(workflow["id"])


async def finished(gql: GraphQLClient, token: str, run_id: str) -> dict[str, Any]:
    """The run once its runStatus subscription has completed."""
    async with subscribed(gql.url.removesuffix("/graphql"), token) as sub:
        await sub.start(WATCH, {"id": run_id})
        while not (await asyncio.wait_for(sub.next(), 15)).get("complete"):
            pass
    run: dict[str, Any] = (await gql.ok(GET_RUN, {"id": run_id}, token=token))["run"]
    return run


async def test_an_ai_step_retries_a_429_and_returns_schema_valid_json(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    async with LlmServer(
        [openai_rate_limited("0"), openai_completion('{"sentiment": "positive"}', completion_tokens=6)]
    ) as llm:
        wf = await ai_flow(gql, token, baseUrl=llm.url + "/v1", responseSchema=json.dumps(SCHEMA))
        started = await gql.ok(RUN, {"id": wf, "data": {"review": "Lovely"}}, token=token)
        run = await finished(gql, token, started["runWorkflow"]["run"]["id"])
    assert run["status"] == "COMPLETED", run
    ask = next(state for state in run["nodeStates"] if state["nodeId"] == "ask")
    output = ask["step"]["output"]
    assert output["answer"] == {"sentiment": "positive"}
    assert (output["model"], output["tokensIn"], output["tokensOut"]) == ("gpt-4o-mini-2024-07-18", 42, 6)
    assert isinstance(output["latencyMs"], int) and output["finishReason"] == "stop"
    assert len(llm.received) == 2
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in llm.received)
    assert llm.received[0].body["messages"][-1]["content"] == "Classify this review: Lovely"
    assert KEY not in json.dumps(run)


async def test_an_ai_step_with_no_answer_fails_with_timeout(gql: GraphQLClient) -> None:
    token = (await gql.register("ada@example.com"))["token"]
    async with LlmServer([hanging()]) as llm:
        wf = await ai_flow(gql, token, baseUrl=llm.url + "/v1", timeoutSeconds=1)
        started = await gql.ok(RUN, {"id": wf, "data": {"review": "Slow"}}, token=token)
        run = await finished(gql, token, started["runWorkflow"]["run"]["id"])
    assert run["status"] == "FAILED"
    ask = next(state for state in run["nodeStates"] if state["nodeId"] == "ask")
    assert ask["status"] == "FAILED" and ask["step"]["errorKind"] == "TIMEOUT"
    assert "step ask failed" in run["error"]
