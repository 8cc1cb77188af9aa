"""The Kubernetes adapter's tests talk to the in-process test API server (tests/kubeapi) over real
HTTP(S) with the real kubernetes_asyncio client. The plugin's fixtures are imported explicitly
(pytest only honours ``pytest_plugins`` in the root conftest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.domain.clusters import ClusterAuthType, ClusterCredentials
from app.kube import InClusterEnvironment, KubeGateway, KubeSession
from tests.kubeapi import KubeApiServer
from tests.kubeapi.pytest_plugin import KubeApiFactory, kube_api, kube_api_factory, kube_client

__all__ = ["kube_api", "kube_api_factory", "kube_client"]

TOKEN = "trellis-test-token-0123456789"
TIMEOUT = 5.0


@pytest.fixture
def gateway(tmp_path: Path) -> KubeGateway:
    """A gateway whose IN_CLUSTER credentials would read an empty directory (no pod here)."""
    return KubeGateway(in_cluster=InClusterEnvironment(service_account_dir=tmp_path / "no-sa", environ={}))


@pytest.fixture
async def tls_api(kube_api_factory: KubeApiFactory) -> KubeApiServer:
    """An HTTPS test server with its own CA that wants ``Bearer TOKEN``."""
    server = await kube_api_factory(tls=True)
    server.require_token(TOKEN)
    return server


def ca_pem(server: KubeApiServer) -> str:
    assert server.ca is not None
    return server.ca.cert_pem.decode()


def token_credentials(api: KubeApiServer, *, token: str = TOKEN, **overrides: object) -> ClusterCredentials:
    """TOKEN credentials for ``api`` (its CA when it serves TLS); ``overrides`` replace any field."""
    fields: dict[str, object] = {
        "auth_type": ClusterAuthType.TOKEN,
        "server": api.url,
        "token": token,
        "ca_data": ca_pem(api) if api.ca is not None else None,
    }
    fields.update(overrides)
    return ClusterCredentials(**fields)  # type: ignore[arg-type]


@pytest.fixture
def plain_credentials(kube_api: KubeApiServer) -> ClusterCredentials:
    """TOKEN credentials for the plain-HTTP ``kube_api`` (which asks for no token)."""
    return token_credentials(kube_api, token="unused")


@pytest.fixture
async def session(gateway: KubeGateway, plain_credentials: ClusterCredentials) -> AsyncIterator[KubeSession]:
    """An open session to the plain-HTTP ``kube_api``."""
    async with gateway.open(plain_credentials, timeout_seconds=TIMEOUT) as opened:
        yield opened
