"""Flow triggers: what starts a flow's run besides a person."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.domain import runs as domain_runs
from app.domain import triggers as domain
from schema.runs.types import RunStatus, TriggerKind


@strawberry.enum(
    description="How a webhook call proves where it comes from: SECRET_HEADER (the secret in "
    "`X-Trellis-Webhook-Secret`), GITHUB (`X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`), STRIPE "
    '(`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">`, the time within the tolerance).'
)
class WebhookAuth(Enum):
    SECRET_HEADER = "SECRET_HEADER"
    GITHUB = "GITHUB"
    STRIPE = "STRIPE"


@strawberry.enum(
    description="Fire times missed while no server ran: SKIP them, or RUN_ONCE for all of them together."
)
class MissedFirePolicy(Enum):
    SKIP = "SKIP"
    RUN_ONCE = "RUN_ONCE"


@strawberry.type(description="A WEBHOOK trigger's settings (its secret is shown only by `createTrigger`).")
class WebhookTriggerConfig:
    auth: WebhookAuth = strawberry.field(description="How calls are checked.")
    pass_headers: list[str] = strawberry.field(
        description="Request headers (lower case) copied into the run's trigger data."
    )
    url: str = strawberry.field(description="Where to POST: `<public URL>/v1/hooks/<trigger id>`.")


@strawberry.type(description="A SCHEDULE trigger's settings.")
class ScheduleTriggerConfig:
    cron: str = strawberry.field(description="Five-field cron expression, e.g. `0 9 * * 1-5`.")
    time_zone: str = strawberry.field(description="IANA time zone the expression is read in.")
    missed_fire_policy: MissedFirePolicy = strawberry.field(description="What fire times missed become.")
    next_fire_times: list[datetime] = strawberry.field(description="The next five fire times.")


@strawberry.type(description="A RUN_COMPLETED trigger's settings.")
class RunCompletedTriggerConfig:
    source_workflow_id: strawberry.ID = strawberry.field(description="The workflow whose runs are watched.")
    statuses: list[RunStatus] = strawberry.field(description="The end statuses that fire it.")


@strawberry.type(description="Something that starts a flow's runs: a webhook, a schedule or another run.")
class Trigger:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    workflow_id: strawberry.ID = strawberry.field(description="The flow it starts.")
    kind: TriggerKind = strawberry.field(description="WEBHOOK, SCHEDULE or RUN_COMPLETED.")
    name: str = strawberry.field(description="A label.")
    enabled: bool = strawberry.field(description="A disabled trigger starts nothing (a webhook answers 404).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it was last changed.")
    last_fired_at: datetime | None = strawberry.field(description="When it last started a run.")
    last_run_id: strawberry.ID | None = strawberry.field(description="The run it last started.")
    webhook: WebhookTriggerConfig | None = strawberry.field(description="WEBHOOK settings.")
    schedule: ScheduleTriggerConfig | None = strawberry.field(description="SCHEDULE settings.")
    run_completed: RunCompletedTriggerConfig | None = strawberry.field(description="RUN_COMPLETED settings.")

    @classmethod
    def from_domain(cls, trigger: domain.Trigger, *, url: str | None, now: datetime) -> Trigger:
        config = trigger.config
        webhook = schedule = run_completed = None
        if isinstance(config, domain.WebhookConfig):
            webhook = WebhookTriggerConfig(
                auth=WebhookAuth(config.auth.value), pass_headers=list(config.pass_headers), url=url or ""
            )
        elif isinstance(config, domain.ScheduleConfig):
            schedule = ScheduleTriggerConfig(
                cron=config.cron,
                time_zone=config.time_zone,
                missed_fire_policy=MissedFirePolicy(config.missed.value),
                next_fire_times=domain.fire_times(config, now, domain.NEXT_FIRES),
            )
        else:
            run_completed = RunCompletedTriggerConfig(
                source_workflow_id=strawberry.ID(config.source_workflow_id),
                statuses=[RunStatus(s.value) for s in config.statuses],
            )
        return cls(
            id=strawberry.ID(trigger.id),
            workflow_id=strawberry.ID(trigger.workflow_id),
            kind=TriggerKind(trigger.kind.value),
            name=trigger.name,
            enabled=trigger.enabled,
            created_at=trigger.created_at,
            updated_at=trigger.updated_at,
            last_fired_at=trigger.last_fired_at,
            last_run_id=strawberry.ID(trigger.last_run_id) if trigger.last_run_id else None,
            webhook=webhook,
            schedule=schedule,
            run_completed=run_completed,
        )


@strawberry.input(description="A WEBHOOK trigger's settings.")
class WebhookTriggerInput:
    auth: WebhookAuth = strawberry.field(
        default=WebhookAuth.SECRET_HEADER, description="How calls are checked."
    )
    pass_headers: list[str] = strawberry.field(
        default_factory=list,
        description="Request headers copied into the trigger data (not credential-looking ones), at most 20.",
    )

    def to_domain(self) -> domain.WebhookConfig:
        return domain.WebhookConfig(
            auth=domain.WebhookAuth(self.auth.value),
            pass_headers=tuple(dict.fromkeys(h.strip().lower() for h in self.pass_headers)),
        )


@strawberry.input(description="A SCHEDULE trigger's settings.")
class ScheduleTriggerInput:
    cron: str = strawberry.field(description="Five-field cron expression, e.g. `*/15 * * * *`.")
    time_zone: str = strawberry.field(default="UTC", description="IANA time zone, e.g. `Europe/Berlin`.")
    missed_fire_policy: MissedFirePolicy = strawberry.field(
        default=MissedFirePolicy.SKIP, description="What fire times missed while no server ran become."
    )

    def to_domain(self) -> domain.ScheduleConfig:
        return domain.ScheduleConfig(
            cron=self.cron.strip(),
            time_zone=self.time_zone.strip(),
            missed=domain.MissedFires(self.missed_fire_policy.value),
        )


@strawberry.input(description="A RUN_COMPLETED trigger's settings.")
class RunCompletedTriggerInput:
    source_workflow_id: strawberry.ID = strawberry.field(
        description="A workflow of the same workspace (not the flow itself)."
    )
    statuses: list[RunStatus] = strawberry.field(
        default_factory=lambda: [RunStatus.COMPLETED], description="The end statuses that fire it."
    )

    def to_domain(self) -> domain.RunCompletedConfig:
        return domain.RunCompletedConfig(
            source_workflow_id=str(self.source_workflow_id),
            statuses=tuple(dict.fromkeys(domain_runs.RunStatus(s.value) for s in self.statuses)),
        )


@strawberry.input(description="Add a trigger to a FLOW workflow; give the settings of its kind.")
class CreateTriggerInput:
    workflow_id: strawberry.ID = strawberry.field(description="The flow.")
    kind: TriggerKind = strawberry.field(description="WEBHOOK, SCHEDULE or RUN_COMPLETED.")
    name: str | None = strawberry.field(default=None, description="A label (default: the kind).")
    enabled: bool = strawberry.field(default=True, description="Whether it starts runs.")
    webhook: WebhookTriggerInput | None = strawberry.field(default=None, description="For WEBHOOK.")
    schedule: ScheduleTriggerInput | None = strawberry.field(default=None, description="For SCHEDULE.")
    run_completed: RunCompletedTriggerInput | None = strawberry.field(
        default=None, description="For RUN_COMPLETED."
    )


@strawberry.type(description="The result of `createTrigger`.")
class CreateTriggerPayload:
    trigger: Trigger = strawberry.field(description="The trigger as stored.")
    secret: str | None = strawberry.field(
        description="WEBHOOK only: the secret (the header value, or the HMAC key). Shown this once."
    )


@strawberry.input(description="Change a trigger; omitted fields stay. Its kind is fixed.")
class UpdateTriggerInput:
    id: strawberry.ID = strawberry.field(description="The trigger.")
    name: str | None = strawberry.field(default=None, description="A new label.")
    enabled: bool | None = strawberry.field(default=None, description="Enable or disable it.")
    webhook: WebhookTriggerInput | None = strawberry.field(
        default=None, description="New WEBHOOK settings (the secret stays)."
    )
    schedule: ScheduleTriggerInput | None = strawberry.field(
        default=None, description="New SCHEDULE settings."
    )
    run_completed: RunCompletedTriggerInput | None = strawberry.field(
        default=None, description="New RUN_COMPLETED settings."
    )


@strawberry.type(description="The result of `updateTrigger`.")
class UpdateTriggerPayload:
    trigger: Trigger = strawberry.field(description="The trigger as stored.")


@strawberry.input(description="Delete a trigger.")
class DeleteTriggerInput:
    id: strawberry.ID = strawberry.field(description="The trigger.")


@strawberry.type(description="The result of `deleteTrigger`.")
class DeleteTriggerPayload:
    deleted_trigger_id: strawberry.ID = strawberry.field(description="The id of the deleted trigger.")
