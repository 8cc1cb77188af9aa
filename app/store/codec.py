"""Mapping between domain objects and JSON-safe documents, shared by every backend.

A document is a ``dict`` of JSON values (``str``, ``int``, ``float``, ``bool``, ``None``, lists and
dicts), keyed by the domain field names, with the record's id under ``"id"``. Datetimes are written as
fixed-width ISO-8601 strings in UTC (``2024-05-01T12:00:00.000000Z``), so that the string order is the
time order (keyset pagination compares them as text) and microseconds survive every backend; naive
datetimes are refused. Reading a document gives timezone-aware UTC datetimes back.

The SQLite backend stores nested parts (``canvas``, ``detail``, a cluster's ``last_probe``, a run's
``node_states``, ``logs``, ``pruned``, ``warnings`` and ``trigger_data``, a step output's ``output``, a
node health's ``facts``, an exec ticket's ``command``) as JSON text with :func:`dumps` and :func:`loads`;
the MongoDB backend stores documents as they are, with ``"id"`` renamed to ``"_id"`` (and canvases,
health facts, trigger data and step outputs as JSON text, see :mod:`app.store.mongo.documents`). Tuples
of the domain are lists in a document and tuples again when read. A run document without ``kind``
(written before flow runs existed) is a DEPLOY run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.domain.audit import AuditEntry, AuditOutcome
from app.domain.clusters import Cluster, ClusterAuthType, ClusterProbe
from app.domain.health import Health, HealthStatus
from app.domain.live import ExecTicket, Lease, NodeHealth
from app.domain.runs import (
    AppliedObject,
    NodeRunState,
    NodeRunStatus,
    ObjectAction,
    Run,
    RunKind,
    RunLogLine,
    RunStatus,
    StepLogLine,
    StepOutcome,
    StepOutputRecord,
    TriggerKind,
)
from app.domain.users import Session, User, UserRole
from app.domain.versions import Version
from app.domain.workflows import Canvas, Edge, Node, Position, Workflow, WorkflowStatus, WorkflowType
from app.domain.workspaces import MemberRole, Membership, Workspace

Document = dict[str, Any]


def encode_datetime(value: datetime) -> str:
    """A timezone-aware datetime as a fixed-width UTC string; naive datetimes are a ``ValueError``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: use a timezone-aware one")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def decode_datetime(value: str) -> datetime:
    """The datetime written by :func:`encode_datetime`, timezone-aware in UTC."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def encode_optional_datetime(value: datetime | None) -> str | None:
    return None if value is None else encode_datetime(value)


def decode_optional_datetime(value: str | None) -> datetime | None:
    return None if value is None else decode_datetime(value)


def dumps(value: Any) -> str:
    """Compact JSON text; NaN and infinities are refused, as JSON has no spelling for them."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def loads(text: str) -> Any:
    return json.loads(text)


# Canvas ------------------------------------------------------------------------------------------------


def canvas_to_doc(canvas: Canvas) -> Document:
    return {
        "nodes": [
            {
                "id": node.id,
                "kind": node.kind,
                "position": {"x": node.position.x, "y": node.position.y},
                "data": dict(node.data),
            }
            for node in canvas.nodes
        ],
        "edges": [
            {
                "id": edge.id,
                "source": edge.source,
                "target": edge.target,
                "source_handle": edge.source_handle,
                "target_handle": edge.target_handle,
            }
            for edge in canvas.edges
        ],
    }


def canvas_from_doc(doc: Mapping[str, Any]) -> Canvas:
    return Canvas(
        nodes=tuple(
            Node(
                id=node["id"],
                kind=node["kind"],
                position=Position(x=float(node["position"]["x"]), y=float(node["position"]["y"])),
                data=dict(node.get("data") or {}),
            )
            for node in doc.get("nodes", ())
        ),
        edges=tuple(
            Edge(
                id=edge["id"],
                source=edge["source"],
                target=edge["target"],
                source_handle=edge.get("source_handle"),
                target_handle=edge.get("target_handle"),
            )
            for edge in doc.get("edges", ())
        ),
    )


