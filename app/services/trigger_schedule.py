"""The schedule of SCHEDULE triggers: each round (every ``TRELLIS_TRIGGER_SCHEDULE_INTERVAL_SECONDS``, in
every server process) finds the fire times that passed since a trigger's cursor, in its time zone, and
fires the latest one. Before starting the run it inserts the unique fire record (trigger, fire time):
of several processes sharing the store exactly one inserts it, and only that one starts the run.

Fire times older than the grace were missed while no server ran: SKIP passes over them, RUN_ONCE runs
once for all of them (at the latest)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, timedelta

from app import errors
from app.domain.runs import TriggerKind
from app.domain.triggers import ScheduleConfig, decide_fire
from app.ports import Clock, TriggerStore
from app.services.triggers import TriggerService

log = logging.getLogger(__name__)


class TriggerSchedule:
    def __init__(
        self, *, store: TriggerStore, triggers: TriggerService, clock: Clock, grace: timedelta
    ) -> None:
        self._store = store
        self._triggers = triggers
        self._clock = clock
        self._grace = grace

    async def tick(self) -> list[str]:
        """One round; the ids of the runs this process started."""
        started: list[str] = []
        now = self._clock.now()
        for trigger in await self._store.enabled_triggers(TriggerKind.SCHEDULE):
            config = trigger.config
            if not isinstance(config, ScheduleConfig):
                continue
            decision = decide_fire(config, trigger.cursor_at or trigger.created_at, now, self._grace)
            if decision is None:
                continue
            if decision.missed:
                log.warning(
                    "trigger %s: %d fire time(s) missed while no server ran (%s)",
                    trigger.id,
                    decision.missed,
                    config.missed.value,
                )
            if decision.fire_at is not None and await self._store.claim_fire(
                trigger.id, decision.fire_at, now
            ):
                fire_at = decision.fire_at.astimezone(UTC).isoformat()
                try:
                    run = await self._triggers.fire(
                        trigger,
                        {"fireTime": fire_at, "missed": decision.missed, "timeZone": config.time_zone},
                    )
                    started.append(run.id)
                except errors.TrellisError as exc:
                    log.warning(
                        "trigger %s could not start its run for %s: %s", trigger.id, fire_at, exc.message
                    )
            await self._store.set_trigger_cursor(trigger.id, decision.cursor)
        return started


async def schedule_forever(schedule: TriggerSchedule, every_seconds: float) -> None:
    """Run :meth:`TriggerSchedule.tick` every ``every_seconds``; a failed round is logged and retried."""
    while True:
        try:
            await schedule.tick()
        except Exception:
            log.exception("the trigger schedule round failed; trying again in %s s", every_seconds)
        await asyncio.sleep(every_seconds)
