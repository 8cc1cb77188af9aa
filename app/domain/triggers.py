"""Flow triggers: what starts a FLOW workflow's run besides a person (a webhook call, a schedule, another
workflow's run ending), their checks, the schedule's fire times, webhook signatures and the masking of
secret-looking fields in a run's trigger data. Pure: no I/O, time is passed in."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from app.domain.runs import RunStatus, TriggerKind

TRIGGER_KINDS = (TriggerKind.WEBHOOK, TriggerKind.SCHEDULE, TriggerKind.RUN_COMPLETED)
HOOK_PATH = "/v1/hooks/{trigger_id}"
SECRET_HEADER = "x-trellis-webhook-secret"
DELIVERY_HEADER = "x-trellis-delivery"
GITHUB_SIGNATURE = "x-hub-signature-256"
GITHUB_DELIVERY = "x-github-delivery"
STRIPE_SIGNATURE = "stripe-signature"
MASK = "***"
MAX_PASS_HEADERS = 20
MAX_NAME = 100
MAX_CHAIN = 10  # RUN_COMPLETED triggers fire at most this many runs deep (A → B → A … stops)
NEXT_FIRES = 5

_SECRET_WORDS = re.compile(
    r"password|passwd|secret|token|key|authorization|signature|credential|cookie|session", re.IGNORECASE
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")


class WebhookAuth(StrEnum):
    """How a webhook call proves it comes from the sender: the generated secret in
    ``X-Trellis-Webhook-Secret``, or an HMAC-SHA256 signature of the body keyed with it (GitHub's
    ``X-Hub-Signature-256``, Stripe's ``Stripe-Signature`` with a timestamp)."""

    SECRET_HEADER = "SECRET_HEADER"
    GITHUB = "GITHUB"
    STRIPE = "STRIPE"


class MissedFires(StrEnum):
    """Fire times missed while no server ran: SKIP them (only a fire time within the grace runs), or
    RUN_ONCE (one run for all of them)."""

    SKIP = "SKIP"
    RUN_ONCE = "RUN_ONCE"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    auth: WebhookAuth
    pass_headers: tuple[str, ...] = ()  # lower-case names of the request headers put in the trigger data
    secret: str = ""  # encrypted with the keyring (the store never holds it in clear)


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    cron: str
    time_zone: str = "UTC"
    missed: MissedFires = MissedFires.SKIP


@dataclass(frozen=True, slots=True)
class RunCompletedConfig:
    source_workflow_id: str
    statuses: tuple[RunStatus, ...] = (RunStatus.COMPLETED,)


TriggerConfig = WebhookConfig | ScheduleConfig | RunCompletedConfig


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger of one FLOW workflow. ``cursor_at``: SCHEDULE only, the latest fire time handled
    (fire times after it are due once they pass); ``source_workflow_id`` is copied out of a RUN_COMPLETED
    config so the store can find the triggers of a source."""

    id: str
    workflow_id: str
    workspace_id: str
    kind: TriggerKind
    name: str
    enabled: bool
    config: TriggerConfig
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_fired_at: datetime | None = None
    last_run_id: str | None = None
    cursor_at: datetime | None = None

    @property
    def source_workflow_id(self) -> str | None:
        return self.config.source_workflow_id if isinstance(self.config, RunCompletedConfig) else None

    @property
    def actor(self) -> str:
        """Who starts its runs: ``trigger:<id>``."""
        return f"trigger:{self.id}"


# --- checks -----------------------------------------------------------------------------------------


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "must not be empty"
    if len(name) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters"
    return None


def pass_headers_problem(headers: tuple[str, ...]) -> str | None:
    if len(headers) > MAX_PASS_HEADERS:
        return f"at most {MAX_PASS_HEADERS} headers can be passed on"
    for header in headers:
        if not _HEADER_NAME.match(header):
            return f"{header!r} is not a header name"
        if is_secret_looking(header):
            return f"{header!r} looks like it carries a credential and cannot be passed on"
    return None


def zone_of(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def cron_problem(expression: str) -> str | None:
    fields = expression.split()
    if len(fields) != 5:
        return "must have five fields: minute hour day-of-month month day-of-week"
    if not croniter.is_valid(expression):
        return f"{expression!r} is not a valid cron expression"
    return None


def schedule_problem(config: ScheduleConfig) -> tuple[str, str] | None:
    """``(field, problem)`` of a bad schedule, else ``None``."""
    problem = cron_problem(config.cron)
    if problem:
        return "cron", problem
    if zone_of(config.time_zone) is None:
        return "timeZone", f"{config.time_zone!r} is not an IANA time zone (e.g. Europe/Berlin)"
    return None


def statuses_problem(statuses: tuple[RunStatus, ...]) -> str | None:
    if not statuses:
        return "list at least one status"
    unfinished = [s.value for s in statuses if not s.finished]
    if unfinished:
        return f"a run never ends as {', '.join(unfinished)}"
    return None


# --- schedule ---------------------------------------------------------------------------------------


def fire_times(config: ScheduleConfig, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, in the schedule's zone (aware datetimes)."""
    zone = zone_of(config.time_zone)
    if zone is None:
        return []
    try:
        itr = croniter(config.cron, after.astimezone(zone))
        return [itr.get_next(datetime) for _ in range(count)]
    except (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError):
        return []


def due_fire_times(
    config: ScheduleConfig, after: datetime, now: datetime, limit: int = 1000
) -> list[datetime]:
    """The fire times in ``(after, now]``, oldest first (at most ``limit``: the latest ones)."""
    found: list[datetime] = []
    zone = zone_of(config.time_zone)
    if zone is None or now <= after:
        return found
    try:
        itr = croniter(config.cron, after.astimezone(zone))
        while True:
            at: datetime = itr.get_next(datetime)
            if at > now:
                break
            found.append(at)
            if len(found) > limit:
                found.pop(0)
    except (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError):
        return []
    return found


@dataclass(frozen=True, slots=True)
class FireDecision:
    """What a schedule does now: fire at ``fire_at`` (or nothing) and move its cursor to ``cursor``;
    ``missed`` fire times were passed over."""

    fire_at: datetime | None
    cursor: datetime
    missed: int


def decide_fire(
    config: ScheduleConfig, cursor: datetime, now: datetime, grace: timedelta
) -> FireDecision | None:
    """``None`` when nothing is due. Otherwise the latest due fire time runs when it is within ``grace``
    of ``now`` (a normal fire) or, with RUN_ONCE, whatever its age; the older ones are missed."""
    due = due_fire_times(config, cursor, now)
    if not due:
        return None
    latest = due[-1]
    recent = now - latest <= grace
    fire = latest if recent or config.missed is MissedFires.RUN_ONCE else None
    missed = len(due) - (1 if fire is not None else 0)
    return FireDecision(fire_at=fire, cursor=latest, missed=missed)


# --- webhooks ---------------------------------------------------------------------------------------


class SignatureRefused(Exception):
    """A webhook call whose secret or signature does not hold (the message says why, never the secret)."""


def _hex_hmac(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + _hex_hmac(secret, body)


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1=" + _hex_hmac(secret, str(timestamp).encode() + b"." + body)


def verify_call(
    auth: WebhookAuth,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Raise :class:`SignatureRefused` unless the call carries the secret or a valid signature (and, for
    STRIPE, a timestamp within ``tolerance`` of ``now``). ``headers`` have lower-case names."""
    if auth is WebhookAuth.SECRET_HEADER:
        given = headers.get(SECRET_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), secret.encode()):
            raise SignatureRefused(f"missing or wrong {SECRET_HEADER} header")
        return
    if auth is WebhookAuth.GITHUB:
        given = headers.get(GITHUB_SIGNATURE, "")
        if not given.startswith("sha256=") or not hmac.compare_digest(
            given.encode(), github_signature(secret, body).encode()
        ):
            raise SignatureRefused(f"missing or wrong {GITHUB_SIGNATURE} signature")
        return
    parts: dict[str, list[str]] = {}
    for item in headers.get(STRIPE_SIGNATURE, "").split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        raise SignatureRefused(f"missing or bad timestamp in {STRIPE_SIGNATURE}") from None
    expected = _hex_hmac(secret, str(timestamp).encode() + b"." + body)
    if not any(hmac.compare_digest(v.encode(), expected.encode()) for v in parts.get("v1", [])):
        raise SignatureRefused(f"missing or wrong v1 signature in {STRIPE_SIGNATURE}")
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise SignatureRefused(
            f"the {STRIPE_SIGNATURE} timestamp is more than {int(tolerance.total_seconds())} s from now"
        )


def delivery_id(auth: WebhookAuth, headers: Mapping[str, str], body: Any) -> str | None:
    """The sender's id of this delivery (its retries carry the same): ``X-GitHub-Delivery``, the Stripe
    event's ``id``, or ``X-Trellis-Delivery``; ``None`` when the call has none."""
    if auth is WebhookAuth.GITHUB and headers.get(GITHUB_DELIVERY):
        return headers[GITHUB_DELIVERY][:200]
    if auth is WebhookAuth.STRIPE and isinstance(body, Mapping) and isinstance(body.get("id"), str):
        return str(body["id"])[:200]
    given = headers.get(DELIVERY_HEADER)
    return given[:200] if given else None


# --- masking ----------------------------------------------------------------------------------------


def is_secret_looking(name: str) -> bool:
    return bool(_SECRET_WORDS.search(name))


def mask_secrets(value: Any) -> Any:
    """``value`` with the value of every secret-looking key (password, secret, token, key,
    authorization, signature…), at any depth, replaced by ``***``."""
    if isinstance(value, Mapping):
        return {
            key: MASK if is_secret_looking(str(key)) else mask_secrets(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    return value