# Users and sessions ------------------------------------------------------------------------------------


def user_to_doc(user: User) -> Document:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "password_hash": user.password_hash,
        "role": user.role.value,
        "disabled": user.disabled,
        "created_at": encode_datetime(user.created_at),
        "updated_at": encode_datetime(user.updated_at),
    }


def user_from_doc(doc: Mapping[str, Any]) -> User:
    return User(
        id=doc["id"],
        email=doc["email"],
        name=doc["name"],
        password_hash=doc["password_hash"],
        role=UserRole(doc["role"]),
        disabled=bool(doc["disabled"]),
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
    )


def session_to_doc(session: Session) -> Document:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "created_at": encode_datetime(session.created_at),
        "revoked_at": encode_optional_datetime(session.revoked_at),
    }


def session_from_doc(doc: Mapping[str, Any]) -> Session:
    return Session(
        id=doc["id"],
        user_id=doc["user_id"],
        created_at=decode_datetime(doc["created_at"]),
        revoked_at=decode_optional_datetime(doc.get("revoked_at")),
    )


# Workspaces and memberships ----------------------------------------------------------------------------


def workspace_to_doc(workspace: Workspace) -> Document:
    return {
        "id": workspace.id,
        "name": workspace.name,
        "personal": workspace.personal,
        "created_by": workspace.created_by,
        "created_at": encode_datetime(workspace.created_at),
    }


def workspace_from_doc(doc: Mapping[str, Any]) -> Workspace:
    return Workspace(
        id=doc["id"],
        name=doc["name"],
        personal=bool(doc["personal"]),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
    )


def membership_to_doc(membership: Membership) -> Document:
    """A membership has no id of its own: ``(workspace_id, user_id)`` is its key."""
    return {
        "workspace_id": membership.workspace_id,
        "user_id": membership.user_id,
        "role": membership.role.value,
        "created_at": encode_datetime(membership.created_at),
    }


def membership_from_doc(doc: Mapping[str, Any]) -> Membership:
    return Membership(
        workspace_id=doc["workspace_id"],
        user_id=doc["user_id"],
        role=MemberRole(doc["role"]),
        created_at=decode_datetime(doc["created_at"]),
    )


# Workflows and versions --------------------------------------------------------------------------------


def workflow_to_doc(workflow: Workflow) -> Document:
    return {
        "id": workflow.id,
        "workspace_id": workflow.workspace_id,
        "name": workflow.name,
        "description": workflow.description,
        "status": workflow.status.value,
        "type": workflow.type.value,
        "namespace": workflow.namespace,
        "cluster_id": workflow.cluster_id,
        "canvas": canvas_to_doc(workflow.canvas),
        "revision": workflow.revision,
        "created_by": workflow.created_by,
        "created_at": encode_datetime(workflow.created_at),
        "updated_at": encode_datetime(workflow.updated_at),
    }


def workflow_from_doc(doc: Mapping[str, Any]) -> Workflow:
    return Workflow(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        description=doc["description"],
        status=WorkflowStatus(doc["status"]),
        namespace=doc["namespace"],
        cluster_id=doc.get("cluster_id"),
        canvas=canvas_from_doc(doc["canvas"]),
        type=WorkflowType(doc.get("type") or WorkflowType.TOPOLOGY.value),
        revision=int(doc["revision"]),
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
    )


def version_to_doc(version: Version) -> Document:
    return {
        "id": version.id,
        "workflow_id": version.workflow_id,
        "workspace_id": version.workspace_id,
        "number": version.number,
        "canvas": canvas_to_doc(version.canvas),
        "tag": version.tag,
        "description": version.description,
        "created_by": version.created_by,
        "created_at": encode_datetime(version.created_at),
        "restored_from": version.restored_from,
    }


def version_from_doc(doc: Mapping[str, Any]) -> Version:
    restored_from = doc.get("restored_from")
    return Version(
        id=doc["id"],
        workflow_id=doc["workflow_id"],
        workspace_id=doc["workspace_id"],
        number=int(doc["number"]),
        canvas=canvas_from_doc(doc["canvas"]),
        tag=doc.get("tag"),
        description=doc["description"],
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        restored_from=None if restored_from is None else int(restored_from),
    )


