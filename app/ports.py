"""Protocols the services depend on. Adapters (and in-memory test fakes) satisfy them structurally."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from app.domain.api_tokens import ApiToken
from app.domain.audit import AuditEntry, AuditFilter
from app.domain.builds import Build, BuildFilter
from app.domain.clusters import Cluster, ClusterCredentials, ClusterProbe
from app.domain.data_collections import DataRecord, DataSchema
from app.domain.events import Event
from app.domain.files import WorkspaceFile
from app.domain.flows.steps import StepInvocation, StepResult
from app.domain.git import GitAuth, GitCredential
from app.domain.health import Health
from app.domain.identities import OAuthCode, OAuthState, Profile, ProviderConfig, SignInFailure, UserIdentity
from app.domain.imports import GitImport
from app.domain.invitations import Invitation
from app.domain.live import ExecTicket, Lease, NodeHealth
from app.domain.manifests import RenderedBundle, RenderRequest
from app.domain.paging import Page
from app.domain.password_resets import PasswordReset
from app.domain.people import OwnedWorkspace
from app.domain.record_filters import RecordFilter
from app.domain.registries import (
    Handshake,
    PullAuth,
    PullSecretRecord,
    Registry,
    RegistryAccess,
    RegistryCheck,
)
from app.domain.runs import NodeRunState, Run, StepLogLine, StepOutputRecord, TriggerKind
from app.domain.triggers import Trigger
from app.domain.users import Session, User, UserRole
from app.domain.versions import Version, VersionDraft
from app.domain.workflows import Workflow, WorkflowFilter
from app.domain.workspace_secrets import WorkspaceSecret
from app.domain.workspaces import MemberRole, Membership, Scope, Workspace

if TYPE_CHECKING:  # app.compose is a whole package; the port only names its file-reading Protocol
    from app.compose.project import ProjectFiles

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


class IdentityLinkStore(Protocol):
    """Provider identities linked to users, and the short-lived records of an OAuth sign-in."""

    async def get_identity(self, provider: str, subject: str) -> UserIdentity | None: ...

    async def identities_of_user(self, user_id: str) -> list[UserIdentity]: ...

    async def link_identity(self, identity: UserIdentity) -> None:
        """``Conflict`` if (provider, subject) is linked already; ``NotFound`` for an unknown user."""
        ...

    async def create_user_with_identity(
        self, user: User, personal_workspace: Workspace, identity: UserIdentity
    ) -> User:
        """``create_user`` and the identity (of the same user id) in one atomic write."""
        ...

    async def create_oauth_state(self, state: OAuthState, *, sweep_before: datetime) -> None:
        """Insert the state; states that expired before ``sweep_before`` are deleted."""
        ...

    async def consume_oauth_state(self, state_id: str) -> OAuthState | None:
        """Delete and return it, expired or not (the caller tells the two apart); None when unknown or
        used already. Of concurrent consumers exactly one gets it."""
        ...

    async def create_oauth_code(self, code: OAuthCode, *, now: datetime) -> None:
        """Insert the code; codes expired by ``now`` are deleted."""
        ...

    async def consume_oauth_code(self, code_id: str, *, now: datetime) -> OAuthCode | None:
        """Delete and return it when still valid at ``now``; None when unknown, used or expired."""
        ...


class SignupGrant(Protocol):
    """A pending invitation checked for a sign-up (``invitation_id``) and what it gives: membership of
    ``workspace_id`` with ``role``."""

    @property
    def invitation_id(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...

    @property
    def role(self) -> MemberRole: ...


class SignupInvitations(Protocol):
    """The invitation check of a sign-up (satisfied by ``InvitationService``)."""

    async def check_for_signup(self, token: str, email: str) -> SignupGrant:
        """The pending invitation ``token`` names, for a new account of ``email`` (nothing is written); a
        typed error (``BAD_INPUT`` on ``invitationToken``) when it is unknown, used, expired, revoked or for
        another address."""
        ...

    async def accept_for_signup(
        self,
        grant: SignupGrant,
        user: User,
        personal_workspace: Workspace,
        identity: UserIdentity | None = None,
    ) -> User:
        """Create the account (as ``create_user``; with ``identity`` linked when given), use the invitation
        up and add the membership it gives, in one atomic write; the same typed error, with nothing
        written, when the invitation was used, revoked or expired meanwhile."""
        ...


class OAuthGateway(Protocol):
    """Talks to identity providers (discovery, token exchange, id_token verification, profile)."""

    async def authorization_url(
        self,
        provider: ProviderConfig,
        *,
        state: str,
        code_verifier: str,
        nonce: str | None,
        redirect_uri: str,
    ) -> str:
        """The provider's authorization URL with PKCE (S256) and, for OIDC, the nonce. ``OAuthFailed``."""
        ...

    async def profile(
        self, provider: ProviderConfig, *, code: str, code_verifier: str, nonce: str | None, redirect_uri: str
    ) -> Profile:
        """Exchange the code, verify the id_token (OIDC), read the profile. ``OAuthFailed`` with a reason."""
        ...


