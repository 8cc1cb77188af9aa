"""Dependency layers inside a wave, and when a dependency's live health meets its condition."""

import pytest

from app.domain.deploy_order import Verdict, dependency_layers, judge_dependency
from app.domain.edges import DependencyCondition
from app.domain.graphs import CycleError
from app.domain.health import Health, HealthStatus

HEALTHY, STARTED, COMPLETED = DependencyCondition


def _layers(objects: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    return dependency_layers(objects, lambda name: name.split(":")[0], edges)


def test_without_dependencies_a_wave_is_one_layer_in_its_own_order() -> None:
    assert _layers(["web", "db", "api"], []) == [["web", "db", "api"]]
    assert _layers([], [("a", "b")]) == []


def test_a_chain_is_one_node_per_layer() -> None:
    assert _layers(["web", "api", "db"], [("api", "web"), ("db", "api")]) == [["db"], ["api"], ["web"]]


def test_a_node_goes_right_after_its_latest_dependency() -> None:
    # db → api → web, and db → worker: worker starts beside api, not after web
    edges = [("db", "api"), ("api", "web"), ("db", "web"), ("db", "worker")]
    assert _layers(["web", "worker", "api", "db", "cache"], edges) == [
        ["db", "cache"],
        ["worker", "api"],
        ["web"],
    ]


def test_edges_to_nodes_outside_the_wave_are_ignored_and_objects_of_one_node_stay_together() -> None:
    objects = ["web:deployment", "db:statefulset", "web:extra"]
    assert _layers(objects, [("db", "web"), ("ns", "db"), ("db", "db")]) == [
        ["db:statefulset"],
        ["web:deployment", "web:extra"],
    ]


def test_a_cycle_raises_naming_it() -> None:
    with pytest.raises(CycleError) as caught:
        _layers(["a", "b", "c"], [("a", "b"), ("b", "a"), ("b", "c")])
    assert caught.value.cycle == ("a", "b")


def _health(status: HealthStatus, **facts: object) -> Health:
    return Health(status, f"it is {status.value.lower()}", facts)


@pytest.mark.parametrize(
    ("condition", "kind", "status", "verdict"),
    [
        (HEALTHY, "Deployment", HealthStatus.HEALTHY, Verdict.MET),
        (HEALTHY, "Deployment", HealthStatus.PROGRESSING, Verdict.WAIT),
        (HEALTHY, "Deployment", HealthStatus.DEGRADED, Verdict.WAIT),  # a crash loop may still recover
        (HEALTHY, "StatefulSet", HealthStatus.SUSPENDED, Verdict.WAIT),
        (HEALTHY, "StatefulSet", HealthStatus.MISSING, Verdict.WAIT),
        (HEALTHY, "Job", HealthStatus.HEALTHY, Verdict.MET),  # a Job is HEALTHY once complete
        (HEALTHY, "Job", HealthStatus.DEGRADED, Verdict.FAILED),
        (STARTED, "Deployment", HealthStatus.PROGRESSING, Verdict.MET),
        (STARTED, "Deployment", HealthStatus.DEGRADED, Verdict.MET),
        (STARTED, "DaemonSet", HealthStatus.SUSPENDED, Verdict.MET),
        (STARTED, "Deployment", HealthStatus.MISSING, Verdict.WAIT),
        (STARTED, "Deployment", HealthStatus.UNKNOWN, Verdict.WAIT),
        (STARTED, "Job", HealthStatus.DEGRADED, Verdict.MET),
        (COMPLETED, "Job", HealthStatus.HEALTHY, Verdict.MET),
        (COMPLETED, "Job", HealthStatus.PROGRESSING, Verdict.WAIT),
        (COMPLETED, "Job", HealthStatus.UNKNOWN, Verdict.WAIT),
        (COMPLETED, "Job", HealthStatus.DEGRADED, Verdict.FAILED),
    ],
)
def test_conditions_map_to_health(
    condition: DependencyCondition, kind: str, status: HealthStatus, verdict: Verdict
) -> None:
    assert judge_dependency(condition, kind, _health(status)) is verdict


def test_health_of_an_older_generation_than_the_one_applied_is_waited_past() -> None:
    old = _health(HealthStatus.HEALTHY, generation=1, observedGeneration=1)
    new = _health(HealthStatus.HEALTHY, generation=2, observedGeneration=2)
    assert judge_dependency(HEALTHY, "Deployment", old, generation=2) is Verdict.WAIT
    assert judge_dependency(STARTED, "Deployment", old, generation=2) is Verdict.WAIT
    assert judge_dependency(HEALTHY, "Deployment", new, generation=2) is Verdict.MET
    assert judge_dependency(HEALTHY, "Deployment", old, generation=None) is Verdict.MET
    no_facts = _health(HealthStatus.HEALTHY)  # a Job's health carries no generation
    assert judge_dependency(HEALTHY, "Job", no_facts, generation=3) is Verdict.MET
