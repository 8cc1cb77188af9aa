"""Run queries and mutations, and Secret values."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import strawberry

from app import errors
from app.services.runs import run_cursor
from schema.connections import Connection, connection
from schema.context import Info
from schema.runs.types import (
    CancelRunInput,
    CancelRunPayload,
    RetryStepInput,
    RetryStepPayload,
    Run,
    RunWorkflowInput,
    RunWorkflowPayload,
    SecretKeys,
    SetSecretValuesInput,
    SetSecretValuesPayload,
    StepLogEvent,
)


@strawberry.type
class RunQuery:
    @strawberry.field(description="Runs of a workflow, newest first.")
    async def runs(
        self,
        info: Info,
        workflow_id: strawberry.ID,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Connection[Run]:
        principal = await info.context.principal()
        page = await info.context.services.runs.page(principal, workflow_id, first=first, after=after)
        return connection(page, Run.from_domain, run_cursor, after=after)

    @strawberry.field(description="One run.")
    async def run(self, info: Info, id: strawberry.ID) -> Run:
        principal = await info.context.principal()
        return Run.from_domain(await info.context.services.runs.get(principal, id))

    @strawberry.field(description="Key names of each Secret node that has stored values (never the values).")
    async def secret_keys(self, info: Info, workflow_id: strawberry.ID) -> list[SecretKeys]:
        principal = await info.context.principal()
        names = await info.context.services.secret_values.key_names(principal, workflow_id)
        return [SecretKeys(node_id=strawberry.ID(node), keys=keys) for node, keys in sorted(names.items())]


@strawberry.type
class RunMutation:
    @strawberry.mutation(
        description="Deploy the workflow: snapshot a version, then apply it in the background."
    )
    async def run_workflow(self, info: Info, input: RunWorkflowInput) -> RunWorkflowPayload:
        principal = await info.context.principal()
        trigger = input.trigger_data
        if trigger is not None and not isinstance(trigger, dict):
            raise errors.Invalid.field("triggerData", "must be an object")
        run = await info.context.services.runs.start(principal, input.id, trigger_data=trigger)
        return RunWorkflowPayload(run=Run.from_domain(run))

    @strawberry.mutation(
        description="Stop a run between waves; it ends CANCELLED with what was applied kept."
    )
    async def cancel_run(self, info: Info, input: CancelRunInput) -> CancelRunPayload:
        principal = await info.context.principal()
        return CancelRunPayload(
            run=Run.from_domain(await info.context.services.runs.cancel(principal, input.id))
        )

    @strawberry.mutation(
        description="Run a FAILED or CANCELLED step of a finished flow run again, with everything after "
        "it, as new attempts of the same run (the outputs of the steps before it are reused)."
    )
    async def retry_step(self, info: Info, input: RetryStepInput) -> RetryStepPayload:
        principal = await info.context.principal()
        run = await info.context.services.runs.retry_step(principal, str(input.run_id), str(input.node_id))
        return RetryStepPayload(run=Run.from_domain(run))

    @strawberry.mutation(description="Store the values of a Secret node, encrypted. They are never returned.")
    async def set_secret_values(self, info: Info, input: SetSecretValuesInput) -> SetSecretValuesPayload:
        principal = await info.context.principal()
        values = {item.key: item.value for item in input.values}
        if len(values) != len(input.values):
            raise errors.Invalid.field("values", "each key may appear once")
        keys = await info.context.services.secret_values.set_values(
            principal, input.workflow_id, input.node_id, values
        )
        return SetSecretValuesPayload(secret=SecretKeys(node_id=input.node_id, keys=keys))


@strawberry.type
class RunSubscription:
    @strawberry.subscription(
        description="The log of one step of a flow run: every stored line first (a marker where older ones "
        "were trimmed), then new lines as they come, then COMPLETE once the step has ended."
    )
    async def step_logs(
        self,
        info: Info,
        run_id: Annotated[strawberry.ID, strawberry.argument(description="The flow run.")],
        node_id: Annotated[strawberry.ID, strawberry.argument(description="The step.")],
    ) -> AsyncGenerator[StepLogEvent, None]:
        principal = await info.context.principal()
        updates = info.context.services.runs.step_logs(
            principal, str(run_id), str(node_id), info.context.reauthorize
        )
        async with aclosing(updates) as stream:
            async for update in stream:
                yield StepLogEvent.from_domain(update)
