from typing import Any

import pytest

from app.domain.kinds import KINDS
from app.domain.kinds.coerce import sanitise_fields
from app.domain.problems import ProblemLog


def errors(kind: str, **data: Any) -> list[str]:
    log = ProblemLog()
    sanitise_fields(KINDS[kind].fields, data, "d", log)
    return [str(p) for p in log.errors]


@pytest.mark.parametrize(
    "schedule", ["*/5 * * * *", "0 3 * * 1-5", "@daily", "@hourly", "0 0 1 JAN *", " @weekly "]
)
def test_cron_schedules_are_accepted(schedule: str) -> None:
    assert errors("CronJob", schedule=schedule) == []


@pytest.mark.parametrize("schedule", ["every day", "* * * *", "0 * * * * *", "@often", "0 0 * * {"])
def test_bad_cron_schedules_are_explained(schedule: str) -> None:
    (problem,) = errors("CronJob", schedule=schedule)
    assert problem.startswith("d.schedule: must be a cron schedule with 5 fields")


def test_images_have_no_spaces() -> None:
    assert errors("Deployment", image="nginx:1.27") == []
    assert errors("Deployment", image=" nginx ") == []
    (problem,) = errors("Deployment", image="nginx latest")
    assert "without spaces" in problem


@pytest.mark.parametrize(
    ("value", "ok"), [("1", True), ("25%", True), ("100%", True), ("101%", False), ("x", False)]
)
def test_max_unavailable_is_a_count_or_percentage(value: str, ok: bool) -> None:
    assert (errors("DaemonSet", maxUnavailable=value) == []) is ok


def test_max_unavailable_accepts_a_number() -> None:
    log = ProblemLog()
    out = sanitise_fields(KINDS["DaemonSet"].fields, {"maxUnavailable": 2}, "d", log)
    assert out == {"maxUnavailable": "2"}
    assert not log.errors


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("app.example.com", True),
        ("*.example.com", True),
        ("", True),
        ("App.example.com", False),
        ("10.0.0.1", False),
        ("a b", False),
    ],
)
def test_ingress_hosts_are_dns_names(host: str, ok: bool) -> None:
    assert (errors("Ingress", host=host) == []) is ok


def test_tls_hosts_are_checked_one_by_one() -> None:
    (problem,) = errors("Ingress", tlsHosts=["ok.example.com", "not ok"])
    assert problem.startswith("d.tlsHosts[1]:")


def test_paths_and_mount_paths_are_absolute() -> None:
    (problem,) = errors("Ingress", paths=[{"id": "p", "path": "api"}])
    assert problem.startswith("d.paths[0].path: must be an absolute path")
    (problem,) = errors("ConfigMap", mountPath="etc/config")
    assert problem.startswith("d.mountPath:")
    (problem,) = errors("Deployment", volumeMounts=[{"type": "secret", "name": "s", "mountPath": "relative"}])
    assert problem.startswith("d.volumeMounts[0].mountPath:")


def test_label_keys_and_values_follow_kubernetes() -> None:
    assert (
        errors("Deployment", labels={"app.kubernetes.io/name": "web", "tier": "", "a_b.c-d": "x.y_z"}) == []
    )
    problems = errors("Deployment", labels={"bad key": "v", "ok": "bad value!", "/x": "y", "Ex.com/y": "z"})
    assert len(problems) == 4
    assert 'd.labels["bad key"]: key' in problems[0]
    assert problems[-1].startswith("d.labels.ok: value")


def test_label_values_are_at_most_63_characters() -> None:
    (problem,) = errors("NetworkPolicy", podSelector={"k": "v" * 64})
    assert "at most 63" in problem


def test_annotations_check_keys_but_not_values() -> None:
    assert errors("Service", annotations={"example.com/note": "any text, even { } and spaces"}) == []
    assert len(errors("Service", annotations={"bad key": "x"})) == 1


def test_peer_selectors_and_cidrs_are_checked() -> None:
    rule = {
        "id": "r1",
        "from": [
            {"id": "a", "type": "ipBlock", "ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
            {"id": "b", "type": "ipBlock", "ipBlock": {"cidr": "10.0.0.1"}},
            {"id": "c", "type": "ipBlock", "ipBlock": {"cidr": "10.0.0.0/8", "except": ["nope"]}},
            {"id": "d", "type": "podSelector", "podSelector": {"bad key": "x"}},
        ],
    }
    problems = errors("NetworkPolicy", ingressRules=[rule])
    assert [p.split(":")[0] for p in problems] == [
        "d.ingressRules[0].from[1].ipBlock.cidr",
        "d.ingressRules[0].from[2].ipBlock.except[0]",
        'd.ingressRules[0].from[3].podSelector["bad key"]',
    ]


def test_ipv6_cidrs_are_fine() -> None:
    rule = {"id": "r", "to": [{"id": "a", "type": "ipBlock", "ipBlock": {"cidr": "fd00::/8"}}]}
    assert errors("NetworkPolicy", egressRules=[rule]) == []


def test_config_map_keys_become_file_names() -> None:
    assert errors("ConfigMap", data={"app.conf": "x", "KEY_1": "y", "a-b": "z"}) == []
    (problem,) = errors("ConfigMap", data={"a/b": "x"})
    assert problem.startswith('d.data["a/b"]: key')


def test_secret_key_names_become_file_names() -> None:
    (problem,) = errors("Secret", keys=[{"id": "k", "name": "has space"}])
    assert problem.startswith("d.keys[0].name:")


def test_env_names_have_no_equals_sign() -> None:
    (problem,) = errors("Job", env=[{"name": "A=B", "value": "x"}])
    assert problem.startswith("d.env[0].name:")


def test_referenced_names_are_checked() -> None:
    assert len(errors("Deployment", serviceAccountName="Bad_Name")) == 1
    assert len(errors("StatefulSet", serviceName="1db")) == 1
    assert errors("PersistentVolumeClaim", storageClassName="") == []
    assert len(errors("Service", loadBalancerIP="not-an-ip")) == 1
    assert len(errors("Service", ports=[{"name": "HTTP", "port": 80}])) == 1
