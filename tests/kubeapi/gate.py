"""The ASGI layer in front of the API: request log, delays, injected failures and authentication."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from .errors import ApiError, service_unavailable, too_many_requests, unauthorized
from .state import RecordedRequest, ServerState
from .tls import client_identity

USER_KEY = "kubeapi.user"


def _failure_error(status: int) -> ApiError:
    if status == 429:
        return too_many_requests()
    if status == 503:
        return service_unavailable()
    if status == 504:
        return ApiError(
            504,
            "Timeout",
            "the server was unable to return a response in the time allotted, "
            "but may still be processing the request",
        )
    return ApiError(status, "InternalError", "Internal error occurred: injected failure")


class Gate:
    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    def authenticate(self, scope: Scope) -> str | None:
        state = self.state
        if state.token is None and state.client_ca is None:
            return state.user
        if state.client_ca is not None:
            identity = client_identity(dict(scope))
            if identity is not None:
                return identity[0]
        if state.token is not None:
            headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
            auth = headers.get("authorization", "")
            if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip(), state.token):
                return state.user
        return None

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, err: ApiError) -> None:
        response = JSONResponse(err.status(), status_code=err.code)
        if scope["type"] == "websocket":
            await WebSocket(scope, receive, send).send_denial_response(response)
        else:
            await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        path: str = scope["path"]
        query: dict[str, Any] = dict(
            parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        )
        self.state.requests.append(RecordedRequest(method, path, query))
        if self.state.delay:
            await asyncio.sleep(self.state.delay)
        for failure in self.state.failures:
            if failure.times > 0 and failure.matches(method, path):
                failure.times -= 1
                await self._refuse(scope, receive, send, _failure_error(failure.status))
                return
        user = self.authenticate(scope)
        if user is None:
            await self._refuse(scope, receive, send, unauthorized())
            return
        scope[USER_KEY] = user
        await self.app(scope, receive, send)
