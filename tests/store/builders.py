"""Helpers of the store tests: :class:`Backend` (stores on one test database) and :class:`Make`
(domain objects with unique ids and timestamps one second apart)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.domain.audit import AuditEntry, AuditOutcome
from app.domain.clusters import Cluster, ClusterAuthType, ClusterProbe
from app.domain.health import Health, HealthStatus
from app.domain.live import ExecTicket, NodeHealth
from app.domain.runs import (
    AppliedObject,
    NodeRunState,
    NodeRunStatus,
    ObjectAction,
    Run,
    RunLogLine,
    RunStatus,
    TriggerKind,
)
from app.domain.users import User, UserRole
from app.domain.versions import VersionDraft
from app.domain.workflows import Canvas, Edge, Node, Position, Workflow, WorkflowStatus
from app.domain.workspaces import MemberRole, Membership, Scope, Workspace
from app.ports import Store

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)

MONGO_URL_ENV = "TRELLIS_TEST_MONGODB_URL"
MONGO_SKIP = (
    f"{MONGO_URL_ENV} is not set: no MongoDB server can run here; set it to the URL of a MongoDB "
    "replica set to run the contract suite against the MongoDB backend"
)


def mongo_url() -> str:
    url = os.environ.get(MONGO_URL_ENV, "")
    if not url:
        pytest.skip(MONGO_SKIP)
    return url


@dataclass
class Backend:
    """One backend's database for one test; :meth:`open` opens (and later closes) a store on it."""

    name: str
    opener: Callable[[], Awaitable[Store]]
    opened: list[Store] = field(default_factory=list)

    async def open(self) -> Store:
        store = await self.opener()
        self.opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self.opened:
            await store.close()


