"""Pod exec over WebSocket with the channel.k8s.io protocols (v4 binary, v4 base64, v5 with close signals).

Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (a Status JSON when the command ends), 4 resize
(``{"Width": w, "Height": h}``); v5 adds 255 (close: the client closed the channel in the data byte).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import errors
from .objects import ObjectApi
from .params import go_bool

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
)


class ExecFailure(Exception):
    """Raised by an exec handler to end the session with an error Status (not an exit code)."""


@dataclass
class ExecSession:
    namespace: str
    pod: str
    container: str
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    protocol: str
    resizes: list[dict[str, int]] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)
    _input: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    _send: Callable[[int, bytes], Awaitable[None]] | None = None
    _resized: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> bytes | None:
        """The next stdin chunk; None once the client closed stdin or went away."""
        return await self._input.get()

    async def read_all(self) -> bytes:
        chunks = []
        while (chunk := await self.read()) is not None:
            chunks.append(chunk)
        return b"".join(chunks)

    async def readline(self) -> bytes | None:
        buffer = bytearray()
        while True:
            chunk = await self.read()
            if chunk is None:
                return bytes(buffer) if buffer else None
            buffer += chunk
            if b"\n" in buffer or b"\r" in buffer:
                return bytes(buffer)

    async def write(self, data: bytes | str, channel: int = STDOUT) -> None:
        if isinstance(data, str):
            data = data.encode()
        if self._send is not None and data:
            if channel == STDERR and self.tty:
                channel = STDOUT
            await self._send(channel, data)

    async def write_stderr(self, data: bytes | str) -> None:
        await self.write(data, STDERR)

    async def wait_resize(self) -> dict[str, int]:
        await self._resized.wait()
        self._resized.clear()
        return self.resizes[-1]


ExecHandler = Callable[[ExecSession], Awaitable[int | None]]


@dataclass
class ExecRegistry:
    handlers: list[tuple[str | None, str, str | None, ExecHandler]] = field(default_factory=list)
    sessions: list[ExecSession] = field(default_factory=list)

    def register(
        self, pod: str, handler: ExecHandler, namespace: str | None = None, container: str | None = None
    ) -> None:
        self.handlers.insert(0, (namespace, pod, container, handler))

    def find(self, namespace: str, pod: str, container: str) -> ExecHandler:
        for ns, name, cname, handler in self.handlers:
            if name == pod and ns in (None, namespace) and cname in (None, container):
                return handler
        return default_shell


def _status_frame(exit_code: int | None, command: list[str], failure: str | None) -> bytes:
    if failure is not None:
        status: dict[str, Any] = {
            "metadata": {},
            "status": "Failure",
            "message": failure,
            "reason": "InternalError",
            "details": {"causes": [{"message": failure}]},
            "code": 500,
        }
    elif not exit_code:
        status = {"metadata": {}, "status": "Success"}
    else:
        status = {
            "metadata": {},
            "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
            f"[{' '.join(command)}], exit code {exit_code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]},
        }
    return json.dumps(status, separators=(",", ":")).encode()


async def _deny(websocket: WebSocket, err: errors.ApiError) -> None:
    await websocket.send_denial_response(JSONResponse(err.status(), status_code=err.code))


def _check_pod(api: ObjectApi, namespace: str, name: str, container: str | None) -> str:
    pod = api.live(api.registry.lookup("Pod"), namespace, name)
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
    if not container:
        if len(names) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {name}, choose one of: [{' '.join(map(str, names))}]"
            )
        container = str(names[0])
    elif container not in names + init:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    running = any(s.get("name") == container and (s.get("state") or {}).get("running") for s in statuses)
    if not running:
        raise errors.bad_request(f'unable to upgrade connection: container not found ("{container}")')
    return container


async def serve_exec(
    websocket: WebSocket, api: ObjectApi, registry: ExecRegistry, namespace: str, name: str
) -> None:
    query = websocket.query_params
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    protocol = next((p for p in offered if p in PROTOCOLS), None)
    try:
        if protocol is None:
            raise errors.bad_request(
                f"requested protocol(s) are not supported: {offered}; supports {list(PROTOCOLS)}"
            )
        container = _check_pod(api, namespace, name, query.get("container"))
        command = query.getlist("command")
        if not command:
            raise errors.bad_request("you must specify at least 1 command")
        flags = {k: bool(go_bool(query.get(k), k)) for k in ("stdin", "stdout", "stderr", "tty")}
    except errors.ApiError as err:
        await _deny(websocket, err)
        return
    session = ExecSession(
        namespace,
        name,
        container,
        command,
        protocol=protocol,
        stdin=flags["stdin"],
        stdout=flags["stdout"],
        stderr=flags["stderr"],
        tty=flags["tty"],
    )
    registry.sessions.append(session)
    base64_mode = "base64" in protocol
    await websocket.accept(subprotocol=protocol)
    lock = asyncio.Lock()

    async def send(channel: int, data: bytes) -> None:
        async with lock:
            if base64_mode:
                await websocket.send_text(str(channel) + base64.b64encode(data).decode())
            else:
                await websocket.send_bytes(bytes([channel]) + data)

    session._send = send
    first = STDOUT if session.stdout else STDERR if session.stderr else ERROR
    await send(first, b"")

    async def reader() -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    raw: bytes = message["bytes"]
                elif message.get("text") is not None:
                    text: str = message["text"]
                    raw = bytes([int(text[0])]) + base64.b64decode(text[1:]) if base64_mode else text.encode()
                else:
                    continue
                if not raw:
                    continue
                channel, data = raw[0], raw[1:]
                if channel == STDIN and data:
                    session.received += data
                    session._input.put_nowait(data)
                elif channel == RESIZE and data:
                    with contextlib.suppress(ValueError):
                        session.resizes.append(json.loads(data))
                        session._resized.set()
                elif channel == CLOSE and data[:1] == bytes([STDIN]):
                    session._input.put_nowait(None)
        except WebSocketDisconnect:
            pass
        finally:
            session._input.put_nowait(None)

    read_task = asyncio.create_task(reader())
    handler = registry.find(namespace, name, container)
    failure: str | None = None
    exit_code: int | None = 0
    try:
        exit_code = await handler(session)
    except ExecFailure as exc:
        failure = str(exc)
    try:
        await send(ERROR, _status_frame(exit_code, command, failure))
        await websocket.close(1000)
    except (RuntimeError, WebSocketDisconnect, OSError):
        pass
    read_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await read_task


# -- the default behaviour: a very small shell ------------------------------------------------------------

BINARIES = {
    "echo",
    "cat",
    "true",
    "false",
    "exit",
    "env",
    "hostname",
    "pwd",
    "whoami",
    "ls",
    "sleep",
    "uname",
    "date",
    "printf",
    "sh",
    "bash",
    "/bin/sh",
    "/bin/bash",
    "id",
    "head",
}


async def _run(session: ExecSession, argv: list[str], *, in_shell: bool) -> int:
    if not argv:
        return 0
    cmd, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    if cmd == "echo":
        newline = args[:1] != ["-n"]
        text = " ".join(args[1:] if not newline else args)
        await session.write(text + ("\n" if newline else ""))
        return 0
    if cmd == "printf":
        await session.write((args[0] if args else "").replace("\\n", "\n") % tuple(args[1:]))
        return 0
    if cmd == "cat":
        while (chunk := await session.read()) is not None:
            await session.write(chunk)
        return 0
    if cmd == "true":
        return 0
    if cmd == "false":
        return 1
    if cmd == "exit":
        return int(args[0]) if args else 0
    if cmd == "env":
        await session.write(
            f"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            f"HOSTNAME={session.pod}\nHOME=/root\n"
        )
        return 0
    if cmd == "hostname":
        await session.write(session.pod + "\n")
        return 0
    if cmd == "pwd":
        await session.write("/\n")
        return 0
    if cmd == "whoami":
        await session.write("root\n")
        return 0
    if cmd == "id":
        await session.write("uid=0(root) gid=0(root) groups=0(root)\n")
        return 0
    if cmd == "ls":
        await session.write("bin\ndev\netc\nhome\nproc\nroot\nsys\ntmp\nusr\nvar\n")
        return 0
    if cmd == "uname":
        await session.write("Linux\n")
        return 0
    if cmd == "date":
        await session.write("Thu Jan  1 00:00:00 UTC 2025\n")
        return 0
    if cmd == "sleep":
        await asyncio.sleep(float(args[0]) if args else 0)
        return 0
    if cmd in {"sh", "bash"}:
        if len(args) >= 2 and args[0] == "-c":
            return await _script(session, args[1])
        return await _interactive(session)
    if in_shell:
        await session.write_stderr(f"sh: {argv[0]}: not found\n")
        return 127
    raise ExecFailure(
        "error executing command in container: failed to exec in container: failed to start exec: OCI runtime "
        f'exec failed: exec failed: unable to start container process: exec: "{argv[0]}": executable file not '
        "found in $PATH: unknown"
    )


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


async def _script(session: ExecSession, script: str) -> int:
    code = 0
    try:
        for line in script.replace(";", "\n").splitlines():
            for part in line.split("&&"):
                argv = shlex.split(part)
                if argv[:1] == ["exit"]:
                    raise _Exit(int(argv[1]) if len(argv) > 1 else code)
                code = await _run(session, argv, in_shell=True)
                if code:
                    break
    except _Exit as exc:
        return exc.code
    return code


async def _interactive(session: ExecSession) -> int:
    code = 0
    if session.tty:
        await session.write("# ")
    while (line := await session.readline()) is not None:
        text = line.decode(errors="replace")
        if session.tty:
            await session.write(text.replace("\r", "\r\n"))
        for command in text.replace("\r", "\n").splitlines():
            if not command.strip():
                continue
            argv = shlex.split(command)
            if argv[0] == "exit":
                return int(argv[1]) if len(argv) > 1 else code
            code = await _run(session, argv, in_shell=True)
        if session.tty:
            await session.write("# ")
    return code


async def default_shell(session: ExecSession) -> int:
    """Echo- and shell-like behaviour for pods without a registered handler."""
    return await _run(session, session.command, in_shell=False)
