"""Trigger rules without I/O: cron and time zone checks, fire times in a zone (across a DST change), what a
schedule does with missed fire times, webhook signatures and delivery ids, and masking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.runs import RunStatus
from app.domain.triggers import (
    MissedFires,
    ScheduleConfig,
    SignatureRefused,
    WebhookAuth,
    decide_fire,
    delivery_id,
    fire_times,
    github_signature,
    mask_secrets,
    pass_headers_problem,
    schedule_problem,
    statuses_problem,
    stripe_signature,
    verify_call,
)

NOW = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=60)


def test_schedules_are_checked() -> None:
    assert schedule_problem(ScheduleConfig("*/5 * * * *", "Europe/Berlin")) is None
    assert schedule_problem(ScheduleConfig("* * *", "UTC")) == (
        "cron",
        "must have five fields: minute hour day-of-month month day-of-week",
    )
    assert schedule_problem(ScheduleConfig("60 * * * *"))[0] == "cron"  # type: ignore[index]
    assert schedule_problem(ScheduleConfig("0 9 * * *", "Nowhere/City"))[0] == "timeZone"  # type: ignore[index]
    assert statuses_problem(()) and statuses_problem((RunStatus.RUNNING,))
    assert statuses_problem((RunStatus.COMPLETED, RunStatus.FAILED)) is None
    assert pass_headers_problem(("x-github-event",)) is None
    assert pass_headers_problem(("authorization",)) and pass_headers_problem(("bad header",))


def test_fire_times_follow_the_zone_across_a_dst_change() -> None:
    daily = ScheduleConfig("30 9 * * *", "Europe/Berlin")  # DST starts in Berlin on 2026-03-29
    first, second = fire_times(daily, NOW, 2)
    assert first.astimezone(UTC) == datetime(2026, 3, 29, 7, 30, tzinfo=UTC)  # 09:30 CEST
    assert second.astimezone(UTC) == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
    assert fire_times(ScheduleConfig("0 9 * * *", "Nowhere/City"), NOW, 5) == []


def test_a_due_fire_time_runs_and_missed_ones_follow_the_policy() -> None:
    every5 = ScheduleConfig("*/5 * * * *")
    assert decide_fire(every5, NOW, NOW + timedelta(minutes=4), GRACE) is None
    due = decide_fire(every5, NOW, NOW + timedelta(minutes=5, seconds=3), GRACE)
    assert due is not None and (due.fire_at, due.missed) == (NOW + timedelta(minutes=5), 0)
    # down for an hour: SKIP passes over all twelve; RUN_ONCE runs once for them
    later = NOW + timedelta(hours=1, minutes=2)
    skipped = decide_fire(every5, NOW, later, GRACE)
    assert skipped is not None and (skipped.fire_at, skipped.missed) == (None, 12)
    assert skipped.cursor == NOW + timedelta(hours=1)
    once = decide_fire(ScheduleConfig("*/5 * * * *", missed=MissedFires.RUN_ONCE), NOW, later, GRACE)
    assert once is not None and (once.fire_at, once.missed) == (NOW + timedelta(hours=1), 11)


def test_github_signatures() -> None:
    body = b'{"a": 1}'
    good = {"x-hub-signature-256": github_signature("s3cret", body)}
    verify_call(WebhookAuth.GITHUB, "s3cret", good, body, now=NOW, tolerance=GRACE)
    with pytest.raises(SignatureRefused):
        verify_call(WebhookAuth.GITHUB, "s3cret", good, body + b" ", now=NOW, tolerance=GRACE)
    with pytest.raises(SignatureRefused):
        verify_call(WebhookAuth.GITHUB, "s3cret", {}, body, now=NOW, tolerance=GRACE)


def test_stripe_signatures_and_their_timestamp() -> None:
    body = b'{"id": "evt_1"}'
    t = int(NOW.timestamp())
    verify_call(
        WebhookAuth.STRIPE,
        "k",
        {"stripe-signature": stripe_signature("k", body, t - 10)},
        body,
        now=NOW,
        tolerance=GRACE,
    )
    for header in (
        stripe_signature("k", body, t - 61),
        stripe_signature("other", body, t),
        "v1=abc",
        "t=x,v1=abc",
    ):
        with pytest.raises(SignatureRefused) as refused:
            verify_call(WebhookAuth.STRIPE, "k", {"stripe-signature": header}, body, now=NOW, tolerance=GRACE)
        assert "k" not in str(refused.value).split()


def test_secret_header_and_delivery_ids() -> None:
    verify_call(
        WebhookAuth.SECRET_HEADER, "abc", {"x-trellis-webhook-secret": "abc"}, b"", now=NOW, tolerance=GRACE
    )
    with pytest.raises(SignatureRefused):
        verify_call(
            WebhookAuth.SECRET_HEADER,
            "abc",
            {"x-trellis-webhook-secret": "abd"},
            b"",
            now=NOW,
            tolerance=GRACE,
        )
    assert delivery_id(WebhookAuth.GITHUB, {"x-github-delivery": "g1"}, {}) == "g1"
    assert delivery_id(WebhookAuth.STRIPE, {}, {"id": "evt_9"}) == "evt_9"
    assert delivery_id(WebhookAuth.SECRET_HEADER, {"x-trellis-delivery": "t1"}, {}) == "t1"
    assert delivery_id(WebhookAuth.SECRET_HEADER, {}, {"id": "x"}) is None


def test_secret_looking_fields_are_masked_at_any_depth() -> None:
    data = {
        "body": {"user": "ada", "Password": "p", "items": [{"api_key": "k", "n": 1}], "accessToken": "t"},
        "headers": {"x-hub-signature-256": "sha256=…", "x-github-event": "push"},
        "clientSecret": {"nested": "whole value masked"},
    }
    assert mask_secrets(data) == {
        "body": {
            "user": "ada",
            "Password": "***",
            "items": [{"api_key": "***", "n": 1}],
            "accessToken": "***",
        },
        "headers": {"x-hub-signature-256": "***", "x-github-event": "push"},
        "clientSecret": "***",
    }
    assert mask_secrets(None) is None and mask_secrets([1, "a"]) == [1, "a"]
