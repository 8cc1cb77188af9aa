"""GraphQL subscriptions for the `trellis` command over a WebSocket, with the `graphql-transport-ws`
protocol: ``connection_init`` carrying the token, ``subscribe``, then ``next`` payloads until ``complete``."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from app.clients.trellis_api import UNREACHABLE, ApiError

PROTOCOL = "graphql-transport-ws"
CLOSE_CODES = {4401: "UNAUTHENTICATED", 4403: "UNAUTHENTICATED", 4400: "BAD_INPUT"}
"""Close codes of the protocol that mean something to a caller, as error codes."""
OPEN_TIMEOUT_SECONDS = 30


def websocket_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/graphql"
    return "ws://" + base.removeprefix("http://") + "/graphql"


async def subscribe(
    base_url: str, token: str | None, query: str, variables: dict[str, Any]
) -> AsyncGenerator[dict[str, Any]]:
    """Yield the ``data`` of every event of one subscription until the server completes it. Errors are
    :class:`ApiError`: those of the operation with their codes, a refused token as ``UNAUTHENTICATED``,
    no server as ``UNREACHABLE``."""
    url = websocket_url(base_url)
    try:
        async with connect(url, subprotocols=[PROTOCOL], open_timeout=OPEN_TIMEOUT_SECONDS) as ws:  # type: ignore[list-item]
            init = {"Authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            while (message := json.loads(await ws.recv()))["type"] != "connection_ack":
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
            operation = {"query": query, "variables": variables}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": operation}))
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "next":
                    payload = message["payload"]
                    if payload.get("errors"):
                        raise ApiError(payload["errors"])
                    yield payload["data"]
                elif kind == "error":
                    raise ApiError(message["payload"])
                elif kind == "complete":
                    return
            raise ApiError.of(UNREACHABLE, "the server closed the connection before the end")
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else 1006
        reason = exc.rcvd.reason if exc.rcvd is not None else "connection lost"
        raise ApiError.of(
            CLOSE_CODES.get(code, UNREACHABLE), f"{reason or 'closed'} (WebSocket {code})"
        ) from exc
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise ApiError.of(UNREACHABLE, f"cannot reach Trellis at {base_url}: {exc}") from exc
