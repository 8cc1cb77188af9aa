"""Every auth type users bring reaches a real HTTPS test server and reads its version."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.domain.clusters import ClusterAuthType, ClusterCredentials
from app.kube import InClusterEnvironment, KubeGateway
from tests.kube.conftest import TIMEOUT, TOKEN, ca_pem, token_credentials
from tests.kubeapi import CertificateAuthority, KubeApiServer


async def _version(gateway: KubeGateway, credentials: ClusterCredentials) -> str:
    async with gateway.open(credentials, timeout_seconds=TIMEOUT) as session:
        return await session.server_version()


async def test_token_and_ca(gateway: KubeGateway, tls_api: KubeApiServer) -> None:
    tls_api.version = "v1.31.4"
    assert await _version(gateway, token_credentials(tls_api)) == "v1.31.4"
    (request,) = [r for r in tls_api.requests if r.path == "/version"]
    assert request.method == "GET"


async def test_insecure_skip_tls_verify_needs_no_ca(gateway: KubeGateway, tls_api: KubeApiServer) -> None:
    credentials = token_credentials(tls_api, ca_data=None, insecure_skip_tls_verify=True)
    assert await _version(gateway, credentials) == tls_api.version


async def test_client_certificate_key_and_ca(gateway: KubeGateway, kube_api_factory) -> None:
    server = await kube_api_factory(tls=True)
    clients = CertificateAuthority("client-ca")
    server.require_client_cert(clients)
    pair = clients.issue_client_cert("alice", ("system:masters",))
    credentials = ClusterCredentials(
        auth_type=ClusterAuthType.CLIENT_CERTIFICATE,
        server=server.url,
        ca_data=ca_pem(server),
        client_certificate=pair.cert_pem.decode(),
        client_key=pair.key_pem.decode(),
    )
    assert await _version(gateway, credentials) == server.version


def _two_context_kubeconfig(good: KubeApiServer, bad: KubeApiServer) -> str:
    """current-context points at ``bad`` (a wrong token); the context named "target" at ``good``."""
    broken = bad.kubeconfig_dict(token="wrong-token")
    target = good.kubeconfig_dict(token=TOKEN, namespace="team-a")
    for document, name in ((broken, "broken"), (target, "target")):
        document["clusters"][0]["name"] = f"{name}-cluster"
        document["users"][0]["name"] = f"{name}-user"
        document["contexts"][0] = {
            "name": name,
            "context": {
                **document["contexts"][0]["context"],
                "cluster": f"{name}-cluster",
                "user": f"{name}-user",
            },
        }
    merged = {
        **broken,
        "clusters": broken["clusters"] + target["clusters"],
        "users": broken["users"] + target["users"],
        "contexts": broken["contexts"] + target["contexts"],
        "current-context": "broken",
    }
    return yaml.safe_dump(merged)


async def test_kubeconfig_context_chosen_by_name_not_the_current_one(
    gateway: KubeGateway, tls_api: KubeApiServer, kube_api_factory
) -> None:
    other = await kube_api_factory(tls=True)
    other.require_token("another-token")
    tls_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    text = _two_context_kubeconfig(tls_api, other)
    credentials = ClusterCredentials(auth_type=ClusterAuthType.KUBECONFIG, kubeconfig=text, context="target")
    async with gateway.open(credentials, timeout_seconds=TIMEOUT) as session:
        assert await session.server_version() == tls_api.version
        # the context's namespace is the default for a namespaced object without one
        applied = await session.apply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, field_manager="trellis-w1"
        )
    assert applied["metadata"]["namespace"] == "team-a"
    assert tls_api.get("ConfigMap", "team-a", "c") is not None
    assert other.requests == []


async def test_kubeconfig_current_context_when_none_is_named(
    gateway: KubeGateway, tls_api: KubeApiServer
) -> None:
    text = yaml.safe_dump(tls_api.kubeconfig_dict(token=TOKEN))
    credentials = ClusterCredentials(auth_type=ClusterAuthType.KUBECONFIG, kubeconfig=text)
    assert await _version(gateway, credentials) == tls_api.version


async def test_in_cluster_service_account_from_injected_paths(tls_api: KubeApiServer, tmp_path: Path) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN + "\n")
    (account / "ca.crt").write_text(ca_pem(tls_api))
    (account / "namespace").write_text("trellis-system")
    environ = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(tls_api.port)}
    gateway = KubeGateway(in_cluster=InClusterEnvironment(service_account_dir=account, environ=environ))
    credentials = ClusterCredentials(auth_type=ClusterAuthType.IN_CLUSTER)
    assert await _version(gateway, credentials) == tls_api.version
