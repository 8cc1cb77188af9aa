"""Pod exec over WebSocket: channel.k8s.io framing, stdin/stdout/stderr, the error channel, resize."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.stream import WsApiClient

from tests.kubeapi import ExecFailure, ExecSession, KubeApiServer
from tests.kubeapi.builders import pod


@pytest.fixture
async def ws_client(kube_api: KubeApiServer) -> Any:
    kube_api.create(pod("p"))
    kube_api.pods.running("default", "p")
    configuration: Configuration = await kube_api.client_configuration()
    async with WsApiClient(configuration=configuration) as api:
        yield client.CoreV1Api(api)


async def frames(ws: aiohttp.ClientWebSocketResponse) -> dict[int, bytes]:
    """Read until the server closes; collect the bytes per channel."""
    out: dict[int, bytes] = {}
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY and message.data:
            out[message.data[0]] = out.get(message.data[0], b"") + message.data[1:]
    return out


async def test_default_shell_echo(ws_client: Any) -> None:
    output = await ws_client.connect_get_namespaced_pod_exec(
        "p",
        "default",
        command=["sh", "-c", "echo hello world"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
    )
    assert output == "hello world\n"


async def test_channels_and_exit_code(kube_api: KubeApiServer, ws_client: Any) -> None:
    async with await ws_client.connect_get_namespaced_pod_exec(
        "p",
        "default",
        command=["sh", "-c", "echo out; nosuch; exit 3"],
        stdout=True,
        stderr=True,
        _preload_content=False,
    ) as ws:
        first = await ws.receive()
        assert first.data == b"\x01"  # the empty frame on stdout that says the stream is open
        got = await frames(ws)
    assert got[1] == b"out\n" and got[2] == b"sh: nosuch: not found\n"
    status = json.loads(got[3])
    assert status == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command "
        "[sh -c echo out; nosuch; exit 3], exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert WsApiClient.parse_error_data(got[3]) == 3
    (session,) = kube_api.exec_sessions
    assert (session.pod, session.container, session.command[0]) == ("p", "app", "sh")


async def test_stdin_and_a_registered_handler(kube_api: KubeApiServer, ws_client: Any) -> None:
    async def handler(session: ExecSession) -> int:
        await session.write(f"argv={session.command}\n")
        size = await session.wait_resize()
        await session.write_stderr(f"size={size['Width']}x{size['Height']}\n")
        data = await session.readline()
        await session.write(b"got " + (data or b""))
        return 0

    kube_api.on_exec("p", handler)
    async with await ws_client.connect_get_namespaced_pod_exec(
        "p",
        "default",
        command=["/bin/app", "--flag"],
        stdin=True,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    ) as ws:
        await ws.receive()
        assert (await ws.receive()).data == b"\x01argv=['/bin/app', '--flag']\n"
        await ws.send_bytes(b"\x04" + json.dumps({"Width": 120, "Height": 40}).encode())
        assert (await ws.receive()).data == b"\x02size=120x40\n"
        await ws.send_bytes(b"\x00ping\n")
        got = await frames(ws)
    assert got[1] == b"got ping\n"
    assert json.loads(got[3]) == {"metadata": {}, "status": "Success"}


async def test_interactive_shell_with_tty(ws_client: Any) -> None:
    async with await ws_client.connect_get_namespaced_pod_exec(
        "p", "default", command=["sh"], stdin=True, stdout=True, stderr=True, tty=True, _preload_content=False
    ) as ws:
        await ws.receive()
        assert (await ws.receive()).data == b"\x01# "
        await ws.send_bytes(b"\x00hostname\r")
        echoed = b""
        while b"p\n" not in echoed:
            echoed += (await asyncio.wait_for(ws.receive(), 5)).data[1:]
        await ws.send_bytes(b"\x00exit 7\r")
        got = await frames(ws)
    assert WsApiClient.parse_error_data(got[3]) == 7


async def test_v5_close_signal_and_base64_protocol(kube_api: KubeApiServer) -> None:
    kube_api.create(pod("q"))
    kube_api.pods.running("default", "q")
    url = kube_api.url.replace("http", "ws") + "/api/v1/namespaces/default/pods/q/exec"
    params = [("command", "cat"), ("stdin", "true"), ("stdout", "true")]
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(
            url, params=params, protocols=["v5.channel.k8s.io", "v4.channel.k8s.io"]
        ) as ws:
            assert ws.protocol == "v5.channel.k8s.io"
            await ws.receive()
            await ws.send_bytes(b"\x00abc")
            assert (await ws.receive()).data == b"\x01abc"
            await ws.send_bytes(b"\xff\x00")  # v5: the client closed stdin, so cat ends
            got = await frames(ws)
        assert json.loads(got[3])["status"] == "Success"
        async with http.ws_connect(url, params=params, protocols=["v4.base64.channel.k8s.io"]) as ws:
            assert (await ws.receive()).data == "1"
            await ws.send_str("0" + base64.b64encode(b"xyz").decode())
            reply = (await ws.receive()).data
            assert reply[0] == "1" and base64.b64decode(reply[1:]) == b"xyz"


async def test_failures(kube_api: KubeApiServer, ws_client: Any) -> None:
    async def broken(session: ExecSession) -> int:
        raise ExecFailure("container runtime exploded")

    kube_api.on_exec("p", broken)
    async with await ws_client.connect_get_namespaced_pod_exec(
        "p", "default", command=["x"], stdout=True, _preload_content=False
    ) as ws:
        got = await frames(ws)
    assert json.loads(got[3])["message"] == "container runtime exploded"
    kube_api.create(pod("stopped"))
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await ws_client.connect_get_namespaced_pod_exec("stopped", "default", command=["sh"], stdout=True)
    assert info.value.status == 400
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await ws_client.connect_get_namespaced_pod_exec("ghost", "default", command=["sh"], stdout=True)
    assert info.value.status == 404


async def test_unknown_binary(ws_client: Any) -> None:
    async with await ws_client.connect_get_namespaced_pod_exec(
        "p", "default", command=["nonexistent"], stdout=True, _preload_content=False
    ) as ws:
        got = await frames(ws)
    assert 'exec: "nonexistent": executable file not found in $PATH' in json.loads(got[3])["message"]
