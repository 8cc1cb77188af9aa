"""The audit trail: who did what to which target, when, and how it ended. Never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AuditOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: datetime
    actor_id: str | None  # None for anonymous attempts (a failed login)
    action: str  # dotted verb: "workflow.create", "auth.login"
    target_type: str
    target_id: str | None
    workspace_id: str | None
    outcome: AuditOutcome
    error_code: str | None = None
    detail: dict[str, str] = field(default_factory=dict)
