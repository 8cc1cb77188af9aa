"""In-process step executors: pass-through (Start, End, Merge), Condition, HttpRequest (whose
``{{ secrets.NAME }}`` parts are workspace secrets, revealed only to send the request and masked in what
the step logs and returns)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx2
import jmespath
from jmespath.exceptions import JMESPathError

from app import errors
from app.domain.flows.expressions import template_parts
from app.domain.flows.steps import ERROR, REFUSED, TIMEOUT, StepInvocation, StepResult
from app.domain.workspace_secrets import SCOPE_NAME, http_request_texts, names_in_text
from app.flows.step_secrets import masked, masked_result, masking_logs, reveal
from app.net.egress import EgressGuard, EgressRefused, ResolvedTarget
from app.net.pinned_http import PinnedTransport
from app.ports import StepExecutor, WorkspaceSecretReader

_TEMPLATE_PART = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
HTTP_SCHEMES = ("http", "https")


class PassThrough:
    """Start (its input is the run's trigger data, ``{}`` when none), End and Merge: output = input."""

    async def execute(self, invocation: StepInvocation) -> StepResult:
        given = invocation.input
        if invocation.step.kind == "Start" and given is None:
            given = {}
        return StepResult(output=given)


def truthy(value: Any) -> bool:
    """JMESPath truth: false, null, and empty strings, lists and objects are false; numbers are true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


class ConditionExecutor:
    """Evaluates the step's expression over its scope; leaves through ``true`` or ``false`` with its input."""

    async def execute(self, invocation: StepInvocation) -> StepResult:
        expression = str(invocation.step.data.get("expression") or "")
        try:
            value = jmespath.search(expression, dict(invocation.scope))
        except JMESPathError as exc:
            return StepResult.failed(ERROR, "expression", f"{expression!r} did not evaluate: {exc}")
        taken = "true" if truthy(value) else "false"
        await invocation.log(f"{expression} → {json.dumps(value)[:200]}: {taken} branch")
        return StepResult(output=invocation.input, port=taken)


def render(text: str, scope: Mapping[str, Any]) -> str:
    """``text`` with each ``{{ expression }}`` replaced by its value (strings as they are, other JSON
    encoded). ``JMESPathError`` when an expression does not evaluate."""
    if not template_parts(text):
        return text

    def value(match: re.Match[str]) -> str:
        found = jmespath.search(match.group(1).strip(), dict(scope))
        return found if isinstance(found, str) else json.dumps(found)

    return _TEMPLATE_PART.sub(value, text)


def expected(status: int, accepted: Any) -> bool:
    """Whether ``status`` matches one of ``accepted`` (``200``, ``2xx``); 2xx when none are given."""
    patterns = [str(p) for p in accepted] if isinstance(accepted, list | tuple) and accepted else ["2xx"]
    shown = str(status)
    return any(p == shown or (p.endswith("xx") and shown[0] == p[0]) for p in patterns)


class HttpRequestExecutor:
    """Sends the step's request through the egress guard (connecting only to the addresses it checked),
    reads at most ``max_response_bytes`` of the body; output ``{status, headers, body}`` (body parsed when
    it is JSON). ``secrets`` reveals the workspace secrets its templates read."""

    def __init__(
        self, guard: EgressGuard, *, max_response_bytes: int, secrets: WorkspaceSecretReader | None = None
    ) -> None:
        self._guard = guard
        self._max = max_response_bytes
        self._secrets = secrets

    async def _check(self, url: str) -> ResolvedTarget:
        return await self._guard.check_url(url, schemes=HTTP_SCHEMES, field="urlTemplate")

    async def execute(self, invocation: StepInvocation) -> StepResult:
        data = invocation.step.data
        names = tuple(dict.fromkeys(n for text in http_request_texts(data) for n in names_in_text(text)))
        values = await reveal(self._secrets, invocation, names)
        if isinstance(values, StepResult):
            return values
        scope = {**invocation.scope, SCOPE_NAME: values} if values else invocation.scope
        with masking_logs(values.values()):
            result = await self._send(masked(invocation, values), scope)
        return masked_result(result, values)

    async def _send(self, invocation: StepInvocation, scope: Mapping[str, Any]) -> StepResult:
        """Render the request over ``scope`` (secrets included), send it, read the answer."""
        data = invocation.step.data
        try:
            url = render(str(data.get("urlTemplate") or ""), scope)
            raw_headers = data.get("headers") or {}
            headers = {str(k): render(str(v), scope) for k, v in dict(raw_headers).items()}
            body = data.get("body")
            content = render(str(body), scope).encode() if body else None
        except JMESPathError as exc:
            return StepResult.failed(REFUSED, "template", f"a {{{{ expression }}}} did not evaluate: {exc}")
        method = str(data.get("method") or "GET")
        timeout = invocation.timeout_seconds or None
        await invocation.log(f"{method} {url}")
        transport = PinnedTransport(self._check)
        try:
            async with (
                httpx2.AsyncClient(
                    transport=transport, follow_redirects=False, trust_env=False, timeout=timeout
                ) as client,
                client.stream(method, url, headers=headers, content=content) as response,
            ):
                received = bytearray()
                async for chunk in response.aiter_bytes():
                    received += chunk
                    if len(received) > self._max:
                        return StepResult.failed(
                            ERROR, "response", f"the response is larger than {self._max} bytes"
                        )
        except EgressRefused as exc:
            return StepResult.failed(REFUSED, "egress", str(exc))
        except errors.Unavailable as exc:
            return StepResult.failed(ERROR, "egress", str(exc))
        except httpx2.TimeoutException:
            return StepResult.failed(TIMEOUT, "request", f"no response within {timeout} s")
        except httpx2.HTTPError as exc:
            return StepResult.failed(ERROR, "request", f"{type(exc).__name__}: {exc}")
        finally:
            await transport.aclose()
        output = {
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": _body(bytes(received), response.headers.get("content-type", "")),
        }
        await invocation.log(f"{method} {url} → {response.status_code} ({len(received)} bytes)")
        if not expected(response.status_code, data.get("expectedStatus")):
            return StepResult(
                output=output,
                error_kind=ERROR,
                stage="status",
                message=f"{method} {url} answered {response.status_code}, not an expected status",
            )
        return StepResult(output=output)


def _body(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def in_process_executors(
    guard: EgressGuard, *, max_response_bytes: int, secrets: WorkspaceSecretReader | None = None
) -> dict[str, StepExecutor]:
    """The executors of every step kind that runs inside Trellis, by kind."""
    passing = PassThrough()
    return {
        "Start": passing,
        "End": passing,
        "Merge": passing,
        "Condition": ConditionExecutor(),
        "HttpRequest": HttpRequestExecutor(guard, max_response_bytes=max_response_bytes, secrets=secrets),
    }
