"""ClusterCredentials → Endpoint → a kubernetes_asyncio ``ApiClient``.

kubernetes_asyncio builds its TLS context from file paths only, so the PEM material is written to a
private temporary directory (0700, files 0600) for the moment the client is constructed and removed
right after: the SSL context holds it in memory from then on, and nothing stays on disk.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client as k8s

from app.domain.clusters import ClusterAuthType, ClusterCredentials
from app.kube.endpoints import Endpoint, checked_token, invalid, normalized_server
from app.kube.errors import KubeInvalid, KubeNotInCluster
from app.kube.kubeconfigs import KUBECONFIG_FIELD, parse_kubeconfig

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
USER_AGENT = "trellis"

# kubernetes_asyncio is untyped: its two entry points, seen as Any in one place
_ApiClient: Any = k8s.ApiClient
_Configuration: Any = k8s.Configuration


@dataclass(frozen=True, slots=True)
class InClusterEnvironment:
    """Where a pod finds its service account: the mounted directory and the service env variables."""

    service_account_dir: Path = SERVICE_ACCOUNT_DIR
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def endpoint(self) -> Endpoint:
        host = self.environ.get("KUBERNETES_SERVICE_HOST", "").strip()
        port = self.environ.get("KUBERNETES_SERVICE_PORT", "").strip()
        if not host or not port:
            raise KubeNotInCluster(
                "in-cluster credentials need Trellis to run inside a Kubernetes pod: "
                "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"
            )
        if ":" in host:  # IPv6
            host = f"[{host}]"
        token = self._read("token")
        if not token:
            raise KubeNotInCluster(f"the service account token {self.service_account_dir / 'token'} is empty")
        namespace = self._read("namespace", required=False)
        return Endpoint(
            server=f"https://{host}:{port}",
            token=token,
            ca_pem=self._read("ca.crt"),
            namespace=namespace or None,
        )

    def _read(self, name: str, *, required: bool = True) -> str | None:
        path = self.service_account_dir / name
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            if not required:
                return None
            raise KubeNotInCluster(
                f"in-cluster credentials need the pod's service account, but {path} does not exist "
                "(is automountServiceAccountToken off?)"
            ) from None
        except OSError as exc:
            raise KubeNotInCluster(f"cannot read the service account file {path}: {exc.strerror}") from exc


def endpoint_for(credentials: ClusterCredentials, in_cluster: InClusterEnvironment) -> Endpoint:
    """The endpoint the credentials describe; ``Invalid`` when they are incomplete or unusable."""
    auth = credentials.auth_type
    if auth is ClusterAuthType.KUBECONFIG:
        if not credentials.kubeconfig:
            raise invalid(KUBECONFIG_FIELD, "the kubeconfig text is required")
        endpoint = parse_kubeconfig(credentials.kubeconfig).endpoint(credentials.context)
        return _checked(endpoint, server_field=KUBECONFIG_FIELD, token_field=KUBECONFIG_FIELD)
    if auth is ClusterAuthType.IN_CLUSTER:
        return _checked(in_cluster.endpoint())
    endpoint = Endpoint(
        server=credentials.server or "",
        token=credentials.token,
        ca_pem=credentials.ca_data or None,
        client_certificate_pem=credentials.client_certificate or None,
        client_key_pem=credentials.client_key or None,
        insecure_skip_tls_verify=credentials.insecure_skip_tls_verify,
    )
    if auth is ClusterAuthType.TOKEN and not checked_token(credentials.token):
        raise invalid("token", "a bearer token is required")
    if auth is ClusterAuthType.CLIENT_CERTIFICATE:
        if not endpoint.client_certificate_pem:
            raise invalid("clientCertificate", "a client certificate (PEM) is required")
        if not endpoint.client_key_pem:
            raise invalid("clientKey", "the client certificate's private key (PEM) is required")
        endpoint = Endpoint(**{**_fields(endpoint), "token": None})
    return _checked(endpoint)


def _fields(endpoint: Endpoint) -> dict[str, Any]:
    return {name: getattr(endpoint, name) for name in Endpoint.__dataclass_fields__}


def _checked(endpoint: Endpoint, *, server_field: str = "server", token_field: str = "token") -> Endpoint:  # noqa: S107
    values = _fields(endpoint)
    values["server"] = normalized_server(endpoint.server, server_field)
    values["token"] = checked_token(endpoint.token, token_field)
    if bool(endpoint.client_certificate_pem) != bool(endpoint.client_key_pem):
        raise invalid("clientKey", "a client certificate needs its private key, and the other way round")
    if endpoint.proxy_url is not None:
        values["proxy_url"] = normalized_server(endpoint.proxy_url, KUBECONFIG_FIELD)
        if not values["proxy_url"].startswith("http://"):
            raise invalid(KUBECONFIG_FIELD, "only http:// proxies are supported (proxy-url)")
    return Endpoint(**values)


def _check_tls_material(endpoint: Endpoint, files: Mapping[str, Path]) -> None:
    """Load the PEM material once to say precisely which part is wrong (``Invalid``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if endpoint.ca_pem and not endpoint.insecure_skip_tls_verify:
        try:
            context.load_verify_locations(cadata=endpoint.ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise invalid("caData", f"the CA certificate is not a valid PEM certificate ({exc})") from exc
    if "cert" in files:
        try:
            context.load_cert_chain(files["cert"], files["key"])
        except ssl.SSLError as exc:
            raise invalid(
                "clientCertificate",
                f"the client certificate and key are not valid PEM or do not belong together ({exc.reason})",
            ) from exc


def _write_private(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def configuration_for(endpoint: Endpoint) -> Any:
    """A kubernetes_asyncio ``Configuration`` without TLS file paths (see :func:`open_api_client`)."""
    configuration = _Configuration(host=endpoint.server)
    if endpoint.token:
        configuration.api_key = {"BearerToken": endpoint.token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.verify_ssl = not endpoint.insecure_skip_tls_verify
    configuration.tls_server_name = endpoint.tls_server_name
    configuration.proxy = endpoint.proxy_url
    return configuration


def open_api_client(endpoint: Endpoint, *, client_class: Any = None) -> Any:
    """A new ``ApiClient`` (or ``client_class``, e.g. a WsApiClient) for the endpoint; the caller closes it.

    Must be called with an event loop running (aiohttp binds its session to it).
    """
    configuration = configuration_for(endpoint)
    with tempfile.TemporaryDirectory(prefix="trellis-kube-") as tmp:
        directory = Path(tmp)
        files: dict[str, Path] = {}
        if endpoint.ca_pem and not endpoint.insecure_skip_tls_verify:
            files["ca"] = _write_private(directory, "ca.crt", endpoint.ca_pem)
            configuration.ssl_ca_cert = str(files["ca"])
        if endpoint.client_certificate_pem and endpoint.client_key_pem:
            files["cert"] = _write_private(directory, "client.crt", endpoint.client_certificate_pem)
            files["key"] = _write_private(directory, "client.key", endpoint.client_key_pem)
            configuration.cert_file = str(files["cert"])
            configuration.key_file = str(files["key"])
        _check_tls_material(endpoint, files)
        try:
            api = (client_class or _ApiClient)(configuration=configuration)
        except (ssl.SSLError, OSError) as exc:
            raise KubeInvalid(f"the TLS material of the credentials cannot be used ({exc})") from exc
    api.user_agent = USER_AGENT
    return api
