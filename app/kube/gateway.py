"""KubeGateway: the ``ClusterGateway`` port — credentials in, an open ``KubeSession`` out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from app.domain.clusters import ClusterCredentials
from app.kube.connecting import InClusterEnvironment, endpoint_for, open_api_client
from app.kube.sessions import LIST_PAGE_SIZE, KubeSession

if TYPE_CHECKING:
    from app.ports import ClusterGateway


class KubeGateway:
    """Opens sessions to clusters; ``in_cluster`` says where IN_CLUSTER credentials are read from."""

    def __init__(
        self, *, in_cluster: InClusterEnvironment | None = None, list_page_size: int = LIST_PAGE_SIZE
    ) -> None:
        self._in_cluster = in_cluster or InClusterEnvironment()
        self._list_page_size = list_page_size

    @asynccontextmanager
    async def open(
        self, credentials: ClusterCredentials, *, timeout_seconds: float
    ) -> AsyncIterator[KubeSession]:
        """A session whose every request times out after ``timeout_seconds``; its connections close
        with the context. Unusable credentials raise ``Invalid`` (or ``Unavailable`` for IN_CLUSTER
        outside a pod) before any request is made."""
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        endpoint = endpoint_for(credentials, self._in_cluster)
        api = open_api_client(endpoint)
        try:
            yield KubeSession(
                api, endpoint, timeout_seconds=timeout_seconds, list_page_size=self._list_page_size
            )
        finally:
            await api.close()


if TYPE_CHECKING:
    _gateway: ClusterGateway = KubeGateway()
