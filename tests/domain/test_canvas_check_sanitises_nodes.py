import math

from app.domain.canvas_check import MAX_DEPTH, MAX_EDGES, MAX_NODES, CanvasCheck, check_canvas
from app.domain.problems import Problem
from app.domain.workflows import Canvas, Node, Position
from tests.domain.builders import check, data_of, edge, messages, node, paths


def test_aliases_become_canonical_kinds() -> None:
    result = check(
        [node("a", "deployment", image="nginx"), node("b", "hpa"), node("c", "persistentvolumeclaim")]
    )
    assert [n.kind for n in result.canvas.nodes] == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
    ]


def test_an_unknown_kind_is_an_error_at_the_kind() -> None:
    result = check([node("a", "deployment"), node("b", "plugin")])
    assert not result.ok
    assert result.errors[0].path == "nodes[1].kind"
    assert result.errors[0].message.startswith(
        "unknown node kind 'plugin'; use one of Deployment, StatefulSet"
    )
    assert [n.id for n in result.canvas.nodes] == ["a"]


def test_values_are_coerced_and_paths_point_into_the_input() -> None:
    result = check([node("a", "Service"), node("b", "Deployment", image="x", replicas="3", port="abc")])
    assert data_of(result, "b")["replicas"] == 3
    assert result.errors == (
        Problem("nodes[1].data.port", "must be an integer between 1 and 65535, got 'abc'"),
    )


def test_unknown_fields_are_dropped_with_a_warning() -> None:
    result = check([node("a", "ConfigMap", foo=1, data={"k": "v"})])
    assert result.ok
    assert Problem("nodes[0].data.foo", "unknown field 'foo' was dropped") in result.warnings
    assert data_of(result, "a") == {"data": {"k": "v"}}


def test_status_keys_are_dropped_silently() -> None:
    result = check([node("a", "ConfigMap", _status={"state": "ready"}, _statusReason="x")])
    assert result.ok
    assert result.warnings == ()
    assert data_of(result, "a") == {}


def test_node_ids_must_be_present_unique_and_usable_as_label_values() -> None:
    result = check(
        [node("a", "ConfigMap"), node("a", "Secret"), node("", "Secret"), node("bad id!", "Secret")]
    )
    assert paths(result.errors) == ["nodes[1].id", "nodes[2].id", "nodes[3].id"]
    assert "duplicate node id 'a' (also nodes[0])" in result.errors[0].message
    assert [n.kind for n in result.canvas.nodes] == ["ConfigMap"]


def test_positions_must_be_finite() -> None:
    bad = Node("a", "ConfigMap", Position(math.nan, 0), {})
    result = check_canvas(Canvas((bad,)))
    assert result.errors == (Problem("nodes[0].position", "x and y must be finite numbers"),)


def test_data_must_be_an_object() -> None:
    bad = Node("a", "ConfigMap", Position(0, 0), [1, 2])  # type: ignore[arg-type]
    result = check_canvas(Canvas((bad,)))
    assert result.errors == (Problem("nodes[0].data", "must be an object, got a list"),)


def test_data_nested_too_deep_is_refused() -> None:
    deep: object = "x"
    for _ in range(MAX_DEPTH):
        deep = {"a": deep}
    result = check([node("a", "ConfigMap", data=deep)])
    assert paths(result.errors) == ["nodes[0].data"]
    assert f"more than {MAX_DEPTH} levels" in result.errors[0].message


