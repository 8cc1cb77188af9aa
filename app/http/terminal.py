"""The exec terminal: ``/v1/api/exec?ticket=…`` proxies a WebSocket to a container's exec stream.

Server → client: ``metadata`` (pod, container, command), ``output`` (stream, data), ``error`` (message),
``close`` (exitCode). Client → server: ``input`` (data), ``resize`` (cols, rows). The ticket comes from
the ``createExecTicket`` mutation, is valid once for a short time, and never is a long-lived token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from app import errors
from app.ports import ExecStream
from app.services.container import Services

log = logging.getLogger(__name__)

PATH = "/v1/api/exec"
POLICY_VIOLATION = 1008
UNAUTHORIZED = 4401


async def exec_terminal(websocket: WebSocket) -> None:
    services: Services = websocket.state.services
    ticket_id = websocket.query_params.get("ticket", "")
    try:
        ticket = await services.terminals.redeem(ticket_id)
    except errors.Unauthenticated as exc:
        # Accept first so the browser learns why (a refused handshake tells it nothing).
        await websocket.accept()
        await _send(websocket, {"type": "error", "message": exc.message})
        await websocket.close(code=UNAUTHORIZED, reason="ticket refused")
        return
    await websocket.accept()
    try:
        async with services.terminals.open(ticket) as stream:
            await _send(
                websocket,
                {
                    "type": "metadata",
                    "pod": ticket.pod,
                    "container": ticket.container,
                    "command": list(ticket.command),
                },
            )
            exit_code, problem = await _pump(websocket, stream)
            if problem:
                await _send(websocket, {"type": "error", "message": problem})
            await _send(websocket, {"type": "close", "exitCode": exit_code})
    except errors.TrellisError as exc:
        await _send(websocket, {"type": "error", "message": exc.message})
        await _send(websocket, {"type": "close", "exitCode": None})
    except WebSocketDisconnect:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.close()


async def _pump(websocket: WebSocket, stream: ExecStream) -> tuple[int | None, str | None]:
    """Browser ↔ container until the command ends (or the browser leaves, which ends the command)."""

    async def downstream() -> None:
        async for channel, data in stream.output():
            await _send(
                websocket, {"type": "output", "stream": channel, "data": data.decode(errors="replace")}
            )

    async def upstream() -> None:
        while True:
            message = await websocket.receive_text()
            try:
                body: dict[str, Any] = json.loads(message)
            except ValueError:
                continue
            if body.get("type") == "input" and isinstance(body.get("data"), str):
                await stream.write(body["data"].encode())
            elif body.get("type") == "resize":
                cols, rows = body.get("cols"), body.get("rows")
                if isinstance(cols, int) and isinstance(rows, int) and 0 < cols < 10000 and 0 < rows < 10000:
                    await stream.resize(cols, rows)

    down = asyncio.create_task(downstream(), name="exec-downstream")
    up = asyncio.create_task(upstream(), name="exec-upstream")
    try:
        done, _ = await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (down, up):
            task.cancel()
        await asyncio.gather(down, up, return_exceptions=True)
    if up in done and isinstance(up.exception(), WebSocketDisconnect):
        raise WebSocketDisconnect()
    if down in done and down.exception() is not None:
        failure = down.exception()
        message = failure.message if isinstance(failure, errors.TrellisError) else "the exec stream failed"
        if not isinstance(failure, errors.TrellisError):
            log.error("exec stream failed", exc_info=failure)
        return None, message
    return await stream.result()


async def _send(websocket: WebSocket, body: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(body))


def routes() -> list[WebSocketRoute]:
    return [WebSocketRoute(PATH, exec_terminal)]
