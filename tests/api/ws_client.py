"""A minimal GraphQL-over-WebSocket client for tests (both protocols), over a real WebSocket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class Subscription:
    def __init__(self, connection: Any, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol

    async def start(self, query: str, variables: dict[str, Any] | None = None, op_id: str = "1") -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.connection.send(
            json.dumps({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}})
        )

    async def next(self) -> dict[str, Any]:
        """The next payload of a `next`/`data` message; raises on errors."""
        while True:
            message = json.loads(await self.connection.recv())
            if message["type"] in ("next", "data"):
                payload: dict[str, Any] = message["payload"]
                return payload
            if message["type"] in ("complete",):
                return {"complete": True}
            if message["type"] == "error":
                raise AssertionError(f"subscription error: {message}")
            if message["type"] in ("ka", "ping", "pong"):
                continue
            raise AssertionError(f"unexpected message {message}")


@asynccontextmanager
async def subscribed(
    base_url: str, token: str | None, protocol: str = TRANSPORT_WS, origin: str | None = None
) -> AsyncIterator[Subscription]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    headers = {"Origin": origin} if origin else None
    async with websockets.connect(url, subprotocols=[protocol], additional_headers=headers) as connection:
        params = {"Authorization": f"Bearer {token}"} if token else {}
        await connection.send(json.dumps({"type": "connection_init", "payload": params}))
        ack = json.loads(await connection.recv())
        assert ack["type"] == "connection_ack", ack
        yield Subscription(connection, protocol)
