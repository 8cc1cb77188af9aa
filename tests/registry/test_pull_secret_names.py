"""Which pull Secrets an object names: a Pod's own, and the pod template of every workload kind (a
CronJob's two levels down); nothing outside ``spec``."""

from __future__ import annotations

from typing import Any

from app.services.pull_secrets import pull_secret_names


def _pod_spec(*names: str) -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": "x"}], "imagePullSecrets": [{"name": n} for n in names]}


def test_the_names_come_from_pods_and_pod_templates_of_any_depth() -> None:
    pod = {"kind": "Pod", "spec": _pod_spec("a")}
    deployment = {"kind": "Deployment", "spec": {"template": {"spec": _pod_spec("b", "c")}}}
    cronjob = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": _pod_spec("d")}}}}}
    odd = {"kind": "Pod", "spec": {"imagePullSecrets": [{"nom": "e"}, "f"]}, "metadata": _pod_spec("g")}

    assert pull_secret_names(pod) == {"a"}
    assert pull_secret_names(deployment) == {"b", "c"}
    assert pull_secret_names(cronjob) == {"d"}
    assert pull_secret_names(odd) == set()
    assert pull_secret_names({"kind": "Deployment"}) == set()
