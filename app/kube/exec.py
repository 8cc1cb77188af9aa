"""Pod exec: a WebSocket to ``/api/v1/namespaces/<ns>/pods/<pod>/exec`` speaking the channel protocol.

Protocols offered, best first: ``v5.channel.k8s.io`` (adds the close message, so stdin can be closed)
and ``v4.channel.k8s.io``. Every binary frame is one channel byte followed by data: 0 stdin, 1 stdout,
2 stderr, 3 error (the Status JSON that ends the command: ``Success`` → exit code 0,
``NonZeroExitCode`` → its ``ExitCode`` cause, anything else → no code and the Status message),
4 resize (``{"Width": columns, "Height": rows}``), 255 close (v5: the data byte names the channel).

The WebSocket is opened with aiohttp over the session's own connector (its TLS context) with the
headers the ``ApiClient`` sends (bearer token, user agent) and the proxy it was configured with. A
refusal before the upgrade (403, 404, 400 …) is read in full by a client middleware — aiohttp's
handshake error keeps only the status — and leaves as an ``app.kube.errors`` type with the API server's
message. The handshake has the session's timeout; the open stream has none (a terminal may sit idle).
Leaving the context closes the WebSocket (the command loses its stdin and its output goes nowhere).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from app.kube.endpoints import invalid
from app.kube.errors import KubeUnavailable, Target, translating

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_MAX_REFUSAL_BYTES = 64 * 1024
_STREAMS = {STDOUT: "stdout", STDERR: "stderr"}


def exec_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/exec"


def parse_status(data: bytes) -> tuple[int | None, str | None]:
    """(exit code, error message) from what arrived on the error channel.

    v4/v5 send a ``metav1.Status``; older protocols send plain text (always an error).
    """
    text = data.decode("utf-8", "replace").strip()
    try:
        status = json.loads(text)
    except ValueError:
        return None, text or None
    if not isinstance(status, dict):
        return None, text or None
    if status.get("status") == "Success":
        return 0, None
    message = str(status.get("message") or status.get("reason") or "the command failed")
    if status.get("reason") == "NonZeroExitCode":
        details = status.get("details")
        causes = details.get("causes") if isinstance(details, dict) else None
        for cause in causes if isinstance(causes, list) else []:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    return int(str(cause.get("message"))), None
                except ValueError:
                    break
    return None, message


class KubeExecStream:
    """One running command (``app.ports.ExecStream``): stdin in, stdout/stderr out, terminal resizes.

    ``output()`` reads the WebSocket; iterate it from one task. ``write``/``resize``/``close_stdin`` may
    be called from another task meanwhile. ``result()`` waits for the end, discarding output nobody read.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, protocol: str, server: str) -> None:
        self._ws = ws
        self._protocol = protocol
        self._server = server
        self._lock = asyncio.Lock()
        self._ended = False
        self._exit_code: int | None = None
        self._error: str | None = None

    @property
    def protocol(self) -> str:
        """The negotiated subprotocol (``v5.channel.k8s.io`` or ``v4.channel.k8s.io``)."""
        return self._protocol

    @property
    def ended(self) -> bool:
        return self._ended

    async def write(self, data: bytes) -> None:
        """Send ``data`` to the command's stdin (dropped once the command has ended)."""
        if data:
            await self._send(bytes([STDIN]) + data)

    async def close_stdin(self) -> None:
        """Tell the command its stdin ended (EOF). Only v5 can say so; on v4 this does nothing."""
        if self._protocol == V5:
            await self._send(bytes([CLOSE, STDIN]))

    async def resize(self, columns: int, rows: int) -> None:
        """The terminal's new size (only a ``tty`` command cares)."""
        if columns <= 0 or rows <= 0:
            raise invalid("resize", "columns and rows must be positive")
        size = json.dumps({"Width": columns, "Height": rows}, separators=(",", ":"))
        await self._send(bytes([RESIZE]) + size.encode())

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        """``("stdout" | "stderr", bytes)`` chunks until the command ends (in tty mode all is stdout)."""
        while (chunk := await self._next()) is not None:
            yield chunk

    async def result(self) -> tuple[int | None, str | None]:
        """The exit code (None when unknown) and an error message when the exec itself failed (the
        command could not start, the connection was lost); a non-zero exit code is not an error."""
        while await self._next() is not None:
            pass
        return self._exit_code, self._error

    # --- plumbing ---------------------------------------------------------------------------------

    async def _send(self, frame: bytes) -> None:
        if self._ended or self._ws.closed:
            return
        with translating(self._server):
            await self._ws.send_bytes(frame)

    async def _next(self) -> tuple[str, bytes] | None:
        async with self._lock:
            while not self._ended:
                with translating(self._server):
                    message = await self._ws.receive()
                if message.type is aiohttp.WSMsgType.BINARY:
                    raw: bytes = message.data
                elif message.type is aiohttp.WSMsgType.TEXT:
                    raw = str(message.data).encode()
                elif message.type is aiohttp.WSMsgType.ERROR:
                    self._finish(None, f"the exec stream from {self._server} broke: {message.data}")
                    break
                elif message.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                ):
                    self._finish(
                        None,
                        f"the exec stream from {self._server} closed before the command's exit status "
                        f"arrived (WebSocket close code {self._ws.close_code})",
                    )
                    break
                else:  # PING/PONG are answered by aiohttp
                    continue
                if len(raw) < 2:  # the opening empty frame of each channel, or nothing at all
                    continue
                channel, data = raw[0], raw[1:]
                if channel in _STREAMS:
                    return _STREAMS[channel], data
                if channel == ERROR:  # the last message: the command ended
                    self._finish(*parse_status(data))
            return None

    def _finish(self, exit_code: int | None, error: str | None) -> None:
        self._ended = True
        self._exit_code = exit_code
        self._error = error