# Audit -------------------------------------------------------------------------------------------------


def audit_to_doc(entry: AuditEntry) -> Document:
    return {
        "id": entry.id,
        "at": encode_datetime(entry.at),
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "workspace_id": entry.workspace_id,
        "outcome": entry.outcome.value,
        "error_code": entry.error_code,
        "detail": dict(entry.detail),
        "address": entry.address,
        "user_agent": entry.user_agent,
    }


def audit_from_doc(doc: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=doc["id"],
        at=decode_datetime(doc["at"]),
        actor_id=doc.get("actor_id"),
        action=doc["action"],
        target_type=doc["target_type"],
        target_id=doc.get("target_id"),
        workspace_id=doc.get("workspace_id"),
        outcome=AuditOutcome(doc["outcome"]),
        error_code=doc.get("error_code"),
        detail={str(key): str(value) for key, value in (doc.get("detail") or {}).items()},
        address=doc.get("address"),
        user_agent=doc.get("user_agent"),
    )


# Clusters ----------------------------------------------------------------------------------------------


def probe_to_doc(probe: ClusterProbe) -> Document:
    return {
        "reachable": probe.reachable,
        "server_version": probe.server_version,
        "reason": probe.reason,
        "checked_at": encode_datetime(probe.checked_at),
    }


def probe_from_doc(doc: Mapping[str, Any]) -> ClusterProbe:
    return ClusterProbe(
        reachable=bool(doc["reachable"]),
        server_version=doc.get("server_version"),
        reason=doc.get("reason"),
        checked_at=decode_datetime(doc["checked_at"]),
    )


def cluster_to_doc(cluster: Cluster) -> Document:
    """The credentials stay the opaque ciphertext the service made; the store never sees plaintext."""
    return {
        "id": cluster.id,
        "workspace_id": cluster.workspace_id,
        "name": cluster.name,
        "description": cluster.description,
        "auth_type": cluster.auth_type.value,
        "server": cluster.server,
        "credentials_ciphertext": cluster.credentials_ciphertext,
        "created_by": cluster.created_by,
        "created_at": encode_datetime(cluster.created_at),
        "updated_at": encode_datetime(cluster.updated_at),
        "last_probe": None if cluster.last_probe is None else probe_to_doc(cluster.last_probe),
    }


def cluster_from_doc(doc: Mapping[str, Any]) -> Cluster:
    last_probe = doc.get("last_probe")
    return Cluster(
        id=doc["id"],
        workspace_id=doc["workspace_id"],
        name=doc["name"],
        description=doc["description"],
        auth_type=ClusterAuthType(doc["auth_type"]),
        server=doc["server"],
        credentials_ciphertext=doc["credentials_ciphertext"],
        created_by=doc["created_by"],
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
        last_probe=None if last_probe is None else probe_from_doc(last_probe),
    )


# Runs --------------------------------------------------------------------------------------------------


def applied_object_to_doc(obj: AppliedObject) -> Document:
    return {
        "api_version": obj.api_version,
        "kind": obj.kind,
        "name": obj.name,
        "namespace": obj.namespace,
        "action": obj.action.value,
        "uid": obj.uid,
        "resource_version": obj.resource_version,
    }


def applied_object_from_doc(doc: Mapping[str, Any]) -> AppliedObject:
    return AppliedObject(
        api_version=doc["api_version"],
        kind=doc["kind"],
        name=doc["name"],
        namespace=doc.get("namespace"),
        action=ObjectAction(doc["action"]),
        uid=doc.get("uid"),
        resource_version=doc.get("resource_version"),
    )


def node_state_to_doc(state: NodeRunState) -> Document:
    return {
        "node_id": state.node_id,
        "status": state.status.value,
        "message": state.message,
        "objects": [applied_object_to_doc(obj) for obj in state.objects],
        "updated_at": encode_optional_datetime(state.updated_at),
        "step": step_outcome_to_doc(state.step) if state.step else None,
    }


