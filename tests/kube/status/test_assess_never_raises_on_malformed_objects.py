"""Whatever arrives, ``assess`` answers: a missing status reads as Argo CD reads it (Go's zero values), a
field of the wrong type is UNKNOWN naming the field, and no field anywhere makes a check blow up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app.domain.health import Health, HealthStatus
from app.kube.status import assess
from tests.kube.status.fixtures import every_fixture, load

H, P, U = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.UNKNOWN


@pytest.mark.parametrize(
    "obj",
    [
        None,
        [],
        "Deployment",
        42,
        {},
        {"kind": "Deployment"},
        {"apiVersion": "apps/v1"},
        {"apiVersion": 1, "kind": 2},
    ],
    ids=repr,
)
def test_what_is_not_an_object_is_unknown(obj: Any) -> None:
    health = assess(obj)
    assert health.status is U
    assert "not a Kubernetes object" in health.message


# Without a status, each kind says what Argo CD's typed zero values make of it.
WITHOUT_STATUS = {
    "deployment/available.yaml": (P, "waiting for the rollout to be observed (generation 2, observed 0)"),
    "statefulset/ready.yaml": (P, "waiting for the rollout to be observed"),
    "daemonset/ready.yaml": (P, "waiting for the rollout to be observed"),
    "replicaset/ready.yaml": (P, "waiting for the rollout to be observed"),
    "pod/running-ready.yaml": (U, "the pod reports no phase yet"),
    "job/running.yaml": (P, "starting"),
    "cronjob/last-run-succeeded.yaml": (P, "waiting for the CronJob controller"),
    "service/clusterip.yaml": (H, "ClusterIP 10.96.41.7"),
    "service/loadbalancer-ip.yaml": (P, "waiting for an external address"),
    "ingress/with-address.yaml": (P, "waiting for the nginx ingress controller"),
    "persistentvolumeclaim/bound.yaml": (U, "no phase reported yet"),
    "horizontalpodautoscaler/healthy.yaml": (P, "waiting to autoscale"),
    "namespace/active.yaml": (H, "active"),
}


@pytest.mark.parametrize(("fixture", "expected"), WITHOUT_STATUS.items(), ids=list(WITHOUT_STATUS))
def test_a_missing_status_reads_as_argo_cd_reads_it(fixture: str, expected: tuple[HealthStatus, str]) -> None:
    obj = load(fixture)
    del obj["status"]
    health = assess(obj)
    assert (health.status, expected[1] in health.message) == (expected[0], True), health.message


@pytest.mark.parametrize(
    ("fixture", "path", "value", "says"),
    [
        ("deployment/available.yaml", ("status",), "broken", "status should be a mapping, not 'broken'"),
        (
            "deployment/available.yaml",
            ("status", "readyReplicas"),
            "3",
            "status.readyReplicas should be an integer",
        ),
        ("deployment/available.yaml", ("spec", "paused"), "yes", "spec.paused should be true or false"),
        ("pod/running-ready.yaml", ("status", "containerStatuses"), {"web": 1}, "should be a list"),
        (
            "pod/running-ready.yaml",
            ("status", "containerStatuses", 0),
            "web",
            "containerStatuses[0] should be a",
        ),
        ("job/complete.yaml", ("status", "startTime"), "yesterday", "status.startTime should be an RFC 3339"),
        ("horizontalpodautoscaler/v1-healthy.yaml", ("metadata", "annotations"), [], "should be a mapping"),
        (
            "service/clusterip.yaml",
            ("spec", "ports", 0, "port"),
            "http",
            "spec.ports[0].port should be an integer",
        ),
        ("namespace/active.yaml", ("metadata",), "shop", "should be a mapping"),
    ],
)
def test_a_field_of_the_wrong_type_is_unknown_naming_it(
    fixture: str, path: tuple[str | int, ...], value: Any, says: str
) -> None:
    obj = load(fixture)
    _set(obj, path, value)
    health = assess(obj)
    assert health.status is U
    assert says in health.message


def test_a_bad_v1_conditions_annotation_is_unknown() -> None:
    obj = load("horizontalpodautoscaler/v1-healthy.yaml")
    obj["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"] = "[{not json"
    health = assess(obj)
    assert health.status is U
    assert "should be a JSON list" in health.message


@pytest.mark.parametrize("fixture", every_fixture())
def test_no_field_of_any_type_breaks_a_check(fixture: str) -> None:
    """Every field of the fixture, replaced in turn by a value of every JSON type, or dropped."""
    original = load(fixture)
    tried = 0
    for path in _paths(original):
        for value in (None, "x", -1, 2.5, True, [], [1], {}, {"a": "b"}):
            obj = json.loads(json.dumps(original))  # a deep copy, several times faster
            _set(obj, path, value)
            _assert_well_formed(assess(obj), fixture, path, value)
            tried += 1
    assert tried > 50


def _assert_well_formed(health: Health, fixture: str, path: tuple[str | int, ...], value: Any) -> None:
    where = f"{fixture} {'.'.join(map(str, path))} = {value!r}"
    assert isinstance(health, Health), where
    assert isinstance(health.status, HealthStatus), where
    assert isinstance(health.message, str), where
    assert "health check failed" not in health.message, f"{where}: {health.message}"  # a bug, not bad input
    json.dumps(health.facts, allow_nan=False)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        if key in ("managedFields", "volumes", "tolerations", "volumeMounts", "template", "jobTemplate"):
            continue  # large and never read: they only slow the sweep
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _set(obj: Any, path: tuple[str | int, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value
