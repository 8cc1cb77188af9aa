"""The shared codec: JSON-safe documents, UTC datetimes that sort as text."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.runs import Run
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


def test_clusters_and_runs_round_trip_through_json(make: Make) -> None:
    cluster = make.cluster("ws-1", last_probe=make.probe(reachable=False))
    bare = make.cluster("ws-1", "Bare")
    workflow = make.workflow("ws-1")
    run = make.progress(make.run(workflow, version=4, cancel_requested=True, error="boom"))
    done = replace(run, completed_at=run.started_at + timedelta(seconds=3))

    assert codec.cluster_from_doc(through_json(codec.cluster_to_doc(cluster))) == cluster
    assert codec.cluster_from_doc(through_json(codec.cluster_to_doc(bare))) == bare
    assert codec.run_from_doc(through_json(codec.run_to_doc(run))) == run
    assert codec.run_from_doc(through_json(codec.run_to_doc(done))) == done
    plain = make_plain(make.run(workflow))
    assert codec.run_from_doc(through_json(codec.run_to_doc(plain))) == plain
    doc = codec.run_to_doc(run)
    assert doc["status"] == "RUNNING"
    assert doc["node_states"][0]["objects"][0]["action"] == "CREATED"
    assert doc["pruned"][0]["action"] == "PRUNED"
    assert doc["node_states"][0]["updated_at"].endswith("Z")  # stored in UTC whatever the zone


def make_plain(run: Run) -> Run:
    """A run with no nested parts: empty tuples, not lists, come back."""
    assert (run.node_states, run.logs, run.pruned, run.warnings) == ((), (), (), ())
    return run


def test_mongo_documents_rename_the_id_and_keep_everything_else(make: Make) -> None:
    """The MongoDB mapping is pure, so it is checked here even where no MongoDB server runs."""
    from app.store.mongo import documents

    workflow = make.workflow("ws-1")
    version = Version("v-1", workflow.id, "ws-1", 1, workflow.canvas, None, "d", "u", make.at())
    cluster = make.cluster("ws-1", "Ärger", last_probe=make.probe())
    run = make.progress(make.run(workflow))

    stored_workflow = documents.workflow_to_mongo(workflow)
    assert stored_workflow["_id"] == workflow.id
    assert "id" not in stored_workflow
    assert isinstance(stored_workflow["canvas"], str)
    assert documents.workflow_from_mongo(stored_workflow) == workflow
    assert documents.version_from_mongo(documents.version_to_mongo(version)) == version
    stored_cluster = documents.cluster_to_mongo(cluster)
    assert (stored_cluster["_id"], stored_cluster["name_lower"]) == (cluster.id, "ärger")
    assert documents.cluster_from_mongo(stored_cluster) == cluster
    stored_run = documents.run_to_mongo(run)
    assert stored_run["_id"] == run.id
    assert isinstance(stored_run["node_states"], list)
    assert documents.run_from_mongo(stored_run) == run
