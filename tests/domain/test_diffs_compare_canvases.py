from app.domain.diffs import CanvasDiff, ChangeKind, EdgeDiff, FieldChange, NodeDiff, diff_canvases
from app.domain.workflows import Canvas, Edge
from tests.domain.builders import canvas, edge, node


def test_identical_canvases_have_no_differences() -> None:
    c = canvas([node("a", "Deployment", image="x", env=[{"name": "A", "value": "1"}])], [edge("e", "a", "a")])
    diff = diff_canvases(c, c)
    assert diff == CanvasDiff()
    assert diff.empty


def test_added_removed_and_modified_nodes() -> None:
    old = canvas([node("a", "Deployment", image="x"), node("b", "ConfigMap")])
    new = canvas([node("c", "Secret"), node("a", "Deployment", image="y")])
    assert diff_canvases(old, new).nodes == (
        NodeDiff("a", "Deployment", ChangeKind.MODIFIED, (FieldChange("data.image", "x", "y"),)),
        NodeDiff("b", "ConfigMap", ChangeKind.REMOVED),
        NodeDiff("c", "Secret", ChangeKind.ADDED),
    )


def test_fields_added_and_removed_inside_data() -> None:
    old = canvas([node("a", "Deployment", image="x", replicas=1)])
    new = canvas([node("a", "Deployment", image="x", port=80)])
    assert diff_canvases(old, new).nodes[0].changes == (
        FieldChange("data.replicas", 1, None),
        FieldChange("data.port", None, 80),
    )


def test_list_items_are_compared_by_index() -> None:
    old = canvas([node("a", "Job", image="x", env=[{"name": "A", "value": "1"}], args=["a", "b"])])
    new = canvas(
        [
            node(
                "a",
                "Job",
                image="x",
                env=[{"name": "A", "value": "2"}, {"name": "B", "value": "3"}],
                args=["a"],
            )
        ]
    )
    assert diff_canvases(old, new).nodes[0].changes == (
        FieldChange("data.env[0].value", "1", "2"),
        FieldChange("data.env[1]", None, {"name": "B", "value": "3"}),
        FieldChange("data.args[1]", "b", None),
    )


def test_lists_of_objects_with_ids_are_matched_by_id() -> None:
    old = canvas([node("i", "Ingress", paths=[{"id": "p1", "servicePort": 80}, {"id": "p2", "path": "/b"}])])
    new = canvas(
        [node("i", "Ingress", paths=[{"id": "p3", "path": "/c"}, {"id": "p1", "servicePort": 8080}])]
    )
    assert diff_canvases(old, new).nodes[0].changes == (
        FieldChange("data.paths[id=p1].servicePort", 80, 8080),
        FieldChange("data.paths[id=p2]", {"id": "p2", "path": "/b"}, None),
        FieldChange("data.paths[id=p3]", None, {"id": "p3", "path": "/c"}),
    )


def test_reordering_items_with_ids_is_not_a_change() -> None:
    old = canvas([node("s", "Secret", keys=[{"id": "a", "name": "A"}, {"id": "b", "name": "B"}])])
    new = canvas([node("s", "Secret", keys=[{"id": "b", "name": "B"}, {"id": "a", "name": "A"}])])
    assert diff_canvases(old, new).empty


def test_an_empty_list_versus_items_with_ids_uses_ids() -> None:
    old = canvas([node("s", "Secret", keys=[])])
    new = canvas([node("s", "Secret", keys=[{"id": "a", "name": "A"}])])
    assert diff_canvases(old, new).nodes[0].changes == (
        FieldChange("data.keys[id=a]", None, {"id": "a", "name": "A"}),
    )


def test_map_keys_that_are_not_identifiers_are_quoted() -> None:
    old = canvas([node("a", "Deployment", labels={"app.kubernetes.io/part-of": "x"})])
    new = canvas([node("a", "Deployment", labels={"app.kubernetes.io/part-of": "y"})])
    assert diff_canvases(old, new).nodes[0].changes == (
        FieldChange('data.labels["app.kubernetes.io/part-of"]', "x", "y"),
    )