async def _read_refusal(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Turn an answer other than ``101 Switching Protocols`` into an ``ApiException`` with its body."""
    response = await handler(request)
    if response.status == 101:
        return response
    try:
        body = await response.content.read(_MAX_REFUSAL_BYTES)
    finally:
        response.close()
    refusal = ApiException(status=response.status, reason=response.reason)
    refusal.body = body
    raise refusal


@asynccontextmanager
async def open_exec(
    api: Any,
    server: str,
    *,
    namespace: str,
    pod: str,
    container: str,
    command: Sequence[str],
    tty: bool,
    timeout_seconds: float,
    protocols: Sequence[str] = PROTOCOLS,
) -> AsyncIterator[KubeExecStream]:
    """Run ``command`` in the container with stdin, stdout and (without a tty) stderr attached.

    ``protocols`` are offered in that order (a subset of ``PROTOCOLS``; v4 alone for a server whose v5
    misbehaves)."""
    if not protocols or any(p not in PROTOCOLS for p in protocols):
        raise ValueError(f"protocols must be chosen from {PROTOCOLS}")
    if not namespace:
        raise invalid("namespace", "a namespace is required")
    if not pod:
        raise invalid("pod", "a pod name is required")
    if not command or not all(command):
        raise invalid("command", "a command is a non-empty list of non-empty words")
    query: list[tuple[str, str]] = [("command", word) for word in command]
    if container:
        query.append(("container", container))
    query += [
        ("stdin", "true"),
        ("stdout", "true"),
        ("stderr", "false" if tty else "true"),  # a terminal has one output stream
        ("tty", "true" if tty else "false"),
    ]
    headers: dict[str, str] = dict(api.default_headers)
    await api.update_params_for_auth(headers, query, ["BearerToken"])
    url = f"{api.configuration.host}{exec_path(namespace, pod)}?{urlencode(query)}"
    rest = api.rest_client
    target = Target("Pod", pod, namespace)
    http = aiohttp.ClientSession(
        connector=rest.pool_manager.connector,  # the ApiClient's TLS context and connection limits
        connector_owner=False,
        trust_env=True,
        timeout=aiohttp.ClientTimeout(total=None, connect=timeout_seconds, sock_connect=timeout_seconds),
        middlewares=(_read_refusal,),
    )
    try:
        with translating(server, timeout=timeout_seconds, target=target):
            async with asyncio.timeout(timeout_seconds):
                ws = await http.ws_connect(
                    url,
                    protocols=tuple(protocols),
                    headers=headers,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=timeout_seconds),
                    max_msg_size=MAX_MESSAGE_BYTES,
                    proxy=rest.proxy,
                    proxy_headers=rest.proxy_headers,
                    server_hostname=rest.server_hostname,
                )
        try:
            chosen = ws.protocol
            if chosen is None or chosen not in protocols:
                raise KubeUnavailable(
                    f"{server} accepted the exec WebSocket without choosing one of {', '.join(protocols)}"
                )
            yield KubeExecStream(ws, protocol=chosen, server=server)
        finally:
            await ws.close()
    finally:
        await http.close()
