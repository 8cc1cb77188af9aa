"""Pod logs through ``KubeSession.pod_logs``: tail lines, follow (lines appended later; the end of the log
or of the pod ends the stream; no request timeout), refusals as our errors, and no connection left open
when the consumer stops early."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path

import pytest

from app import errors
from app.domain.clusters import ClusterCredentials
from app.kube import KubeGateway, KubeSession
from app.kube.logs import MAX_LINE_BYTES, split_lines
from tests.kube.conftest import TIMEOUT, token_credentials
from tests.kubeapi import KubeApiServer
from tests.kubeapi.builders import pod

NS = "default"
WAIT = 5.0  # upper bound for anything the tests wait for; nothing here should take near that


@pytest.fixture
def web(kube_api: KubeApiServer) -> str:
    """A running pod ``web`` with one container ``app`` and three log lines."""
    kube_api.create(pod("web"))
    kube_api.pods.running(NS, "web")
    kube_api.append_log(NS, "web", "app", "one\ntwo\nthree")
    return "web"


def established_connections(port: int) -> int:
    """Open client-side TCP connections to 127.0.0.1:``port`` (only this test's clients use that port)."""
    remote = f"0100007F:{port:04X}"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2] == remote and fields[3] == "01":  # rem_address, st == ESTABLISHED
            count += 1
    return count


async def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def next_line(lines: AsyncIterator[str]) -> str:
    return await anext(lines)


async def collect(lines: AsyncIterator[str]) -> list[str]:
    async with asyncio.timeout(WAIT):
        return [line async for line in lines]


# --- plain reads ---------------------------------------------------------------------------------------


async def test_tail_lines_gives_the_last_lines_of_the_named_container(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    kube_api.create(pod("api", containers=("app", "sidecar")))
    kube_api.pods.running(NS, "api")
    kube_api.append_log(NS, "api", "app", "app says hi")
    for n in range(1, 6):
        kube_api.append_log(NS, "api", "sidecar", f"line {n}")

    tail = session.pod_logs(NS, "api", container="sidecar", tail_lines=2, follow=False)
    assert await collect(tail) == ["line 4", "line 5"]
    every = session.pod_logs(NS, "api", container="sidecar", tail_lines=None, follow=False)
    assert await collect(every) == [f"line {n}" for n in range(1, 6)]
    assert await collect(session.pod_logs(NS, "api", container="app", tail_lines=0, follow=False)) == []
    assert (
        "GET",
        "/api/v1/namespaces/default/pods/api/log",
        {"container": "sidecar", "tailLines": "2"},
    ) in kube_api.requests


@pytest.mark.usefixtures("web")
async def test_the_only_container_needs_no_name(session: KubeSession) -> None:
    assert await collect(session.pod_logs(NS, "web", container=None, tail_lines=None, follow=False)) == [
        "one",
        "two",
        "three",
    ]


@pytest.mark.usefixtures("web")
async def test_lines_come_as_utf8_text(kube_api: KubeApiServer, session: KubeSession) -> None:
    kube_api.append_log(NS, "web", "app", "héllo ✓ 日本語")
    lines = await collect(session.pod_logs(NS, "web", container="app", tail_lines=1, follow=False))
    assert lines == ["héllo ✓ 日本語"]


async def test_split_lines_decodes_with_replacement_across_chunk_boundaries() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"ab", b"c\nd\xc3", b"\xa9\n", b"bad \xff\xfe\r\n\n", b"crlf\r\nno newline"):
            yield chunk

    assert [line async for line in split_lines(chunks())] == [
        "abc",
        "dé",  # a two-byte character split between chunks
        "bad \ufffd\ufffd",
        "",
        "crlf",
        "no newline",
    ]


