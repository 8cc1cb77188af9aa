"""Drift, the pure part: FieldsV1 walked into owned paths, the fields an applied configuration sets, and
the comparison on those fields only (defaults and other managers' fields are not drift)."""

from __future__ import annotations

from typing import Any

from app.domain.drift import (
    ABSENT,
    DriftChange,
    applied_fields,
    compare,
    contains,
    fields_v1_paths,
    holder,
    owners,
    resolve,
    show,
)

APPLIED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"trellis.dev/node": "web"}},
    "spec": {
        "replicas": 2,
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 8080}],
                        "args": ["--port", "8080"],
                    }
                ],
                "volumes": [{"name": "cache", "emptyDir": {}}],
            }
        },
    },
}


def _live(**changes: Any) -> dict[str, Any]:
    """``APPLIED`` as a server keeps it: defaulted fields added, ``kubectl`` owning what ``changes`` set."""
    container = {
        "name": "web",
        "image": changes.get("image", "nginx:1.27"),
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "args": ["--port", "8080"],
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
    }
    kubectl: dict[str, Any] = {}
    if "image" in changes:
        kubectl = {
            "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}}}
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u1",
            "labels": {"trellis.dev/node": "web", "team": "payments"},
            "managedFields": [
                {"manager": "trellis-w1", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {}},
                {"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": kubectl},
            ],
        },
        "spec": {
            "replicas": changes.get("replicas", 2),
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "spec": {
                    "containers": [container],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                    "restartPolicy": "Always",
                }
            },
        },
        "status": {"replicas": 2},
    }


def test_fieldsv1_members_are_leaves_and_dotted_nodes() -> None:
    tree = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}},
            "f:finalizers": {'v:"x"': {}},
        },
    }
    assert fields_v1_paths(tree) == {
        (("f", "metadata"), ("f", "labels")),
        (("f", "metadata"), ("f", "labels"), ("f", "app")),
        (("f", "spec"), ("f", "containers"), ("k", (("name", "web"),))),
        (("f", "spec"), ("f", "containers"), ("k", (("name", "web"),)), ("f", "image")),
        (("f", "spec"), ("f", "finalizers"), ("v", '"x"')),
    }


def test_the_holder_of_a_field_is_another_manager_first_then_ours() -> None:
    path = (("f", "spec"), ("f", "replicas"))
    owned = owners(
        [
            {"manager": "trellis-w1", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "hpa", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubelet", "subresource": "status", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        ]
    )
    assert holder(path, owned, "trellis-w1") == "hpa"
    assert holder(path, {"trellis-w1": owned["trellis-w1"]}, "trellis-w1") == "trellis-w1"
    assert holder((("f", "spec"), ("f", "paused")), owned, "trellis-w1") is None


def test_applied_fields_key_list_items_and_keep_atomic_lists_whole() -> None:
    paths = {show(path): value for path, value in applied_fields(APPLIED)}
    containers = "spec.template.spec.containers[name=web]"
    assert paths == {
        "metadata.labels.trellis.dev/node": "web",
        "spec.replicas": 2,
        f"{containers}.image": "nginx:1.27",
        f"{containers}.ports[containerPort=8080,protocol=TCP]": {"containerPort": 8080},
        f"{containers}.args": ["--port", "8080"],
        "spec.template.spec.volumes[name=cache].emptyDir": {},
    }


def test_defaulted_fields_and_other_managers_fields_are_not_drift() -> None:
    assert compare(APPLIED, _live(), manager="trellis-w1") == ()


def test_changed_fields_name_their_path_values_and_holder() -> None:
    changes = compare(APPLIED, _live(replicas=5, image="nginx:1.28"), manager="trellis-w1")
    assert changes == (
        DriftChange("spec.replicas", 2, 5, None),
        DriftChange("spec.template.spec.containers[name=web].image", "nginx:1.27", "nginx:1.28", "kubectl"),
    )


def test_a_field_gone_from_the_live_object_is_drift_with_no_live_value() -> None:
    live = _live()
    del live["metadata"]["labels"]["trellis.dev/node"]
    live["spec"]["template"]["spec"]["containers"] = []
    changes = compare(APPLIED, live, manager="trellis-w1")
    assert [(c.path, c.live) for c in changes] == [
        ("metadata.labels.trellis.dev/node", None),
        ("spec.template.spec.containers[name=web].args", None),
        ("spec.template.spec.containers[name=web].image", None),
        ("spec.template.spec.containers[name=web].ports[containerPort=8080,protocol=TCP]", None),
    ]


def test_secret_values_are_masked() -> None:
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"PASSWORD": "YQ=="}}
    live = {**applied, "data": {"PASSWORD": "Yg=="}}
    assert compare(applied, live, manager="trellis-w1", mask="***") == (
        DriftChange("data.PASSWORD", "***", "***", None),
    )
    gone = {**applied, "data": {}}
    assert compare(applied, gone, manager="trellis-w1", mask="***")[0].live is None


def test_contains_allows_defaults_inside_but_not_other_values() -> None:
    assert contains([{"a": 1}], [{"a": 1, "b": 2}])
    assert not contains([{"a": 1}], [{"a": 1}, {"a": 2}])
    assert not contains(True, 1)
    assert not contains({"a": 1}, "x")
    assert resolve({"a": [1]}, (("f", "a"), ("i", 3))) is ABSENT
    assert resolve({"a": ["x"]}, (("f", "a"), ("v", '"x"'))) == "x"
