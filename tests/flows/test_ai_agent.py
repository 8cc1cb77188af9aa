"""The AiAgent step against a loopback language-model API answering from recorded replies
(tests/flows/llm_server.py): OpenAI-compatible and Anthropic request and answer shapes, a prompt rendered
from the step's input and upstream outputs, JSON answers checked against a schema with one repair, 429 with
Retry-After and 5xx tried again (the waits recorded, never slept), a timeout, the API key kept out of every
log line and message, the egress guard and the secrets reader; and the save-time checks of its fields."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from app import errors
from app.domain.flows import check_flow
from app.domain.flows.scheduler import FlowStep
from app.domain.flows.steps import StepInvocation, StepResult
from app.domain.workflows import Canvas, Edge, Node, Position
from app.flows.ai_agent import AiAgentExecutor, retry_after
from app.net import EgressGuard, EgressPolicy
from tests.flows.llm_server import (
    LlmServer,
    Reply,
    anthropic_message,
    anthropic_overloaded,
    hanging,
    openai_bad_key,
    openai_completion,
    openai_rate_limited,
    openai_server_error,
)

KEY = "sk-canary-7f3e9a1c5b2d4e6f8a0b"
SCHEMA = {
    "type": "object",
    "properties": {"sentiment": {"enum": ["positive", "negative"]}, "score": {"type": "number"}},
    "required": ["sentiment", "score"],
    "additionalProperties": False,
}


class Secrets:
    """The workspace's secrets as a WorkspaceSecretReader: a table, and what was asked."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[tuple[str, list[str]]] = []

    async def reveal(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        self.asked.append((workspace_id, list(names)))
        for name in names:
            if name not in self.values:
                raise errors.NotFound("secret", name)
        return {name: self.values[name] for name in names}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    async def __call__(self, message: str, level: str = "INFO") -> None:
        self.lines.append((level, message))

    @property
    def text(self) -> str:
        return "\n".join(message for _, message in self.lines)


def executor(
    sleeps: Sleeps | None = None, *, secrets: Secrets | None = None, loopback: bool = True
) -> AiAgentExecutor:
    guard = EgressGuard(EgressPolicy(allow_loopback=loopback))
    return AiAgentExecutor(
        guard,
        secrets if secrets is not None else Secrets({"OPENAI_API_KEY": KEY}),
        max_response_bytes=100_000,
        sleep=sleeps or Sleeps(),
    )


def invocation(log: Log, *, given: Any = None, timeout: float = 30.0, **data: Any) -> StepInvocation:
    data.setdefault("model", "gpt-4o-mini")
    data.setdefault("promptTemplate", "Classify: {{ input.text }}")
    data.setdefault("apiKeySecret", "OPENAI_API_KEY")
    given = {"text": "I love it"} if given is None else given
    return StepInvocation(
        run_id="run-1",
        workspace_id="ws-1",
        step=FlowStep("ask", "AiAgent", data),
        attempt=1,
        input=given,
        scope={"steps": {"fetch": {"output": {"lang": "en"}}}, "input": given},
        timeout_seconds=timeout,
        log=log,
    )


async def run(
    replies: Sequence[Reply], *, sleeps: Sleeps | None = None, **data: Any
) -> tuple[StepResult, LlmServer, Log]:
    log = Log()
    async with LlmServer(replies) as llm:
        data.setdefault("baseUrl", llm.url + ("" if data.get("provider") == "ANTHROPIC" else "/v1"))
        result = await executor(sleeps).execute(invocation(log, **data))
    return result, llm, log


async def test_an_openai_compatible_call_sends_the_chat_shape_and_returns_the_answer() -> None:
    result, llm, log = await run(
        [openai_completion("positive")],
        systemPrompt="You classify reviews.",
        promptTemplate="Language {{ steps.fetch.output.lang }}. Classify: {{ input.text }}",
        temperature=0.2,
        maxTokens=50,
    )
    assert result.ok, result.message
    assert result.output == {
        "answer": "positive",
        "model": "gpt-4o-mini-2024-07-18",
        "tokensIn": 42,
        "tokensOut": 7,
        "latencyMs": result.output["latencyMs"],
        "finishReason": "stop",
    }
    assert isinstance(result.output["latencyMs"], int) and result.output["latencyMs"] >= 0
    [sent] = llm.received
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You classify reviews."},
            {"role": "user", "content": "Language en. Classify: I love it"},
        ],
        "max_tokens": 50,
        "temperature": 0.2,
    }
    assert "Language en. Classify: I love it" in log.text and "positive" in log.text