def test_the_deepest_real_field_is_within_the_limit() -> None:
    rule = {
        "id": "r",
        "from": [
            {"id": "p", "type": "ipBlock", "ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}
        ],
    }
    assert check([node("np", "NetworkPolicy", ingressRules=[rule])]).ok


def test_too_many_nodes_or_edges_are_refused_before_anything_else() -> None:
    many = [node(f"n{i}", "ConfigMap") for i in range(MAX_NODES + 1)]
    result = check(many)
    assert result.errors == (
        Problem("nodes", f"a canvas has at most {MAX_NODES} nodes, this one has {MAX_NODES + 1}"),
    )
    assert result.canvas == Canvas()
    edges = [edge(f"e{i}", "a", "b") for i in range(MAX_EDGES + 1)]
    assert paths(check([node("a", "ConfigMap")], edges).errors) == ["edges"]


def test_limits_themselves_are_allowed() -> None:
    assert check([node(f"n{i}", "ConfigMap") for i in range(MAX_NODES)]).ok


def test_names_must_follow_the_rule_of_the_kind() -> None:
    result = check(
        [
            node("a", "Deployment", image="x", name="Web_App"),
            node("b", "ConfigMap", name="app.config"),
            node("c", "Service", name="1svc"),
            node("d", "Namespace", name="team.a"),
        ]
    )
    assert paths(result.errors) == ["nodes[0].data.name", "nodes[2].data.name", "nodes[3].data.name"]
    assert "try 'web-app'" in result.errors[0].message
    assert "name" not in data_of(result, "a")
    assert data_of(result, "b")["name"] == "app.config"


def test_namespaces_must_be_labels() -> None:
    result = check([node("a", "ConfigMap", namespace="Team A")])
    assert paths(result.errors) == ["nodes[0].data.namespace"]


def test_a_namespace_node_has_no_namespace() -> None:
    result = check([node("a", "Namespace", name="team-a", namespace="other")])
    assert result.ok
    assert paths(result.warnings) == ["nodes[0].data.namespace"]


def test_secret_values_are_dropped_and_never_echoed() -> None:
    result = check(
        [
            node(
                "s",
                "secret",
                name="db",
                data={"PASSWORD": "hunter2"},
                stringData={"X": "y"},
                keys=[{"id": "k1", "name": "PASSWORD"}],
            )
        ]
    )
    assert result.ok
    assert paths(result.warnings) == ["nodes[0].data.data", "nodes[0].data.stringData"]
    assert "never kept in node data" in result.warnings[0].message
    assert "hunter2" not in messages(result.warnings)
    assert data_of(result, "s") == {"name": "db", "keys": [{"id": "k1", "name": "PASSWORD"}]}


def test_legacy_service_type_becomes_service_type() -> None:
    result = check([node("s", "service", type="NodePort")])
    assert data_of(result, "s")["serviceType"] == "NodePort"
    assert paths(result.warnings) == ["nodes[0].data"]  # not connected (a lack), but no unknown field


def test_legacy_single_ingress_path_becomes_the_first_path() -> None:
    result = check(
        [node("i", "ingress", path="/api", pathType="Exact", serviceName="api", servicePort="8080")]
    )
    assert data_of(result, "i")["paths"] == [
        {"id": "path-1", "path": "/api", "pathType": "Exact", "serviceName": "api", "servicePort": 8080}
    ]
    assert result.ok


def test_contradicting_values_are_errors() -> None:
    result = check(
        [
            node("h", "hpa", minReplicas=5, maxReplicas=2, targetCPUUtilization=80),
            node(
                "d",
                "Deployment",
                image="x",
                resources={"requests": {"cpu": "2"}, "limits": {"cpu": "500m"}},
                livenessProbe={"type": "exec", "command": ["true"], "successThreshold": 2},
            ),
        ]
    )
    assert [str(p) for p in result.errors] == [
        "nodes[0].data.minReplicas: must not be more than maxReplicas (2), got 5",
        "nodes[1].data.resources.requests.cpu: must not be more than limits.cpu (500m), got 2",
        "nodes[1].data.livenessProbe.successThreshold: must be 1 for a livenessProbe, got 2",
    ]


def test_config_maps_hold_at_most_one_mebibyte() -> None:
    result = check([node("c", "ConfigMap", data={"big": "x" * (1024 * 1024)})])
    assert paths(result.errors) == ["nodes[0].data.data"]


def test_the_input_canvas_is_not_changed() -> None:
    original = node("a", "deployment", image="x", env={"A": 1})
    result: CanvasCheck = check([original, node("c", "configmap")], [edge("e", "c", "a")])
    assert original.data == {"image": "x", "env": {"A": 1}}
    assert data_of(result, "a")["env"] == [{"name": "A", "value": "1"}]


def test_node_order_and_positions_are_kept() -> None:
    result = check([node("b", "ConfigMap", x=10, y=20), node("a", "Secret", x=-5.5, y=3)])
    assert [(n.id, n.position) for n in result.canvas.nodes] == [
        ("b", Position(10, 20)),
        ("a", Position(-5.5, 3)),
    ]


def test_legacy_keys_next_to_their_replacement_are_dropped_with_a_warning() -> None:
    result = check(
        [
            node("s", "service", type="NodePort", serviceType="ClusterIP", selector={"a": "b"}),
            node("i", "ingress", path="/old", paths=[{"id": "p", "path": "/new"}]),
        ]
    )
    assert data_of(result, "s")["serviceType"] == "ClusterIP"
    assert data_of(result, "i")["paths"] == [{"id": "p", "path": "/new"}]
    assert paths(result.warnings)[:2] == ["nodes[0].data.type", "nodes[1].data.path"]


def test_non_text_keys_are_dropped_with_a_warning() -> None:
    bad = Node("x", "ConfigMap", Position(0, 0), {1: "x"})  # type: ignore[dict-item]
    result = check_canvas(Canvas((bad,)))
    assert result.ok
    assert result.warnings == (Problem("nodes[0].data", "the non-text key 1 was dropped"),)


def test_positions_must_be_numbers() -> None:
    bad = Node("a", "ConfigMap", Position("1", 0), {})  # type: ignore[arg-type]
    assert paths(check_canvas(Canvas((bad,))).errors) == ["nodes[0].position"]


def test_text_that_is_not_valid_unicode_is_refused_with_its_path() -> None:
    from app.domain.canvas_check import check_canvas
    from app.domain.workflows import Canvas, Node, Position

    canvas = Canvas(
        (Node("c", "ConfigMap", Position(0, 0), {"name": "c", "data": {"K": "bad \ud800 text"}}),)
    )
    result = check_canvas(canvas)
    assert [p.path for p in result.errors] == ["nodes[0].data.data.K"]
