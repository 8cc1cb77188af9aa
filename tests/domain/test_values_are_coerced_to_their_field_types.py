from typing import Any

import pytest

from app.domain.kinds import KINDS
from app.domain.kinds.coerce import sanitise_fields
from app.domain.problems import Problem, ProblemLog


def sanitise(kind: str, **data: Any) -> tuple[dict[str, Any], ProblemLog]:
    log = ProblemLog()
    return sanitise_fields(KINDS[kind].fields, data, "nodes[0].data", log), log


def only_error(log: ProblemLog) -> Problem:
    assert len(log.errors) == 1, log.errors
    return log.errors[0]


@pytest.mark.parametrize(("raw", "value"), [(3, 3), ("3", 3), (" 3 ", 3), (2.0, 2), ("0", 0)])
def test_integers_accept_whole_numbers_and_their_text(raw: Any, value: int) -> None:
    out, log = sanitise("Deployment", replicas=raw)
    assert out["replicas"] == value
    assert not log.errors


@pytest.mark.parametrize("raw", ["abc", "1.5", 1.5, True, [1], {"a": 1}])
def test_integers_reject_everything_else(raw: Any) -> None:
    out, log = sanitise("Deployment", replicas=raw)
    problem = only_error(log)
    assert problem.path == "nodes[0].data.replicas"
    assert problem.message.startswith("must be an integer ≥ 0, got ")
    assert "replicas" not in out


def test_integer_messages_quote_the_value() -> None:
    _, log = sanitise("Deployment", replicas="abc")
    assert only_error(log).message == "must be an integer ≥ 0, got 'abc'"


def test_integer_bounds_are_checked() -> None:
    _, log = sanitise("Deployment", replicas=-1)
    assert only_error(log).message == "must be an integer ≥ 0, got -1"
    _, log = sanitise("Deployment", port=70000)
    assert only_error(log).message == "must be an integer between 1 and 65535, got 70000"
    _, log = sanitise("HorizontalPodAutoscaler", scaleUpStabilization=4000)
    assert "between 0 and 3600" in only_error(log).message


@pytest.mark.parametrize(("raw", "value"), [(True, True), ("true", True), ("False", False), (" TRUE ", True)])
def test_booleans_accept_true_and_false_text(raw: Any, value: bool) -> None:
    out, log = sanitise("Ingress", tlsEnabled=raw)
    assert out["tlsEnabled"] is value
    assert not log.errors


@pytest.mark.parametrize("raw", ["yes", 1, 0, "1", []])
def test_booleans_reject_other_values(raw: Any) -> None:
    _, log = sanitise("Ingress", tlsEnabled=raw)
    assert only_error(log).message.startswith("must be true or false, got ")


def test_enums_match_options_ignoring_case() -> None:
    out, log = sanitise("Service", serviceType="nodeport")
    assert out["serviceType"] == "NodePort"
    assert not log.errors


def test_enums_list_their_options_when_wrong() -> None:
    _, log = sanitise("Service", serviceType="External")
    assert only_error(log) == Problem(
        "nodes[0].data.serviceType", "must be one of ClusterIP, NodePort, LoadBalancer; got 'External'"
    )


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("500m", "500m"),
        ("0.5", "0.5"),
        (0.5, "0.5"),
        (2, "2"),
        ("128Mi", "128Mi"),
        ("1G", "1G"),
        ("1e3", "1e3"),
        (" 1Gi ", "1Gi"),
        (".5", ".5"),
    ],
)
def test_quantities_follow_kubernetes(raw: Any, value: str) -> None:
    out, log = sanitise("Deployment", resources={"requests": {"cpu": raw}})
    assert out["resources"]["requests"]["cpu"] == value
    assert not log.errors


@pytest.mark.parametrize(
    ("raw", "hint"),
    [("128MB", "M or Mi"), ("512mi", "Mi"), ("1gb", "G or Gi"), ("lots", ""), ("5 cores", ""), ([], "")],
)
def test_bad_quantities_are_explained(raw: Any, hint: str) -> None:
    _, log = sanitise("Deployment", resources={"limits": {"memory": raw}})
    problem = only_error(log)
    assert problem.path == "nodes[0].data.resources.limits.memory"
    assert "Kubernetes quantity" in problem.message
    assert hint in problem.message


def test_negative_quantities_are_rejected() -> None:
    _, log = sanitise("PersistentVolumeClaim", storage="-1Gi")
    assert only_error(log).message == "must not be negative, got '-1Gi'"


def test_strings_take_numbers_as_text_but_not_structures() -> None:
    out, log = sanitise("Deployment", image=123)
    assert out["image"] == "123"
    assert not log.errors
    out, log = sanitise("Deployment", env=[{"name": "DEBUG", "value": True}])
    assert out["env"] == [{"name": "DEBUG", "value": "true"}]
    assert not log.errors
    _, log = sanitise("Deployment", image=["nginx"])
    assert only_error(log).message == "must be text, got a list"


def test_string_maps_write_scalars_as_text() -> None:
    out, log = sanitise("ConfigMap", data={"PORT": 8080, "DEBUG": True, "NAME": "x", "GONE": None})
    assert out["data"] == {"PORT": "8080", "DEBUG": "true", "NAME": "x"}
    assert not log.errors


