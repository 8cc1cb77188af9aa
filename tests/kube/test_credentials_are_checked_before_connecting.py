"""Incomplete or unusable credentials are Invalid (naming the field) before any request is made;
IN_CLUSTER outside a pod is Unavailable, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app import errors
from app.domain.clusters import ClusterAuthType, ClusterCredentials
from app.kube import InClusterEnvironment, KubeGateway
from app.kube.errors import KubeInvalid, KubeNotInCluster
from tests.kube.conftest import token_credentials
from tests.kubeapi import CertificateAuthority, KubeApiServer


async def _refused(gateway: KubeGateway, credentials: ClusterCredentials) -> errors.TrellisError:
    with pytest.raises(errors.TrellisError) as caught:
        async with gateway.open(credentials, timeout_seconds=5):
            pytest.fail("opened")
    return caught.value


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"token": None}, "token", "a bearer token is required"),
        ({"token": "two\nlines"}, "token", "without spaces or line breaks"),
        ({"server": None}, "server", "the API server address is required"),
        ({"server": "ftp://cluster"}, "server", "not an http(s) URL"),
        ({"server": "https://cluster:99999"}, "server", "not a valid URL"),
        ({"ca_data": "not a certificate"}, "caData", "not a valid PEM certificate"),
    ],
)
async def test_token_credentials(
    gateway: KubeGateway, kube_api: KubeApiServer, changes: dict[str, object], field: str, words: str
) -> None:
    err = await _refused(gateway, token_credentials(kube_api, **changes))
    assert isinstance(err, KubeInvalid) and [f.path for f in err.fields] == [field]
    assert words in err.message
    assert kube_api.requests == []


async def test_client_certificate_credentials(gateway: KubeGateway, kube_api: KubeApiServer) -> None:
    pair = CertificateAuthority().issue_client_cert("alice")
    other = CertificateAuthority().issue_client_cert("bob")
    base = {"auth_type": ClusterAuthType.CLIENT_CERTIFICATE, "server": "https://127.0.0.1:1"}
    cases = [
        ({"client_key": pair.key_pem.decode()}, "clientCertificate"),
        ({"client_certificate": pair.cert_pem.decode()}, "clientKey"),
        (
            {"client_certificate": pair.cert_pem.decode(), "client_key": other.key_pem.decode()},
            "clientCertificate",
        ),
        ({"client_certificate": "junk", "client_key": "junk"}, "clientCertificate"),
    ]
    for fields, path in cases:
        err = await _refused(gateway, ClusterCredentials(**base, **fields))  # type: ignore[arg-type]
        assert isinstance(err, errors.Invalid) and [f.path for f in err.fields] == [path], err.message


async def test_kubeconfig_credentials_need_the_text_and_a_usable_context(
    gateway: KubeGateway, kube_api: KubeApiServer
) -> None:
    err = await _refused(gateway, ClusterCredentials(auth_type=ClusterAuthType.KUBECONFIG))
    assert isinstance(err, errors.Invalid) and err.fields[0].path == "kubeconfig"
    text = yaml.safe_dump(kube_api.kubeconfig_dict())
    err = await _refused(
        gateway, ClusterCredentials(ClusterAuthType.KUBECONFIG, kubeconfig=text, context="x")
    )
    assert isinstance(err, errors.Invalid) and "'kubeapi-test'" in err.message


async def test_in_cluster_outside_a_pod_is_unavailable(tmp_path: Path) -> None:
    outside = KubeGateway(in_cluster=InClusterEnvironment(service_account_dir=tmp_path, environ={}))
    err = await _refused(outside, ClusterCredentials(auth_type=ClusterAuthType.IN_CLUSTER))
    assert isinstance(err, errors.Unavailable) and isinstance(err, KubeNotInCluster)
    assert "KUBERNETES_SERVICE_HOST" in err.message

    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    no_account = KubeGateway(
        in_cluster=InClusterEnvironment(service_account_dir=tmp_path / "sa", environ=env)
    )
    err = await _refused(no_account, ClusterCredentials(auth_type=ClusterAuthType.IN_CLUSTER))
    assert isinstance(err, KubeNotInCluster) and "automountServiceAccountToken" in err.message


async def test_timeout_must_be_positive(gateway: KubeGateway, kube_api: KubeApiServer) -> None:
    with pytest.raises(ValueError, match="positive"):
        async with gateway.open(token_credentials(kube_api), timeout_seconds=0):
            pass
