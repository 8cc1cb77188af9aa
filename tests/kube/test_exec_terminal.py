"""Interactive exec: stdin round trips, closing stdin, terminal resizes, tty mode, and what leaving the
context (or cancelling the reader) does to the WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator

import pytest

from app import errors
from app.kube import KubeSession
from app.kube.connecting import open_api_client
from app.kube.endpoints import Endpoint
from app.kube.exec import V4, KubeExecStream, open_exec
from tests.kube.test_logs_stream import established_connections, eventually
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import pod
from tests.kubeapi.exec import ExecSession

NS = "default"
WAIT = 5.0


@pytest.fixture
def web(kube_api: KubeApiServer) -> str:
    kube_api.create(pod("web"))
    kube_api.pods.running(NS, "web")
    return "web"


async def read_until(output: AsyncIterator[tuple[str, bytes]], marker: bytes) -> bytes:
    """stdout until it contains ``marker`` (everything read so far)."""
    seen = b""
    while marker not in seen:
        stream, data = await anext(output)
        assert stream == "stdout"
        seen += data
    return seen


@pytest.mark.usefixtures("web")
async def test_stdin_round_trips_through_a_handler(kube_api: KubeApiServer, session: KubeSession) -> None:
    async def shout(exec_session: ExecSession) -> int:
        while (line := await exec_session.readline()) is not None:
            await exec_session.write(line.upper())
        await exec_session.write("stdin closed\n")
        return 0

    kube_api.on_exec("web", shout)
    async with (
        asyncio.timeout(WAIT),
        session.exec(NS, "web", container="app", command=["shout"], tty=False) as stream,
    ):
        output = stream.output()
        await stream.write(b"hello\n")
        assert await read_until(output, b"\n") == b"HELLO\n"
        await stream.write(b"again\n")
        assert await read_until(output, b"\n") == b"AGAIN\n"
        await stream.close_stdin()  # v5: the close message for channel 0
        assert await read_until(output, b"\n") == b"stdin closed\n"
        assert [chunk async for chunk in output] == []
        assert await stream.result() == (0, None)
    [ran] = kube_api.exec_sessions
    assert bytes(ran.received) == b"hello\nagain\n"


@pytest.mark.usefixtures("web")
async def test_cat_echoes_stdin_until_it_is_closed(session: KubeSession) -> None:
    async with (
        asyncio.timeout(WAIT),
        session.exec(NS, "web", container="app", command=["cat"], tty=False) as stream,
    ):
        await stream.write(b"one ")
        await stream.write(b"two\n")
        await stream.write(b"")  # nothing to send
        await stream.close_stdin()
        assert b"".join([data async for _, data in stream.output()]) == b"one two\n"
        assert await stream.result() == (0, None)


@pytest.mark.usefixtures("web")
async def test_the_handler_receives_resizes(kube_api: KubeApiServer, session: KubeSession) -> None:
    async def report_size(exec_session: ExecSession) -> int:
        for _ in range(2):
            size = await exec_session.wait_resize()
            await exec_session.write(json.dumps(size, sort_keys=True) + "\n")
        return 0

    kube_api.on_exec("web", report_size)
    async with (
        asyncio.timeout(WAIT),
        session.exec(NS, "web", container="app", command=["sh"], tty=True) as stream,
    ):
        output = stream.output()
        await stream.resize(120, 40)
        assert await read_until(output, b"\n") == b'{"Height": 40, "Width": 120}\n'
        await stream.resize(80, 24)
        assert await read_until(output, b"\n") == b'{"Height": 24, "Width": 80}\n'
        with pytest.raises(errors.Invalid, match="resize"):
            await stream.resize(0, 24)
        assert await stream.result() == (0, None)
    [ran] = kube_api.exec_sessions
    assert ran.resizes == [{"Width": 120, "Height": 40}, {"Width": 80, "Height": 24}]


@pytest.mark.usefixtures("web")
async def test_an_interactive_shell_on_a_tty(kube_api: KubeApiServer, session: KubeSession) -> None:
    async with (
        asyncio.timeout(WAIT),
        session.exec(NS, "web", container="app", command=["/bin/sh"], tty=True) as stream,
    ):
        output = stream.output()
        assert await read_until(output, b"# ") == b"# "
        await stream.write(b"echo hi\r")
        assert await read_until(output, b"hi\n# ") == b"echo hi\r\nhi\n# "  # the tty echoes what is typed
        await stream.write(b"no-such-tool\r")
        seen = await read_until(output, b"# ")
        assert b"sh: no-such-tool: not found" in seen  # a tty has one output stream: stderr comes as stdout
        await stream.write(b"exit 4\r")
        assert await read_until(output, b"\n") == b"exit 4\r\n"
        assert [chunk async for chunk in output] == []
        assert await stream.result() == (4, None)
    [ran] = kube_api.exec_sessions
    assert (ran.tty, ran.stdin, ran.stdout, ran.stderr) == (True, True, True, False)


@pytest.mark.usefixtures("web")
async def test_leaving_the_context_closes_the_websocket(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    ended = threading.Event()  # set on the server's thread

    async def wait_for_stdin(exec_session: ExecSession) -> int:
        await exec_session.write("ready\n")
        await exec_session.read_all()
        ended.set()
        return 0

    kube_api.on_exec("web", wait_for_stdin)
    async with (
        asyncio.timeout(WAIT),
        session.exec(NS, "web", container="app", command=["wait"], tty=False) as stream,
    ):
        assert await read_until(stream.output(), b"\n") == b"ready\n"
        assert not ended.is_set()
        assert established_connections(kube_api.port) == 1
    await eventually(ended.is_set)  # the server saw the connection go: stdin ended
    await eventually(lambda: established_connections(kube_api.port) == 0)


@pytest.mark.usefixtures("web")
async def test_cancelling_the_reader_closes_the_websocket(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    started = asyncio.Event()
    stream_seen: list[KubeExecStream] = []

    async def terminal() -> None:
        async with session.exec(NS, "web", container="app", command=["cat"], tty=False) as stream:
            stream_seen.append(stream)
            await stream.write(b"ping\n")
            async for _ in stream.output():
                started.set()

    task = asyncio.create_task(terminal())
    async with asyncio.timeout(WAIT):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: established_connections(kube_api.port) == 0)
    await stream_seen[0].write(b"after the end\n")  # dropped: the stream is closed
    [ran] = kube_api.exec_sessions
    assert bytes(ran.received) == b"ping\n"


async def test_a_v4_only_server_works_without_the_close_message(kube_api: KubeApiServer, web: str) -> None:
    async def one_line(exec_session: ExecSession) -> int:
        await exec_session.write(b"got " + (await exec_session.readline() or b""))
        return 7

    kube_api.on_exec(web, one_line)
    api = open_api_client(Endpoint(server=kube_api.url))
    try:
        async with (
            asyncio.timeout(WAIT),
            open_exec(
                api,
                kube_api.url,
                namespace=NS,
                pod=web,
                container="app",
                command=["one-line"],
                tty=False,
                timeout_seconds=WAIT,
                protocols=(V4,),
            ) as stream,
        ):
            assert stream.protocol == V4
            await stream.write(b"a\n")
            await stream.close_stdin()  # v4 has no way to say so: nothing is sent
            assert [chunk async for chunk in stream.output()] == [("stdout", b"got a\n")]
            assert await stream.result() == (7, None)
    finally:
        await api.close()
    [ran] = kube_api.exec_sessions
    assert ran.protocol == V4 and bytes(ran.received) == b"a\n"
