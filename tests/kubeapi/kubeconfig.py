"""Kubeconfig documents pointing at a test server."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from .tls import KeyPair


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_dict(
    server: str,
    *,
    ca_pem: bytes | None = None,
    token: str | None = None,
    client_cert: KeyPair | None = None,
    namespace: str | None = None,
    context: str = "kubeapi-test",
    insecure: bool = False,
) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None and not insecure:
        cluster["certificate-authority-data"] = _b64(ca_pem)
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    if client_cert is not None:
        user["client-certificate-data"] = _b64(client_cert.cert_pem)
        user["client-key-data"] = _b64(client_cert.key_pem)
    ctx: dict[str, Any] = {"cluster": context, "user": f"{context}-user"}
    if namespace:
        ctx["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-user", "user": user}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
