"""Trigger queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app import errors
from app.domain.runs import TriggerKind as DomainTriggerKind
from app.domain.triggers import Trigger as DomainTrigger
from app.domain.triggers import TriggerConfig
from app.services.triggers import TriggerChange
from schema.context import Info
from schema.triggers.types import (
    CreateTriggerInput,
    CreateTriggerPayload,
    DeleteTriggerInput,
    DeleteTriggerPayload,
    RunCompletedTriggerInput,
    ScheduleTriggerInput,
    Trigger,
    UpdateTriggerInput,
    UpdateTriggerPayload,
    WebhookTriggerInput,
)


def _view(info: Info, trigger: DomainTrigger) -> Trigger:
    services = info.context.services
    return Trigger.from_domain(trigger, url=services.triggers.hook_url(trigger), now=services.triggers.now())


def _config(
    webhook: WebhookTriggerInput | None,
    schedule: ScheduleTriggerInput | None,
    run_completed: RunCompletedTriggerInput | None,
) -> TriggerConfig | None:
    given = [c for c in (webhook, schedule, run_completed) if c is not None]
    if len(given) > 1:
        raise errors.Invalid.field("input", "give the settings of one kind only")
    return given[0].to_domain() if given else None


@strawberry.type
class TriggerQuery:
    @strawberry.field(description="A flow's triggers, oldest first.")
    async def triggers(
        self,
        info: Info,
        workflow_id: Annotated[strawberry.ID, strawberry.argument(description="The flow.")],
    ) -> list[Trigger]:
        principal = await info.context.principal()
        found = await info.context.services.triggers.list(principal, str(workflow_id))
        return [_view(info, t) for t in found]


@strawberry.type
class TriggerMutation:
    @strawberry.mutation(description="Add a WEBHOOK, SCHEDULE or RUN_COMPLETED trigger to a flow.")
    async def create_trigger(self, info: Info, input: CreateTriggerInput) -> CreateTriggerPayload:
        principal = await info.context.principal()
        change = TriggerChange(
            name=input.name,
            enabled=input.enabled,
            config=_config(input.webhook, input.schedule, input.run_completed),
        )
        trigger, secret = await info.context.services.triggers.create(
            principal, str(input.workflow_id), DomainTriggerKind(input.kind.value), change
        )
        return CreateTriggerPayload(trigger=_view(info, trigger), secret=secret)

    @strawberry.mutation(description="Rename, enable or disable a trigger, or change its settings.")
    async def update_trigger(self, info: Info, input: UpdateTriggerInput) -> UpdateTriggerPayload:
        principal = await info.context.principal()
        change = TriggerChange(
            name=input.name,
            enabled=input.enabled,
            config=_config(input.webhook, input.schedule, input.run_completed),
        )
        trigger = await info.context.services.triggers.update(principal, str(input.id), change)
        return UpdateTriggerPayload(trigger=_view(info, trigger))

    @strawberry.mutation(description="Delete a trigger.")
    async def delete_trigger(self, info: Info, input: DeleteTriggerInput) -> DeleteTriggerPayload:
        principal = await info.context.principal()
        await info.context.services.triggers.delete(principal, str(input.id))
        return DeleteTriggerPayload(deleted_trigger_id=input.id)
