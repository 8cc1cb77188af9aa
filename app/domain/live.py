"""Live state kept between watch events: each deployed node's health, leases on cluster watches,
and single-use exec tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.health import Health


@dataclass(frozen=True, slots=True)
class NodeHealth:
    workflow_id: str
    node_id: str
    health: Health
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """Who owns a named piece of work (a cluster's watches) until when; taken over once expired."""

    name: str
    owner: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ExecTicket:
    """A single-use pass to open one terminal, bound to a user and a target, valid briefly."""

    id: str  # a long random secret; it is the ticket
    user_id: str
    session_id: str
    workflow_id: str
    workspace_id: str
    node_id: str
    namespace: str
    pod: str
    container: str
    command: tuple[str, ...]
    expires_at: datetime
