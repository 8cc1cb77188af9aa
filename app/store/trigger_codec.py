"""Triggers as flat documents (both backends): the kind's config is one JSON-able mapping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from app.store.codec import (
    decode_datetime,
    decode_optional_datetime,
    encode_datetime,
    encode_optional_datetime,
)


def config_to_doc(config: TriggerConfig) -> dict[str, Any]:
    if isinstance(config, WebhookConfig):
        return {"auth": config.auth.value, "pass_headers": list(config.pass_headers), "secret": config.secret}
    if isinstance(config, ScheduleConfig):
        return {"cron": config.cron, "time_zone": config.time_zone, "missed": config.missed.value}
    return {"source_workflow_id": config.source_workflow_id, "statuses": [s.value for s in config.statuses]}


def config_from_doc(kind: TriggerKind, doc: Mapping[str, Any]) -> TriggerConfig:
    if kind is TriggerKind.WEBHOOK:
        return WebhookConfig(
            auth=WebhookAuth(doc["auth"]),
            pass_headers=tuple(str(h) for h in doc.get("pass_headers") or ()),
            secret=str(doc.get("secret") or ""),
        )
    if kind is TriggerKind.SCHEDULE:
        return ScheduleConfig(
            cron=str(doc["cron"]), time_zone=str(doc["time_zone"]), missed=MissedFires(doc["missed"])
        )
    return RunCompletedConfig(
        source_workflow_id=str(doc["source_workflow_id"]),
        statuses=tuple(RunStatus(s) for s in doc.get("statuses") or ()),
    )


def trigger_to_doc(trigger: Trigger) -> dict[str, Any]:
    """``config`` stays a mapping (SQLite stores it as JSON text); ``source_workflow_id`` is copied out."""
    return {
        "id": trigger.id,
        "workflow_id": trigger.workflow_id,
        "workspace_id": trigger.workspace_id,
        "kind": trigger.kind.value,
        "name": trigger.name,
        "enabled": trigger.enabled,
        "config": config_to_doc(trigger.config),
        "source_workflow_id": trigger.source_workflow_id,
        "created_by": trigger.created_by,
        "created_at": encode_datetime(trigger.created_at),
        "updated_at": encode_datetime(trigger.updated_at),
        "last_fired_at": encode_optional_datetime(trigger.last_fired_at),
        "last_run_id": trigger.last_run_id,
        "cursor_at": encode_optional_datetime(trigger.cursor_at),
    }


def trigger_from_doc(doc: Mapping[str, Any]) -> Trigger:
    kind = TriggerKind(doc["kind"])
    return Trigger(
        id=str(doc["id"]),
        workflow_id=str(doc["workflow_id"]),
        workspace_id=str(doc["workspace_id"]),
        kind=kind,
        name=str(doc["name"]),
        enabled=bool(doc["enabled"]),
        config=config_from_doc(kind, doc["config"]),
        created_by=str(doc["created_by"]),
        created_at=decode_datetime(doc["created_at"]),
        updated_at=decode_datetime(doc["updated_at"]),
        last_fired_at=decode_optional_datetime(doc.get("last_fired_at")),
        last_run_id=doc.get("last_run_id"),
        cursor_at=decode_optional_datetime(doc.get("cursor_at")),
    )
