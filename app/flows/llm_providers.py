"""The wire shapes of the language-model APIs an AiAgent step calls: what to POST, and what comes back.

Two APIs, chosen by the step's ``provider``:

- ``OPENAI_COMPATIBLE``: chat completions (OpenAI, and vLLM, Ollama, LiteLLM… which speak it). POST
  ``<baseUrl>/chat/completions`` with ``Authorization: Bearer <key>`` (none when no key is named) and
  ``{model, messages: [{role, content}], temperature, max_tokens, response_format}``; the answer is
  ``choices[0].message.content``, usage ``usage.prompt_tokens`` / ``usage.completion_tokens``, errors
  ``{error: {message, type}}``. A JSON answer is asked for with ``response_format: {type: json_object}``.
- ``ANTHROPIC``: the Messages API. POST ``<baseUrl>/v1/messages`` with ``x-api-key`` and
  ``anthropic-version`` and ``{model, system, messages, max_tokens, temperature}``; the answer is the text
  blocks of ``content``, usage ``usage.input_tokens`` / ``usage.output_tokens``, errors
  ``{type: error, error: {type, message}}``. It has no JSON mode: the caller asks in the system prompt.

Pure: no I/O here (the executor, :mod:`app.flows.ai_agent`, sends the calls).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

OPENAI_COMPATIBLE = "OPENAI_COMPATIBLE"
ANTHROPIC = "ANTHROPIC"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of the conversation: ``role`` is ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the step asks, whatever the API: ``json_answer`` asks for one JSON object (OpenAI's JSON mode;
    Anthropic has none — the system prompt says it); ``temperature`` ``None`` leaves the provider's."""

    model: str
    system: str
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float | None = None
    json_answer: bool = False


@dataclass(frozen=True, slots=True)
class HttpCall:
    """The POST to send: its URL, headers (the API key among them: never log them) and JSON body."""

    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Completion:
    """What came back: the answer's text, the model that wrote it, tokens in and out, why it stopped."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    finish_reason: str


class ProviderError(Exception):
    """An answer that is not the API's success shape (the message says what is wrong)."""


class Provider(Protocol):
    def call(self, base_url: str, api_key: str | None, request: ChatRequest) -> HttpCall:
        """The HTTP call that asks ``request`` of the API at ``base_url``."""
        ...

    def parse(self, payload: Any) -> Completion:
        """The completion in a 2xx answer's parsed JSON; ``ProviderError`` when it has not its shape."""
        ...

    def error_message(self, payload: Any) -> str | None:
        """The message of an error answer's parsed JSON, if it has one."""
        ...


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _count(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _nested_message(payload: Any) -> str | None:
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error  # Ollama and some proxies: {"error": "..."}
    return None


class OpenAICompatible:
    """Chat completions, as OpenAI defines them and vLLM, Ollama and LiteLLM serve them."""

    def call(self, base_url: str, api_key: str | None, request: ChatRequest) -> HttpCall:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.json_answer:
            body["response_format"] = {"type": "json_object"}
        headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        return HttpCall(base_url.rstrip("/") + "/chat/completions", headers, _encode(body))

    def parse(self, payload: Any) -> Completion:
        choices = payload.get("choices") if isinstance(payload, Mapping) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise ProviderError("the answer has no choices[0]")
        message = choices[0].get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        if not isinstance(content, str):
            raise ProviderError("choices[0].message.content is not text")
        usage = payload.get("usage")
        return Completion(
            text=content,
            model=str(payload.get("model") or ""),
            tokens_in=_count(usage, "prompt_tokens"),
            tokens_out=_count(usage, "completion_tokens"),
            finish_reason=str(choices[0].get("finish_reason") or ""),
        )

    def error_message(self, payload: Any) -> str | None:
        return _nested_message(payload)


class Anthropic:
    """Anthropic's Messages API."""

    def call(self, base_url: str, api_key: str | None, request: ChatRequest) -> HttpCall:
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)  # Anthropic's range is 0 to 1
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if api_key:
            headers["x-api-key"] = api_key
        return HttpCall((base_url or ANTHROPIC_BASE_URL).rstrip("/") + "/v1/messages", headers, _encode(body))

    def parse(self, payload: Any) -> Completion:
        content = payload.get("content") if isinstance(payload, Mapping) else None
        if not isinstance(content, list):
            raise ProviderError("the answer has no content list")
        texts = [
            str(block.get("text"))
            for block in content
            if isinstance(block, Mapping)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ]
        if not texts and content:
            raise ProviderError("the answer's content holds no text block")
        usage = payload.get("usage")
        return Completion(
            text="".join(texts),
            model=str(payload.get("model") or ""),
            tokens_in=_count(usage, "input_tokens"),
            tokens_out=_count(usage, "output_tokens"),
            finish_reason=str(payload.get("stop_reason") or ""),
        )

    def error_message(self, payload: Any) -> str | None:
        return _nested_message(payload)


PROVIDERS: Mapping[str, Provider] = {OPENAI_COMPATIBLE: OpenAICompatible(), ANTHROPIC: Anthropic()}
"""The API of each ``provider`` value."""
