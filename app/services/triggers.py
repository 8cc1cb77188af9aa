"""Flow triggers: create, change, enable or disable, delete and list them; take a webhook call (checked,
de-duplicated by its delivery id, rate limited) and start its run; fire the RUN_COMPLETED triggers of a
workflow whose run ended. Schedules are fired by :mod:`app.services.trigger_schedule`.

A webhook's secret is generated here, returned once by ``create`` and stored encrypted with the keyring;
it never leaves this service otherwise."""

from __future__ import annotations

import json
import logging
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from app import errors
from app.auth.keyring import Keyring
from app.domain.ids import new_id
from app.domain.runs import Run, RunStatus, TriggerKind
from app.domain.triggers import (
    MAX_CHAIN,
    RunCompletedConfig,
    ScheduleConfig,
    SignatureRefused,
    Trigger,
    TriggerConfig,
    WebhookConfig,
    delivery_id,
    name_problem,
    pass_headers_problem,
    schedule_problem,
    statuses_problem,
    verify_call,
)
from app.domain.workflows import Workflow, WorkflowType
from app.domain.workspaces import Scope
from app.ports import Clock, TriggerStore, WorkflowStore
from app.services.auditing import Auditor
from app.services.flow_runs import FlowRunService
from app.services.principals import Principal

log = logging.getLogger(__name__)


class TriggerServiceStore(TriggerStore, WorkflowStore, Protocol):
    pass


@dataclass(frozen=True, slots=True)
class TriggerSettings:
    """``tolerance``: of a Stripe timestamp; ``max_body_bytes``: of a webhook call; ``rate_per_minute``:
    webhook calls per trigger per minute in this process; ``hook_url``: the public URL of a trigger's
    webhook with ``{trigger_id}`` in it."""

    tolerance: timedelta
    max_body_bytes: int
    rate_per_minute: int
    hook_url: str


@dataclass(frozen=True, slots=True)
class TriggerChange:
    """What ``createTrigger`` / ``updateTrigger`` send (``None``: unchanged, on update)."""

    name: str | None = None
    enabled: bool | None = None
    config: TriggerConfig | None = None


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """A webhook call's outcome: the run it started, or (``replay``) the run its first delivery did."""

    run_id: str
    replay: bool = False


