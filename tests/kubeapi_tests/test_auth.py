"""Bearer tokens, TLS with a generated CA, client certificates, RBAC refusals, and unreachable/slow servers."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.rest import ApiException
from kubernetes_asyncio.stream import WsApiClient

from tests.kubeapi import CertificateAuthority, KubeApiServer
from tests.kubeapi.builders import configmap, pod


async def _client_for(kubeconfig: Path) -> ApiClient:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return ApiClient(configuration=configuration)


async def test_bearer_token(kube_api: KubeApiServer, tmp_path: Path) -> None:
    kube_api.require_token("s3cret")
    async with await _client_for(kube_api.kubeconfig(tmp_path / "good")) as api:
        assert (await client.CoreV1Api(api).list_namespace()).items
    async with await _client_for(kube_api.kubeconfig(tmp_path / "bad", token="wrong")) as api:
        with pytest.raises(ApiException) as info:
            await client.CoreV1Api(api).list_namespace()
    assert info.value.status == 401
    assert json.loads(info.value.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


async def test_exec_needs_the_token_too(kube_api: KubeApiServer) -> None:
    kube_api.create(pod("p"))
    kube_api.pods.running("default", "p")
    kube_api.require_token("s3cret")
    configuration = await kube_api.client_configuration()
    async with WsApiClient(configuration=configuration) as api:
        out = await client.CoreV1Api(api).connect_get_namespaced_pod_exec(
            "p", "default", command=["echo", "ok"], stdout=True
        )
        assert out == "ok\n"
    configuration = await kube_api.client_configuration(token="nope")
    async with WsApiClient(configuration=configuration) as api:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await client.CoreV1Api(api).connect_get_namespaced_pod_exec(
                "p", "default", command=["echo"], stdout=True
            )
    assert info.value.status == 401


async def test_tls_verifies_the_generated_ca(kube_api_factory: Any, tmp_path: Path) -> None:
    server: KubeApiServer = await kube_api_factory(tls=True)
    assert server.url.startswith("https://127.0.0.1:")
    async with await _client_for(server.kubeconfig(tmp_path / "ok")) as api:
        assert (await client.VersionApi(api).get_code()).git_version == server.version
    stranger = CertificateAuthority("someone-else")
    wrong = server.kubeconfig_dict()
    wrong["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        stranger.cert_pem
    ).decode()
    path = tmp_path / "wrong"
    path.write_text(json.dumps(wrong))
    async with await _client_for(path) as api:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.VersionApi(api).get_code()
    async with await _client_for(server.kubeconfig(tmp_path / "insecure", insecure=True)) as api:
        assert (await client.VersionApi(api).get_code()).git_version


async def test_client_certificates(kube_api_factory: Any, tmp_path: Path) -> None:
    server: KubeApiServer = await kube_api_factory(tls=True)
    users = CertificateAuthority("client-ca")
    server.require_client_cert(users)
    server.forbid("create", "configmaps")
    cert = users.issue_client_cert("alice", ("developers",))
    async with await _client_for(server.kubeconfig(tmp_path / "alice", client_cert=cert)) as api:
        v1 = client.CoreV1Api(api)
        assert (await v1.list_namespace()).items
        with pytest.raises(ApiException) as info:
            await v1.create_namespaced_config_map("default", configmap("x"))
    assert info.value.status == 403
    assert json.loads(info.value.body)["message"] == (
        'configmaps is forbidden: User "alice" cannot create resource "configmaps" in API group "" in the '
        'namespace "default"'
    )
    anonymous = server.kubeconfig_dict()
    del anonymous["users"][0]["user"]["client-certificate-data"]
    del anonymous["users"][0]["user"]["client-key-data"]
    path = tmp_path / "anonymous"
    path.write_text(json.dumps(anonymous))
    async with await _client_for(path) as api:
        with pytest.raises(ApiException) as info:
            await client.CoreV1Api(api).list_namespace()
    assert info.value.status == 401
    rogue = CertificateAuthority("rogue").issue_client_cert("mallory")
    async with await _client_for(server.kubeconfig(tmp_path / "rogue", client_cert=rogue)) as api:
        with pytest.raises(aiohttp.ClientError):
            await client.CoreV1Api(api).list_namespace()


async def test_stopped_server_is_unreachable_then_back_on_the_same_port(
    kube_api: KubeApiServer, kube_client: ApiClient
) -> None:
    v1 = client.CoreV1Api(kube_client)
    kube_api.create(configmap("kept"))
    port = kube_api.port
    await kube_api.stop()
    with pytest.raises(aiohttp.ClientConnectorError):
        await v1.list_namespace()
    await kube_api.start()
    assert kube_api.port == port
    assert [c.metadata.name for c in (await v1.list_namespaced_config_map("default")).items] == ["kept"]


async def test_delay_makes_the_server_slow(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.delay(0.5)
    with pytest.raises(asyncio.TimeoutError):
        await client.CoreV1Api(kube_client).list_namespace(_request_timeout=0.1)
    kube_api.delay(0)
    assert (await client.CoreV1Api(kube_client).list_namespace()).items


async def test_injected_failures(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.fail_requests(503, times=1, path="/api/v1/namespaces")
    v1 = client.CoreV1Api(kube_client)
    with pytest.raises(ApiException) as info:
        await v1.list_namespace()
    assert info.value.status == 503 and json.loads(info.value.body)["reason"] == "ServiceUnavailable"
    assert (await v1.list_namespace()).items
    kube_api.fail_requests(429, method="GET")
    with pytest.raises(ApiException) as info:
        await v1.list_namespace()
    assert json.loads(info.value.body)["details"] == {"retryAfterSeconds": 1}


async def test_requests_are_recorded(kube_api: KubeApiServer, kube_client: ApiClient) -> None:
    kube_api.clear_requests()
    await client.CoreV1Api(kube_client).list_namespaced_pod("default", label_selector="a=b")
    assert kube_api.requests == [("GET", "/api/v1/namespaces/default/pods", {"labelSelector": "a=b"})]