async def test_split_lines_cuts_a_huge_line_instead_of_holding_it() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * (MAX_LINE_BYTES // 2)
        yield b"\nend\n"

    lines = [line async for line in split_lines(chunks())]
    assert [len(line) for line in lines] == [MAX_LINE_BYTES, MAX_LINE_BYTES, MAX_LINE_BYTES // 2, 3]


# --- follow --------------------------------------------------------------------------------------------


async def test_follow_receives_lines_appended_later_and_ends_with_the_log(
    kube_api: KubeApiServer, session: KubeSession, web: str
) -> None:
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def consume() -> list[str]:
        got = []
        async for line in session.pod_logs(NS, web, container="app", tail_lines=1, follow=True):
            got.append(line)
            seen.put_nowait(line)
        return got

    async with asyncio.timeout(WAIT):
        task = asyncio.create_task(consume())
        assert await seen.get() == "three"
        kube_api.append_log(NS, web, "app", "four")
        assert await seen.get() == "four"
        kube_api.append_log(NS, web, "app", "five\nsix")
        assert [await seen.get(), await seen.get()] == ["five", "six"]
        assert not task.done()
        kube_api.end_log(NS, web, "app")  # the container stopped: the API server ends the response
        assert await task == ["three", "four", "five", "six"]
    assert (
        "GET",
        f"/api/v1/namespaces/default/pods/{web}/log",
        {
            "container": "app",
            "tailLines": "1",
            "follow": "true",
        },
    ) in kube_api.requests


async def test_follow_ends_when_the_pod_goes_away(
    kube_api: KubeApiServer, session: KubeSession, web: str
) -> None:
    lines = session.pod_logs(NS, web, container=None, tail_lines=None, follow=True)
    async with asyncio.timeout(WAIT), aclosing(lines):
        assert [await anext(lines) for _ in range(3)] == ["one", "two", "three"]
        kube_api.delete("Pod", NS, web)
        assert [line async for line in lines] == []


@pytest.mark.usefixtures("web")
async def test_follow_has_no_request_timeout_but_its_connection_has_one(
    kube_api: KubeApiServer, gateway: KubeGateway, plain_credentials: ClusterCredentials
) -> None:
    async with gateway.open(plain_credentials, timeout_seconds=0.3) as short:
        lines = short.pod_logs(NS, "web", container="app", tail_lines=0, follow=True)
        async with asyncio.timeout(WAIT), aclosing(lines):
            first = asyncio.create_task(next_line(lines))
            await asyncio.sleep(0.6)  # twice the session's timeout with nothing to read
            assert not first.done()
            kube_api.append_log(NS, "web", "app", "late")
            assert await first == "late"

        kube_api.delay(0.8)  # an API server that does not answer in time
        started = time.monotonic()
        with pytest.raises(errors.Unavailable, match=r"timed out after 0\.3 s"):
            await collect(short.pod_logs(NS, "web", container="app", tail_lines=0, follow=True))
        assert time.monotonic() - started < 0.7
        kube_api.delay(0)


# --- refusals ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("web")
async def test_a_missing_pod_or_container_is_refused_with_the_servers_message(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    with pytest.raises(errors.NotFound, match=r"Pod 'default/gone' was not found") as missing:
        await collect(session.pod_logs(NS, "gone", container=None, tail_lines=None, follow=True))
    assert getattr(missing.value, "api_message", None) == 'pods "gone" not found'

    with pytest.raises(errors.Invalid, match=r"^container db is not valid for pod web$"):
        await collect(session.pod_logs(NS, "web", container="db", tail_lines=None, follow=False))

    kube_api.create(pod("api", containers=("app", "sidecar")))
    kube_api.pods.running(NS, "api")
    with pytest.raises(errors.Invalid, match=r"a container name must be specified for pod api"):
        await collect(session.pod_logs(NS, "api", container=None, tail_lines=None, follow=True))

    kube_api.create(pod("pending"))  # never scheduled
    with pytest.raises(errors.Invalid, match="pod pending does not have a host assigned"):
        await collect(session.pod_logs(NS, "pending", container=None, tail_lines=None, follow=True))


async def test_a_negative_tail_is_refused_before_any_request(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    kube_api.clear_requests()
    with pytest.raises(errors.Invalid, match="tailLines"):
        session.pod_logs(NS, "web", container=None, tail_lines=-1, follow=False)
    assert kube_api.requests == []


async def test_logs_over_tls_with_a_bearer_token(tls_api: KubeApiServer, gateway: KubeGateway) -> None:
    tls_api.create(pod("web"))
    tls_api.pods.running(NS, "web")
    tls_api.append_log(NS, "web", "app", "secure")
    async with gateway.open(token_credentials(tls_api), timeout_seconds=TIMEOUT) as secure:
        lines = secure.pod_logs(NS, "web", container="app", tail_lines=None, follow=False)
        assert await collect(lines) == ["secure"]
    async with gateway.open(token_credentials(tls_api, token="wrong"), timeout_seconds=TIMEOUT) as refused:
        with pytest.raises(errors.Unavailable, match="refused the credentials"):
            await collect(refused.pod_logs(NS, "web", container="app", tail_lines=None, follow=False))


# --- the consumer stops early --------------------------------------------------------------------------


@pytest.mark.usefixtures("web")
async def test_cancelling_the_consumer_closes_the_connection(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in session.pod_logs(NS, "web", container="app", tail_lines=1, follow=True):
            started.set()

    assert established_connections(kube_api.port) == 0
    task = asyncio.create_task(consume())
    async with asyncio.timeout(WAIT):
        await started.wait()
    assert established_connections(kube_api.port) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: established_connections(kube_api.port) == 0)


@pytest.mark.usefixtures("web")
async def test_leaving_the_loop_inside_aclosing_closes_the_connection(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    async with (
        asyncio.timeout(WAIT),
        aclosing(session.pod_logs(NS, "web", container="app", tail_lines=None, follow=True)) as lines,
    ):
        async for line in lines:
            if line == "two":
                break
        assert established_connections(kube_api.port) == 1
    await eventually(lambda: established_connections(kube_api.port) == 0)


@pytest.mark.usefixtures("web")
async def test_a_log_read_to_the_end_gives_its_connection_back(
    kube_api: KubeApiServer, session: KubeSession
) -> None:
    for _ in range(3):
        assert await collect(session.pod_logs(NS, "web", container="app", tail_lines=1, follow=False)) == [
            "three"
        ]
    assert established_connections(kube_api.port) == 1  # one kept-alive connection, reused
