import pytest

from app.domain.graphs import CycleError, find_cycle, topological_order


def test_edges_decide_the_order() -> None:
    assert topological_order(["c", "b", "a"], [("a", "b"), ("b", "c")]) == ("a", "b", "c")


def test_ties_keep_the_input_order() -> None:
    assert topological_order(["x", "y", "z"], []) == ("x", "y", "z")
    assert topological_order(["svc", "cm", "web"], [("cm", "web"), ("svc", "web")]) == ("svc", "cm", "web")


def test_order_is_deterministic_for_a_diamond() -> None:
    nodes = ["d", "c", "b", "a"]
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    results = {topological_order(nodes, edges) for _ in range(5)}
    assert results == {("a", "c", "b", "d")}


def test_unknown_ends_and_repeated_edges_are_ignored() -> None:
    assert topological_order(["a", "b"], [("a", "b"), ("a", "b"), ("a", "zz"), ("qq", "b")]) == ("a", "b")


def test_repeated_nodes_count_once() -> None:
    assert topological_order(["a", "a", "b"], [("b", "a")]) == ("b", "a")


def test_a_cycle_raises_with_its_nodes() -> None:
    with pytest.raises(CycleError) as caught:
        topological_order(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert caught.value.cycle == ("a", "b", "c")
    assert "a → b → c → a" in str(caught.value)


def test_find_cycle_returns_none_for_a_dag() -> None:
    assert find_cycle(["a", "b"], [("a", "b")]) is None


def test_find_cycle_starts_at_the_earliest_node_and_follows_the_edges() -> None:
    assert find_cycle(["x", "c", "b", "a"], [("a", "b"), ("b", "c"), ("c", "a")]) == ("c", "a", "b")


def test_nodes_downstream_of_a_cycle_are_not_part_of_it() -> None:
    nodes = ["down", "a", "b", "up"]
    edges = [("up", "a"), ("a", "b"), ("b", "a"), ("b", "down")]
    assert find_cycle(nodes, edges) == ("a", "b")


def test_a_self_loop_is_a_cycle_of_one() -> None:
    assert find_cycle(["a"], [("a", "a")]) == ("a",)


def test_works_for_any_hashable_ids() -> None:
    assert topological_order([3, 2, 1], [(1, 2), (2, 3)]) == (1, 2, 3)
