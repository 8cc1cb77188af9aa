"""Clusters: register (credentials encrypted at rest), list, test reachability, rename, remove."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

import yaml

from app import errors
from app.auth.keyring import Keyring, KeyringError
from app.domain.clusters import Cluster, ClusterAuthType, ClusterCredentials, ClusterProbe
from app.domain.ids import new_id
from app.domain.kubeconfigs import KubeconfigProblem, resolve_context
from app.domain.workflows import Workflow
from app.domain.workspaces import Scope
from app.ports import Clock, ClusterGateway, ClusterStore, WorkspaceStore
from app.services.auditing import Auditor
from app.services.principals import Principal

MAX_NAME = 63
MAX_KUBECONFIG_BYTES = 256 * 1024
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


class ClusterServiceStore(ClusterStore, WorkspaceStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class ClusterRegistration:
    name: str
    description: str
    workspace_id: str | None
    credentials: ClusterCredentials


def seal(keyring: Keyring, credentials: ClusterCredentials) -> str:
    return keyring.encrypt(json.dumps(dataclasses.asdict(credentials), sort_keys=True))


def unseal(keyring: Keyring, ciphertext: str) -> ClusterCredentials:
    try:
        raw = json.loads(keyring.decrypt(ciphertext))
    except KeyringError as exc:
        raise errors.Unavailable(
            "the cluster's credentials cannot be decrypted with the configured keys (TRELLIS_ENCRYPTION_KEYS)"
        ) from exc
    raw["auth_type"] = ClusterAuthType(raw["auth_type"])
    return ClusterCredentials(**raw)


async def workflow_credentials(
    store: ClusterStore, keyring: Keyring, scope: Scope, workflow: Workflow, *, field: str = "workflowId"
) -> ClusterCredentials:
    """The decrypted credentials of the workflow's cluster. ``BAD_INPUT`` on ``field`` when the workflow
    has no cluster, or its cluster is gone or belongs to another workspace."""
    if workflow.cluster_id is None:
        raise errors.Invalid.field(
            field, "choose a cluster for this workflow first (updateWorkflow clusterId)"
        )
    cluster = await store.get_cluster(scope, workflow.cluster_id)
    if cluster is None or cluster.workspace_id != workflow.workspace_id:
        raise errors.Invalid.field(field, "the workflow's cluster is not registered in its workspace")
    return unseal(keyring, cluster.credentials_ciphertext)


_USERINFO = (
    "must not carry a user name or password (user:password@host): the server URL is shown to every member; "
    "give the credentials in their own fields"
)


def _has_userinfo(url: str) -> bool:
    try:
        return "@" in (urlsplit(url).netloc or "")
    except ValueError:
        return False


def check_credentials(credentials: ClusterCredentials) -> str:
    """Refuse incomplete credentials with the field named; return the server URL to display."""
    kind = credentials.auth_type
    if kind is ClusterAuthType.KUBECONFIG:
        text = credentials.kubeconfig or ""
        if not text.strip():
            raise errors.Invalid.field("kubeconfig", "paste the kubeconfig file")
        if len(text.encode()) > MAX_KUBECONFIG_BYTES:
            raise errors.Invalid.field("kubeconfig", f"must be at most {MAX_KUBECONFIG_BYTES} bytes")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise errors.Invalid.field("kubeconfig", f"is not valid YAML: {exc}") from exc
        try:
            target = resolve_context(doc, credentials.context)
        except KubeconfigProblem as exc:
            path = "context" if credentials.context else "kubeconfig"
            raise errors.Invalid.field(path, str(exc)) from exc
        if _has_userinfo(target.server):
            raise errors.Invalid.field("kubeconfig", _USERINFO)
        return target.server
    if kind is ClusterAuthType.IN_CLUSTER:
        return IN_CLUSTER_SERVER
    problems = []
    if not credentials.server or not credentials.server.startswith("https://"):
        problems.append(errors.FieldError("server", "must be the https:// URL of the API server"))
    elif _has_userinfo(credentials.server):
        problems.append(errors.FieldError("server", _USERINFO))
    if not credentials.ca_data and not credentials.insecure_skip_tls_verify:
        problems.append(errors.FieldError("caData", "give the cluster's CA certificate (PEM)"))
    if kind is ClusterAuthType.TOKEN and not credentials.token:
        problems.append(errors.FieldError("token", "give the bearer token"))
    if kind is ClusterAuthType.CLIENT_CERTIFICATE:
        if not credentials.client_certificate:
            problems.append(errors.FieldError("clientCertificate", "give the client certificate (PEM)"))
        if not credentials.client_key:
            problems.append(errors.FieldError("clientKey", "give the client key (PEM)"))
    if problems:
        raise errors.Invalid(f"the {kind.value} credentials are incomplete", problems)
    return str(credentials.server)


class ClusterService:
    def __init__(
        self,
        *,
        store: ClusterServiceStore,
        gateway: ClusterGateway,
        keyring: Keyring,
        clock: Clock,
        auditor: Auditor,
        timeout_seconds: float,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor
        self._timeout = timeout_seconds

    async def get(self, principal: Principal, cluster_id: str) -> Cluster:
        cluster = await self._store.get_cluster(principal.scope, cluster_id)
        if cluster is None:
            raise errors.NotFound("cluster", cluster_id)
        return cluster

    async def visible(self, principal: Principal, workspace_id: str | None) -> list[Cluster]:
        return await self._store.list_clusters(principal.scope, workspace_id)

    async def register(self, principal: Principal, registration: ClusterRegistration) -> Cluster:
        name = _clean_name(registration.name)
        async with self._auditor.action(
            "cluster.register", actor_id=principal.user_id, target_type="cluster"
        ) as record:
            workspace_id = registration.workspace_id or await self._personal_workspace(principal)
            if await self._store.get_workspace(principal.scope, workspace_id) is None:
                raise errors.NotFound("workspace", workspace_id)
            principal.require_owner(workspace_id, "clusters")
            server = check_credentials(registration.credentials)
            now = self._clock.now()
            cluster = Cluster(
                id=new_id(),
                workspace_id=workspace_id,
                name=name,
                description=registration.description,
                auth_type=registration.credentials.auth_type,
                server=server,
                credentials_ciphertext=seal(self._keyring, registration.credentials),
                created_by=principal.user_id,
                created_at=now,
                updated_at=now,
            )
            record.target_id, record.workspace_id = cluster.id, workspace_id
            record.detail = {"authType": cluster.auth_type.value, "server": server}
            await self._store.insert_cluster(cluster)
            return cluster

    async def test(self, principal: Principal, cluster_id: str) -> tuple[Cluster, ClusterProbe]:
        """Reach the cluster now; the probe is stored as its status (and audited, as ``testRegistry``)."""
        async with self._auditor.action(
            "cluster.test", actor_id=principal.user_id, target_type="cluster", target_id=cluster_id
        ) as record:
            cluster = await self.get(principal, cluster_id)
            record.workspace_id = cluster.workspace_id
            probe = await self.probe(cluster)
            record.detail = {"reachable": str(probe.reachable).lower()}
            await self._store.record_probe(cluster.id, probe)
            return replace(cluster, last_probe=probe), probe

    async def probe(self, cluster: Cluster) -> ClusterProbe:
        credentials = unseal(self._keyring, cluster.credentials_ciphertext)
        try:
            async with self._gateway.open(credentials, timeout_seconds=self._timeout) as session:
                version = await session.server_version()
        except (errors.Unavailable, errors.Forbidden, errors.Invalid) as exc:
            return ClusterProbe(
                reachable=False, server_version=None, reason=exc.message, checked_at=self._clock.now()
            )
        return ClusterProbe(reachable=True, server_version=version, reason=None, checked_at=self._clock.now())

    async def remove(self, principal: Principal, cluster_id: str) -> None:
        async with self._auditor.action(
            "cluster.remove", actor_id=principal.user_id, target_type="cluster", target_id=cluster_id
        ) as record:
            cluster = await self.get(principal, cluster_id)
            record.workspace_id = cluster.workspace_id
            principal.require_owner(cluster.workspace_id, "clusters")
            await self._store.delete_cluster(principal.scope, cluster.id)

    async def _personal_workspace(self, principal: Principal) -> str:
        for workspace in await self._store.list_workspaces(principal.scope):
            if workspace.personal and workspace.created_by == principal.user_id:
                return workspace.id
        raise errors.Invalid.field("workspaceId", "you have no personal workspace; name a workspace")


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise errors.Invalid.field("name", f"must be 1 to {MAX_NAME} characters")
    return name
