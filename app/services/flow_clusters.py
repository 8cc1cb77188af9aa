"""Cluster sessions for flow steps that run as pods: the flow's cluster, looked up in its workspace, its
credentials decrypted, a session opened through the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app import errors
from app.auth.keyring import Keyring
from app.domain.workspaces import Scope
from app.ports import ClusterGateway, ClusterStore, LiveClusterSession
from app.services.clusters import unseal


class FlowClusterSessions:
    def __init__(
        self, *, store: ClusterStore, keyring: Keyring, gateway: ClusterGateway, timeout_seconds: float
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._gateway = gateway
        self._timeout = timeout_seconds

    @asynccontextmanager
    async def open(self, workspace_id: str, cluster_id: str) -> AsyncIterator[LiveClusterSession]:
        """A session on the cluster; ``NotFound`` when the workspace has no such cluster (any more),
        ``Unavailable`` when its credentials cannot be decrypted."""
        cluster = await self._store.get_cluster(Scope.of([workspace_id]), cluster_id)
        if cluster is None or cluster.workspace_id != workspace_id:
            raise errors.NotFound("cluster", cluster_id)
        credentials = unseal(self._keyring, cluster.credentials_ciphertext)
        async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
            yield session
