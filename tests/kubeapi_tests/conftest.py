"""The test server's own tests use the plugin's fixtures (the root conftest registers the plugin too)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.dynamic import DynamicClient

from tests.kubeapi.pytest_plugin import kube_api, kube_api_factory, kube_client

__all__ = ["kube_api", "kube_api_factory", "kube_client"]


@pytest.fixture
async def dynamic(kube_client: ApiClient, tmp_path: Path) -> AsyncIterator[DynamicClient]:
    """kubernetes_asyncio's DynamicClient; its discovery cache lives in tmp_path, not /tmp."""
    async with DynamicClient(kube_client, cache_file=str(tmp_path / "discovery.json")) as client:
        yield client