class TriggerService:
    def __init__(
        self,
        *,
        store: TriggerServiceStore,
        flow_runs: FlowRunService,
        keyring: Keyring,
        clock: Clock,
        auditor: Auditor,
        settings: TriggerSettings,
    ) -> None:
        self._store = store
        self._flow_runs = flow_runs
        self._keyring = keyring
        self._clock = clock
        self._auditor = auditor
        self._settings = settings
        self._calls: dict[str, deque[datetime]] = {}

    @property
    def max_body_bytes(self) -> int:
        return self._settings.max_body_bytes

    def now(self) -> datetime:
        """The service's clock (schedules' next fire times are counted from it)."""
        return self._clock.now()

    def hook_url(self, trigger: Trigger) -> str | None:
        if trigger.kind is not TriggerKind.WEBHOOK:
            return None
        return self._settings.hook_url.format(trigger_id=trigger.id)

    # --- reading ---------------------------------------------------------------------------------------

    async def list(self, principal: Principal, workflow_id: str) -> list[Trigger]:
        if await self._store.get_workflow(principal.scope, workflow_id) is None:
            raise errors.NotFound("workflow", workflow_id)
        return await self._store.list_triggers(principal.scope, workflow_id)

    async def get(self, principal: Principal, trigger_id: str) -> Trigger:
        trigger = await self._store.get_trigger(principal.scope, trigger_id)
        if trigger is None:
            raise errors.NotFound("trigger", trigger_id)
        return trigger

    # --- changing --------------------------------------------------------------------------------------

    async def create(
        self, principal: Principal, workflow_id: str, kind: TriggerKind, change: TriggerChange
    ) -> tuple[Trigger, str | None]:
        """The trigger and, for a WEBHOOK, its secret in clear (shown this once)."""
        async with self._auditor.action(
            "trigger.create", actor_id=principal.user_id, target_type="trigger"
        ) as record:
            workflow = await self._flow(principal, workflow_id)
            record.workspace_id = workflow.workspace_id
            principal.require_write(workflow.workspace_id)
            if kind not in (TriggerKind.WEBHOOK, TriggerKind.SCHEDULE, TriggerKind.RUN_COMPLETED):
                raise errors.Invalid.field("kind", "a trigger is WEBHOOK, SCHEDULE or RUN_COMPLETED")
            config = change.config
            if config is None or _kind_of(config) is not kind:
                raise errors.Invalid.field(_config_field(kind), f"give the {kind.value} trigger's settings")
            name = change.name if change.name is not None else kind.value.lower().replace("_", " ")
            await self._check(principal, workflow, name, config)
            secret: str | None = None
            if isinstance(config, WebhookConfig):
                secret = "whsec_" + secrets.token_hex(24)
                config = replace(config, secret=self._keyring.encrypt(secret))
            now = self._clock.now()
            trigger = Trigger(
                id=new_id(),
                workflow_id=workflow.id,
                workspace_id=workflow.workspace_id,
                kind=kind,
                name=name,
                enabled=True if change.enabled is None else change.enabled,
                config=config,
                created_by=principal.user_id,
                created_at=now,
                updated_at=now,
                cursor_at=now if kind is TriggerKind.SCHEDULE else None,
            )
            await self._store.create_trigger(trigger)
            record.target_id = trigger.id
            record.detail = {"workflowId": workflow.id, "kind": kind.value}
            return trigger, secret

    async def update(self, principal: Principal, trigger_id: str, change: TriggerChange) -> Trigger:
        """Rename, enable or disable, or replace the config (of the same kind; a webhook keeps its
        secret). Enabling a schedule again starts it from now: the fire times while disabled are not
        made up."""
        async with self._auditor.action(
            "trigger.update", actor_id=principal.user_id, target_type="trigger", target_id=trigger_id
        ) as record:
            trigger = await self.get(principal, trigger_id)
            record.workspace_id = trigger.workspace_id
            principal.require_write(trigger.workspace_id)
            workflow = await self._flow(principal, trigger.workflow_id)
            config = change.config or trigger.config
            if _kind_of(config) is not trigger.kind:
                raise errors.Invalid.field(
                    _config_field(_kind_of(config)),
                    f"this trigger is {trigger.kind.value}; its kind is fixed",
                )
            if isinstance(config, WebhookConfig) and isinstance(trigger.config, WebhookConfig):
                config = replace(config, secret=trigger.config.secret)
            name = change.name if change.name is not None else trigger.name
            await self._check(principal, workflow, name, config)
            now = self._clock.now()
            enabled = trigger.enabled if change.enabled is None else change.enabled
            cursor = trigger.cursor_at
            if trigger.kind is TriggerKind.SCHEDULE and (
                (enabled and not trigger.enabled) or change.config is not None
            ):
                cursor = now
            updated = replace(
                trigger, name=name, enabled=enabled, config=config, updated_at=now, cursor_at=cursor
            )
            await self._store.update_trigger(updated)
            record.detail = {"enabled": str(enabled).lower()}
            return updated

    async def delete(self, principal: Principal, trigger_id: str) -> Trigger:
        async with self._auditor.action(
            "trigger.delete", actor_id=principal.user_id, target_type="trigger", target_id=trigger_id
        ) as record:
            trigger = await self.get(principal, trigger_id)
            record.workspace_id = trigger.workspace_id
            principal.require_write(trigger.workspace_id)
            await self._store.delete_trigger(principal.scope, trigger_id)
            return trigger

    async def _flow(self, principal: Principal, workflow_id: str) -> Workflow:
        workflow = await self._store.get_workflow(principal.scope, workflow_id)
        if workflow is None:
            raise errors.NotFound("workflow", workflow_id)
        if workflow.type is not WorkflowType.FLOW:
            raise errors.Invalid.field("workflowId", "only FLOW workflows have triggers")
        return workflow

    async def _check(
        self, principal: Principal, workflow: Workflow, name: str, config: TriggerConfig
    ) -> None:
        problem = name_problem(name)
        if problem:
            raise errors.Invalid.field("name", problem)
        if isinstance(config, WebhookConfig):
            problem = pass_headers_problem(config.pass_headers)
            if problem:
                raise errors.Invalid.field("webhook.passHeaders", problem)
        elif isinstance(config, ScheduleConfig):
            found = schedule_problem(config)
            if found:
                raise errors.Invalid.field(f"schedule.{found[0]}", found[1])
        else:
            problem = statuses_problem(config.statuses)
            if problem:
                raise errors.Invalid.field("runCompleted.statuses", problem)
            if config.source_workflow_id == workflow.id:
                raise errors.Invalid.field(
                    "runCompleted.sourceWorkflowId", "a flow cannot be triggered by its own runs (a loop)"
                )
            source = await self._store.get_workflow(principal.scope, config.source_workflow_id)
            if source is None or source.workspace_id != workflow.workspace_id:
                raise errors.Invalid.field(
                    "runCompleted.sourceWorkflowId", "no workflow with this id in the flow's workspace"
                )

    # --- webhooks --------------------------------------------------------------------------------------

    async def receive(
        self, trigger_id: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes
    ) -> HookAnswer:
        """Check a webhook call and start its run. ``NotFound`` (unknown, disabled or not a webhook),
        ``Unauthenticated`` (bad secret or signature, stale timestamp), ``RateLimited``, ``Invalid`` (not a
        JSON object), ``Conflict`` (the flow is running already). Nothing runs unless it answers a run."""
        trigger = await self._store.find_trigger(trigger_id)
        if trigger is None or not trigger.enabled or not isinstance(trigger.config, WebhookConfig):
            raise errors.NotFound("trigger", trigger_id)
        async with self._auditor.action(
            "trigger.webhook",
            actor_id=None,
            target_type="trigger",
            target_id=trigger.id,
            workspace_id=trigger.workspace_id,
        ) as record:
            config = trigger.config
            self._count_call(trigger.id)
            try:
                verify_call(
                    config.auth,
                    self._keyring.decrypt(config.secret),
                    headers,
                    body,
                    now=self._clock.now(),
                    tolerance=self._settings.tolerance,
                )
            except SignatureRefused as exc:
                raise errors.Unauthenticated(f"webhook refused: {exc}") from None
            payload = _json_body(body)
            delivery = delivery_id(config.auth, headers, payload)
            if delivery is not None:
                record.detail["deliveryId"] = delivery
                first = await self._store.claim_delivery(trigger.id, delivery, self._clock.now())
                if first is not None:
                    record.detail["replay"] = "true"
                    if not first:
                        raise errors.Conflict("this delivery is being handled; try again shortly", {})
                    return HookAnswer(first, replay=True)
            data = {
                "body": payload,
                "query": dict(query),
                "headers": {name: headers[name] for name in config.pass_headers if name in headers},
            }
            try:
                run = await self._start(trigger, data)
            except BaseException:
                if delivery is not None:
                    await self._store.settle_delivery(trigger.id, delivery, None)  # the sender may retry
                raise
            if delivery is not None:
                await self._store.settle_delivery(trigger.id, delivery, run.id)
            record.detail["runId"] = run.id
            return HookAnswer(run.id)

    def _count_call(self, trigger_id: str) -> None:
        now = self._clock.now()
        calls = self._calls.setdefault(trigger_id, deque())
        while calls and now - calls[0] >= timedelta(minutes=1):
            calls.popleft()
        if len(calls) >= self._settings.rate_per_minute:
            raise errors.RateLimited(
                f"more than {self._settings.rate_per_minute} calls a minute to this trigger; try again later"
            )
        calls.append(now)

    # --- firing ----------------------------------------------------------------------------------------

    async def fire(self, trigger: Trigger, data: Mapping[str, Any]) -> Run:
        """Start the trigger's run (the scheduler's entry); ``NotFound`` when its flow is gone."""
        return await self._start(trigger, data)

    async def _start(self, trigger: Trigger, data: Mapping[str, Any]) -> Run:
        workflow = await self._store.get_workflow(Scope.of([trigger.workspace_id]), trigger.workflow_id)
        if workflow is None:
            raise errors.NotFound("trigger", trigger.id)
        run = await self._flow_runs.start_triggered(workflow, trigger, data)
        await self._store.mark_trigger_fired(trigger.id, self._clock.now(), run.id)
        log.info("trigger %s (%s) started run %s of flow %s", trigger.id, trigger.kind, run.id, workflow.id)
        return run

    async def run_finished(self, run: Run) -> None:
        """Fire the RUN_COMPLETED triggers watching ``run``'s workflow whose statuses include its end.
        A chain of such runs stops after :data:`MAX_CHAIN` links (a loop A → B → A)."""
        if not run.status.finished:
            return
        depth = _chain_depth(run) + 1
        for trigger in await self._store.triggers_of_source(run.workflow_id):
            config = trigger.config
            if not isinstance(config, RunCompletedConfig) or run.status not in config.statuses:
                continue
            if depth > MAX_CHAIN or trigger.workflow_id == run.workflow_id:
                log.warning("trigger %s not fired: the chain of runs is %d links long", trigger.id, depth)
                continue
            data = {
                "run": {
                    "id": run.id,
                    "workflowId": run.workflow_id,
                    "status": run.status.value,
                    "error": run.error,
                },
                "chain": depth,
            }
            try:
                await self._start(trigger, data)
            except errors.TrellisError as exc:
                log.warning("trigger %s could not start a run: %s", trigger.id, exc.message)


def _chain_depth(run: Run) -> int:
    if run.triggered_by is not TriggerKind.RUN_COMPLETED or not isinstance(run.trigger_data, Mapping):
        return 0
    chain = run.trigger_data.get("chain")
    return chain if isinstance(chain, int) else 0


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise errors.Invalid.field("body", "is not JSON") from None


def _kind_of(config: TriggerConfig) -> TriggerKind:
    if isinstance(config, WebhookConfig):
        return TriggerKind.WEBHOOK
    if isinstance(config, ScheduleConfig):
        return TriggerKind.SCHEDULE
    return TriggerKind.RUN_COMPLETED


def _config_field(kind: TriggerKind) -> str:
    return {TriggerKind.WEBHOOK: "webhook", TriggerKind.SCHEDULE: "schedule"}.get(kind, "runCompleted")


FINISHED = tuple(s for s in RunStatus if s.finished)
