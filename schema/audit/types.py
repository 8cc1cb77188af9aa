"""Audit entries as the API shows them, and the filter of `auditEvents`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain.audit import AuditEntry
from app.domain.audit import AuditFilter as DomainAuditFilter
from app.domain.audit import AuditOutcome as DomainAuditOutcome
from schema.auth.types import User
from schema.context import Info


@strawberry.enum(description="How an audited operation ended.")
class AuditOutcome(Enum):
    SUCCESS = strawberry.enum_value("SUCCESS", description="It did what was asked.")
    FAILURE = strawberry.enum_value("FAILURE", description="It was refused or failed: see `errorCode`.")


@strawberry.type(description="One fact about an audited operation (never a secret).")
class AuditDetail:
    key: str = strawberry.field(description="What the fact is about, e.g. `from`, `status`.")
    value: str = strawberry.field(description="Its value.")


@strawberry.type(
    description="One state-changing operation: who did what to which target, when, from where, and how it "
    "ended. Secrets never appear in it."
)
class AuditEvent:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    at: datetime = strawberry.field(description="When it happened.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="Who did it; null for an anonymous attempt (a failed sign-in)."
    )
    action: str = strawberry.field(description='What was done, a dotted verb: "workflow.save", "auth.login".')
    target_type: str = strawberry.field(
        description='The kind of thing acted on: "workflow", "cluster", "user".'
    )
    target_id: strawberry.ID | None = strawberry.field(description="The thing acted on, when known.")
    workspace_id: strawberry.ID | None = strawberry.field(
        description="The workspace it happened in; null for account-level operations (sign-ins)."
    )
    outcome: AuditOutcome = strawberry.field(description="How it ended.")
    error_code: str | None = strawberry.field(
        description="The `ErrorCode` of a failure (e.g. `FORBIDDEN`, `UNAUTHENTICATED`)."
    )
    address: str | None = strawberry.field(
        description="The client's IP address (behind the trusted proxies of `TRELLIS_TRUSTED_PROXIES`); null "
        "for work the server started itself."
    )
    user_agent: str | None = strawberry.field(description="The client's User-Agent, cut to 256 characters.")
    detail: list[AuditDetail] = strawberry.field(description="Further facts, by key.")

    @strawberry.field(description="Who did it, while the account exists.")
    async def actor(self, info: Info) -> User | None:
        if self.actor_id is None:
            return None
        user = await info.context.loaders.users.load(str(self.actor_id))
        return User.from_domain(user) if user else None

    @classmethod
    def from_domain(cls, entry: AuditEntry) -> AuditEvent:
        return cls(
            id=strawberry.ID(entry.id),
            at=entry.at,
            actor_id=None if entry.actor_id is None else strawberry.ID(entry.actor_id),
            action=entry.action,
            target_type=entry.target_type,
            target_id=None if entry.target_id is None else strawberry.ID(entry.target_id),
            workspace_id=None if entry.workspace_id is None else strawberry.ID(entry.workspace_id),
            outcome=AuditOutcome[entry.outcome.value],
            error_code=entry.error_code,
            address=entry.address,
            user_agent=entry.user_agent,
            detail=[AuditDetail(key=key, value=value) for key, value in sorted(entry.detail.items())],
        )


@strawberry.input(description="Which audit events to list; every field given must match.")
class AuditEventFilter:
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="Only this user's events.")
    action: str | None = strawberry.field(
        default=None,
        description='Only actions starting with this, e.g. "workflow." for every workflow operation, or '
        '"auth.login" for one action.',
    )
    target_type: str | None = strawberry.field(default=None, description="Only events on this kind of thing.")
    target_id: strawberry.ID | None = strawberry.field(default=None, description="Only events on this thing.")
    outcome: AuditOutcome | None = strawberry.field(default=None, description="Only successes, or failures.")
    since: datetime | None = strawberry.field(
        default=None, name="from", description="Only events at or after this time."
    )
    until: datetime | None = strawberry.field(
        default=None, name="to", description="Only events before this time."
    )

    def to_domain(self) -> DomainAuditFilter:
        return DomainAuditFilter(
            actor_id=str(self.actor_id) if self.actor_id is not None else None,
            action_prefix=self.action or None,
            target_type=self.target_type or None,
            target_id=str(self.target_id) if self.target_id is not None else None,
            outcome=DomainAuditOutcome(self.outcome.name) if self.outcome is not None else None,
            since=self.since,
            until=self.until,
        )
