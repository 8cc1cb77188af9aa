"""Every way talking to a cluster fails surfaces as an app.errors type with a reason a person can act
on; no kubernetes_asyncio, aiohttp or ssl exception leaves the adapter (the cause stays chained)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from kubernetes_asyncio.client.exceptions import OpenApiException

from app import errors
from app.domain.clusters import ClusterCredentials
from app.kube import KubeGateway, KubeSession
from app.kube.errors import (
    UNAUTHORIZED_MESSAGE,
    KubeError,
    KubeForbidden,
    KubeServerError,
    KubeThrottled,
    KubeTimeout,
    KubeTLSError,
    KubeUnauthorized,
    KubeUnreachable,
)
from tests.kube.conftest import token_credentials
from tests.kubeapi import CertificateAuthority, KubeApiServer

LIBRARY_TYPES = (OpenApiException, aiohttp.ClientError, ssl.SSLError, OSError, asyncio.TimeoutError)

Operation = Callable[[KubeSession], Awaitable[object]]


async def _version(session: KubeSession) -> object:
    return await session.server_version()


async def _failure(
    gateway: KubeGateway, credentials: ClusterCredentials, operation: Operation = _version, seconds: float = 5
) -> KubeError:
    with pytest.raises(errors.TrellisError) as caught:
        async with gateway.open(credentials, timeout_seconds=seconds) as session:
            await operation(session)
    err = caught.value
    assert isinstance(err, KubeError) and type(err).__module__ == "app.kube.errors"
    assert not isinstance(err, LIBRARY_TYPES)
    return err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_port_is_unavailable_connection_refused(
    gateway: KubeGateway, kube_api: KubeApiServer
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    err = await _failure(gateway, token_credentials(kube_api, server=url))
    assert isinstance(err, errors.Unavailable) and isinstance(err, KubeUnreachable)
    assert err.message == f"cannot reach {url}: connection refused"
    assert isinstance(err.__cause__, aiohttp.ClientConnectorError)


async def test_a_stopped_server_is_unavailable(gateway: KubeGateway, kube_api: KubeApiServer) -> None:
    await kube_api.stop()
    err = await _failure(gateway, token_credentials(kube_api, token="x"))
    assert isinstance(err, KubeUnreachable) and "connection refused" in err.message


async def test_a_slow_server_times_out_after_the_given_seconds(
    gateway: KubeGateway, kube_api: KubeApiServer
) -> None:
    kube_api.delay(0.5)
    err = await _failure(gateway, token_credentials(kube_api, token="x"), seconds=0.1)
    kube_api.delay(0)
    assert isinstance(err, errors.Unavailable) and isinstance(err, KubeTimeout)
    assert err.message == f"cannot reach {kube_api.url}: timed out after 0.1 s"


async def test_a_server_certificate_from_another_ca_is_a_tls_error(
    gateway: KubeGateway, tls_api: KubeApiServer
) -> None:
    stranger = CertificateAuthority("someone-else").cert_pem.decode()
    err = await _failure(gateway, token_credentials(tls_api, ca_data=stranger))
    assert isinstance(err, errors.Unavailable) and isinstance(err, KubeTLSError)
    assert err.message.startswith(f"cannot verify the TLS certificate of {tls_api.url}: ")
    assert "certificate" in err.message and "CA" in err.message
    assert tls_api.requests == []


async def test_no_ca_means_system_trust_which_refuses_a_private_ca(
    gateway: KubeGateway, tls_api: KubeApiServer
) -> None:
    err = await _failure(gateway, token_credentials(tls_api, ca_data=None))
    assert isinstance(err, KubeTLSError) and "certificate" in err.message


async def test_https_to_a_plain_http_server_is_a_tls_error(
    gateway: KubeGateway, kube_api: KubeApiServer
) -> None:
    url = kube_api.url.replace("http://", "https://")
    err = await _failure(gateway, token_credentials(kube_api, server=url))
    assert isinstance(err, KubeTLSError) and err.message.startswith(f"TLS handshake with {url} failed")


async def test_a_wrong_or_expired_token_is_unavailable_401(
    gateway: KubeGateway, tls_api: KubeApiServer
) -> None:
    err = await _failure(gateway, token_credentials(tls_api, token="expired-token"))
    assert isinstance(err, errors.Unavailable) and isinstance(err, KubeUnauthorized)
    assert err.message == UNAUTHORIZED_MESSAGE
    assert err.message == (
        "the cluster refused the credentials (401 Unauthorized): expired or wrong token/certificate"
    )
    assert err.status == 401


async def test_rbac_refusal_is_forbidden_with_the_api_servers_message(
    gateway: KubeGateway, tls_api: KubeApiServer
) -> None:
    tls_api.forbid("get", "deployments")

    async def get(session: KubeSession) -> object:
        return await session.get("apps/v1", "Deployment", "web", "default")

    err = await _failure(gateway, token_credentials(tls_api), get)
    assert isinstance(err, errors.Forbidden) and isinstance(err, KubeForbidden)
    assert err.message == (
        'deployments.apps "web" is forbidden: User "kube-test-user" cannot get resource "deployments" '
        'in API group "apps" in the namespace "default"'
    )
    assert err.extensions() == {"code": "FORBIDDEN"}


@pytest.mark.parametrize(
    ("status", "kind"), [(500, KubeServerError), (503, KubeServerError), (429, KubeThrottled)]
)
async def test_server_errors_and_throttling_are_unavailable(
    gateway: KubeGateway, kube_api: KubeApiServer, status: int, kind: type[KubeError]
) -> None:
    kube_api.fail_requests(status, path="/version")
    err = await _failure(gateway, token_credentials(kube_api, token="x"))
    assert isinstance(err, errors.Unavailable) and isinstance(err, kind)
    assert str(status) in err.message and kube_api.url in err.message


async def test_discovery_failures_surface_too(gateway: KubeGateway, kube_api: KubeApiServer) -> None:
    kube_api.fail_requests(503, path="/apis/apps/v1")

    async def apply(session: KubeSession) -> object:
        return await session.apply(
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}}, field_manager="m"
        )

    err = await _failure(gateway, token_credentials(kube_api, token="x"), apply)
    assert isinstance(err, KubeServerError)


async def test_connections_close_even_when_the_block_fails(
    gateway: KubeGateway, kube_api: KubeApiServer
) -> None:
    """filterwarnings=error turns an unclosed aiohttp session into a failure of this test."""

    async def fail_inside() -> None:
        async with gateway.open(token_credentials(kube_api, token="x"), timeout_seconds=5) as session:
            await session.server_version()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_inside()
