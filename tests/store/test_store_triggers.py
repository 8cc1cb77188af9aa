"""The TriggerStore contract (SQLite always, MongoDB when configured): triggers scoped to their workspace,
a webhook delivery and a schedule fire time recorded once whatever opens the store, a schedule's cursor
that never moves back, a run's trigger id kept, and a trigger gone with its workflow."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.domain.runs import RunStatus, TriggerKind
from app.domain.triggers import (
    MissedFires,
    RunCompletedConfig,
    ScheduleConfig,
    Trigger,
    TriggerConfig,
    WebhookAuth,
    WebhookConfig,
)
from app.domain.workspaces import Scope
from app.ports import Store
from tests.store.builders import T0, Backend, Make


def trigger(
    workflow_id: str, workspace_id: str, kind: TriggerKind, config: TriggerConfig, tid: str
) -> Trigger:
    return Trigger(
        id=tid,
        workflow_id=workflow_id,
        workspace_id=workspace_id,
        kind=kind,
        name=kind.value.lower(),
        enabled=True,
        config=config,
        created_by="u1",
        created_at=T0,
        updated_at=T0,
        cursor_at=T0 if kind is TriggerKind.SCHEDULE else None,
    )


async def test_triggers_are_stored_whole_scoped_and_found_by_kind_and_source(
    store: Store, make: Make
) -> None:
    _, workspace, scope = await make.tenant(store)
    flow = make.workflow(workspace.id)
    source = make.workflow(workspace.id, name="Source")
    await store.insert_workflow(flow)
    await store.insert_workflow(source)
    hook = trigger(
        flow.id, workspace.id, TriggerKind.WEBHOOK, WebhookConfig(WebhookAuth.GITHUB, ("x-a",), "enc"), "t1"
    )
    cron = trigger(
        flow.id,
        workspace.id,
        TriggerKind.SCHEDULE,
        ScheduleConfig("0 9 * * *", "Europe/Berlin", MissedFires.RUN_ONCE),
        "t2",
    )
    chain = trigger(
        flow.id,
        workspace.id,
        TriggerKind.RUN_COMPLETED,
        RunCompletedConfig(source.id, (RunStatus.FAILED,)),
        "t3",
    )
    for item in (hook, cron, chain):
        await store.create_trigger(item)

    assert await store.list_triggers(scope, flow.id) == [hook, cron, chain]
    assert await store.get_trigger(scope, "t1") == hook
    assert await store.get_trigger(Scope.of(["elsewhere"]), "t1") is None
    assert await store.find_trigger("t1") == hook
    assert await store.enabled_triggers(TriggerKind.SCHEDULE) == [cron]
    assert await store.triggers_of_source(source.id) == [chain]

    await store.update_trigger(replace(chain, enabled=False, name="off"))
    assert await store.triggers_of_source(source.id) == []
    await store.mark_trigger_fired("t2", T0 + timedelta(minutes=1), "run-1")
    fired = await store.find_trigger("t2")
    assert fired is not None and (fired.last_fired_at, fired.last_run_id) == (
        T0 + timedelta(minutes=1),
        "run-1",
    )

    assert await store.delete_trigger(Scope.of(["elsewhere"]), "t1") is False
    assert await store.delete_trigger(scope, "t1") is True
    assert await store.find_trigger("t1") is None


async def test_deliveries_and_fires_count_once_across_connections(backend: Backend, make: Make) -> None:
    one, two = await backend.open(), await backend.open()
    _, workspace, _ = await make.tenant(one)
    flow = make.workflow(workspace.id)
    await one.insert_workflow(flow)
    await one.create_trigger(
        trigger(flow.id, workspace.id, TriggerKind.SCHEDULE, ScheduleConfig("* * * * *"), "t1")
    )

    assert await one.claim_delivery("t1", "d1", T0) is None
    assert await two.claim_delivery("t1", "d1", T0) == ""  # being handled
    await one.settle_delivery("t1", "d1", "run-1")
    assert await two.claim_delivery("t1", "d1", T0) == "run-1"
    assert await one.claim_delivery("t1", "d2", T0) is None
    await one.settle_delivery("t1", "d2", None)  # nothing started: the sender may retry
    assert await two.claim_delivery("t1", "d2", T0) is None

    fire = T0 + timedelta(minutes=5)
    assert [await one.claim_fire("t1", fire, T0), await two.claim_fire("t1", fire, T0)] == [True, False]
    assert await two.claim_fire("t1", fire + timedelta(minutes=1), T0) is True
    assert await one.claim_fire("gone", fire, T0) is False

    await one.set_trigger_cursor("t1", fire)
    await two.set_trigger_cursor("t1", T0)  # never back
    moved = await one.find_trigger("t1")
    assert moved is not None and moved.cursor_at == fire


async def test_a_runs_trigger_is_kept_and_triggers_go_with_their_workflow(store: Store, make: Make) -> None:
    user, workspace, scope = await make.tenant(store)
    flow = make.workflow(workspace.id)
    await store.insert_workflow(flow)
    await store.create_trigger(
        trigger(flow.id, workspace.id, TriggerKind.WEBHOOK, WebhookConfig(WebhookAuth.STRIPE), "t1")
    )
    run = replace(make.run(flow), triggered_by=TriggerKind.WEBHOOK, trigger_id="t1", started_by="trigger:t1")
    _, stored = await store.start_run(scope, make.draft(user.id), run)
    again = await store.get_run(scope, stored.id)
    assert again is not None and (again.trigger_id, again.triggered_by) == ("t1", TriggerKind.WEBHOOK)
    await store.delete_workflow(scope, flow.id)
    assert await store.find_trigger("t1") is None