def node_state_from_doc(doc: Mapping[str, Any]) -> NodeRunState:
    step = doc.get("step")
    return NodeRunState(
        node_id=doc["node_id"],
        status=NodeRunStatus(doc["status"]),
        message=doc.get("message"),
        objects=tuple(applied_object_from_doc(obj) for obj in doc.get("objects") or ()),
        updated_at=decode_optional_datetime(doc.get("updated_at")),
        step=step_outcome_from_doc(step) if step else None,
    )


def step_outcome_to_doc(outcome: StepOutcome) -> Document:
    """A flow step's outcome inside its node state (``output`` is JSON already, bounded by the engine)."""
    return {
        "attempt": outcome.attempt,
        "started_at": encode_optional_datetime(outcome.started_at),
        "finished_at": encode_optional_datetime(outcome.finished_at),
        "port": outcome.port,
        "output": outcome.output,
        "output_size": outcome.output_size,
        "error_kind": outcome.error_kind,
        "error_stage": outcome.error_stage,
        "error": outcome.error,
    }


def step_outcome_from_doc(doc: Mapping[str, Any]) -> StepOutcome:
    return StepOutcome(
        attempt=int(doc.get("attempt") or 0),
        started_at=decode_optional_datetime(doc.get("started_at")),
        finished_at=decode_optional_datetime(doc.get("finished_at")),
        port=doc.get("port"),
        output=doc.get("output"),
        output_size=int(doc.get("output_size") or 0),
        error_kind=doc.get("error_kind"),
        error_stage=doc.get("error_stage"),
        error=doc.get("error"),
    )


def log_line_to_doc(line: RunLogLine) -> Document:
    return {
        "at": encode_datetime(line.at),
        "level": line.level,
        "message": line.message,
        "node_id": line.node_id,
    }


def log_line_from_doc(doc: Mapping[str, Any]) -> RunLogLine:
    return RunLogLine(
        at=decode_datetime(doc["at"]),
        level=doc["level"],
        message=doc["message"],
        node_id=doc.get("node_id"),
    )


def run_to_doc(run: Run) -> Document:
    return {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "workspace_id": run.workspace_id,
        "cluster_id": run.cluster_id,
        "version": run.version,
        "status": run.status.value,
        "triggered_by": run.triggered_by.value,
        "started_by": run.started_by,
        "started_at": encode_datetime(run.started_at),
        "owner": run.owner,
        "heartbeat_at": encode_datetime(run.heartbeat_at),
        "completed_at": encode_optional_datetime(run.completed_at),
        "node_states": [node_state_to_doc(state) for state in run.node_states],
        "logs": [log_line_to_doc(line) for line in run.logs],
        "pruned": [applied_object_to_doc(obj) for obj in run.pruned],
        "error": run.error,
        "cancel_requested": run.cancel_requested,
        "warnings": list(run.warnings),
        "kind": run.kind.value,
        "trigger_data": run.trigger_data,
        "trigger_id": run.trigger_id,
    }


def run_from_doc(doc: Mapping[str, Any]) -> Run:
    return Run(
        id=doc["id"],
        workflow_id=doc["workflow_id"],
        workspace_id=doc["workspace_id"],
        cluster_id=doc["cluster_id"],
        version=int(doc["version"]),
        status=RunStatus(doc["status"]),
        triggered_by=TriggerKind(doc["triggered_by"]),
        started_by=doc["started_by"],
        started_at=decode_datetime(doc["started_at"]),
        owner=doc["owner"],
        heartbeat_at=decode_datetime(doc["heartbeat_at"]),
        completed_at=decode_optional_datetime(doc.get("completed_at")),
        node_states=tuple(node_state_from_doc(state) for state in doc.get("node_states") or ()),
        logs=tuple(log_line_from_doc(line) for line in doc.get("logs") or ()),
        pruned=tuple(applied_object_from_doc(obj) for obj in doc.get("pruned") or ()),
        error=doc.get("error"),
        cancel_requested=bool(doc.get("cancel_requested", False)),
        warnings=tuple(str(warning) for warning in doc.get("warnings") or ()),
        kind=RunKind(doc.get("kind") or RunKind.DEPLOY.value),
        trigger_data=doc.get("trigger_data"),
        trigger_id=doc.get("trigger_id"),
    )


