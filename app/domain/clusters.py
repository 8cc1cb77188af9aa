"""Clusters a workspace deploys to, and the credentials to reach them (kept encrypted at rest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ClusterAuthType(StrEnum):
    KUBECONFIG = "KUBECONFIG"  # a kubeconfig file and one of its contexts
    TOKEN = "TOKEN"  # bearer token + CA
    CLIENT_CERTIFICATE = "CLIENT_CERTIFICATE"  # client certificate + key + CA
    IN_CLUSTER = "IN_CLUSTER"  # the service account of the pod Trellis runs in


@dataclass(frozen=True, slots=True)
class ClusterCredentials:
    """How to reach one cluster. Never returned by the API; stored encrypted as a whole."""

    auth_type: ClusterAuthType
    server: str | None = None  # API server URL (TOKEN, CLIENT_CERTIFICATE)
    kubeconfig: str | None = None  # the whole kubeconfig text (KUBECONFIG)
    context: str | None = None  # which context of it (KUBECONFIG); None: its current-context
    token: str | None = None
    ca_data: str | None = None  # PEM
    client_certificate: str | None = None  # PEM
    client_key: str | None = None  # PEM
    insecure_skip_tls_verify: bool = False


@dataclass(frozen=True, slots=True)
class ClusterProbe:
    """The outcome of one reachability check."""

    reachable: bool
    server_version: str | None
    reason: str | None  # why it failed, for a person (TLS, auth, timeout…)
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str
    workspace_id: str
    name: str  # unique per workspace
    description: str
    auth_type: ClusterAuthType
    server: str  # display only
    credentials_ciphertext: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_probe: ClusterProbe | None = None
