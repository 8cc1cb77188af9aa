"""A language-model API on loopback for tests: answers each POST with the next recorded reply.

It speaks both wire formats an AiAgent step uses — OpenAI's chat completions (``POST …/chat/completions``)
and Anthropic's Messages API (``POST …/v1/messages``) — by replaying :class:`Reply` objects in order; the
bodies below are shaped as the providers answer (recorded exchanges, trimmed of volatile ids), including
their failure modes: a 429 with ``Retry-After``, a 500, an overloaded 529, an answer that never comes.
Every request is kept (:attr:`LlmServer.received`) so tests can see what the step sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """One recorded answer: ``status``, ``body`` (a dict is sent as JSON, a str as it is), ``headers``;
    ``hang``: never answer (until the server stops)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass(frozen=True)
class Received:
    """A request the server got: its path, headers (lower-case names) and JSON body."""

    path: str
    headers: dict[str, str]
    body: Any


class LlmServer:
    """``async with LlmServer([...]) as llm``: ``llm.url`` is its base URL (``http://127.0.0.1:<port>``)."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.received: list[Received] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> LlmServer:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._answer)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.received.append(
            Received(
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=json.loads(raw) if raw else None,
            )
        )
        if not self.replies:
            return web.json_response({"error": {"message": "no recorded reply left"}}, status=500)
        reply = self.replies.pop(0)
        if reply.hang:
            await self._released.wait()
            return web.Response(status=504)
        if isinstance(reply.body, str):
            return web.Response(status=reply.status, text=reply.body, headers=reply.headers)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


# --- recorded answers --------------------------------------------------------------------------------------


def openai_completion(
    content: str,
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    finish_reason: str = "stop",
    prompt_tokens: int = 42,
    completion_tokens: int = 7,
) -> Reply:
    """A chat completion as OpenAI (and vLLM, Ollama's /v1) answers it."""
    return Reply(
        body={
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion",
            "created": 1741569952,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
            "service_tier": "default",
            "system_fingerprint": "fp_06737a9306",
        },
        headers={"x-request-id": "req_8a4f1b0e9d7c"},
    )


def openai_rate_limited(retry_after: str = "2") -> Reply:
    """OpenAI's 429, with ``Retry-After`` in seconds."""
    return Reply(
        status=429,
        body={
            "error": {
                "message": "Rate limit reached for gpt-4o-mini in organization org-abc on requests per min "
                "(RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
        headers={"retry-after": retry_after, "x-ratelimit-remaining-requests": "0"},
    )


def openai_server_error() -> Reply:
    return Reply(
        status=500,
        body={
            "error": {
                "message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        },
    )


def openai_bad_key(shown_key: str) -> Reply:
    """OpenAI's 401, which echoes part of the key it was given (as the real one does)."""
    return Reply(
        status=401,
        body={
            "error": {
                "message": f"Incorrect API key provided: {shown_key}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
    )


def anthropic_message(
    text: str,
    *,
    model: str = "claude-3-5-haiku-20241022",
    stop_reason: str = "end_turn",
    input_tokens: int = 25,
    output_tokens: int = 9,
) -> Reply:
    """A Messages API answer."""
    return Reply(
        body={
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": output_tokens,
            },
        },
        headers={"request-id": "req_011CRYbYJ7Ge5ovdx9qJSq7K"},
    )


def anthropic_overloaded() -> Reply:
    """Anthropic's 529 (overloaded)."""
    return Reply(
        status=529,
        body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )


def hanging() -> Reply:
    """No answer at all (until the server stops)."""
    return Reply(hang=True)