def test_moves_are_changes_unless_layout_is_ignored() -> None:
    old = canvas([node("a", "ConfigMap", x=0, y=0), node("b", "Secret", x=0, y=0, name="s")])
    new = canvas([node("a", "ConfigMap", x=10, y=0), node("b", "Secret", x=5, y=5, name="t")])
    assert diff_canvases(old, new).nodes == (
        NodeDiff("a", "ConfigMap", ChangeKind.MODIFIED, (FieldChange("position.x", 0, 10),)),
        NodeDiff(
            "b",
            "Secret",
            ChangeKind.MODIFIED,
            (
                FieldChange("position.x", 0, 5),
                FieldChange("position.y", 0, 5),
                FieldChange("data.name", "s", "t"),
            ),
        ),
    )
    assert diff_canvases(old, new, ignore_layout=True).nodes == (
        NodeDiff("b", "Secret", ChangeKind.MODIFIED, (FieldChange("data.name", "s", "t"),)),
    )


def test_runtime_status_is_ignored() -> None:
    old = canvas([node("a", "Deployment", image="x", _status={"state": "pending"})])
    new = canvas([node("a", "Deployment", image="x", _status={"state": "running"}, _statusAt="now")])
    assert diff_canvases(old, new).empty


def test_a_kind_change_is_reported() -> None:
    old = canvas([node("a", "Deployment", image="x")])
    new = canvas([node("a", "StatefulSet", image="x")])
    assert diff_canvases(old, new).nodes == (
        NodeDiff(
            "a", "StatefulSet", ChangeKind.MODIFIED, (FieldChange("kind", "Deployment", "StatefulSet"),)
        ),
    )


def test_booleans_are_not_numbers_but_ints_equal_floats() -> None:
    old = canvas([node("a", "DaemonSet", hostPID=1, replicas=1)])
    new = canvas([node("a", "DaemonSet", hostPID=True, replicas=1.0)])
    assert diff_canvases(old, new).nodes[0].changes == (FieldChange("data.hostPID", 1, True),)


def test_a_value_changing_shape_is_one_change() -> None:
    old = canvas([node("a", "Deployment", env={"A": "1"})])
    new = canvas([node("a", "Deployment", env=[{"name": "A", "value": "1"}])])
    assert diff_canvases(old, new).nodes[0].changes == (
        FieldChange("data.env", {"A": "1"}, [{"name": "A", "value": "1"}]),
    )


def test_edges_are_matched_by_id_and_compared_by_ends_and_handles() -> None:
    old = Canvas(edges=(Edge("e1", "a", "b"), Edge("e2", "i", "s", "p1"), Edge("e3", "x", "y")))
    new = Canvas(edges=(Edge("e4", "c", "d"), Edge("e2", "i", "s2", "p2", "t"), Edge("e1", "a", "b")))
    assert diff_canvases(old, new).edges == (
        EdgeDiff(
            "e2",
            "i",
            "s2",
            ChangeKind.MODIFIED,
            (
                FieldChange("target", "s", "s2"),
                FieldChange("sourceHandle", "p1", "p2"),
                FieldChange("targetHandle", None, "t"),
            ),
        ),
        EdgeDiff("e3", "x", "y", ChangeKind.REMOVED),
        EdgeDiff("e4", "c", "d", ChangeKind.ADDED),
    )


def test_output_order_is_deterministic() -> None:
    old = canvas([node(f"n{i}", "ConfigMap", data={"k": str(i)}) for i in range(20)])
    new = canvas([node(f"n{i}", "ConfigMap", data={"k": str(i + 1)}) for i in reversed(range(25))])
    first = diff_canvases(old, new)
    assert [d.node_id for d in first.nodes] == [f"n{i}" for i in range(20)] + [
        f"n{i}" for i in (24, 23, 22, 21, 20)
    ]
    assert diff_canvases(old, new) == first


def test_change_kinds_are_upper_case_strings() -> None:
    assert [c.value for c in ChangeKind] == ["ADDED", "REMOVED", "MODIFIED"]