def test_string_maps_reject_nested_values_with_the_key_in_the_path() -> None:
    _, log = sanitise("Deployment", labels={"tier": {"a": 1}})
    assert only_error(log).path == "nodes[0].data.labels.tier"
    _, log = sanitise("Deployment", labels=["a"])
    assert only_error(log).message == "must be an object of text values, got a list"


def test_a_single_string_is_a_one_item_list() -> None:
    out, log = sanitise("Job", command="/bin/run")
    assert out["command"] == ["/bin/run"]
    assert not log.errors


def test_list_items_are_checked_against_options() -> None:
    out, log = sanitise("PersistentVolumeClaim", accessModes=["readwriteonce", "ReadOnlyMany"])
    assert out["accessModes"] == ["ReadWriteOnce", "ReadOnlyMany"]
    assert not log.errors
    _, log = sanitise("PersistentVolumeClaim", accessModes=["ReadWriteSometimes"])
    assert only_error(log).path == "nodes[0].data.accessModes[0]"


def test_env_accepts_a_map_and_normalises_it_to_a_list() -> None:
    out, log = sanitise("Deployment", env={"PORT": 8080, "MODE": "prod"})
    assert out["env"] == [{"name": "PORT", "value": "8080"}, {"name": "MODE", "value": "prod"}]
    assert not log.errors


def test_env_keeps_a_list_of_name_value_objects() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": 2}]
    out, log = sanitise("Deployment", env=env)
    assert out["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert not log.errors


def test_object_list_items_must_be_objects() -> None:
    out, log = sanitise("Deployment", env=["A=1", {"name": "B", "value": "2"}])
    assert only_error(log).path == "nodes[0].data.env[0]"
    assert out["env"] == [{"name": "B", "value": "2"}]


def test_nested_unknown_keys_are_dropped_with_their_path() -> None:
    out, log = sanitise("Ingress", paths=[{"id": "p1", "path": "/", "color": "red"}])
    assert log.warnings == [Problem("nodes[0].data.paths[0].color", "unknown field 'color' was dropped")]
    assert out["paths"] == [{"id": "p1", "path": "/"}]


def test_unknown_keys_suggest_a_close_field() -> None:
    _, log = sanitise("Deployment", replica=2)
    assert log.warnings == [
        Problem("nodes[0].data.replica", "unknown field 'replica' was dropped (did you mean 'replicas'?)")
    ]


def test_runtime_keys_are_dropped_silently() -> None:
    out, log = sanitise("Secret", _status={"state": "created"}, _statusMessage="x", _secretCreated=True)
    assert out == {}
    assert not log.warnings
    assert not log.errors


def test_null_and_cleared_inputs_mean_unset() -> None:
    out, log = sanitise("Deployment", replicas="", image=None, imagePullPolicy="", name="")
    assert out == {"name": ""}
    assert not log.errors
    assert not log.warnings


def test_ids_are_given_to_items_that_lack_them() -> None:
    out, log = sanitise(
        "Ingress", paths=[{"path": "/a"}, {"id": "path-1", "path": "/b"}, {"id": "", "path": "/c"}]
    )
    assert [p["id"] for p in out["paths"]] == ["path-2", "path-1", "path-3"]
    assert not log.errors
    out, _ = sanitise(
        "NetworkPolicy", ingressRules=[{"from": [{"type": "ipBlock", "ipBlock": {"cidr": "10.0.0.0/8"}}]}]
    )
    assert out["ingressRules"][0]["id"] == "ingress-rule-1"
    assert out["ingressRules"][0]["from"][0]["id"] == "peer-1"


def test_ids_must_be_unique_within_a_list() -> None:
    _, log = sanitise("Secret", keys=[{"id": "k", "name": "A"}, {"id": "k", "name": "B"}])
    assert only_error(log) == Problem(
        "nodes[0].data.keys[1].id", "duplicate id 'k' (also keys[0]); ids must be unique"
    )


def test_malformed_linked_values_are_dropped_silently() -> None:
    out, log = sanitise("Service", _linkedDeployment=["x"], targetApp="web")
    assert out == {"targetApp": "web"}
    assert not log.errors
    assert not log.warnings


def test_numbers_accept_finite_values_only() -> None:
    from app.domain.kinds.spec import FieldSpec, FieldType

    spec = FieldSpec("ratio", FieldType.NUMBER, "A ratio.", minimum=0, maximum=1)
    log = ProblemLog()
    assert sanitise_fields((spec,), {"ratio": "0.25"}, "d", log) == {"ratio": 0.25}
    assert sanitise_fields((spec,), {"ratio": 1}, "d", log) == {"ratio": 1}
    assert sanitise_fields((spec,), {"ratio": "nan"}, "d", log) == {}
    assert sanitise_fields((spec,), {"ratio": 2}, "d", log) == {}
    assert sanitise_fields((spec,), {"ratio": True}, "d", log) == {}
    assert [p.message for p in log.errors] == [
        "must be a number between 0 and 1, got 'nan'",
        "must be a number between 0 and 1, got 2",
        "must be a number between 0 and 1, got true",
    ]


def test_the_input_is_not_changed() -> None:
    data = {"env": {"A": 1}, "labels": {"x": 1}, "paths": []}
    sanitise_fields(KINDS["Deployment"].fields, data, "d", ProblemLog())
    assert data == {"env": {"A": 1}, "labels": {"x": 1}, "paths": []}
