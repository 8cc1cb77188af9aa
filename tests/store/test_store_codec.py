"""The shared codec: JSON-safe documents, UTC datetimes that sort as text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.users import Session
from app.domain.versions import Version
from app.store import codec
from tests.store.builders import T0, Make


def through_json(doc: dict) -> dict:
    return json.loads(json.dumps(doc, allow_nan=False))


def test_every_record_round_trips_through_json(make: Make) -> None:
    user = make.user("ada@example.com")
    workspace = make.workspace(user.id, personal=True)
    membership = make.membership(workspace.id, user.id)
    session = Session("s-1", user.id, make.at(), revoked_at=make.at())
    workflow = make.workflow(workspace.id, cluster_id="prod")
    draft = make.draft(user.id, tag="v1", restored_from=3)
    version = Version(
        "v-1",
        workflow.id,
        workspace.id,
        4,
        draft.canvas,
        draft.tag,
        draft.description,
        user.id,
        draft.created_at,
        3,
    )
    entry = make.audit(detail={"why": "because"})

    assert codec.user_from_doc(through_json(codec.user_to_doc(user))) == user
    assert codec.workspace_from_doc(through_json(codec.workspace_to_doc(workspace))) == workspace
    assert codec.membership_from_doc(through_json(codec.membership_to_doc(membership))) == membership
    assert codec.session_from_doc(through_json(codec.session_to_doc(session))) == session
    assert codec.workflow_from_doc(through_json(codec.workflow_to_doc(workflow))) == workflow
    assert codec.version_from_doc(through_json(codec.version_to_doc(version))) == version
    assert codec.audit_from_doc(through_json(codec.audit_to_doc(entry))) == entry
    assert (
        codec.canvas_from_doc(codec.loads(codec.dumps(codec.canvas_to_doc(workflow.canvas))))
        == workflow.canvas
    )


def test_datetimes_are_fixed_width_utc_strings() -> None:
    whole_second = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    east = datetime(2024, 1, 2, 5, 4, 5, 6, tzinfo=timezone(timedelta(hours=2)))

    assert codec.encode_datetime(whole_second) == "2024-01-02T03:04:05.000000Z"
    assert codec.encode_datetime(east) == "2024-01-02T03:04:05.000006Z"
    assert codec.decode_datetime("2024-01-02T03:04:05.000006Z") == east
    assert codec.decode_datetime(codec.encode_datetime(east)).tzinfo is UTC
    assert codec.encode_datetime(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000000Z"


def test_string_order_is_time_order() -> None:
    instants = [T0 + timedelta(microseconds=step) for step in (0, 1, 999_999, 1_000_000, 86_400_000_000)]
    instants.append(datetime(2024, 5, 1, 13, 0, tzinfo=timezone(timedelta(hours=3))))  # earlier than T0

    assert sorted(instants) == sorted(instants, key=codec.encode_datetime)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        codec.encode_datetime(datetime(2024, 1, 1))


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="JSON"):
        codec.dumps({"x": float("nan")})
