"""The AiAgent step: renders its prompt, asks a language model through the egress guard, checks the answer.

One attempt: render ``promptTemplate`` (Jinja2, sandboxed, StrictUndefined) over ``{input, steps}``; read
the API key from the workspace secret ``apiKeySecret`` (only now, never stored); POST the provider's
request (:mod:`app.flows.llm_providers`) over a :class:`~app.net.pinned_http.PinnedTransport`, trying a
429 or 5xx answer again up to :data:`MAX_CALLS` times in all, after its ``Retry-After`` (else
:data:`BACKOFF_SECONDS`, doubled each time); with a ``responseSchema``, parse the answer as JSON and
validate it, and when it does not satisfy the schema send the validation error back once to have it
repaired. The whole attempt, retries included, keeps within the step's ``timeoutSeconds``.

Output: ``{answer, model, tokensIn, tokensOut, latencyMs, finishReason}`` (``answer`` the text, or the
parsed JSON with a schema; tokens summed over the calls; latency the time spent waiting for the API). The
prompt and the answer go to the step's log; the API key is masked in every log line and error message.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from app import errors
from app.domain.flows.steps import ERROR, REFUSED, TIMEOUT, StepInvocation, StepResult
from app.flows.llm_providers import (
    ANTHROPIC_BASE_URL,
    OPENAI_COMPATIBLE,
    PROVIDERS,
    ChatRequest,
    Completion,
    HttpCall,
    Message,
    Provider,
    ProviderError,
)
from app.net.egress import EgressGuard, EgressRefused, ResolvedTarget
from app.net.pinned_http import PinnedTransport
from app.ports import WorkspaceSecretReader

MAX_CALLS = 4
"""Tries of one request in all (the first included) when the API answers 429 or 5xx."""
BACKOFF_SECONDS = 1.0
"""Wait before the second try when the answer names no ``Retry-After``; doubled after each try."""
MAX_RETRY_AFTER_SECONDS = 120.0
"""A longer ``Retry-After`` is not waited for: the attempt fails (the step's retry policy may try later)."""
MAX_PROMPT_CHARS = 1_000_000
"""The longest rendered prompt (and the most a ``*`` in the template may build)."""
MASK = "********"
SCHEMES = ("http", "https")

Sleep = Callable[[float], Awaitable[None]]


class _PromptEnvironment(SandboxedEnvironment):
    """The sandbox, also refusing ``*`` and ``**`` that would build something huge."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 100:
            raise SecurityError("exponents above 100 are not allowed in a prompt template")
        if operator == "*":
            sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
            counts = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
            if sizes and counts and sizes[0] * counts[0] > MAX_PROMPT_CHARS:
                raise SecurityError(f"the template would build more than {MAX_PROMPT_CHARS} characters")
        return super().call_binop(context, operator, left, right)


@dataclass(slots=True)
class _Totals:
    """What the calls of one attempt add up to."""

    tokens_in: int = 0
    tokens_out: int = 0
    waited: float = 0.0  # seconds spent waiting for the API (the latency)

    def add(self, completion: Completion) -> None:
        self.tokens_in += completion.tokens_in
        self.tokens_out += completion.tokens_out


class _Masker:
    """Replaces every revealed secret value in a text by :data:`MASK`."""

    def __init__(self, values: Iterable[str]) -> None:
        self._values = sorted({v for v in values if v}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return text


class _Failed(Exception):
    """Ends the attempt with ``result`` (a failed :class:`StepResult`)."""

    def __init__(self, result: StepResult) -> None:
        super().__init__(result.message)
        self.result = result


class _TooLarge(Exception):
    pass


@dataclass(slots=True)
class _Attempt:
    """One attempt's state: the invocation, its provider and base URL, the mask and the clock."""

    invocation: StepInvocation
    provider: Provider
    base_url: str
    api_key: str | None
    mask: _Masker
    started: float
    totals: _Totals


class AiAgentExecutor:
    """Runs AiAgent steps (see the module). ``secrets`` is ``None`` on a server without a secrets manager:
    a step naming an ``apiKeySecret`` is then REFUSED. ``max_response_bytes`` bounds each answer's body;
    ``sleep`` waits between tries (tests record it); ``timer`` is a monotonic clock in seconds."""

    def __init__(
        self,
        guard: EgressGuard,
        secrets: WorkspaceSecretReader | None,
        *,
        max_response_bytes: int,
        sleep: Sleep = asyncio.sleep,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._guard = guard
        self._secrets = secrets
        self._max = max_response_bytes
        self._sleep = sleep
        self._timer = timer
        self._templates = _PromptEnvironment(undefined=StrictUndefined, autoescape=False)

    async def execute(self, invocation: StepInvocation) -> StepResult:
        try:
            return await self._execute(invocation)
        except _Failed as failed:
            return failed.result

    async def _execute(self, invocation: StepInvocation) -> StepResult:
        data = invocation.step.data
        provider_name = str(data.get("provider") or OPENAI_COMPATIBLE)
        provider = PROVIDERS.get(provider_name)
        if provider is None:
            raise _Failed(StepResult.failed(REFUSED, "config", f"unknown provider {provider_name!r}"))
        base_url = str(data.get("baseUrl") or "")
        if not base_url and provider_name != OPENAI_COMPATIBLE:
            base_url = ANTHROPIC_BASE_URL
        model = str(data.get("model") or "")
        if not base_url or not model:
            missing = "baseUrl" if not base_url else "model"
            raise _Failed(StepResult.failed(REFUSED, "config", f"the step has no {missing}"))
        validator = _validator(data.get("responseSchema"))
        prompt = self._render(str(data.get("promptTemplate") or ""), invocation.scope)
        api_key = await self._api_key(invocation, data.get("apiKeySecret"))
        mask = _Masker([api_key] if api_key else [])
        system = str(data.get("systemPrompt") or "")
        if validator is not None:
            system = (system + "\n\n" if system else "") + _json_instruction(validator.schema)
        temperature = data.get("temperature")
        max_tokens = data.get("maxTokens")
        request = ChatRequest(
            model=model,
            system=system,
            messages=(Message("user", prompt),),
            max_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else 1024,
            temperature=float(temperature) if isinstance(temperature, int | float) else None,
            json_answer=validator is not None,
        )
        attempt = _Attempt(invocation, provider, base_url, api_key, mask, self._timer(), _Totals())
        await invocation.log(
            mask(f"{provider_name} {model} at {base_url}\nsystem: {system}\nprompt: {prompt}")
        )
        transport = PinnedTransport(self._check)
        try:
            async with httpx2.AsyncClient(
                transport=transport, follow_redirects=False, trust_env=False
            ) as client:
                completion = await self._ask(client, attempt, request)
                answer = completion.text
                if validator is not None:
                    answer, completion = await self._checked(client, attempt, request, completion, validator)
        finally:
            await transport.aclose()
        totals = attempt.totals
        return StepResult(
            output={
                "answer": answer,
                "model": completion.model or model,
                "tokensIn": totals.tokens_in,
                "tokensOut": totals.tokens_out,
                "latencyMs": round(totals.waited * 1000),
                "finishReason": completion.finish_reason,
            }
        )

    async def _check(self, url: str) -> ResolvedTarget:
        return await self._guard.check_url(url, schemes=SCHEMES, field="baseUrl")

    def _render(self, template: str, scope: Mapping[str, Any]) -> str:
        try:
            rendered = self._templates.from_string(template).render(
                input=scope.get("input"), steps=scope.get("steps") or {}
            )
        except Exception as exc:  # the user's template: any failure of it is the step's, never ours
            raise _Failed(
                StepResult.failed(REFUSED, "template", f"the promptTemplate did not render: {exc}")
            ) from exc
        if len(rendered) > MAX_PROMPT_CHARS:
            raise _Failed(
                StepResult.failed(
                    REFUSED,
                    "template",
                    f"the prompt is {len(rendered)} characters, more than {MAX_PROMPT_CHARS}",
                )
            )
        return rendered

    async def _api_key(self, invocation: StepInvocation, name: Any) -> str | None:
        if not name:
            return None
        if self._secrets is None:
            raise _Failed(
                StepResult.failed(
                    REFUSED, "secrets", "no secrets manager: this server cannot read the apiKeySecret"
                )
            )
        try:
            values = await self._secrets.reveal(invocation.workspace_id, [str(name)])
        except errors.NotFound:
            raise _Failed(
                StepResult.failed(REFUSED, "secrets", f"the workspace has no secret {str(name)!r}")
            ) from None
        except errors.Unavailable as exc:
            raise _Failed(
                StepResult.failed(ERROR, "secrets", f"the secret could not be read: {exc}")
            ) from None
        value = values.get(str(name))
        if not value:
            raise _Failed(StepResult.failed(REFUSED, "secrets", f"the secret {str(name)!r} is empty"))
        return value

    async def _checked(
        self,
        client: httpx2.AsyncClient,
        attempt: _Attempt,
        request: ChatRequest,
        completion: Completion,
        validator: Draft202012Validator,
    ) -> tuple[Any, Completion]:
        """The answer parsed and valid, asking once more (with the problem) when it is not."""
        answer, problem = _parse_answer(completion.text, validator)
        if problem is None:
            return answer, completion
        await attempt.invocation.log(
            attempt.mask(f"the answer does not satisfy responseSchema ({problem}); asking to repair it once"),
            level="WARNING",
        )
        repair = ChatRequest(
            model=request.model,
            system=request.system,
            messages=(
                *request.messages,
                Message("assistant", completion.text),
                Message("user", _repair_instruction(problem)),
            ),
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            json_answer=True,
        )
        completion = await self._ask(client, attempt, repair)
        answer, problem = _parse_answer(completion.text, validator)
        if problem is not None:
            raise _Failed(
                StepResult.failed(
                    ERROR,
                    "answer",
                    attempt.mask(
                        f"the answer does not satisfy responseSchema after one repair attempt: {problem}"
                    ),
                )
            )
        return answer, completion

    async def _ask(self, client: httpx2.AsyncClient, attempt: _Attempt, request: ChatRequest) -> Completion:
        """One completion, trying again on 429 and 5xx; the answer logged (masked)."""
        call = attempt.provider.call(attempt.base_url, attempt.api_key, request)
        invocation, mask = attempt.invocation, attempt.mask
        for tried in range(1, MAX_CALLS + 1):
            status, headers, raw = await self._post(client, attempt, call)
            payload = _json(raw)
            if 200 <= status < 300:
                try:
                    completion = attempt.provider.parse(payload)
                except ProviderError as exc:
                    raise _Failed(
                        StepResult.failed(ERROR, "response", mask(f"{call.url} answered {status}: {exc}"))
                    ) from None
                attempt.totals.add(completion)
                await invocation.log(
                    mask(
                        f"answer ({completion.model}, {completion.tokens_in} tokens in, "
                        f"{completion.tokens_out} out, {completion.finish_reason or 'no finish reason'}): "
                        f"{completion.text}"
                    )
                )
                return completion
            detail = attempt.provider.error_message(payload) or raw[:300].decode("utf-8", errors="replace")
            said = mask(f"{call.url} answered {status}: {detail}".rstrip(": "))
            if (status == 429 or status >= 500) and tried < MAX_CALLS:
                delay = retry_after(headers)
                delay = BACKOFF_SECONDS * 2 ** (tried - 1) if delay is None else delay
                if delay > MAX_RETRY_AFTER_SECONDS:
                    raise _Failed(
                        StepResult.failed(
                            ERROR,
                            "provider",
                            f"{said}; it asks to wait {delay:g} s, more than the most waited",
                        )
                    )
                left = self._left(attempt)
                if left is not None and delay >= left:
                    raise _Failed(
                        StepResult.failed(
                            TIMEOUT, "request", f"{said}; waiting {delay:g} s would pass the step's timeout"
                        )
                    )
                await invocation.log(f"{said}; trying again in {delay:g} s", level="WARNING")
                await self._sleep(delay)
                continue
            raise _Failed(StepResult.failed(ERROR, "provider", said))
        raise AssertionError("unreachable: the last try returns or fails")

    def _left(self, attempt: _Attempt) -> float | None:
        """Seconds left of the step's timeout (``None``: no timeout)."""
        limit = attempt.invocation.timeout_seconds
        return limit - (self._timer() - attempt.started) if limit else None

    async def _post(
        self, client: httpx2.AsyncClient, attempt: _Attempt, call: HttpCall
    ) -> tuple[int, httpx2.Headers, bytes]:
        left = self._left(attempt)
        if left is not None and left <= 0:
            raise _Failed(StepResult.failed(TIMEOUT, "request", "the step's timeout passed"))
        began = self._timer()
        try:
            async with client.stream(
                "POST", call.url, headers=dict(call.headers), content=call.body, timeout=left
            ) as response:
                received = bytearray()
                async for chunk in response.aiter_bytes():
                    received += chunk
                    if len(received) > self._max:
                        raise _TooLarge
                return response.status_code, response.headers, bytes(received)
        except _TooLarge:
            raise _Failed(
                StepResult.failed(ERROR, "response", f"the answer is larger than {self._max} bytes")
            ) from None
        except EgressRefused as exc:
            raise _Failed(StepResult.failed(REFUSED, "egress", str(exc))) from None
        except errors.Unavailable as exc:
            raise _Failed(StepResult.failed(ERROR, "egress", str(exc))) from None
        except httpx2.TimeoutException:
            raise _Failed(
                StepResult.failed(
                    TIMEOUT, "request", f"no answer within {attempt.invocation.timeout_seconds:g} s"
                )
            ) from None
        except httpx2.HTTPError as exc:
            message = attempt.mask(f"{call.url}: {type(exc).__name__}: {exc}")
            raise _Failed(StepResult.failed(ERROR, "request", message)) from None
        finally:
            attempt.totals.waited += self._timer() - began


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait that an answer asks for: ``retry-after-ms`` (OpenAI), ``Retry-After`` in seconds or
    as an HTTP date (measured from the answer's ``Date``, so no local clock is read); ``None`` when none."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = lowered.get(name, "").strip()
        if not value:
            continue
        seconds: float | None
        try:
            seconds = float(value) * scale
        except ValueError:
            seconds = _date_delta(value, lowered.get("date", ""))
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _date_delta(value: str, date: str) -> float | None:
    try:
        return (parsedate_to_datetime(value) - parsedate_to_datetime(date)).total_seconds()
    except (TypeError, ValueError):
        return None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _validator(schema_text: Any) -> Draft202012Validator | None:
    if not schema_text:
        return None
    try:
        schema = json.loads(str(schema_text))
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # checked at save; a stored canvas from before the check refuses clearly
        raise _Failed(
            StepResult.failed(REFUSED, "config", f"responseSchema is not a JSON Schema: {exc}")
        ) from None
    return Draft202012Validator(schema)


def _json_instruction(schema: Any) -> str:
    return (
        "Answer with one JSON value only (no prose, no code fences) that satisfies this JSON Schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )


def _repair_instruction(problem: str) -> str:
    return (
        f"Your answer does not satisfy the JSON Schema: {problem}. "
        "Answer again with the corrected JSON only (no prose, no code fences)."
    )


def _parse_answer(text: str, validator: Draft202012Validator) -> tuple[Any, str | None]:
    """The answer as JSON and why it does not satisfy the schema (``None``: it does)."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0].strip()
    try:
        answer = json.loads(body)
    except ValueError as exc:
        return None, f"it is not JSON ({exc})"
    error = best_match(validator.iter_errors(answer))
    if error is None:
        return answer, None
    where = "/".join(str(part) for part in error.absolute_path)
    return answer, f"at {'/' + where if where else 'the top level'}: {error.message}"
