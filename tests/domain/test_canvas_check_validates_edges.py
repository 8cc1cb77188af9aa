import itertools

import pytest

from app.domain.canvas_check import check_canvas
from app.domain.edges import EDGE_RULES, edge_rule
from app.domain.kinds import KINDS
from app.domain.problems import Problem
from app.domain.workflows import Canvas, Edge
from tests.domain.builders import check, data_of, edge, node, paths


def test_a_disallowed_pair_names_the_edge_and_the_allowed_targets() -> None:
    result = check(
        [node("c", "ConfigMap"), node("s", "Service"), node("x", "Secret")],
        [edge("e0", "x", "c"), edge("e1", "x", "s"), edge("e2", "c", "s")],
    )
    assert result.errors[-1] == Problem(
        "edges[2]",
        "a ConfigMap cannot connect to a Service (allowed targets of ConfigMap: Deployment, StatefulSet, "
        "DaemonSet, Job, CronJob)",
    )
    assert result.canvas.edges == ()


def test_a_reversed_edge_is_pointed_out() -> None:
    result = check([node("d", "Deployment", image="x"), node("s", "Service")], [edge("e", "d", "s")])
    assert result.errors[0].message == (
        "a Deployment cannot connect to a Service (allowed targets of Deployment: Deployment, StatefulSet, "
        "DaemonSet, Job, CronJob); did you mean to connect the Service to the Deployment?"
    )


@pytest.mark.parametrize(("source", "target"), list(itertools.product(KINDS, KINDS)))
def test_exactly_the_table_pairs_are_accepted(source: str, target: str) -> None:
    if source == target:
        return
    result = check([node("a", source), node("b", target)], [edge("e", "a", "b")])
    allowed = edge_rule(source, target) is not None
    assert (result.errors == ()) is allowed, result.errors
    assert len(result.canvas.edges) == (1 if allowed else 0)


def test_the_table_is_the_reference_one() -> None:
    pairs = {(r.source_kind, r.target_kind) for r in EDGE_RULES}
    workloads = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
    expected = (
        {("Service", k) for k in ("Deployment", "StatefulSet", "DaemonSet")}
        | {("Ingress", "Service")}
        | {("HorizontalPodAutoscaler", k) for k in ("Deployment", "StatefulSet")}
        | {(s, k) for s in ("ConfigMap", "Secret", "NetworkPolicy") for k in workloads}
        | {("PersistentVolumeClaim", k) for k in ("Deployment", "StatefulSet")}
        | {(s, k) for s in workloads for k in workloads}  # dependencies (compose's depends_on)
    )
    assert pairs == expected


def test_edge_ids_must_be_present_and_unique() -> None:
    nodes = [node("c", "ConfigMap"), node("d", "Deployment", image="x")]
    result = check(nodes, [edge("e", "c", "d"), edge("e", "c", "d"), edge("", "c", "d")])
    assert paths(result.errors) == ["edges[1].id", "edges[2].id"]
    assert "duplicate edge id 'e' (also edges[0])" in result.errors[0].message


def test_ends_must_exist() -> None:
    result = check([node("c", "ConfigMap")], [edge("e", "c", "ghost"), edge("f", "nobody", "c")])
    assert result.errors == (
        Problem("edges[0].target", "no node has the id 'ghost'"),
        Problem("edges[1].source", "no node has the id 'nobody'"),
    )


def test_self_loops_are_refused() -> None:
    result = check([node("c", "ConfigMap")], [edge("e", "c", "c")])
    assert result.errors == (Problem("edges[0]", "an edge cannot connect node 'c' to itself"),)


def test_duplicate_connections_are_refused() -> None:
    nodes = [node("c", "ConfigMap"), node("d", "Deployment", image="x")]
    result = check(nodes, [edge("e1", "c", "d"), edge("e2", "c", "d", "whatever")])
    assert paths(result.errors) == ["edges[1]"]
    assert "duplicates edges[0]" in result.errors[0].message


def test_edges_to_invalid_nodes_add_no_second_error() -> None:
    result = check([node("p", "plugin"), node("d", "Deployment", image="x")], [edge("e", "p", "d")])
    assert paths(result.errors) == ["nodes[0].kind"]
    assert result.canvas.edges == ()


def test_an_ingress_handle_must_name_one_of_its_paths() -> None:
    nodes = [node("i", "Ingress", paths=[{"id": "p1"}, {"id": "p2", "path": "/api"}]), node("s", "Service")]
    assert check(nodes, [edge("e", "i", "s", "p2")]).ok
    result = check(nodes, [edge("e", "i", "s", "p9")])
    assert result.errors == (
        Problem("edges[0].sourceHandle", "Ingress 'i' has no path with id 'p9' (its paths: p1, p2)"),
    )