async def test_an_anthropic_call_sends_the_messages_shape() -> None:
    sleeps = Sleeps()
    result, llm, _ = await run(
        [anthropic_overloaded(), anthropic_message("negative")],
        sleeps=sleeps,
        provider="ANTHROPIC",
        model="claude-3-5-haiku-latest",
        systemPrompt="You classify reviews.",
        temperature=1.5,
    )
    assert result.ok, result.message
    assert result.output["answer"] == "negative"
    assert result.output["model"] == "claude-3-5-haiku-20241022"
    assert (result.output["tokensIn"], result.output["tokensOut"]) == (25, 9)
    assert result.output["finishReason"] == "end_turn"
    assert sleeps.waits == [1.0]  # the 529 is tried again after the backoff
    sent = llm.received[-1]
    assert [r.path for r in llm.received] == ["/v1/messages"] * 2
    assert sent.headers["x-api-key"] == KEY and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body == {
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 1024,
        "system": "You classify reviews.",
        "messages": [{"role": "user", "content": "Classify: I love it"}],
        "temperature": 1.0,
    }


async def test_a_schema_asks_for_json_and_the_answer_is_parsed() -> None:
    result, llm, _ = await run(
        [openai_completion('{"sentiment": "positive", "score": 0.93}')], responseSchema=json.dumps(SCHEMA)
    )
    assert result.ok, result.message
    assert result.output["answer"] == {"sentiment": "positive", "score": 0.93}
    [sent] = llm.received
    assert sent.body["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in sent.body["messages"][0]["content"]


async def test_a_malformed_answer_is_repaired_once() -> None:
    result, llm, log = await run(
        [
            openai_completion('{"sentiment": "positive", "score": 0.9', completion_tokens=5),
            openai_completion('```json\n{"sentiment": "positive", "score": 0.9}\n```', completion_tokens=6),
        ],
        responseSchema=json.dumps(SCHEMA),
    )
    assert result.ok, result.message
    assert result.output["answer"] == {"sentiment": "positive", "score": 0.9}
    assert (result.output["tokensIn"], result.output["tokensOut"]) == (84, 11)  # both calls counted
    first, repair = llm.received
    messages = repair.body["messages"]
    assert messages[:2] == first.body["messages"]
    assert messages[2] == {"role": "assistant", "content": '{"sentiment": "positive", "score": 0.9'}
    assert messages[3]["role"] == "user" and "it is not JSON" in messages[3]["content"]
    assert any(level == "WARNING" and "repair" in line for level, line in log.lines)


async def test_an_answer_still_invalid_after_the_repair_fails_the_step_at_answer() -> None:
    result, llm, _ = await run(
        [
            openai_completion('{"sentiment": "great", "score": 1}'),
            openai_completion('{"sentiment": "great", "score": 1}'),
        ],
        responseSchema=json.dumps(SCHEMA),
    )
    assert (result.error_kind, result.stage) == ("ERROR", "answer")
    assert result.message is not None
    assert "after one repair attempt" in result.message and "/sentiment" in result.message
    assert len(llm.received) == 2
    assert "/sentiment" in llm.received[1].body["messages"][-1]["content"]


async def test_a_429_waits_its_retry_after_then_succeeds() -> None:
    sleeps = Sleeps()
    result, llm, log = await run([openai_rate_limited("2"), openai_completion("positive")], sleeps=sleeps)
    assert result.ok, result.message
    assert sleeps.waits == [2.0]
    assert len(llm.received) == 2
    assert any(level == "WARNING" and "429" in line and "2 s" in line for level, line in log.lines)


async def test_a_500_is_tried_again_with_backoff_and_then_gives_up() -> None:
    sleeps = Sleeps()
    result, llm, _ = await run([openai_server_error(), openai_completion("positive")], sleeps=sleeps)
    assert result.ok, result.message
    assert sleeps.waits == [1.0]
    sleeps = Sleeps()
    result, llm, _ = await run([openai_server_error()] * 4, sleeps=sleeps)
    assert (result.error_kind, result.stage) == ("ERROR", "provider")
    assert result.message is not None and "answered 500" in result.message
    assert sleeps.waits == [1.0, 2.0, 4.0] and len(llm.received) == 4


async def test_a_retry_after_past_the_timeout_fails_the_attempt_with_timeout() -> None:
    sleeps = Sleeps()
    result, llm, _ = await run([openai_rate_limited("60")], sleeps=sleeps, timeout=5.0)
    assert (result.error_kind, result.stage) == ("TIMEOUT", "request")
    assert sleeps.waits == [] and len(llm.received) == 1


async def test_no_answer_within_the_timeout_fails_with_timeout() -> None:
    result, llm, _ = await run([hanging()], timeout=0.3)
    assert (result.error_kind, result.stage) == ("TIMEOUT", "request")
    assert len(llm.received) == 1


async def test_the_api_key_never_reaches_a_log_line_or_a_message() -> None:
    given = {"text": f"my key is {KEY}"}  # even a prompt holding it is masked
    result, llm, log = await run([openai_bad_key(KEY)], given=given)
    assert (result.error_kind, result.stage) == ("ERROR", "provider")
    assert llm.received[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    assert result.message is not None and "answered 401" in result.message
    assert KEY not in result.message and "********" in result.message
    assert log.lines and KEY not in log.text
    result, _, log = await run([openai_completion(f"echo {KEY}")], given=given)
    assert result.ok and KEY not in log.text


async def test_the_egress_guard_refuses_a_private_address() -> None:
    log = Log()
    step = invocation(log, baseUrl="http://10.1.2.3:8000/v1")
    result = await executor(loopback=False).execute(step)
    assert (result.error_kind, result.stage) == ("REFUSED", "egress")
    assert result.message is not None and "10.1.2.3" in result.message


async def test_loopback_is_refused_unless_allowed() -> None:
    log = Log()
    async with LlmServer([openai_completion("x")]) as llm:
        result = await executor(loopback=False).execute(invocation(log, baseUrl=llm.url + "/v1"))
    assert (result.error_kind, result.stage) == ("REFUSED", "egress")
    assert llm.received == []


async def test_secrets_are_read_at_execution_and_their_absence_is_refused() -> None:
    secrets = Secrets({"OPENAI_API_KEY": KEY})
    log = Log()
    async with LlmServer([openai_completion("x"), openai_completion("y")]) as llm:
        ok = await executor(secrets=secrets).execute(invocation(log, baseUrl=llm.url))
        missing = await executor(secrets=secrets).execute(
            invocation(log, baseUrl=llm.url, apiKeySecret="ANTHROPIC_API_KEY")
        )
        guard = EgressGuard(EgressPolicy(allow_loopback=True))
        none = await AiAgentExecutor(guard, None, max_response_bytes=1000).execute(
            invocation(log, baseUrl=llm.url)
        )
        keyless = await AiAgentExecutor(guard, None, max_response_bytes=100_000).execute(
            invocation(log, baseUrl=llm.url, apiKeySecret="")
        )
    assert ok.ok and secrets.asked[0] == ("ws-1", ["OPENAI_API_KEY"])
    assert (missing.error_kind, missing.stage) == ("REFUSED", "secrets")
    assert missing.message == "the workspace has no secret 'ANTHROPIC_API_KEY'"
    assert (none.error_kind, none.stage) == ("REFUSED", "secrets")
    assert none.message is not None and "no secrets manager" in none.message
    assert keyless.ok and keyless.output["answer"] == "y"
    assert "authorization" not in llm.received[-1].headers  # a keyless server (Ollama) gets no header


async def test_a_template_that_does_not_render_is_refused_before_any_call() -> None:
    for template in ("{{ input.missing }}", "{{ input.__class__.__mro__ }}", "{% if %}", "{{ 'a' * 10**9 }}"):
        result, llm, _ = await run([openai_completion("x")], promptTemplate=template)
        assert (result.error_kind, result.stage) == ("REFUSED", "template"), template
        assert llm.received == []


async def test_an_answer_larger_than_the_limit_fails() -> None:
    log = Log()
    async with LlmServer([openai_completion("x" * 5000)]) as llm:
        guard = EgressGuard(EgressPolicy(allow_loopback=True))
        agent = AiAgentExecutor(guard, Secrets({"OPENAI_API_KEY": KEY}), max_response_bytes=1000)
        result = await agent.execute(invocation(log, baseUrl=llm.url))
    assert (result.error_kind, result.stage) == ("ERROR", "response")


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert (
        retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT", "Date": "Wed, 21 Oct 2015 07:28:00 GMT"})
        == 30.0
    )
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None


# --- save-time checks --------------------------------------------------------------------------------------


def flow(**data: Any) -> Canvas:
    return Canvas(
        (Node("start", "Start", Position(0, 0), {}), Node("ask", "AiAgent", Position(0, 0), data)),
        (Edge("e1", "start", "ask", None, None),),
    )


def good(**data: Any) -> dict[str, Any]:
    return {
        "provider": "OPENAI_COMPATIBLE",
        "baseUrl": "https://api.openai.com/v1",
        "model": "gpt-4o-mini",
        "apiKeySecret": "OPENAI_API_KEY",
        "promptTemplate": "Classify: {{ input.text }}",
        "responseSchema": json.dumps(SCHEMA),
        **data,
    }


def test_a_complete_ai_agent_is_valid_with_its_defaults() -> None:
    result = check_flow(flow(**good()), strict=True)
    assert result.ok, result.errors
    assert check_flow(result.canvas, strict=True).canvas == result.canvas


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"baseUrl": "ftp://files.example/v1"}, "baseUrl", "http or https URL"),
        ({"baseUrl": "https://user:pw@api.example/v1"}, "baseUrl", "credentials"),
        ({"baseUrl": "https://api.example/v1?key=x"}, "baseUrl", "without a query"),
        ({"responseSchema": "{not json"}, "responseSchema", "does not parse"),
        ({"responseSchema": "[1]"}, "responseSchema", "JSON Schema object"),
        ({"responseSchema": '{"type": "thing"}'}, "responseSchema", "not a valid JSON Schema"),
        ({"temperature": 3}, "temperature", "2"),
        ({"maxTokens": 0}, "maxTokens", "1"),
        ({"provider": "GEMINI"}, "provider", "OPENAI_COMPATIBLE"),
    ],
)
def test_bad_fields_are_errors_at_their_paths(data: dict[str, Any], path: str, words: str) -> None:
    errors_found = {p.path: p.message for p in check_flow(flow(**good(**data))).errors}
    assert list(errors_found) == [f"nodes[1].data.{path}"], errors_found
    assert words in errors_found[f"nodes[1].data.{path}"]


def test_what_a_provider_needs_is_incomplete_until_given() -> None:
    openai = good()
    del openai["baseUrl"]
    anthropic = good(provider="ANTHROPIC", baseUrl="")
    del anthropic["apiKeySecret"]
    lacking = {p.path for p in check_flow(flow(**openai)).warnings}
    assert "nodes[1].data.baseUrl" in lacking
    assert {p.path for p in check_flow(flow(**openai), strict=True).errors} == {"nodes[1].data.baseUrl"}
    assert {p.path for p in check_flow(flow(**anthropic), strict=True).errors} == {
        "nodes[1].data.apiKeySecret"
    }
    prompt_less = good(promptTemplate="")
    assert {p.path for p in check_flow(flow(**prompt_less), strict=True).errors} == {
        "nodes[1].data.promptTemplate"
    }