class Make:
    """Builders of domain objects with unique ids and increasing timestamps (one second apart)."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def next(self) -> int:
        return next(self._seq)

    def at(self, offset: float | None = None) -> datetime:
        """``T0 + offset`` seconds, or the next tick."""
        return T0 + timedelta(seconds=self.next() if offset is None else offset)

    def id(self, prefix: str) -> str:
        return f"{prefix}-{self.next():04d}-{uuid.uuid4().hex[:6]}"

    def user(self, email: str | None = None, *, role: UserRole = UserRole.USER, **overrides: Any) -> User:
        user_id = overrides.pop("id", None) or self.id("user")
        at = self.at()
        return User(
            id=user_id,
            email=email or f"{user_id}@example.com",
            name=overrides.pop("name", "A. User"),
            password_hash=overrides.pop("password_hash", "$argon2id$hash"),
            role=role,
            disabled=overrides.pop("disabled", False),
            created_at=overrides.pop("created_at", at),
            updated_at=overrides.pop("updated_at", at),
            **overrides,
        )

    def workspace(
        self, created_by: str, name: str = "Team", *, personal: bool = False, **overrides: Any
    ) -> Workspace:
        return Workspace(
            id=overrides.pop("id", None) or self.id("ws"),
            name=name,
            personal=personal,
            created_by=created_by,
            created_at=overrides.pop("created_at", self.at()),
        )

    def membership(self, workspace_id: str, user_id: str, role: MemberRole = MemberRole.EDITOR) -> Membership:
        return Membership(workspace_id, user_id, role, self.at())

    def canvas(self, label: str = "web") -> Canvas:
        return Canvas(
            nodes=(
                Node(
                    id="n1",
                    kind="Deployment",
                    position=Position(10.5, -3.0),
                    data={
                        "name": label,
                        "replicas": 3,
                        "labels": {"app.kubernetes.io/name": label, "tier": "frontend"},
                        "env": [{"name": "GREETING", "value": "grüß dich ✓"}],
                        "paused": False,
                        "limits": None,
                    },
                ),
                Node(id="n2", kind="Service", position=Position(200, 40), data={"port": 80}),
            ),
            edges=(Edge(id="e1", source="n2", target="n1", source_handle="out", target_handle=None),),
        )

    def workflow(self, workspace_id: str, name: str = "Shop", **overrides: Any) -> Workflow:
        at = overrides.pop("created_at", None) or self.at()
        return Workflow(
            id=overrides.pop("id", None) or self.id("wf"),
            workspace_id=workspace_id,
            name=name,
            description=overrides.pop("description", "a shop"),
            status=overrides.pop("status", WorkflowStatus.DRAFT),
            namespace=overrides.pop("namespace", "shop"),
            cluster_id=overrides.pop("cluster_id", None),
            canvas=overrides.pop("canvas", None) or self.canvas(name),
            revision=overrides.pop("revision", 1),
            created_by=overrides.pop("created_by", "user-x"),
            created_at=at,
            updated_at=overrides.pop("updated_at", at),
            **overrides,
        )

    def draft(
        self, created_by: str = "user-x", description: str = "snapshot", **overrides: Any
    ) -> VersionDraft:
        return VersionDraft(
            canvas=overrides.pop("canvas", None) or self.canvas(description),
            tag=overrides.pop("tag", None),
            description=description,
            created_by=created_by,
            created_at=overrides.pop("created_at", None) or self.at(),
            **overrides,
        )

    def audit(
        self, action: str = "workflow.create", *, actor_id: str | None = "user-x", **overrides: Any
    ) -> AuditEntry:
        return AuditEntry(
            id=overrides.pop("id", None) or self.id("audit"),
            at=overrides.pop("at", None) or self.at(),
            actor_id=actor_id,
            action=action,
            target_type=overrides.pop("target_type", "workflow"),
            target_id=overrides.pop("target_id", "wf-1"),
            workspace_id=overrides.pop("workspace_id", None),
            outcome=overrides.pop("outcome", AuditOutcome.SUCCESS),
            **overrides,
        )

    def cluster(self, workspace_id: str, name: str = "Production", **overrides: Any) -> Cluster:
        at = overrides.pop("created_at", None) or self.at()
        return Cluster(
            id=overrides.pop("id", None) or self.id("cluster"),
            workspace_id=workspace_id,
            name=name,
            description=overrides.pop("description", "the big one"),
            auth_type=overrides.pop("auth_type", ClusterAuthType.TOKEN),
            server=overrides.pop("server", "https://k8s.example.com:6443"),
            credentials_ciphertext=overrides.pop("credentials_ciphertext", "gAAAAAB-opaque-ciphertext=="),
            created_by=overrides.pop("created_by", "user-x"),
            created_at=at,
            updated_at=overrides.pop("updated_at", at),
            **overrides,
        )

    def probe(self, *, reachable: bool = True, **overrides: Any) -> ClusterProbe:
        return ClusterProbe(
            reachable=reachable,
            server_version=overrides.pop("server_version", "v1.30.2" if reachable else None),
            reason=overrides.pop("reason", None if reachable else "TLS handshake failed"),
            checked_at=overrides.pop("checked_at", None) or self.at(),
        )

    def run(self, workflow: Workflow, **overrides: Any) -> Run:
        """A fresh run of ``workflow`` as a service would hand it to ``start_run``."""
        at = overrides.pop("started_at", None) or self.at()
        return Run(
            id=overrides.pop("id", None) or self.id("run"),
            workflow_id=workflow.id,
            workspace_id=overrides.pop("workspace_id", workflow.workspace_id),
            cluster_id=overrides.pop("cluster_id", "cluster-1"),
            version=overrides.pop("version", 0),
            status=overrides.pop("status", RunStatus.PENDING),
            triggered_by=overrides.pop("triggered_by", TriggerKind.MANUAL),
            started_by=overrides.pop("started_by", "user-x"),
            started_at=at,
            owner=overrides.pop("owner", "server-a"),
            heartbeat_at=overrides.pop("heartbeat_at", at),
            **overrides,
        )

    def applied(self, kind: str = "Deployment", name: str = "web", **overrides: Any) -> AppliedObject:
        return AppliedObject(
            api_version=overrides.pop("api_version", "apps/v1" if kind == "Deployment" else "v1"),
            kind=kind,
            name=name,
            namespace=overrides.pop("namespace", "shop"),
            action=overrides.pop("action", ObjectAction.CREATED),
            uid=overrides.pop("uid", str(uuid.uuid4())),
            resource_version=overrides.pop("resource_version", "12345"),
        )

    def progress(self, run: Run) -> Run:
        """``run`` well under way: every kind of nested part filled, datetimes from several time zones."""
        east = timezone(timedelta(hours=5, minutes=30))
        return replace(
            run,
            status=RunStatus.RUNNING,
            heartbeat_at=self.at(),
            node_states=(
                NodeRunState(
                    "n1",
                    NodeRunStatus.APPLIED,
                    "applied 2 objects",
                    (
                        self.applied(),
                        self.applied(
                            "Service", action=ObjectAction.UNCHANGED, uid=None, resource_version=None
                        ),
                    ),
                    self.at().astimezone(east),
                ),
                NodeRunState("n2", NodeRunStatus.SKIPPED, "no value stored for Secret 'db'"),
                NodeRunState("n3", NodeRunStatus.APPLYING),
            ),
            logs=(
                RunLogLine(self.at(), "INFO", "applying 3 nodes"),
                RunLogLine(self.at().astimezone(east), "WARNING", "Secret 'db' has no value", node_id="n2"),
                RunLogLine(self.at(), "ERROR", 'grüß dich ✓ — "quoted" \\ text', node_id="n3"),
            ),
            pruned=(self.applied("ConfigMap", "old", action=ObjectAction.PRUNED, namespace=None),),
            warnings=("Secret 'db' has no value: not applied", "second warning"),
        )

    def node_health(
        self,
        workflow_id: str,
        node_id: str = "n1",
        status: HealthStatus = HealthStatus.HEALTHY,
        message: str = "",
        **overrides: Any,
    ) -> NodeHealth:
        return NodeHealth(
            workflow_id=workflow_id,
            node_id=node_id,
            health=Health(status, message, overrides.pop("facts", {})),
            updated_at=overrides.pop("updated_at", None) or self.at(),
            **overrides,
        )

    def ticket(self, workflow_id: str = "wf-1", **overrides: Any) -> ExecTicket:
        """An exec ticket valid until ``T0 + 1 minute`` unless told otherwise."""
        return ExecTicket(
            id=overrides.pop("id", None) or uuid.uuid4().hex + uuid.uuid4().hex,
            user_id=overrides.pop("user_id", "user-x"),
            session_id=overrides.pop("session_id", "session-x"),
            workflow_id=workflow_id,
            workspace_id=overrides.pop("workspace_id", "ws-x"),
            node_id=overrides.pop("node_id", "n1"),
            namespace=overrides.pop("namespace", "shop"),
            pod=overrides.pop("pod", "web-7d9f8b6c5-x2x4z"),
            container=overrides.pop("container", "web"),
            command=overrides.pop("command", ("/bin/sh", "-c", "echo 'grüß dich ✓' && ls -la \"$HOME\"")),
            expires_at=overrides.pop("expires_at", T0 + timedelta(minutes=1)),
            **overrides,
        )

    async def register(self, store: Store, email: str | None = None) -> tuple[User, Workspace]:
        """A stored user and their personal workspace."""
        user = self.user(email)
        personal = self.workspace(user.id, f"{user.name}'s space", personal=True)
        return await store.create_user(user, personal), personal

    async def tenant(self, store: Store) -> tuple[User, Workspace, Scope]:
        """A stored user, their personal workspace, and the scope of just that workspace."""
        user, workspace = await self.register(store)
        return user, workspace, Scope.of([workspace.id])
