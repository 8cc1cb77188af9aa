"""The per-watch snapshot: repeats are dropped, a relist becomes the differences."""

from __future__ import annotations

from typing import Any

from app.kube.watching import WatchEventType
from app.kube.watching.snapshots import Snapshot

ADDED, MODIFIED, DELETED = WatchEventType.ADDED, WatchEventType.MODIFIED, WatchEventType.DELETED


def obj(name: str, rv: int, uid: str | None = None, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "resourceVersion": str(rv),
            "uid": uid or f"uid-{name}",
        },
    }


def summary(events: list[Any]) -> list[tuple[str, str, str]]:
    return [(e.type.value, e.name, e.obj["metadata"]["resourceVersion"]) for e in events]


def test_a_replayed_event_is_dropped() -> None:
    snapshot = Snapshot()
    snapshot.replace([obj("a", 1)])
    assert summary(snapshot.apply(ADDED, obj("a", 1))) == []
    assert summary(snapshot.apply(MODIFIED, obj("a", 1))) == []
    assert summary(snapshot.apply(MODIFIED, obj("a", 2))) == [("MODIFIED", "a", "2")]
    assert summary(snapshot.apply(MODIFIED, obj("a", 2))) == []


def test_an_added_for_a_known_object_is_a_modification() -> None:
    snapshot = Snapshot()
    snapshot.replace([obj("a", 1)])
    assert summary(snapshot.apply(ADDED, obj("a", 3))) == [("MODIFIED", "a", "3")]


def test_deleting_what_is_not_known_delivers_nothing() -> None:
    snapshot = Snapshot()
    assert summary(snapshot.apply(DELETED, obj("ghost", 5))) == []
    snapshot.apply(ADDED, obj("a", 1))
    assert summary(snapshot.apply(DELETED, obj("a", 2))) == [("DELETED", "a", "2")]
    assert summary(snapshot.apply(DELETED, obj("a", 2))) == []
    assert len(snapshot) == 0


def test_same_name_in_two_namespaces_are_two_objects() -> None:
    snapshot = Snapshot()
    snapshot.apply(ADDED, obj("a", 1, namespace="x"))
    assert summary(snapshot.apply(ADDED, obj("a", 1, namespace="y"))) == [("ADDED", "a", "1")]
    assert len(snapshot) == 2


def test_a_relist_yields_only_the_differences() -> None:
    snapshot = Snapshot()
    snapshot.replace([obj("same", 1), obj("changed", 2), obj("gone", 3), obj("remade", 4, uid="old")])
    events = snapshot.changes([obj("same", 1), obj("changed", 7), obj("new", 8), obj("remade", 9, uid="new")])
    assert summary(events) == [
        ("MODIFIED", "changed", "7"),
        ("ADDED", "new", "8"),
        ("DELETED", "remade", "4"),  # deleted and made again under the same name meanwhile
        ("ADDED", "remade", "9"),
        ("DELETED", "gone", "3"),  # with its last known state
    ]
    assert sorted(o["metadata"]["name"] for o in snapshot.objects()) == ["changed", "new", "remade", "same"]
    assert snapshot.changes(snapshot.objects()) == []