def test_a_network_policy_handle_is_output_or_a_rule_id() -> None:
    nodes = [
        node("np", "NetworkPolicy", ingressRules=[{"id": "in"}], egressRules=[{"id": "out"}]),
        node("d", "Deployment", image="x"),
    ]
    for handle in (None, "output", "in", "out"):
        assert check(nodes, [edge("e", "np", "d", handle)]).ok, handle
    result = check(nodes, [edge("e", "np", "d", "nope")])
    assert paths(result.errors) == ["edges[0].sourceHandle"]
    assert "use 'output' or a rule id (its handles: output, in, out)" in result.errors[0].message


def test_empty_handles_mean_no_handle() -> None:
    nodes = [node("c", "ConfigMap"), node("d", "Deployment", image="x")]
    result = check_canvas(Canvas(tuple(nodes), (Edge("e", "c", "d", "", ""),)))
    assert result.canvas.edges == (Edge("e", "c", "d"),)


def test_a_service_connects_to_one_workload() -> None:
    nodes = [node("s", "Service"), node("a", "Deployment", image="x"), node("b", "StatefulSet", image="y")]
    result = check(nodes, [edge("e1", "s", "a"), edge("e2", "s", "b")])
    assert result.errors == (
        Problem("edges[1]", "Service 's' is already connected by edges[0]; it connects to one workload only"),
    )


def test_an_ingress_path_routes_to_one_service() -> None:
    nodes = [node("i", "Ingress", name="web"), node("s1", "Service"), node("s2", "Service")]
    result = check(nodes, [edge("e1", "i", "s1"), edge("e2", "i", "s2", "path-1")])
    assert paths(result.errors) == ["edges[1]"]
    assert "path 'path-1' of Ingress 'web' is already connected" in result.errors[0].message
    two_paths = [
        node("i", "Ingress", paths=[{"id": "a"}, {"id": "b"}]),
        node("s1", "Service"),
        node("s2", "Service"),
    ]
    assert check(two_paths, [edge("e1", "i", "s1", "a"), edge("e2", "i", "s2", "b")]).ok


def test_a_workload_has_one_autoscaler() -> None:
    nodes = [node("h1", "hpa"), node("h2", "hpa"), node("d", "Deployment", image="x", name="web")]
    result = check(nodes, [edge("e1", "h1", "d"), edge("e2", "h2", "d")])
    assert result.errors == (
        Problem(
            "edges[1]",
            "Deployment 'web' already has a HorizontalPodAutoscaler (edges[0]); "
            "two would fight over its replicas",
        ),
    )


def test_connected_objects_must_share_a_namespace() -> None:
    nodes = [
        node("c", "ConfigMap", name="cfg", namespace="a"),
        node("d", "Deployment", image="x", namespace="b"),
    ]
    result = check(nodes, [edge("e", "c", "d")])
    assert result.errors == (
        Problem(
            "edges[0]",
            "ConfigMap 'cfg' is in namespace 'a' but Deployment 'd' is in 'b'; Kubernetes only "
            "connects them within one namespace",
        ),
    )
    same_or_default = [node("c", "ConfigMap", namespace="a"), node("d", "Deployment", image="x")]
    assert check(same_or_default, [edge("e", "c", "d")]).ok


def test_a_policy_rule_may_allow_a_workload_of_another_namespace() -> None:
    nodes = [
        node("np", "NetworkPolicy", namespace="a", ingressRules=[{"id": "r"}]),
        node("d", "Deployment", image="x", namespace="b"),
    ]
    result = check(nodes, [edge("e", "np", "d", "r")])
    assert result.ok
    peer = data_of(result, "np")["ingressRules"][0]["from"][0]
    assert peer["namespaceSelector"] == {"kubernetes.io/metadata.name": "b"}
    assert not check(nodes, [edge("e", "np", "d", "output")]).ok


def test_cycles_are_refused_with_their_node_ids() -> None:
    nodes = [node("d", "Deployment", image="x"), node("c", "ConfigMap"), node("s", "Service")]
    result = check(nodes, [edge("e1", "s", "d"), edge("e2", "d", "c"), edge("e3", "c", "s")])
    assert (
        Problem("edges[0]", "the edges form a cycle (d → c → s → d); a workflow must be acyclic")
        in result.errors
    )


def test_valid_edges_are_kept_in_order() -> None:
    nodes = [node("c", "ConfigMap"), node("s", "Secret"), node("d", "Deployment", image="x")]
    result = check(nodes, [edge("e2", "s", "d"), edge("e1", "c", "d")])
    assert [e.id for e in result.canvas.edges] == ["e2", "e1"]


def test_an_ingress_without_paths_takes_only_the_default_path_handle() -> None:
    nodes = [node("i", "Ingress"), node("s", "Service")]
    assert check(nodes, [edge("e", "i", "s", "path-1")]).ok
    result = check(nodes, [edge("e", "i", "s", "p1")])
    assert result.errors == (
        Problem(
            "edges[0].sourceHandle",
            "Ingress 'i' has no paths yet: connect without a handle to create 'path-1', or add a path first",
        ),
    )