def step_output_to_doc(record: StepOutputRecord) -> Document:
    """An output posted back by a flow step; ``(run_id, node_id, attempt)`` is its key."""
    return {
        "run_id": record.run_id,
        "node_id": record.node_id,
        "attempt": record.attempt,
        "output": record.output,
        "size": record.size,
        "received_at": encode_datetime(record.received_at),
    }


def step_output_from_doc(doc: Mapping[str, Any]) -> StepOutputRecord:
    return StepOutputRecord(
        run_id=doc["run_id"],
        node_id=doc["node_id"],
        attempt=int(doc["attempt"]),
        output=doc.get("output"),
        size=int(doc["size"]),
        received_at=decode_datetime(doc["received_at"]),
    )


def step_log_line_to_doc(run_id: str, node_id: str, line: StepLogLine) -> Document:
    """One line of a step's log; ``(run_id, node_id, seq)`` is its key."""
    return {
        "run_id": run_id,
        "node_id": node_id,
        "seq": line.seq,
        "at": encode_datetime(line.at),
        "attempt": line.attempt,
        "level": line.level,
        "message": line.message,
    }


def step_log_line_from_doc(doc: Mapping[str, Any]) -> StepLogLine:
    return StepLogLine(
        seq=int(doc["seq"]),
        at=decode_datetime(doc["at"]),
        attempt=int(doc["attempt"]),
        level=doc["level"],
        message=doc["message"],
    )


# Live state: node health, leases, exec tickets -----------------------------------------------------------


def node_health_to_doc(entry: NodeHealth) -> Document:
    """A node's health has no id of its own: ``(workflow_id, node_id)`` is its key. ``facts`` is the
    free-form, JSON-safe mapping of the assessment (backends store it as JSON text)."""
    return {
        "workflow_id": entry.workflow_id,
        "node_id": entry.node_id,
        "status": entry.health.status.value,
        "message": entry.health.message,
        "facts": dict(entry.health.facts),
        "updated_at": encode_datetime(entry.updated_at),
    }


def node_health_from_doc(doc: Mapping[str, Any]) -> NodeHealth:
    return NodeHealth(
        workflow_id=doc["workflow_id"],
        node_id=doc["node_id"],
        health=Health(
            status=HealthStatus(doc["status"]),
            message=doc.get("message") or "",
            facts=dict(doc.get("facts") or {}),
        ),
        updated_at=decode_datetime(doc["updated_at"]),
    )


def lease_to_doc(lease: Lease) -> Document:
    """A lease's ``name`` is its key."""
    return {"name": lease.name, "owner": lease.owner, "expires_at": encode_datetime(lease.expires_at)}


def lease_from_doc(doc: Mapping[str, Any]) -> Lease:
    return Lease(name=doc["name"], owner=doc["owner"], expires_at=decode_datetime(doc["expires_at"]))


def exec_ticket_to_doc(ticket: ExecTicket) -> Document:
    return {
        "id": ticket.id,
        "user_id": ticket.user_id,
        "session_id": ticket.session_id,
        "workflow_id": ticket.workflow_id,
        "workspace_id": ticket.workspace_id,
        "node_id": ticket.node_id,
        "namespace": ticket.namespace,
        "pod": ticket.pod,
        "container": ticket.container,
        "command": list(ticket.command),
        "expires_at": encode_datetime(ticket.expires_at),
    }


def exec_ticket_from_doc(doc: Mapping[str, Any]) -> ExecTicket:
    return ExecTicket(
        id=doc["id"],
        user_id=doc["user_id"],
        session_id=doc["session_id"],
        workflow_id=doc["workflow_id"],
        workspace_id=doc["workspace_id"],
        node_id=doc["node_id"],
        namespace=doc["namespace"],
        pod=doc["pod"],
        container=doc["container"],
        command=tuple(str(part) for part in doc.get("command") or ()),
        expires_at=decode_datetime(doc["expires_at"]),
    )
