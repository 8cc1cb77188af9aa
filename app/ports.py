"""Protocols the services depend on. Adapters (and in-memory test fakes) satisfy them structurally."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.domain.audit import AuditEntry
from app.domain.clusters import Cluster, ClusterCredentials, ClusterProbe
from app.domain.events import Event
from app.domain.health import Health
from app.domain.live import ExecTicket, Lease, NodeHealth
from app.domain.manifests import RenderedBundle, RenderRequest
from app.domain.paging import Page
from app.domain.runs import Run
from app.domain.users import Session, User
from app.domain.versions import Version, VersionDraft
from app.domain.workflows import Workflow, WorkflowFilter
from app.domain.workspaces import Membership, Scope, Workspace

# Keyset cursor of the workflow list (newest first): (created_at, id) of the last item seen.
WorkflowKey = tuple[datetime, str]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class UserStore(Protocol):
    async def create_user(self, user: User, personal_workspace: Workspace) -> User:
        """Insert the user, their personal workspace and its OWNER membership in one atomic write.

        If no user exists yet the stored user becomes ``ADMIN`` (decided inside the same atomic write,
        so two concurrent first registrations cannot both be admins); the stored user is returned.
        A taken e-mail (case-insensitive) raises ``Conflict``.
        """
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_email(self, email: str) -> User | None: ...


class SessionStore(Protocol):
    async def create_session(self, session: Session) -> None: ...

    async def get_session(self, session_id: str) -> Session | None: ...

    async def revoke_session(self, session_id: str, at: datetime) -> None: ...


class WorkspaceStore(Protocol):
    async def create_workspace(self, workspace: Workspace, owner: Membership) -> None:
        """Insert the workspace and its first OWNER membership atomically."""
        ...

    async def get_workspace(self, scope: Scope, workspace_id: str) -> Workspace | None: ...

    async def list_workspaces(self, scope: Scope) -> list[Workspace]:
        """Every workspace in scope, personal first, then by name."""
        ...

    async def memberships_of_user(self, user_id: str) -> list[Membership]: ...

    async def list_members(self, scope: Scope, workspace_id: str) -> list[Membership]: ...

    async def add_member(self, membership: Membership) -> None:
        """``Conflict`` if the user is already a member."""
        ...

    async def remove_member(self, workspace_id: str, user_id: str) -> None:
        """``NotFound`` if not a member; ``Conflict`` if it would leave the workspace without an owner."""
        ...


class WorkflowStore(Protocol):
    async def insert_workflow(self, workflow: Workflow) -> None: ...

    async def get_workflow(self, scope: Scope, workflow_id: str) -> Workflow | None: ...

    async def list_workflows(
        self, scope: Scope, filter: WorkflowFilter, first: int, after: WorkflowKey | None
    ) -> Page[Workflow]:
        """Newest first by (created_at, id); ``after`` is the key of the last item of the previous page."""
        ...

    async def replace_workflow(self, scope: Scope, workflow: Workflow, expected_revision: int) -> Workflow:
        """Compare-and-set: store ``workflow`` (whose ``revision`` is ``expected_revision + 1``) only if
        the stored revision is still ``expected_revision``; otherwise ``Conflict`` with
        ``details={"currentRevision": n}``. ``NotFound`` if it is not in scope."""
        ...

    async def delete_workflow(self, scope: Scope, workflow_id: str) -> None:
        """Delete the workflow and all its versions atomically; ``NotFound`` if it is not in scope."""
        ...


class VersionStore(Protocol):
    async def create_version(self, scope: Scope, workflow_id: str, draft: VersionDraft) -> Version:
        """Append the next version number (max + 1, atomically: concurrent calls never share one)."""
        ...

    async def restore_version(
        self, scope: Scope, workflow_id: str, draft: VersionDraft, workflow: Workflow
    ) -> tuple[Version, Workflow]:
        """In one atomic write: append ``draft`` as the next version and replace the workflow with
        ``workflow`` (compare-and-set on ``workflow.revision - 1`` as in ``replace_workflow``)."""
        ...

    async def get_version(self, scope: Scope, workflow_id: str, number: int) -> Version | None: ...

    async def list_versions(
        self, scope: Scope, workflow_id: str, first: int, after: int | None
    ) -> Page[Version]:
        """Newest first by number; ``after`` is the number of the last item of the previous page."""
        ...


class AuditLog(Protocol):
    async def append_audit(self, entry: AuditEntry) -> None: ...

    async def list_audit(self, first: int, actor_id: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        ...


# --- Clusters (Kubernetes API access) -------------------------------------------------------------

Manifest = dict[str, Any]


class ClusterSession(Protocol):
    """One open connection to one cluster's API server.

    Failures surface as ``app.errors``: ``Unavailable`` (unreachable, TLS, timeout, bad credentials —
    the message says which), ``Conflict`` (409: a field-manager conflict, with ``details["causes"]``),
    ``Invalid`` (400/422 from the API server, with its message), ``NotFound``.
    """

    async def server_version(self) -> str:
        """The API server's ``gitVersion`` (``v1.30.2``)."""
        ...

    async def apply(self, manifest: Manifest, *, field_manager: str, dry_run: bool = False) -> Manifest:
        """Server-side apply (never forced); returns the object as the server answered."""
        ...

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> Manifest | None: ...

    async def list(
        self, api_version: str, kind: str, *, label_selector: str, namespace: str | None = None
    ) -> list[Manifest]:
        """Objects of a kind matching ``label_selector`` (all namespaces when ``namespace`` is None)."""
        ...

    async def delete(self, api_version: str, kind: str, name: str, namespace: str | None) -> bool:
        """Delete (background propagation); False if it was already gone."""
        ...


