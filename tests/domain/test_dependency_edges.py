"""Dependency edges (workload → workload, compose's depends_on): accepted with a condition as their handle,
refused with a bad one or in a cycle, writing nothing on either node."""

import pytest

from app.domain.canvas_check import check_canvas
from app.domain.edges import (
    EDGE_RULES,
    WORKLOAD_KINDS,
    Dependency,
    DependencyCondition,
    dependencies_of,
    edge_rule,
    is_dependency,
)
from app.domain.problems import Problem
from app.domain.workflows import Node
from tests.domain.builders import canvas, check, edge, node


def _pair(source_kind: str = "StatefulSet", target_kind: str = "Deployment") -> list[Node]:
    return [node("db", source_kind, name="db", image="postgres:16"), node("web", target_kind, image="web:1")]


@pytest.mark.parametrize("handle", [None, "healthy", "started"])
def test_every_workload_may_depend_on_every_other_with_a_condition(handle: str | None) -> None:
    for source in WORKLOAD_KINDS:
        for target in WORKLOAD_KINDS:
            result = check(_pair(source, target), [edge("e", "db", "web", handle)])
            assert result.ok, (source, target, result.errors)
            assert [e.source_handle for e in result.canvas.edges] == [handle]
            assert is_dependency(source, target)
    assert not is_dependency("Service", "Deployment")
    assert not is_dependency("Deployment", "Service")


def test_completed_is_a_jobs_condition_only() -> None:
    assert check(_pair("Job"), [edge("e", "db", "web", "completed")]).ok
    result = check(_pair("Deployment"), [edge("e", "db", "web", "completed")])
    assert result.errors == (
        Problem(
            "edges[0].sourceHandle",
            "'completed' needs a Job as the dependency, but 'db' is a Deployment, which never completes: "
            "use 'healthy' or 'started'",
        ),
    )
    assert result.canvas.edges == ()


def test_an_unknown_condition_is_refused_listing_the_known_ones() -> None:
    result = check(_pair(), [edge("e", "db", "web", "ready")])
    assert result.errors == (
        Problem(
            "edges[0].sourceHandle",
            "StatefulSet 'db' has no handle 'ready': an edge from a workload to another is a dependency "
            "whose handle is its condition, one of healthy, started, completed (completed only for a Job)",
        ),
    )


def test_a_dependency_writes_nothing_on_either_node() -> None:
    nodes = _pair()
    without = check(nodes, [])
    with_edge = check(nodes, [edge("e", "db", "web", "started")])
    assert with_edge.ok
    assert with_edge.canvas.nodes == without.canvas.nodes
    assert check_canvas(with_edge.canvas).canvas == with_edge.canvas  # idempotent


def test_a_dependency_cycle_is_refused_naming_it() -> None:
    nodes = [*_pair(), node("cache", "Deployment", image="redis:7")]
    result = check(
        nodes, [edge("e1", "db", "web"), edge("e2", "web", "cache", "started"), edge("e3", "cache", "db")]
    )
    assert (
        Problem(
            "edges[2]",
            "the dependencies form a cycle (db → web → cache → db): none of these workloads could ever "
            "start first; remove one of these edges",
        )
        in result.errors
    )
    two = check(_pair("Deployment"), [edge("e1", "db", "web"), edge("e2", "web", "db")])
    assert [p.message for p in two.errors if "cycle" in p.message] == [
        "the dependencies form a cycle (db → web → db): none of these workloads could ever start first; "
        "remove one of these edges"
    ]


def test_two_nodes_depend_on_each_other_once_whatever_the_conditions() -> None:
    result = check(_pair(), [edge("e1", "db", "web", "started"), edge("e2", "db", "web", "healthy")])
    assert result.errors == (
        Problem("edges[1]", "duplicates edges[0]: the same two nodes are already connected so"),
    )


def test_a_dependency_may_cross_namespaces() -> None:
    nodes = [
        node("db", "StatefulSet", name="db", image="postgres:16", namespace="data"),
        node("web", "Deployment", image="web:1", namespace="shop"),
    ]
    assert check(nodes, [edge("e", "db", "web")]).ok


def test_dependencies_of_reads_the_conditions_with_healthy_by_default() -> None:
    nodes = [
        *_pair(),
        node("job", "Job", image="migrate:1"),
        node("svc", "Service"),
        node("cfg", "ConfigMap"),
    ]
    edges = [
        edge("e1", "db", "web"),
        edge("e2", "job", "web", "completed"),
        edge("e3", "svc", "web"),
        edge("e4", "cfg", "web"),
        edge("e5", "db", "job", "started"),
    ]
    result = check(nodes, edges)
    assert result.ok, result.errors
    assert dependencies_of(result.canvas) == (
        Dependency("e1", "db", "web", DependencyCondition.HEALTHY),
        Dependency("e2", "job", "web", DependencyCondition.COMPLETED),
        Dependency("e5", "db", "job", DependencyCondition.STARTED),
    )
    assert dependencies_of(canvas([], [edge("e", "ghost", "web")])) == ()


def test_the_rules_describe_dependencies_and_their_conditions() -> None:
    rules = [r for r in EDGE_RULES if r.source_kind in WORKLOAD_KINDS]
    assert len(rules) == len(WORKLOAD_KINDS) ** 2
    for rule in rules:
        assert "starts after" in rule.description
        assert rule.handle is not None
        assert "'healthy'" in rule.handle
        assert "'started'" in rule.handle
    job = edge_rule("Job", "Deployment")
    assert job is not None and job.handle is not None and "'completed': the Job completed" in job.handle
    other = edge_rule("Deployment", "Job")
    assert other is not None and other.handle is not None and "only for a Job" in other.handle
