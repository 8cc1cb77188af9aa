"""Dispatch is on (API group, kind): any version of a group reaches its check; another group does not."""

from __future__ import annotations

import pytest

from app.domain.health import HealthStatus
from app.kube.status import assess
from app.kube.status.registry import CHECKS, check_for, group_of
from tests.kube.status.fixtures import ROOT, load


@pytest.mark.parametrize(
    ("api_version", "group"), [("v1", ""), ("apps/v1", "apps"), ("networking.k8s.io/v1", "networking.k8s.io")]
)
def test_the_group_comes_from_the_api_version(api_version: str, group: str) -> None:
    assert group_of(api_version) == group


def test_every_registered_kind_has_fixtures() -> None:
    folders = {path.name for path in ROOT.iterdir() if path.is_dir()}
    assert {kind.lower() for _, kind in CHECKS} <= folders


def test_another_version_of_the_group_reaches_the_same_check() -> None:
    ingress = load("ingress/without-address.yaml")
    ingress["apiVersion"] = "extensions/v1beta1"
    assert assess(ingress).status is HealthStatus.PROGRESSING
    hpa = load("horizontalpodautoscaler/healthy.yaml")
    hpa["apiVersion"] = "autoscaling/v2beta2"
    assert assess(hpa).status is HealthStatus.HEALTHY


def test_the_same_kind_in_another_group_is_not_ours() -> None:
    assert check_for("serving.knative.dev/v1", "Service") is None
    lookalike = load("service/loadbalancer-pending.yaml")
    lookalike["apiVersion"] = "serving.knative.dev/v1"
    assert assess(lookalike).status is HealthStatus.UNKNOWN
