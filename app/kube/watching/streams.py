"""Raw list and watch requests over one kubernetes_asyncio ``ApiClient``.

The watch response is read as it arrives (newline-delimited JSON) instead of through
``kubernetes_asyncio.watch.Watch``, which retries a 410 once with the same stale resourceVersion
and never relists; here a 410 reaches the caller. Every failure leaves as an ``app.kube.errors`` type.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from app.kube.discovery import Discovery, Resource
from app.kube.errors import KubeNotFound, KubeUnknownKind, Target, from_api_exception, translating

log = logging.getLogger(__name__)

JSON = "application/json"
_OBJECT: dict[int, str] = {200: "object"}
# A stream that breaks, times out for inactivity or is closed by us ends like one the server ended.
_STREAM_ENDINGS = (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Listing:
    items: list[dict[str, Any]]  # as the server sent them (without apiVersion/kind)
    resource_version: str


class WatchStream:
    """The events of one watch response, as dicts; ``close()`` (from any task) ends them."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.ending: str | None = None  # why it ended, when not by the server's choice

    def close(self) -> None:
        self.ending = self.ending or "closed"
        self._response.close()

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        """Iterate inside ``contextlib.aclosing`` (or to the end), so the generator is always closed."""
        buffer = b""
        try:
            async for chunk in self._response.content.iter_any():
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield _decoded(line)
        except _STREAM_ENDINGS as exc:
            self.ending = self.ending or f"{type(exc).__name__}: {exc}".rstrip(": ")
            return
        if buffer.strip():
            yield _decoded(buffer)


def _decoded(line: bytes) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise MalformedStream(f"the watch stream sent a line that is not JSON: {line[:200]!r}") from exc
    if not isinstance(event, dict):
        raise MalformedStream(f"the watch stream sent {type(event).__name__} instead of an event")
    return event


class MalformedStream(Exception):
    """The server sent something that is not a watch event."""


class ClusterApi:
    def __init__(self, api: Any, server: str, *, request_timeout: float, connect_timeout: float) -> None:
        self._api = api
        self._server = server
        self._request_timeout = request_timeout
        self._connect_timeout = connect_timeout
        self._discovery = Discovery(self._discover)

    @property
    def server(self) -> str:
        return self._server

    async def resolve(self, api_version: str, kind: str) -> Resource:
        resource = await self._discovery.resolve(api_version, kind)
        if resource is None:
            self._discovery = Discovery(self._discover)  # ask again next time: a CRD may come
            raise KubeUnknownKind(f"the cluster at {self._server} serves no kind {kind!r} in {api_version!r}")
        return resource

    async def list_objects(
        self, resource: Resource, namespace: str | None, *, label_selector: str | None, page_size: int
    ) -> Listing:
        """Every object, page by page; the resourceVersion is the first page's (the list's snapshot)."""
        items: list[dict[str, Any]] = []
        version: str | None = None
        continue_token: str | None = None
        while True:
            query = [("limit", str(page_size))]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if continue_token:
                query.append(("continue", continue_token))
            page = await self._get(resource.collection_path(namespace), query, Target(resource.kind))
            metadata = page.get("metadata") or {}
            version = version or str(metadata.get("resourceVersion") or "")
            items.extend(item for item in page.get("items") or [] if isinstance(item, dict))
            continue_token = metadata.get("continue")
            if not continue_token:
                return Listing(items, version)

    @asynccontextmanager
    async def watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        since: str,
        label_selector: str | None,
        server_timeout: int,
        inactivity_timeout: float,
    ) -> AsyncIterator[WatchStream]:
        """An open watch from ``since`` with bookmarks; a refusal (410 included) raises on entry."""
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", since),
            ("timeoutSeconds", str(server_timeout)),
        ]
        if label_selector:
            query.append(("labelSelector", label_selector))
        # no overall limit: the server ends the stream after timeoutSeconds; a silent one is cut here
        timeout = aiohttp.ClientTimeout(sock_connect=self._connect_timeout, sock_read=inactivity_timeout)
        target = Target(resource.kind)
        with translating(self._server, timeout=self._connect_timeout, target=target):
            response: aiohttp.ClientResponse = await self._api.call_api(
                resource.collection_path(namespace),
                "GET",
                query_params=query,
                header_params={"Accept": JSON},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        try:
            if response.status != 200:
                with translating(self._server, timeout=self._connect_timeout, target=target):
                    body = await response.read()
                refusal = ApiException(status=response.status, reason=response.reason)
                refusal.body = body
                raise from_api_exception(refusal, server=self._server, target=target)
            yield WatchStream(response)
        finally:
            response.close()

    async def _discover(self, path: str) -> dict[str, Any] | None:
        try:
            document = await self._get(path, [], None)
        except KubeNotFound:
            return None
        return document

    async def _get(self, path: str, query: list[tuple[str, str]], target: Target | None) -> dict[str, Any]:
        with translating(self._server, timeout=self._request_timeout, target=target):
            result = await self._api.call_api(
                path,
                "GET",
                query_params=query,
                header_params={"Accept": JSON},
                response_types_map=_OBJECT,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=True,
                _request_timeout=self._request_timeout,
            )
        return result if isinstance(result, dict) else {}
