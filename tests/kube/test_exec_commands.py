"""Commands through ``KubeSession.exec``: output on stdout and stderr, the exit code from the status on
the error channel, and refusals before the WebSocket upgrade as our errors with the server's message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from app import errors
from app.domain.clusters import ClusterCredentials
from app.kube import KubeGateway, KubeSession
from app.kube.exec import V5, parse_status
from app.ports import ExecStream
from tests.kube.conftest import TIMEOUT, token_credentials
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import pod
from tests.kubeapi.exec import ExecFailure, ExecSession

NS = "default"
WAIT = 5.0


@pytest.fixture
def web(kube_api: KubeApiServer) -> str:
    kube_api.create(pod("web"))
    kube_api.pods.running(NS, "web")
    return "web"


async def run(
    session: KubeSession, command: Sequence[str], *, pod_name: str = "web", container: str = "app"
) -> tuple[list[tuple[str, bytes]], tuple[int | None, str | None]]:
    async with asyncio.timeout(WAIT):
        stream: ExecStream
        async with session.exec(NS, pod_name, container=container, command=command, tty=False) as stream:
            chunks = [chunk async for chunk in stream.output()]
            return chunks, await stream.result()


def joined(chunks: list[tuple[str, bytes]], name: str) -> bytes:
    return b"".join(data for stream, data in chunks if stream == name)


@pytest.mark.usefixtures("web")
async def test_echo_writes_stdout_and_exits_0(kube_api: KubeApiServer, session: KubeSession) -> None:
    async with (
        asyncio.timeout(WAIT),
        session.exec(NS, "web", container="app", command=["echo", "hi"], tty=False) as stream,
    ):
        assert stream.protocol == V5
        assert [chunk async for chunk in stream.output()] == [("stdout", b"hi\n")]
        assert await stream.result() == (0, None)
    [ran] = kube_api.exec_sessions
    assert (ran.command, ran.container, ran.protocol) == (["echo", "hi"], "app", V5)
    assert (ran.stdin, ran.stdout, ran.stderr, ran.tty) == (True, True, True, False)


@pytest.mark.usefixtures("web")
async def test_a_non_zero_exit_code_is_the_result_not_an_error(session: KubeSession) -> None:
    assert await run(session, ["sh", "-c", "exit 3"]) == ([], (3, None))


@pytest.mark.usefixtures("web")
async def test_stderr_is_kept_apart_from_stdout(session: KubeSession) -> None:
    chunks, result = await run(session, ["sh", "-c", "echo out; no-such-tool"])
    assert joined(chunks, "stdout") == b"out\n"
    assert joined(chunks, "stderr") == b"sh: no-such-tool: not found\n"
    assert result == (127, None)


async def test_output_in_many_chunks_arrives_in_order(kube_api: KubeApiServer, session: KubeSession) -> None:
    async def chatty(exec_session: ExecSession) -> int:
        for n in range(200):
            await exec_session.write(f"out {n}\n")
            if n % 50 == 0:
                await exec_session.write_stderr(f"err {n}\n")
        return 0

    kube_api.create(pod("chatty"))
    kube_api.pods.running(NS, "chatty")
    kube_api.on_exec("chatty", chatty)
    chunks, result = await run(session, ["chatty"], pod_name="chatty")
    assert joined(chunks, "stdout") == b"".join(f"out {n}\n".encode() for n in range(200))
    assert joined(chunks, "stderr") == b"err 0\nerr 50\nerr 100\nerr 150\n"
    assert result == (0, None)


@pytest.mark.usefixtures("web")
async def test_a_command_that_cannot_start_gives_no_code_and_the_reason(session: KubeSession) -> None:
    chunks, (code, message) = await run(session, ["no-such-binary"])
    assert chunks == [] and code is None
    assert message is not None and 'exec: "no-such-binary": executable file not found in $PATH' in message


async def test_a_failure_status_from_the_handler_is_the_error(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    async def broken(exec_session: ExecSession) -> int:
        await exec_session.write("partial\n")
        raise ExecFailure("container runtime went away")

    kube_api.create(pod("broken"))
    kube_api.pods.running(NS, "broken")
    kube_api.on_exec("broken", broken)
    assert await run(session, ["anything"], pod_name="broken") == (
        [("stdout", b"partial\n")],
        (None, "container runtime went away"),
    )


def test_the_status_on_the_error_channel() -> None:
    assert parse_status(b'{"metadata":{},"status":"Success"}') == (0, None)
    assert parse_status(
        b'{"status":"Failure","reason":"NonZeroExitCode","message":"command terminated with non-zero exit '
        b'code","details":{"causes":[{"reason":"ExitCode","message":"42"}]}}'
    ) == (42, None)
    assert parse_status(b'{"status":"Failure","reason":"InternalError","message":"boom"}') == (None, "boom")
    assert parse_status(b"plain text error (channel.k8s.io)") == (None, "plain text error (channel.k8s.io)")


# --- refusals before the upgrade -----------------------------------------------------------------------


async def test_refusals_before_the_upgrade_carry_the_servers_message(
    kube_api: KubeApiServer, session: KubeSession, web: str
) -> None:
    with pytest.raises(errors.NotFound, match=r"Pod 'default/gone' was not found") as missing:
        await run(session, ["echo"], pod_name="gone")
    assert getattr(missing.value, "api_message", None) == 'pods "gone" not found'

    with pytest.raises(errors.Invalid, match=r"^container db is not valid for pod web$"):
        await run(session, ["echo"], container="db")

    kube_api.pods.creating(NS, web)  # scheduled, container not started yet
    with pytest.raises(errors.Invalid, match=r'unable to upgrade connection: container not found \("app"\)'):
        await run(session, ["echo"])

    kube_api.create(pod("pending"))  # never scheduled
    with pytest.raises(errors.Invalid, match="pod pending does not have a host assigned"):
        await run(session, ["echo"], pod_name="pending")

    kube_api.pods.running(NS, web)
    kube_api.fail_requests(403, path=f"/api/v1/namespaces/{NS}/{'pods'}/{web}/exec")
    with pytest.raises(errors.Forbidden, match="injected failure"):
        await run(session, ["echo"])
    assert await run(session, ["echo", "back"]) == ([("stdout", b"back\n")], (0, None))


@pytest.mark.usefixtures("web")
async def test_an_empty_command_is_refused_before_any_request(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    kube_api.clear_requests()
    with pytest.raises(errors.Invalid, match="command"):
        await run(session, [])
    with pytest.raises(errors.Invalid, match="command"):
        await run(session, ["sh", ""])
    assert kube_api.requests == []


@pytest.mark.usefixtures("web")
async def test_the_upgrade_has_the_sessions_timeout(
    kube_api: KubeApiServer, gateway: KubeGateway, plain_credentials: ClusterCredentials
) -> None:
    kube_api.delay(0.8)  # an API server that does not answer in time
    async with gateway.open(plain_credentials, timeout_seconds=0.3) as short:
        started = time.monotonic()
        with pytest.raises(errors.Unavailable, match=r"timed out after 0\.3 s"):
            await run(short, ["echo"])
        assert time.monotonic() - started < 0.7
        kube_api.delay(0)
        assert await run(short, ["echo", "quick"]) == ([("stdout", b"quick\n")], (0, None))


async def test_exec_over_tls_with_a_bearer_token(tls_api: KubeApiServer, gateway: KubeGateway) -> None:
    tls_api.create(pod("web"))
    tls_api.pods.running(NS, "web")
    async with gateway.open(token_credentials(tls_api), timeout_seconds=TIMEOUT) as secure:
        assert await run(secure, ["hostname"]) == ([("stdout", b"web\n")], (0, None))
    async with gateway.open(token_credentials(tls_api, token="wrong"), timeout_seconds=TIMEOUT) as refused:
        with pytest.raises(errors.Unavailable, match="refused the credentials"):
            await run(refused, ["hostname"])
