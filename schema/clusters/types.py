"""Clusters and their reachability. Credentials go in, and never come out."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.clusters import Cluster as DomainCluster
from app.domain.clusters import ClusterAuthType as DomainAuthType
from app.domain.clusters import ClusterCredentials, ClusterProbe


@strawberry.enum(description="How Trellis authenticates to a cluster.")
class ClusterAuthType(Enum):
    KUBECONFIG = "KUBECONFIG"
    TOKEN = "TOKEN"
    CLIENT_CERTIFICATE = "CLIENT_CERTIFICATE"
    IN_CLUSTER = "IN_CLUSTER"


@strawberry.type(description="The outcome of the latest reachability check of a cluster.")
class ClusterStatus:
    reachable: bool = strawberry.field(description="The API server answered with these credentials.")
    server_version: str | None = strawberry.field(description="Its Kubernetes version, e.g. `v1.30.2`.")
    reason: str | None = strawberry.field(description="Why it failed (TLS, credentials, timeout…).")
    checked_at: datetime = strawberry.field(description="When the check ran.")

    @classmethod
    def from_domain(cls, probe: ClusterProbe) -> ClusterStatus:
        return cls(
            reachable=probe.reachable,
            server_version=probe.server_version,
            reason=probe.reason,
            checked_at=probe.checked_at,
        )


@strawberry.type(description="A Kubernetes cluster a workspace deploys to.")
class Cluster:
    id: strawberry.ID = strawberry.field(description="Opaque id; workflows refer to their cluster by it.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    name: str = strawberry.field(description="Name, unique in its workspace.")
    description: str = strawberry.field(description="Free text.")
    auth_type: ClusterAuthType = strawberry.field(description="How Trellis authenticates to it.")
    server: str = strawberry.field(description="The API server URL.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    status: ClusterStatus | None = strawberry.field(
        description="The latest reachability check (`testCluster` runs a new one); null before the first."
    )

    @classmethod
    def from_domain(cls, cluster: DomainCluster) -> Cluster:
        return cls(
            id=strawberry.ID(cluster.id),
            workspace_id=strawberry.ID(cluster.workspace_id),
            name=cluster.name,
            description=cluster.description,
            auth_type=ClusterAuthType(cluster.auth_type.value),
            server=cluster.server,
            created_at=cluster.created_at,
            updated_at=cluster.updated_at,
            status=ClusterStatus.from_domain(cluster.last_probe) if cluster.last_probe else None,
        )


@strawberry.input(
    description="A cluster and its credentials. Which fields are needed depends on `authType`; "
    "credentials are encrypted at rest and never returned."
)
class RegisterClusterInput:
    name: str = strawberry.field(description="Name, unique in the workspace.")
    auth_type: ClusterAuthType = strawberry.field(description="How to authenticate.")
    description: str = strawberry.field(default="", description="Free text.")
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="Workspace to register it in; your personal workspace by default."
    )
    kubeconfig: str | None = strawberry.field(default=None, description="KUBECONFIG: the whole file.")
    context: str | None = strawberry.field(
        default=None, description="KUBECONFIG: which context to use (default: its current-context)."
    )
    server: str | None = strawberry.field(
        default=None, description="TOKEN, CLIENT_CERTIFICATE: the https:// URL of the API server."
    )
    token: str | None = strawberry.field(default=None, description="TOKEN: the bearer token.")
    ca_data: str | None = strawberry.field(
        default=None, description="TOKEN, CLIENT_CERTIFICATE: CA certificate, PEM."
    )
    client_certificate: str | None = strawberry.field(
        default=None, description="CLIENT_CERTIFICATE: the client certificate, PEM."
    )
    client_key: str | None = strawberry.field(
        default=None, description="CLIENT_CERTIFICATE: the client key, PEM."
    )
    insecure_skip_tls_verify: bool = strawberry.field(
        default=False, description="Do not verify the server's certificate (test clusters only)."
    )

    def credentials(self) -> ClusterCredentials:
        return ClusterCredentials(
            auth_type=DomainAuthType(self.auth_type.value),
            server=self.server,
            kubeconfig=self.kubeconfig,
            context=self.context,
            token=self.token,
            ca_data=self.ca_data,
            client_certificate=self.client_certificate,
            client_key=self.client_key,
            insecure_skip_tls_verify=self.insecure_skip_tls_verify,
        )


@strawberry.type(description="The result of `registerCluster`.")
class RegisterClusterPayload:
    cluster: Cluster = strawberry.field(
        description="The registered cluster, with the first check as its status."
    )


@strawberry.input(description="Which cluster to check now.")
class TestClusterInput:
    id: strawberry.ID = strawberry.field(description="The cluster.")


@strawberry.type(description="The result of `testCluster`.")
class TestClusterPayload:
    cluster: Cluster = strawberry.field(description="The cluster with its new status.")
    status: ClusterStatus = strawberry.field(description="The check that just ran.")


@strawberry.input(description="Forget a cluster (nothing in the cluster is touched).")
class RemoveClusterInput:
    id: strawberry.ID = strawberry.field(description="The cluster.")


@strawberry.type(description="The result of `removeCluster`.")
class RemoveClusterPayload:
    removed_cluster_id: strawberry.ID = strawberry.field(description="The id of the removed cluster.")