class ExecStream(Protocol):
    """One running command in a container: stdin in, stdout/stderr out, terminal resizes."""

    async def write(self, data: bytes) -> None: ...

    async def resize(self, columns: int, rows: int) -> None: ...

    def output(self) -> AsyncIterator[tuple[str, bytes]]:
        """``("stdout" | "stderr", bytes)`` chunks until the command ends."""
        ...

    async def result(self) -> tuple[int | None, str | None]:
        """After the output ended: the exit code (None if unknown) and an error message, if any."""
        ...


class LiveClusterSession(ClusterSession, Protocol):
    """A session that can also stream logs and run commands in containers."""

    def pod_logs(
        self,
        namespace: str,
        pod: str,
        *,
        container: str | None,
        tail_lines: int | None,
        follow: bool,
    ) -> AsyncIterator[str]:
        """Lines of a container's log (without the newline); ends when the pod or the stream does.
        A follow stream has no request timeout."""
        ...

    def exec(
        self, namespace: str, pod: str, *, container: str, command: Sequence[str], tty: bool
    ) -> AbstractAsyncContextManager[ExecStream]: ...


class ClusterGateway(Protocol):
    def open(
        self, credentials: ClusterCredentials, *, timeout_seconds: float
    ) -> AbstractAsyncContextManager[LiveClusterSession]:
        """Open a session; closing the context closes its HTTP connections."""
        ...


# --- Clusters, Secret values and runs in the store ------------------------------------------------

# Keyset cursor of a run list (newest first): (started_at, id) of the last item seen.
RunKey = tuple[datetime, str]


class ClusterStore(Protocol):
    async def insert_cluster(self, cluster: Cluster) -> None:
        """``Conflict`` if the workspace already has a cluster of that name (case-insensitive)."""
        ...

    async def get_cluster(self, scope: Scope, cluster_id: str) -> Cluster | None: ...

    async def list_clusters(self, scope: Scope, workspace_id: str | None = None) -> list[Cluster]:
        """Clusters in scope (optionally one workspace's), by name."""
        ...

    async def replace_cluster(self, scope: Scope, cluster: Cluster) -> None:
        """Store a changed cluster (name, description, credentials); ``NotFound`` outside scope,
        ``Conflict`` on a taken name."""
        ...

    async def delete_cluster(self, scope: Scope, cluster_id: str) -> None:
        """``NotFound`` outside scope."""
        ...

    async def record_probe(self, cluster_id: str, probe: ClusterProbe) -> None: ...


class SecretValueStore(Protocol):
    """Encrypted values of Secret nodes, one ciphertext per (workflow, node); never inside the canvas."""

    async def put_secret_values(
        self, workflow_id: str, node_id: str, ciphertext: str, at: datetime
    ) -> None: ...

    async def secret_values(self, workflow_id: str) -> dict[str, str]:
        """node id → ciphertext, for every Secret node of the workflow that has values."""
        ...

    async def delete_secret_values(self, workflow_id: str, node_id: str) -> None: ...

    async def reencrypt(self, transform: Callable[[str], str]) -> int:
        """Rewrite every encrypted value (cluster credentials, Secret values) through ``transform`` in one
        atomic write; return how many. Used to move everything to the keyring's newest key."""
        ...


