"""Pod logs: ``GET /api/v1/namespaces/<ns>/pods/<pod>/log`` as an async iterator of lines.

The request goes through the session's ``ApiClient`` (its auth, TLS and proxy settings) with
``_preload_content=False``, so the body is read as it arrives:

- a plain request has the session's total timeout; a ``follow`` request has a timeout for connecting and
  for the response headers only, then none at all (a log may stay quiet for hours);
- lines are split on ``\\n`` (a ``\\r\\n`` ending goes too) and decoded as UTF-8 with replacement; a line
  longer than ``MAX_LINE_BYTES`` is cut into pieces rather than held in memory;
- the iterator ends when the API server ends the response (the container stopped, the pod went away);
- a refused request leaves as an ``app.kube.errors`` type with the API server's message (``KubeNotFound``
  for a missing pod, ``KubeInvalid`` for a missing or unnamed container or a pod that is not scheduled);
- leaving the iteration early (``break`` inside ``contextlib.aclosing``, or cancelling the consuming
  task) closes the HTTP response and its connection at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from app.kube.endpoints import invalid
from app.kube.errors import Target, from_api_exception, translating

MAX_LINE_BYTES = 1024 * 1024


def log_path(namespace: str, pod: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/log"


def pod_log_lines(
    api: Any,
    server: str,
    *,
    namespace: str,
    pod: str,
    container: str | None,
    tail_lines: int | None,
    follow: bool,
    timeout_seconds: float,
) -> AsyncGenerator[str, None]:
    """The lines of one container's log (``container=None``: the pod's only container).

    Arguments are checked here, before any request; the request itself is made on the first ``__anext__``.
    """
    if not namespace:
        raise invalid("namespace", "a namespace is required")
    if not pod:
        raise invalid("pod", "a pod name is required")
    if tail_lines is not None and tail_lines < 0:
        raise invalid("tailLines", "must be zero or more")
    query: list[tuple[str, str]] = []
    if container:
        query.append(("container", container))
    if tail_lines is not None:
        query.append(("tailLines", str(tail_lines)))
    if follow:
        query.append(("follow", "true"))
    return _lines(
        api,
        server,
        log_path(namespace, pod),
        query,
        target=Target("Pod", pod, namespace),
        follow=follow,
        timeout_seconds=timeout_seconds,
    )


async def _lines(
    api: Any,
    server: str,
    path: str,
    query: list[tuple[str, str]],
    *,
    target: Target,
    follow: bool,
    timeout_seconds: float,
) -> AsyncGenerator[str, None]:
    response = await _open(
        api, server, path, query, target=target, follow=follow, timeout_seconds=timeout_seconds
    )
    try:
        read_timeout = None if follow else timeout_seconds
        async with (
            aclosing(_chunks(response, server, target=target, read_timeout=read_timeout)) as chunks,
            aclosing(split_lines(chunks)) as lines,
        ):
            async for line in lines:
                yield line
        response.release()  # read to the end: the connection may be reused
    finally:
        response.close()  # a no-op after release(); otherwise drops the connection


async def _chunks(
    response: aiohttp.ClientResponse, server: str, *, target: Target, read_timeout: float | None
) -> AsyncGenerator[bytes, None]:
    while True:
        with translating(server, timeout=read_timeout, target=target):
            chunk = await response.content.readany()
        if not chunk:
            return
        yield chunk


async def split_lines(chunks: AsyncIterable[bytes]) -> AsyncGenerator[str, None]:
    """Lines from a byte stream: split on ``\\n`` (a ``\\r\\n`` ending goes too), decoded as UTF-8 with
    replacement, a last line without a newline included, lines over ``MAX_LINE_BYTES`` cut in pieces."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        end = pending.rfind(b"\n")
        if end >= 0:
            complete = bytes(pending[:end])
            del pending[: end + 1]
            for raw in complete.split(b"\n"):
                yield _decode(raw)
        while len(pending) > MAX_LINE_BYTES:
            piece = bytes(pending[:MAX_LINE_BYTES])
            del pending[:MAX_LINE_BYTES]
            yield _decode(piece)
    if pending:
        yield _decode(bytes(pending))


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


async def _open(
    api: Any,
    server: str,
    path: str,
    query: list[tuple[str, str]],
    *,
    target: Target,
    follow: bool,
    timeout_seconds: float,
) -> aiohttp.ClientResponse:
    """The response once its headers arrived (the timeout applies up to here); errors raised as ours."""
    if follow:  # no total and no read timeout: the stream lasts as long as the container logs
        request_timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout_seconds, sock_connect=timeout_seconds
        )
    else:
        request_timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    with translating(server, timeout=timeout_seconds, target=target):
        async with asyncio.timeout(timeout_seconds):
            response: aiohttp.ClientResponse = await api.call_api(
                path,
                "GET",
                query_params=query,
                header_params={"Accept": "text/plain, */*"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=request_timeout,
            )
            if 200 <= response.status < 300:
                return response
            try:
                body = await response.read()
            finally:
                response.close()
    refusal = ApiException(status=response.status, reason=response.reason)
    refusal.body = body
    raise from_api_exception(refusal, server=server, target=target)
