"""Workflows: a canvas of nodes (Kubernetes resources, or flow steps) and edges (their relations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class WorkflowStatus(StrEnum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


# DRAFT ⇄ PUBLISHED, DRAFT or PUBLISHED → ARCHIVED, ARCHIVED → DRAFT.
STATUS_TRANSITIONS: dict[WorkflowStatus, frozenset[WorkflowStatus]] = {
    WorkflowStatus.DRAFT: frozenset({WorkflowStatus.PUBLISHED, WorkflowStatus.ARCHIVED}),
    WorkflowStatus.PUBLISHED: frozenset({WorkflowStatus.DRAFT, WorkflowStatus.ARCHIVED}),
    WorkflowStatus.ARCHIVED: frozenset({WorkflowStatus.DRAFT}),
}


class WorkflowType(StrEnum):
    """What a workflow's canvas holds, fixed at creation: Kubernetes resources deployed together
    (``TOPOLOGY``) or steps run in order by the flow engine (``FLOW``, node kinds of ``app.domain.flows``)."""

    TOPOLOGY = "TOPOLOGY"
    FLOW = "FLOW"


def can_transition(current: WorkflowStatus, target: WorkflowStatus) -> bool:
    return target == current or target in STATUS_TRANSITIONS[current]


@dataclass(frozen=True, slots=True)
class Position:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Node:
    """A resource on the canvas. ``kind`` is a node kind name (``Deployment``); ``data`` its fields."""

    id: str
    kind: str
    position: Position
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Edge:
    """A relation ``source → target``; handles carry an Ingress path id or a NetworkPolicy rule id."""

    id: str
    source: str
    target: str
    source_handle: str | None = None
    target_handle: str | None = None


@dataclass(frozen=True, slots=True)
class Canvas:
    nodes: tuple[Node, ...] = ()
    edges: tuple[Edge, ...] = ()


@dataclass(frozen=True, slots=True)
class Workflow:
    id: str
    workspace_id: str
    name: str
    description: str
    status: WorkflowStatus
    namespace: str
    cluster_id: str | None
    canvas: Canvas
    revision: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    type: WorkflowType = WorkflowType.TOPOLOGY


@dataclass(frozen=True, slots=True)
class WorkflowFilter:
    status: WorkflowStatus | None = None
    type: WorkflowType | None = None
    name_contains: str | None = None
    workspace_id: str | None = None
