"""FieldsV1 encoding, path strings, field sets, comparisons and merges (pure functions)."""

from __future__ import annotations

from tests.kubeapi.fieldsets import (
    compare,
    decode,
    encode,
    item_element,
    merge,
    path_to_string,
    remove_paths,
    to_field_set,
)
from tests.kubeapi.schema import schema_for

DEPLOYMENT = schema_for("Deployment")
CONTAINERS = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"))


def test_fieldsv1_round_trip_with_members_and_children() -> None:
    fields = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}},
            "f:finalizers": {'v:"a"': {}},
        },
    }
    paths = decode(fields)
    assert (("f", "metadata"), ("f", "labels")) in paths
    assert (("f", "spec"), ("f", "containers"), ("k", (("name", "web"),))) in paths
    assert (("f", "spec"), ("f", "finalizers"), ("v", '"a"')) in paths
    assert encode(paths) == fields


def test_path_strings_match_structured_merge_diff() -> None:
    path = (
        *CONTAINERS,
        ("k", (("name", "web"),)),
        ("f", "ports"),
        ("k", (("containerPort", 80), ("protocol", "TCP"))),
        ("f", "name"),
    )
    assert path_to_string(path) == (
        '.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].name'
    )
    assert (
        path_to_string((("f", "metadata"), ("f", "finalizers"), ("v", '"x"'))) == '.metadata.finalizers[="x"]'
    )


def test_key_defaults_fill_missing_key_fields() -> None:
    ports = (
        DEPLOYMENT.child("spec").child("template").child("spec").child("containers").element().child("ports")
    )
    assert item_element(ports, {"containerPort": 80}, 0) == (
        "k",
        (("containerPort", 80), ("protocol", "TCP")),
    )


def test_to_field_set_owns_leaves_items_and_atomics() -> None:
    obj = {
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"spec": {"containers": [{"name": "web", "args": ["x"]}]}},
        }
    }
    paths = {path_to_string(p) for p in to_field_set(obj, DEPLOYMENT)}
    assert paths == {
        ".spec.replicas",
        ".spec.selector",
        '.spec.template.spec.containers[name="web"]',
        '.spec.template.spec.containers[name="web"].name',
        '.spec.template.spec.containers[name="web"].args',
    }


def test_compare_reports_leaves_and_items() -> None:
    old = {"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
    new = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}}}
    result = compare(old, new, DEPLOYMENT)
    assert {path_to_string(p) for p in result.modified} == {".spec.replicas"}
    assert '.spec.template.spec.containers[name="b"]' in {path_to_string(p) for p in result.added}
    assert '.spec.template.spec.containers[name="a"].image' in {path_to_string(p) for p in result.removed}


def test_merge_keeps_live_items_and_config_order() -> None:
    node = DEPLOYMENT.child("spec").child("template").child("spec").child("containers")
    live = [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}, {"name": "c", "image": "1"}]
    config = [{"name": "b", "image": "2"}, {"name": "d", "image": "2"}]
    assert [(c["name"], c["image"]) for c in merge(live, config, node)] == [
        ("a", "1"),
        ("b", "2"),
        ("c", "1"),
        ("d", "2"),
    ]
    assert [c["name"] for c in merge(live, [{"name": "c"}, {"name": "a"}], node)] == ["c", "a", "b"]


def test_remove_paths_removes_subtrees() -> None:
    obj = {"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}, "x": {"y": 1}}
    out = remove_paths(obj, {(*CONTAINERS, ("k", (("name", "a"),))), (("f", "x"),)}, DEPLOYMENT)
    assert out == {"spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}}