class RunStore(Protocol):
    async def start_run(self, scope: Scope, draft: VersionDraft, run: Run) -> tuple[Version, Run]:
        """In one atomic write: append ``draft`` as the workflow's next version and insert ``run`` with
        that version number. ``Conflict`` (and nothing written) if another run of the same workflow is
        PENDING or RUNNING; ``NotFound`` if the workflow is not in scope."""
        ...

    async def get_run(self, scope: Scope, run_id: str) -> Run | None: ...

    async def list_runs(self, scope: Scope, workflow_id: str, first: int, after: RunKey | None) -> Page[Run]:
        """Newest first by (started_at, id)."""
        ...

    async def latest_runs(self) -> list[Run]:
        """The newest run of every workflow, in all workspaces (the server uses it at start)."""
        ...

    async def save_run(self, run: Run) -> None:
        """Replace the run as its executor sees it now (status, node states, logs, heartbeat)."""
        ...

    async def request_cancel(self, scope: Scope, run_id: str) -> Run | None:
        """Set ``cancel_requested`` on an unfinished run; the run as stored (None if not in scope)."""
        ...

    async def interrupt_stale_runs(
        self, *, heartbeat_before: datetime, at: datetime, reason: str
    ) -> list[Run]:
        """Mark PENDING/RUNNING runs whose heartbeat is older than ``heartbeat_before`` INTERRUPTED
        (``completed_at = at``, ``error = reason``); return them."""
        ...


# --- Live state in the store ------------------------------------------------------------------------


class LiveStateStore(Protocol):
    async def put_node_health(self, entry: NodeHealth) -> None:
        """Upsert one node's health (so a page opened later shows it); dropped if the workflow is gone."""
        ...

    async def node_healths(self, workflow_id: str) -> list[NodeHealth]: ...

    async def delete_node_healths(self, workflow_id: str, node_ids: Sequence[str] | None = None) -> None:
        """Forget the health of some nodes (all when ``node_ids`` is None)."""
        ...

    async def acquire_lease(self, name: str, owner: str, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Take or renew the lease ``name`` for ``owner`` if it is free, expired, or already ``owner``'s;
        atomically. The lease as held, or None when another owner holds it unexpired."""
        ...

    async def release_lease(self, name: str, owner: str) -> None: ...

    async def create_exec_ticket(self, ticket: ExecTicket, *, now: datetime | None = None) -> None:
        """Store a ticket; with ``now``, first delete the tickets expired by then."""
        ...

    async def consume_exec_ticket(self, ticket_id: str, *, now: datetime) -> ExecTicket | None:
        """Atomically take the ticket out of the store: a second use, or an expired ticket, gives None."""
        ...


class Store(
    UserStore,
    SessionStore,
    WorkspaceStore,
    WorkflowStore,
    VersionStore,
    AuditLog,
    ClusterStore,
    SecretValueStore,
    RunStore,
    LiveStateStore,
    Protocol,
):
    """The whole persistence port: one backend (SQLite or MongoDB) implements all of it."""

    async def ping(self) -> None:
        """Raise ``Unavailable`` if the store cannot be reached."""
        ...

    async def close(self) -> None: ...


class Renderer(Protocol):
    def render(self, request: RenderRequest) -> RenderedBundle:
        """Manifests for every node (``Invalid`` naming ``nodes[i].data.<field>`` when one cannot be)."""
        ...


# --- Events --------------------------------------------------------------------------------------------


class EventSubscription(Protocol):
    """Events of one topic, in order. When the subscriber fell behind (its bounded queue overflowed) or
    the bus reconnected, it receives an ``Event`` of type ``WORKFLOW_SYNC`` with payload
    ``{"reason": "overflow" | "reconnect"}`` in place of what was lost, so it can send the full state."""

    def __aiter__(self) -> AsyncIterator[Event]: ...


class EventBus(Protocol):
    async def publish(self, event: Event) -> None:
        """Deliver to every subscriber of ``event.topic`` in every process; never blocks on a slow one."""
        ...

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[EventSubscription]: ...


# --- Live status: what the cluster trackers tell the services ----------------------------------------


@dataclass(frozen=True, slots=True)
class NodeTarget:
    """The object a deployed node should have in the cluster (from its latest run)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None


class LiveSink(Protocol):
    async def node_health_changed(
        self, cluster_id: str, workflow_id: str, node_id: str, health: Health
    ) -> None:
        """A node's health (its object combined with its pods, ReplicaSets and Events) really changed."""
        ...

    async def cluster_unreachable(self, cluster_id: str, reason: str) -> None: ...

    async def cluster_reachable(self, cluster_id: str) -> None: ...

    async def resynced(self, cluster_id: str, workflow_ids: Sequence[str]) -> None:
        """A relist replaced what was known; subscribers of these workflows should get the full state."""
        ...


class LiveTracker(Protocol):
    """Keeps the watch pools of the clusters this process owns and turns their events into node health."""

    async def track(
        self,
        cluster_id: str,
        credentials: ClusterCredentials,
        workflow_id: str,
        nodes: Mapping[str, NodeTarget],
    ) -> None:
        """Watch what ``workflow_id`` deployed (node id → its object); replaces an earlier ``track`` of it."""
        ...

    async def untrack(self, workflow_id: str) -> None: ...

    async def release_cluster(self, cluster_id: str) -> None:
        """Stop every watch of a cluster (another process took its lease)."""
        ...

    async def close(self) -> None: ...