class OAuthFailed(Exception):
    """A step with a provider failed; ``reason`` is a :class:`SignInFailure`, ``detail`` is for the log."""

    def __init__(self, reason: SignInFailure, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class SessionStore(Protocol):
    async def create_session(self, session: Session) -> None: ...

    async def get_session(self, session_id: str) -> Session | None: ...

    async def revoke_session(self, session_id: str, at: datetime) -> None: ...

    async def list_sessions(self, user_id: str) -> list[Session]:
        """The user's sessions not revoked, newest first."""
        ...

    async def revoke_sessions(self, user_id: str, at: datetime, *, keep: str | None = None) -> int:
        """Revoke every active session of the user but ``keep``; return how many were revoked."""
        ...


# Keyset cursor of the user list (by e-mail): (email, id) of the last user seen.
UserKey = tuple[str, str]


class UserAdminStore(Protocol):
    """What administrators and password changes need beyond :class:`UserStore`.

    Role, disabling and deletion keep at least one enabled ``ADMIN``: the check runs inside the same
    atomic write, and a change that would break it raises ``Conflict``.
    """

    async def list_users(self, search: str | None, first: int, after: UserKey | None) -> Page[User]:
        """Users by e-mail, then id; ``search`` matches e-mail or name, case-insensitively."""
        ...

    async def set_user_role(self, user_id: str, role: UserRole, at: datetime) -> User:
        """``NotFound`` for an unknown user; ``Conflict`` when it would demote the last enabled admin."""
        ...

    async def set_user_disabled(self, user_id: str, disabled: bool, at: datetime) -> User:
        """``NotFound``; ``Conflict`` when it would disable the last enabled admin. Disabling also
        revokes every session of the user in the same write."""
        ...

    async def set_password(
        self, user_id: str, password_hash: str, at: datetime, *, keep_session: str | None
    ) -> None:
        """New hash and every other session revoked, in one write; ``NotFound`` for an unknown user."""
        ...

    async def owned_workspaces(self, user_id: str) -> list[OwnedWorkspace]:
        """The workspaces whose only owner is the user, by name."""
        ...

    async def delete_user(self, user_id: str, at: datetime, *, hand_over_to: str | None) -> list[str]:
        """Delete the user (sessions, memberships, tokens go with them) in one atomic write. Each
        workspace they solely own is handed over (``hand_over_to`` becomes its OWNER; a personal
        workspace stops being personal) or, with None, deleted with everything in it; one with no
        other member and no content is deleted in any case. Returns the ids
        of the deleted workspaces. ``NotFound`` for an unknown user or successor; ``Conflict`` for the
        last enabled admin."""
        ...


class InvitationStore(Protocol):
    async def insert_invitation(self, invitation: Invitation) -> None:
        """``NotFound`` for an unknown workspace."""
        ...

    async def get_invitation(self, invitation_id: str) -> Invitation | None: ...

    async def list_invitations(self, workspace_id: str) -> list[Invitation]:
        """Newest first, in every status."""
        ...

    async def revoke_invitation(self, invitation_id: str, at: datetime) -> bool:
        """Mark a pending invitation revoked; False when it was not pending (accepted, revoked)."""
        ...

    async def consume_invitation(
        self, invitation_id: str, at: datetime, *, member: Membership | None
    ) -> Invitation | None:
        """Atomically mark the invitation accepted (by ``member.user_id``) when it is still pending and
        unexpired at ``at``, and add ``member`` (an existing membership of that user is kept as it is);
        None, writing nothing, when it is not."""
        ...

    async def create_user_by_invitation(
        self,
        user: User,
        personal_workspace: Workspace,
        *,
        invitation_id: str,
        at: datetime,
        identity: UserIdentity | None = None,
    ) -> User | None:
        """One atomic write: ``create_user`` (the first user is ADMIN), ``identity`` linked when given, the
        invitation marked accepted by the new user and its membership (the invitation's workspace and
        role) added. None, writing nothing, when the invitation is not pending and unexpired at ``at``;
        ``Conflict``, writing nothing, for a taken e-mail or identity."""
        ...


class ApiTokenStore(Protocol):
    async def insert_api_token(self, token: ApiToken) -> None:
        """``NotFound`` for an unknown user or workspace."""
        ...

    async def get_api_token(self, token_id: str) -> ApiToken | None: ...

    async def list_api_tokens(self, user_id: str) -> list[ApiToken]:
        """The user's tokens, revoked ones too, newest first."""
        ...

    async def revoke_api_token(self, user_id: str, token_id: str, at: datetime) -> bool:
        """False when the user has no such token, or it was revoked already."""
        ...

    async def touch_api_token(self, token_id: str, at: datetime) -> None:
        """Record a use (``last_used_at``)."""
        ...


class PasswordResetStore(Protocol):
    async def insert_password_reset(self, reset: PasswordReset) -> None: ...

    async def get_password_reset(self, reset_id: str) -> PasswordReset | None: ...

    async def complete_password_reset(self, reset_id: str, password_hash: str, at: datetime) -> str | None:
        """In one atomic write: mark the reset used if it is unused and unexpired at ``at``, set the
        user's password hash and revoke all their sessions; the user id, or None (nothing written)."""
        ...


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

    async def set_member_role(self, workspace_id: str, user_id: str, role: MemberRole) -> Membership:
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


# Keyset cursor of the audit trail (newest first): (at, id) of the last entry seen.
AuditKey = tuple[datetime, str]


class AuditLog(Protocol):
    async def append_audit(self, entry: AuditEntry) -> None: ...

    async def list_audit(self, first: int, actor_id: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        ...

    async def page_audit(self, filter: AuditFilter, first: int, after: AuditKey | None) -> Page[AuditEntry]:
        """The entries matching ``filter``, newest first by (at, id); ``total`` counts the filtered set."""
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

    async def apply(
        self, manifest: Manifest, *, field_manager: str, dry_run: bool = False, force: bool = False
    ) -> Manifest:
        """Server-side apply; returns the object as the server answered. Runs never force; ``force`` takes
        back fields another manager took from ``field_manager`` (``syncWorkflow`` undoing drift)."""
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


class ObjectAssessor(Protocol):
    """The health of one object exactly as the API server returned it (``app.kube.status.assess``)."""

    def __call__(self, obj: Mapping[str, Any]) -> Health: ...


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

    async def write_workflow_with_secrets(
        self,
        scope: Scope,
        workflow: Workflow,
        secret_ciphertexts: Mapping[str, str],
        *,
        at: datetime,
        expected_revision: int | None,
    ) -> Workflow:
        """In one atomic write: store ``workflow`` and upsert ``secret_ciphertexts`` (Secret node id →
        ciphertext) as its values. With ``expected_revision`` None the workflow is inserted (``NotFound``
        for a workspace outside ``scope``, ``Conflict`` for a taken id); otherwise it is a compare-and-set
        as in ``replace_workflow``. Any failure writes nothing. Returns the stored workflow."""
        ...

    async def reencrypt(self, transform: Callable[[str], str]) -> int:
        """Rewrite every encrypted value (cluster credentials, Secret values, Git credentials, registry
        credentials) through ``transform`` in one atomic write; return how many. Used to move everything
        to the keyring's newest key."""
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
        """Mark PENDING/RUNNING DEPLOY runs whose heartbeat is older than ``heartbeat_before`` INTERRUPTED
        (``completed_at = at``, ``error = reason``); return them. FLOW runs are never interrupted by a
        sweep: another server takes them over (:meth:`FlowRunStore.claim_flow_runs`)."""
        ...


class FlowRunStore(Protocol):
    """The lease on FLOW runs: exactly one server process drives an unfinished flow run (its ``owner``),
    proving itself alive through ``heartbeat_at``; ``save_run`` of a run whose stored owner is another
    process is refused (``Conflict``), so a server that lost its lease stops writing."""

    async def claim_flow_runs(self, *, owner: str, at: datetime, heartbeat_before: datetime) -> list[Run]:
        """In one atomic write, take every unfinished FLOW run that has no owner (released) or whose
        heartbeat is older than ``heartbeat_before``: ``owner`` and ``heartbeat_at = at`` set. The runs
        as stored after the write, oldest first; a run is returned to exactly one of concurrent callers."""
        ...

    async def release_flow_runs(self, *, owner: str) -> list[str]:
        """Clear the owner (``""``) of the unfinished FLOW runs ``owner`` drives (a graceful stop: another
        process takes them over at once); their ids."""
        ...

    async def reopen_run(
        self, scope: Scope, run_id: str, *, owner: str, at: datetime, node_states: tuple[NodeRunState, ...]
    ) -> Run:
        """Make a finished FLOW run RUNNING again (``retryStep``), in one atomic write: ``node_states``
        replaced, ``owner``, ``heartbeat_at = at``, ``completed_at``/``error`` cleared, ``cancel_requested``
        false. ``NotFound`` outside scope; ``Conflict`` when the run is unfinished, or when another run of
        its workflow is unfinished (nothing written)."""
        ...


class StepOutputStore(Protocol):
    """Outputs posted back by Function steps too large for their termination message."""

    async def put_step_output(self, record: StepOutputRecord) -> None:
        """Insert it; ``Conflict`` when that run, node and attempt already posted one (accepted once)."""
        ...

    async def get_step_output(self, run_id: str, node_id: str, attempt: int) -> StepOutputRecord | None: ...


class StepLogStore(Protocol):
    """Step logs, stored beside their run and bounded per step: when a step has more than ``keep``
    lines, the oldest ones after the first ``keep // 4`` are deleted (readers see the gap in ``seq``)."""

    async def append_step_logs(
        self,
        run_id: str,
        node_id: str,
        lines: Sequence[tuple[datetime, int, str, str]],
        *,
        keep: int,
    ) -> list[StepLogLine]:
        """Append ``(at, attempt, level, message)`` lines in one atomic write, numbering them after the
        step's last ``seq``; the lines as stored."""
        ...

    async def step_logs(self, run_id: str, node_id: str, *, after_seq: int = 0) -> list[StepLogLine]:
        """The stored lines of one step with ``seq > after_seq``, in order (the caller checked scope)."""
        ...


class TriggerStore(Protocol):
    """Flow triggers, the webhook deliveries they took (unique per trigger: a sender's retry starts
    nothing) and the schedule fire times they fired (unique per trigger: of several server processes,
    exactly one fires a given time)."""

    async def create_trigger(self, trigger: Trigger) -> None: ...

    async def get_trigger(self, scope: Scope, trigger_id: str) -> Trigger | None: ...

    async def find_trigger(self, trigger_id: str) -> Trigger | None:
        """A trigger by id in any workspace (a webhook call carries no user: the caller checks it)."""
        ...

    async def list_triggers(self, scope: Scope, workflow_id: str) -> list[Trigger]:
        """The workflow's triggers, oldest first."""
        ...

    async def update_trigger(self, trigger: Trigger) -> None:
        """Replace the name, ``enabled``, config and cursor (``NotFound`` if gone)."""
        ...

    async def delete_trigger(self, scope: Scope, trigger_id: str) -> bool:
        """Delete it with its deliveries and fire records; whether it existed."""
        ...

    async def enabled_triggers(self, kind: TriggerKind) -> list[Trigger]:
        """Every enabled trigger of ``kind`` (all workspaces: for the server's scheduler)."""
        ...

    async def triggers_of_source(self, source_workflow_id: str) -> list[Trigger]:
        """The enabled RUN_COMPLETED triggers watching ``source_workflow_id``."""
        ...

    async def claim_delivery(self, trigger_id: str, delivery_id: str, at: datetime) -> str | None:
        """Record the delivery once: ``None`` when recorded now; else the run id it started (``""``
        while its run is still being started)."""
        ...

    async def settle_delivery(self, trigger_id: str, delivery_id: str, run_id: str | None) -> None:
        """Attach the run a delivery started, or forget the delivery (``None``) when none started."""
        ...

    async def claim_fire(self, trigger_id: str, fire_at: datetime, at: datetime) -> bool:
        """Record that the trigger fires for ``fire_at``; ``False`` when another process already did."""
        ...

    async def set_trigger_cursor(self, trigger_id: str, cursor_at: datetime) -> None:
        """Move a schedule's cursor forward (never back)."""
        ...

    async def mark_trigger_fired(self, trigger_id: str, at: datetime, run_id: str) -> None: ...


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


class GitCredentialStore(Protocol):
    """A workspace's Git credentials (the secret only as ciphertext), scoped like every tenant record."""

    async def insert_git_credential(self, credential: GitCredential) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` if the workspace already has a credential
        of that name (case-insensitive) or the id is taken."""
        ...

    async def get_git_credential(self, scope: Scope, credential_id: str) -> GitCredential | None: ...

    async def list_git_credentials(self, scope: Scope, workspace_id: str) -> list[GitCredential]:
        """One workspace's credentials, by name (none for a workspace outside ``scope``)."""
        ...

    async def delete_git_credential(self, scope: Scope, credential_id: str) -> None:
        """``NotFound`` outside scope."""
        ...


class ImportStore(Protocol):
    """Imports from Git repositories, scoped like every tenant record."""

    async def insert_import(self, job: GitImport) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken id."""
        ...

    async def get_import(self, scope: Scope, import_id: str) -> GitImport | None: ...

    async def save_import(self, job: GitImport, *, secret_values: str | None = None) -> None:
        """Store what a running import changes (status, percent, logs, error, message, candidates, commit,
        analysis, updated_at) while the stored one is unfinished: a finished import is final
        (``Conflict``); a missing one is ``NotFound``. ``secret_values``: the keyring ciphertext of the
        analysis's Secret values (with the save that completes it), kept beside the import, never in it."""
        ...

    async def import_secret_values(self, scope: Scope, import_id: str) -> str | None:
        """The ciphertext ``save_import`` kept for an import in ``scope``; None when there is none."""
        ...

    async def fail_stale_imports(
        self, *, updated_before: datetime, at: datetime, reason: str
    ) -> list[GitImport]:
        """Mark unfinished imports not updated since ``updated_before`` FAILED (``error = reason``,
        ``updated_at = at``) in one write; return them as stored."""
        ...


# --- Container registries --------------------------------------------------------------------------


class RegistryStore(Protocol):
    """A workspace's container registries (credentials only as ciphertext), scoped like every tenant
    record, and the image pull Secrets applied for runs that must be refreshed before they expire."""

    async def insert_registry(self, registry: Registry) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken name (case-insensitive) or id.
        A registry inserted with ``is_default`` takes the default from the workspace's previous one in the
        same atomic write."""
        ...

    async def get_registry(self, scope: Scope, registry_id: str) -> Registry | None: ...

    async def list_registries(self, scope: Scope, workspace_id: str | None = None) -> list[Registry]:
        """Registries in scope (optionally one workspace's), by name."""
        ...

    async def replace_registry(self, scope: Scope, registry: Registry) -> None:
        """Store a changed registry (name, url, insecure, credentials, updated_at; never ``is_default``,
        ``type`` or the last check); ``NotFound`` outside scope, ``Conflict`` on a taken name."""
        ...

    async def delete_registry(self, scope: Scope, registry_id: str) -> None:
        """Delete it and its pull-Secret records atomically; ``NotFound`` outside scope."""
        ...

    async def set_default_registry(self, scope: Scope, registry_id: str, at: datetime) -> Registry:
        """Make it its workspace's default and the previous default not, atomically; return it as
        stored. ``NotFound`` outside scope."""
        ...

    async def record_registry_check(self, registry_id: str, check: RegistryCheck) -> None:
        """Keep ``check`` as the registry's last one; a registry removed meanwhile is ignored."""
        ...

    async def replace_pull_secrets(self, workflow_id: str, records: Sequence[PullSecretRecord]) -> None:
        """Replace every pull-Secret record of the workflow with ``records`` atomically (dropped when the
        workflow or a registry is gone)."""
        ...

    async def save_pull_secret(self, record: PullSecretRecord) -> None:
        """Upsert one record (keyed by workflow, registry and namespace); dropped when its workflow or
        registry is gone."""
        ...

    async def delete_pull_secret(self, workflow_id: str, registry_id: str, namespace: str) -> None: ...

    async def pull_secrets_due(self, before: datetime) -> list[PullSecretRecord]:
        """Records expiring before ``before``, soonest first (in every workspace); never those whose
        ``expires_at`` is None."""
        ...

    async def list_pull_secrets(
        self, *, workflow_id: str | None = None, registry_id: str | None = None
    ) -> list[PullSecretRecord]:
        """The records of one workflow and/or one registry (every record with neither), by cluster,
        namespace, registry and workflow."""
        ...


# --- Flow steps --------------------------------------------------------------------------------------


class StepExecutor(Protocol):
    async def execute(self, invocation: StepInvocation) -> StepResult:
        """Run one attempt of one flow step and return its output (JSON) or why it failed. Expected
        failures are results, never exceptions; the engine enforces the step's timeout (plus
        :data:`~app.domain.flows.steps.TIMEOUT_GRACE_SECONDS` when the executor has a true
        ``enforces_timeout`` attribute: it ends the attempt itself, e.g. a Job's deadline) and cancels the
        call when the run is cancelled (``invocation.run_cancelled()`` is then true) or the server stops
        (false: what runs elsewhere is left running, for the attempt to be followed again after a
        restart). Calling it again for the same run, step and attempt follows that attempt if it still
        runs."""
        ...


class WorkspaceSecretReader(Protocol):
    """Workspace secrets (issue 14) as flow steps need them, decrypted at execution only."""

    async def reveal(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        """The values of the named secrets of the workspace; ``NotFound`` naming the first one missing.
        Callers must never log, store or return them."""
        ...


class WorkspaceSecretStore(Protocol):
    """Workspace secrets: their names and descriptions, scoped like every tenant record, and their values'
    ciphertexts, read only to run a step (unscoped: the run's workspace is known to be the caller's)."""

    async def put_workspace_secret(self, secret: WorkspaceSecret, ciphertext: str) -> WorkspaceSecret:
        """Insert the secret, or, when its workspace already has one of that name, replace its
        description, ciphertext and ``updated_*`` (``created_*`` kept), in one atomic write. Returns the
        secret as stored. ``NotFound`` for an unknown workspace."""
        ...

    async def list_workspace_secrets(self, scope: Scope, workspace_id: str) -> list[WorkspaceSecret]:
        """The workspace's secrets by name (none for a workspace outside ``scope``)."""
        ...

    async def get_workspace_secret(
        self, scope: Scope, workspace_id: str, name: str
    ) -> WorkspaceSecret | None: ...

    async def delete_workspace_secret(self, scope: Scope, workspace_id: str, name: str) -> None:
        """``NotFound`` when there is no such secret in scope."""
        ...

    async def workspace_secret_ciphertexts(self, workspace_id: str, names: Sequence[str]) -> dict[str, str]:
        """Name → ciphertext of those of ``names`` the workspace has (missing names are left out)."""
        ...

    async def reencrypt_workspace_secrets(self, transform: Callable[[str], str]) -> int:
        """Rewrite every workspace secret's ciphertext through ``transform`` in one atomic write (all or
        nothing); returns how many."""
        ...


class StepTokenIssuer(Protocol):
    def issue(
        self, *, workspace_id: str, run_id: str, node_id: str, attempt: int, expires_at: datetime
    ) -> str:
        """A bearer token for one attempt of one step (its output callback; later its data access)."""
        ...


# --- Workspace files ---------------------------------------------------------------------------------


class FileStore(Protocol):
    """Small text files of a workspace (scripts for flow steps), scoped like every tenant record."""

    async def put_file(self, file: WorkspaceFile) -> WorkspaceFile:
        """Insert ``file``, or, when its workspace already has a file at ``file.path``, replace that one's
        content, content type, size, hash and ``updated_*`` and bump its revision (its id, ``created_*``
        kept), in one atomic write; a new file is stored at revision 1. Returns the file as stored.
        ``NotFound`` for an unknown workspace, ``Conflict`` for an id taken at another path."""
        ...

    async def get_file(self, scope: Scope, file_id: str) -> WorkspaceFile | None: ...

    async def list_files(self, scope: Scope, workspace_id: str) -> list[WorkspaceFile]:
        """The workspace's files by path (none outside scope)."""
        ...

    async def delete_file(self, scope: Scope, file_id: str) -> None:
        """``NotFound`` outside scope."""
        ...


class DataCollectionStore(Protocol):
    """Collections of JSON records of a workspace and their versioned schemas. Every read and write of a
    schema or record is limited to ``scope`` (outside it: None or ``NotFound``)."""

    async def create_data_schema(self, schema: DataSchema) -> None:
        """Insert a schema at version 1 (with its first history entry). ``Conflict`` when the workspace has
        a collection of that name; ``NotFound`` for an unknown workspace."""
        ...

    async def get_data_schema(self, scope: Scope, schema_id: str) -> DataSchema | None: ...

    async def find_data_schema(
        self, scope: Scope, workspace_id: str, collection: str
    ) -> DataSchema | None: ...

    async def list_data_schemas(self, scope: Scope, workspace_id: str) -> list[DataSchema]:
        """The workspace's schemas by collection name."""
        ...

    async def update_data_schema(self, scope: Scope, schema: DataSchema) -> None:
        """Store ``schema`` (its ``version`` one above the stored one) and append its history entry, in
        one atomic write; ``Conflict`` (with ``currentVersion``) when the stored version is not
        ``schema.version - 1``; ``NotFound`` outside scope."""
        ...

    async def insert_record(self, record: DataRecord) -> None: ...

    async def get_record(self, scope: Scope, record_id: str) -> DataRecord | None: ...

    async def update_record(self, scope: Scope, record: DataRecord) -> None:
        """Replace the record's data (``record.revision`` one above the stored one); ``Conflict`` (with
        ``currentRevision``) when the stored revision is not ``record.revision - 1``; ``NotFound`` outside
        scope."""
        ...

    async def delete_record(self, scope: Scope, record_id: str) -> None:
        """``NotFound`` outside scope."""
        ...

    async def list_records(
        self,
        scope: Scope,
        workspace_id: str,
        collection: str,
        where: RecordFilter | None,
        first: int,
        after: str | None,
    ) -> Page[DataRecord]:
        """The collection's records matching ``where`` (see :mod:`app.domain.record_filters`), by id,
        after the record id ``after``."""
        ...


class RegistryClient(Protocol):
    """Talks to container registries and the cloud token services in front of them."""

    async def handshake(self, access: RegistryAccess) -> Handshake:
        """The ``/v2/`` handshake (after a cloud token exchange where needed); what went wrong is the
        outcome (UNAUTHORIZED, UNREACHABLE with the reason), never an exception."""
        ...

    async def pull_auth(self, access: RegistryAccess) -> PullAuth | None:
        """The user name and password a container runtime pulls with (exchanged for a short-lived
        token where the cloud wants it; None for anonymous access). ``Unavailable`` with the reason
        when an exchange fails."""
        ...


# --- Image builds ------------------------------------------------------------------------------------

# Keyset cursor of a build list (newest first): (created_at, id) of the last item seen.
BuildKey = tuple[datetime, str]


class BuildStore(Protocol):
    """Image builds, scoped like every tenant record; the queue and the claims of server processes."""

    async def insert_build(self, build: Build) -> None:
        """``NotFound`` for an unknown workspace; ``Conflict`` for a taken id."""
        ...

    async def get_build(self, scope: Scope, build_id: str) -> Build | None: ...

    async def list_builds(
        self, scope: Scope, workspace_id: str, filter: BuildFilter, first: int, after: BuildKey | None
    ) -> Page[Build]:
        """One workspace's builds, newest first by (created_at, id); ``total`` counts the filtered set."""
        ...

    async def queued_builds(self, workspace_id: str) -> list[Build]:
        """The workspace's builds waiting to start (PENDING, not started), oldest first."""
        ...

    async def claim_queued_builds(
        self, *, owner: str, at: datetime, per_workspace: int, per_cluster: int
    ) -> list[Build]:
        """In one atomic write: start (``started_at = at``, ``owner``, ``heartbeat_at = at``) the queued
        builds, oldest first, that fit under the limits of running builds per workspace and per cluster
        (running: started and unfinished, whoever runs them); return them. Concurrent claims never
        start the same build twice nor go over a limit."""
        ...

    async def claim_stale_builds(
        self, *, owner: str, at: datetime, heartbeat_before: datetime
    ) -> list[Build]:
        """Take over, atomically, the started unfinished builds whose heartbeat is older than
        ``heartbeat_before`` (their server stopped) or that have no owner (their server let them go):
        ``owner`` and ``heartbeat_at = at``; return them."""
        ...

    async def release_builds(self, *, owner: str) -> list[str]:
        """In one atomic write, let go of the started unfinished builds ``owner`` runs (a server that
        stops): their owner is cleared, so the next ``claim_stale_builds`` of any process takes them
        without waiting for the lease; the ids released."""
        ...

    async def save_build(self, build: Build) -> None:
        """Store what a running build changes (status, stage, message, percent, digest, commit, times,
        log, owner's heartbeat, revision, secret_deleted) while the stored one is unfinished and still
        ``build.owner``'s; ``Conflict`` otherwise (a finished build is final; a build taken over by
        another process is theirs), ``NotFound`` when missing."""
        ...

    async def cancel_build(self, scope: Scope, build_id: str, *, at: datetime, message: str) -> Build:
        """Atomically end an unfinished build CANCELLED (``message`` logged); the build as stored.
        ``NotFound`` outside scope; ``Conflict`` (with its status) when it has already finished."""
        ...

    async def builds_to_clean(self, limit: int) -> list[Build]:
        """Finished builds whose short-lived Secret may still exist (``secret_deleted`` false), oldest
        first, at most ``limit`` (in every workspace: the server's own clean-up)."""
        ...

    async def mark_build_cleaned(self, build_id: str) -> None:
        """Record that the build's Secret is gone (also for a finished build)."""
        ...

    async def set_node_image(
        self, workspace_id: str, workflow_id: str, node_id: str, image: str, at: datetime
    ) -> Workflow | None:
        """Set one node's ``image`` at the workflow's current revision and bump it (``updated_at = at``):
        a read-modify-write with compare-and-set, retried when another write got there first, so no
        other edit is lost and a stale revision never fails it. The stored workflow, or None when the
        workflow or the node is gone."""
        ...


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """Every record of Trellis's own data in one store, as the backend keeps it (encrypted fields as their
    ciphertexts), for ``trellis backup``/``restore``. ``tables`` maps each table (collection) to its rows
    as JSON values; transient records (leases, exec tickets, OAuth states and codes, node health) are left
    out. ``migration`` is the highest schema migration applied."""

    backend: str  # "sqlite" or "mongodb": a snapshot is restored into the same kind of store
    migration: int
    tables: Mapping[str, Sequence[Mapping[str, Any]]]


class BackupStore(Protocol):
    async def export_all(self) -> StoreSnapshot:
        """Every table, read as one consistent snapshot."""
        ...

    async def import_all(self, snapshot: StoreSnapshot) -> int:
        """Write every row of ``snapshot`` in one atomic write and return how many; ``Conflict`` if the
        store holds any record already, ``Invalid`` for another backend, another migration level or a
        table or column this store does not have. Any failure writes nothing."""
        ...


class Store(
    UserStore,
    SessionStore,
    IdentityLinkStore,
    UserAdminStore,
    InvitationStore,
    ApiTokenStore,
    PasswordResetStore,
    WorkspaceStore,
    WorkflowStore,
    VersionStore,
    AuditLog,
    ClusterStore,
    SecretValueStore,
    RunStore,
    FlowRunStore,
    StepOutputStore,
    StepLogStore,
    TriggerStore,
    LiveStateStore,
    GitCredentialStore,
    ImportStore,
    RegistryStore,
    BuildStore,
    FileStore,
    WorkspaceSecretStore,
    DataCollectionStore,
    BackupStore,
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


class HealthWaiter(Protocol):
    """How a deploy run waits for the live health of what it applied (its dependencies), from the watch
    pool, without knowing the tracker."""

    async def track_run(self, run: Run, credentials: ClusterCredentials) -> None:
        """Track the nodes ``run`` applied so far (its APPLIED node states) in this process, whoever
        holds the cluster's watch lease, until the run is followed after it ends. A node tracked anew
        forgets its stored health first: only health observed from now on counts."""
        ...

    async def wait_for_health(self, workflow_id: str, node_id: str, done: Callable[[Health], bool]) -> Health:
        """Wait until the node's live health satisfies ``done`` (asked again at every change); return it.
        Never times out: the caller cancels. ``Unavailable`` when the event bus closes meanwhile."""
        ...


# --- Git -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloneLimits:
    """Bounds of one clone: the whole of it in time, the bytes downloaded and checked out, the files."""

    timeout_seconds: float
    max_bytes: int
    max_files: int


@dataclass(frozen=True, slots=True)
class CloneProgress:
    """How far a clone is: git's phase, the clone's overall ``percent`` (0 to 100), bytes received."""

    phase: str
    percent: int
    received_bytes: int | None = None


class Checkout(Protocol):
    """A shallow checkout of one commit, alive while its context is open (removed afterwards)."""

    @property
    def commit(self) -> str:
        """The sha checked out."""
        ...

    @property
    def files(self) -> tuple[str, ...]:
        """Every regular file, as a POSIX path relative to the root (symbolic links and submodules are
        not checked out)."""
        ...

    @property
    def skipped(self) -> tuple[str, ...]:
        """Symbolic links and submodules that were left out."""
        ...

    @property
    def project(self) -> ProjectFiles:
        """Read access to the files, confined to the checkout."""
        ...


class GitCloner(Protocol):
    def clone(
        self,
        url: str,
        ref: str | None,
        *,
        auth: GitAuth | None,
        limits: CloneLimits,
        addresses: Sequence[str] = (),
        on_progress: Callable[[CloneProgress], Awaitable[None]] | None = None,
    ) -> AbstractAsyncContextManager[Checkout]:
        """Fetch one commit of ``url`` (``ref``: a branch, a tag, a full sha; None: the default branch)
        and check it out into a fresh temporary folder, removed when the context closes — always, also
        on failure, timeout and cancellation. ``addresses`` (checked by the egress guard) pin where the
        host name connects. Raises ``app.domain.imports.CloneFailed`` saying why a clone failed."""
        ...
