"""Fixtures for the Kubernetes API test server. Register with
``pytest_plugins = ["tests.kubeapi.pytest_plugin"]`` in the root conftest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient

from .server import KubeApiServer

KubeApiFactory = Callable[..., Awaitable[KubeApiServer]]


@pytest.fixture
async def kube_api_factory() -> AsyncIterator[KubeApiFactory]:
    """Start extra servers with options: ``await kube_api_factory(tls=True)``; all are closed after."""
    servers: list[KubeApiServer] = []

    async def make(**options: Any) -> KubeApiServer:
        server = KubeApiServer(**options)
        servers.append(server)
        return await server.start()

    yield make
    for server in servers:
        await server.close()


@pytest.fixture
async def kube_api(kube_api_factory: KubeApiFactory) -> KubeApiServer:
    """A running plain-HTTP test server with an empty cluster (namespaces default, kube-*; node-1)."""
    return await kube_api_factory()


@pytest.fixture
async def kube_client(kube_api: KubeApiServer) -> AsyncIterator[ApiClient]:
    """A kubernetes_asyncio ApiClient configured from ``kube_api``'s kubeconfig; closed after the test."""
    configuration = await kube_api.client_configuration()
    async with ApiClient(configuration=configuration) as client:
        yield client
